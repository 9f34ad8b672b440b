"""Reports and commands survive real data: an idle clinic, a quarter the data stop in,
and whole generated databases with rejects, unmapped terms, single events and empty
categories. Zero tracebacks; exit codes as documented (0 done, 2 nothing to do or an
unusable request, with one line saying why)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingest.api import IngestOptions, ingest_files
from needlewatch.cli import main

from .conftest import TODAY
from .needs import need_chromium

FORMATS = ("csv", "xlsx", "html", "pdf")


def write(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture(scope="module")
def idle_db(tmp_path_factory, fixture_files) -> Path:
    """The fixture plus clinic C99, whose one treatment was in February 2025: idle in
    2025Q2. Its practitioner sees nobody after that."""
    folder = tmp_path_factory.mktemp("idle")
    db = folder / "idle.duckdb"
    extra = [
        write(folder / "c.csv", ["clinic_id", "name", "region", "country"],
              [["C99", "Closed clinic", "Cork", "Ireland"]]),
        write(folder / "p.csv", ["practitioner_id", "clinic_id", "profession",
                                 "dn_training_hours", "years_dn_experience"],
              [["P999", "C99", "physiotherapist", "40", "3"]]),
        write(folder / "t.csv", ["treatment_id", "treatment_date", "practitioner_id", "clinic_id",
                                 "patient_id", "body_region", "ultrasound_guided"],
              [["TX99", "2025-02-03", "P999", "C99", "PX99", "quadriceps", "no"]]),
    ]  # fmt: skip
    ingest_files(db, [*fixture_files.values(), *extra], IngestOptions(today=TODAY))
    return db


@pytest.mark.parametrize("edition", ["clinic", "public"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_and_edition_of_a_quarter_with_an_idle_clinic(
    idle_db, tmp_path, capsys, fmt, edition
) -> None:
    """The first round's KeyError: a clinic with no treatments in the quarter."""
    if fmt == "pdf":
        need_chromium()
    out = tmp_path / f"q.{fmt}"
    status = main(["report", "--db", str(idle_db), "--quarter", "2025Q2", "--edition", edition,
                   "--out", str(out)])  # fmt: skip
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert out.stat().st_size > 1000
    assert "Traceback" not in captured.err and "internal error" not in captured.err


def test_the_idle_clinic_is_listed_as_such(idle_db) -> None:
    from dashboard.report.content import build_report
    from dashboard.report.model import ReportRequest

    with duckdb.connect(str(idle_db), read_only=True) as con:
        report = build_report(con, ReportRequest("2025Q2"))
        public = build_report(con, ReportRequest("2025Q2", edition="public"))
    units = report.section("units").frame.set_index("level")
    assert (units.loc["C99", "treatments"], units.loc["C99", "events"]) == (0, 0)
    assert units.loc["C99", "signal"] == "no treatments this quarter"
    assert report.scope == "All 15 clinics"
    assert report.notices == (
        "No treatments this quarter at 1 clinic(s): C99 (closed, joined later, or not loaded yet).",
    )
    assert "C99" not in "".join(public.notices) and public.notices[0].startswith(
        "No treatments this quarter at 1 clinic(s): K-"
    )
    assert "C99" not in report.funnel.units["unit"].tolist()  # not drawn as a 0 rate


@pytest.fixture(scope="module")
def stopped_db(tmp_path_factory, fixture_files) -> Path:
    """The fixture with every treatment after 15 August 2026 (and its events) left out:
    2026Q3 is half-filled."""
    folder = tmp_path_factory.mktemp("stopped")
    paths = []
    treatments = pd.read_csv(fixture_files["treatments"], dtype=str)
    keep = treatments["treatment_date"] <= "2026-08-15"
    for kind, path in fixture_files.items():
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        if kind == "treatments":
            frame = frame[keep.to_numpy()]
        if kind == "adverse_events":
            frame = frame[frame["treatment_id"].isin(treatments.loc[keep, "treatment_id"])]
        paths.append(folder / Path(path).name)
        frame.to_csv(paths[-1], index=False)
    db = folder / "stopped.duckdb"
    ingest_files(db, paths, IngestOptions(today=TODAY))
    return db


def test_a_half_filled_quarter_is_marked_and_kept_out_of_the_limits(stopped_db, capsys) -> None:
    from dashboard.report.content import build_report
    from dashboard.report.model import ReportRequest
    from dashboard.stats.spc import u_chart

    with duckdb.connect(str(stopped_db), read_only=True) as con:
        report = build_report(con, ReportRequest("2026Q3"))
    assert report.notices[0] == (
        "2026Q3 is incomplete: the data end on 15 Aug 2026, before the quarter does. Its "
        "figures will change as the rest of the quarter is loaded, and its part-filled month "
        "is not used for the u-chart's limits."
    )
    trend = report.section("trend").frame
    last = trend.iloc[-1]
    assert (last["level"], last["signal"]) == (
        "2026-08",
        "incomplete month: not used for the limits",
    )
    complete = trend.iloc[:-1]
    centre = u_chart(complete["level"].tolist(), complete["events"].astype(int).tolist(),
                     complete["treatments"].astype(float).tolist()).centre  # fmt: skip
    assert trend["expected"].tolist() == pytest.approx([centre] * len(trend), rel=1e-12)
    assert (
        main(["signals", "--db", str(stopped_db), "--quarter", "2026Q3", "--format", "json"]) == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert not [r for r in rows if r["kind"] == "trend" and "2026-08" in r["period"]]


# ---------------------------------------------------------------- generated databases
CATEGORIES = ("bruise", "bleeding", "fainted", "pneumothorax", "hiccups of doom", "nausea")
SEVERITIES = ("mild", "significant", "serious", "")
QUARTER_STARTS = (date(2025, 1, 1), date(2025, 4, 1), date(2025, 7, 1))


@st.composite
def databases(draw) -> dict[str, list[list[object]]]:
    """A few clinics (some idle in some quarters), practitioners, treatments in 1-3
    quarters, events from none to many (unmapped terms, a lone pneumothorax), and a
    couple of bad rows (a date in the future, an unknown treatment)."""
    n_clinics = draw(st.integers(1, 4))
    clinics = [[f"K{i}", f"Clinic {i}", "Leinster", "Ireland"] for i in range(n_clinics)]
    practitioners = [
        [f"P{i}", f"K{i % n_clinics}", "physiotherapist", draw(st.sampled_from([10, 40, 250])),
         draw(st.sampled_from(["1", "6", "12", ""]))]
        for i in range(draw(st.integers(n_clinics, n_clinics + 3)))
    ]  # fmt: skip
    treatments, events = [], []
    for q in range(draw(st.integers(1, 3))):
        for p, row in enumerate(practitioners):
            for k in range(draw(st.integers(0, 12))):
                day = QUARTER_STARTS[q] + timedelta(days=draw(st.integers(0, 89)))
                tid = f"T{q}-{p}-{k}"
                treatments.append([tid, day.isoformat(), row[0], row[1], f"PAT{k}",
                                   draw(st.sampled_from(["upper_trapezius", "gluteals"])),
                                   draw(st.sampled_from(["yes", "no"]))])  # fmt: skip
                for e in range(draw(st.integers(0, 2))):
                    events.append([f"E{tid}-{e}", tid, draw(st.sampled_from(CATEGORIES)),
                                   draw(st.sampled_from(SEVERITIES))])  # fmt: skip
    if draw(st.booleans()):
        treatments.append(["TBAD", "2099-01-01", "P0", "K0", "PATX", "gluteals", "no"])
        events.append(["EBAD", "T-unknown", "bruise", "mild"])
    return {"clinics": clinics, "practitioners": practitioners, "treatments": treatments,
            "events": events}  # fmt: skip


def build(tmp: Path, data: dict) -> Path:
    files = [
        write(tmp / "clinics.csv", ["clinic_id", "name", "region", "country"], data["clinics"]),
        write(tmp / "practitioners.csv", ["practitioner_id", "clinic_id", "profession",
              "dn_training_hours", "years_dn_experience"], data["practitioners"]),
        write(tmp / "treatments.csv", ["treatment_id", "treatment_date", "practitioner_id",
              "clinic_id", "patient_id", "body_region", "ultrasound_guided"], data["treatments"]),
        write(tmp / "events.csv", ["event_id", "treatment_id", "event_type", "severity"],
              data["events"]),
    ]  # fmt: skip
    db = tmp / "gen.duckdb"
    if not data["treatments"]:
        files = files[:2]
    ingest_files(db, files, IngestOptions(today=TODAY))
    return db


COMMANDS = (
    ("rates",), ("rates", "--by", "category"), ("rates", "--by", "clinic,quarter"),
    ("rates", "--by", "practitioner", "--spread"), ("rates", "--affected", "--by", "severity"),
    ("compare", "--factor", "ultrasound", "--adjust", "body_region"),
    ("compare", "--factor", "training_band"), ("model",), ("signals",),
    ("signals", "--quarter", "2025Q1"), ("signals", "--by", "quarter", "--units", "practitioner"),
    ("rejects",), ("terms",), ("terms", "--all"),
)  # fmt: skip


def one_line_or_nothing(status: int, err: str) -> None:
    assert "Traceback" not in err and "internal error" not in err, err
    lines = [line for line in err.splitlines() if not line.startswith("note: ")]
    if status == 0:
        return
    assert status == 2, err
    assert len(lines) == 1 and lines[0].startswith("needlewatch: "), err


@settings(max_examples=4, suppress_health_check=[HealthCheck.function_scoped_fixture,
          HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(data=databases())
@example(  # two practitioners, one per band and clinic: the model has no residual df
    data={
        "clinics": [["K0", "A", "L", "I"], ["K1", "B", "L", "I"]],
        "practitioners": [["P0", "K0", "physiotherapist", 40, "3"],
                          ["P1", "K1", "physiotherapist", 250, ""]],
        "treatments": [[f"T{i}", f"2025-0{1 + i % 3}-1{i % 9}", f"P{i % 2}", f"K{i % 2}", "X",
                        ("upper_trapezius", "gluteals")[i % 2], ("yes", "no")[i % 3 == 0]]
                       for i in range(40)],
        "events": [[f"E{i}", f"T{i}", ("bruise", "pneumothorax", "hiccups")[i % 3], "mild"]
                   for i in range(0, 40, 3)],
    }
)  # fmt: skip
def test_generated_databases_run_every_command_and_report(tmp_path_factory, capsys, data) -> None:
    tmp = tmp_path_factory.mktemp("gen")
    db = build(tmp, data)
    for command in COMMANDS:
        for fmt in ("table", "csv", "json"):
            status = main([*command, "--db", str(db), "--format", fmt])
            out, err = capsys.readouterr()
            one_line_or_nothing(status, err)
            if status == 0 and fmt == "json":
                json.loads(out)
            if status == 0 and fmt == "csv" and out:
                list(csv.reader(io.StringIO(out)))
    quarters = {d[1][:4] + "Q" + str((int(d[1][5:7]) - 1) // 3 + 1) for d in data["treatments"]}
    runs = [
        (q, e, f)
        for q in ("2025Q1",)
        for e in ("clinic", "public")
        for f in ("csv", "xlsx", "html")
    ]
    runs += [("2025Q3", e, "csv") for e in ("clinic", "public")]  # often a quarter with no data
    for quarter, edition, fmt in runs:
        out = tmp / f"{quarter}-{edition}.{fmt}"
        status = main(["report", "--db", str(db), "--quarter", quarter, "--edition", edition,
                       "--out", str(out)])  # fmt: skip
        _, err = capsys.readouterr()
        one_line_or_nothing(status, err)
        assert (status == 0) == (quarter in quarters) == out.exists(), err
