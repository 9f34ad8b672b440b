"""Long ingests report progress: the library calls back, the CLI draws a bar on a terminal."""

from __future__ import annotations

import io
from pathlib import Path

from ingest.api import IngestOptions, ingest_files
from needlewatch.output import ProgressBar

from .conftest import DATA, TODAY


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_library_reports_each_stage_and_finishes_it(tmp_path: Path) -> None:
    calls: list[tuple[str, float | None]] = []
    files = [DATA / n for n in ("clinics.csv", "practitioners.csv", "treatments.csv")]
    ingest_files(
        tmp_path / "p.duckdb",
        files,
        IngestOptions(today=TODAY),
        progress=lambda stage, pct: calls.append((stage, pct)),
    )
    finished = [stage for stage, pct in calls if pct == 100.0]
    assert finished == [
        "clinics.csv: checking and loading rows",
        "clinics.csv: counting rows",
        "practitioners.csv: checking and loading rows",
        "practitioners.csv: counting rows",
        "treatments.csv: keying patient ids",
        "treatments.csv: checking and loading rows",  # keying counted its rows
    ]
    assert calls[-1] == ("saving the database file", None)


def test_bar_draws_in_place_on_a_terminal_and_clears() -> None:
    out = Terminal()
    bar = ProgressBar(out)
    bar("t.csv: checking and loading rows", 50.0)
    bar("t.csv: checking and loading rows", 50.0)  # unchanged: not redrawn
    bar("saving the database file", None)
    bar.close()
    assert out.getvalue() == (
        "\r\033[K[###############...............]  50%  t.csv: checking and loading rows"
        "\r\033[K[??????????????????????????????]   ?%  saving the database file"
        "\r\033[K"
    )


def test_bar_stays_silent_when_not_a_terminal() -> None:
    out = io.StringIO()
    bar = ProgressBar(out)
    bar("t.csv: counting rows", 10.0)
    bar.close()
    assert out.getvalue() == ""
