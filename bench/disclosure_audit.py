"""The public edition of every quarter against an attacker, and each surface's outliers.

For each quarter with data in the database (the demo by default), build the all-clinic
public edition as ``needlewatch report --edition public`` does, then attack it with
``tests/attacker.py``, which reads only the CSV files: every quarter's public CSV up to
that one, every relation between their numbers, an integer programme per suppressed count.
Prints, per quarter: counts suppressed (small / protecting), the narrowest range the
attacker reaches for a small count (the rule needs at least the threshold's 7 values),
and whether any printed count lies in 1..7. Then, for the quarter asked for (and all
dates), the clinics each surface flags: the Clinics page's data (``views.clinics``),
``needlewatch signals`` and the report's funnel table.

    uv run python bench/disclosure_audit.py [--db data/needlewatch.duckdb] [--quarter 2026Q3]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

import duckdb
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dashboard.analysis import views  # noqa: E402
from dashboard.report.content import build_report  # noqa: E402
from dashboard.report.csvout import write_csv  # noqa: E402
from dashboard.report.model import ReportRequest  # noqa: E402
from dashboard.store.filters import Filters, parse_quarter  # noqa: E402
from needlewatch.cli import main  # noqa: E402
from tests.attacker import Publication  # noqa: E402


def quarters(con) -> list[str]:
    rows = con.execute(
        "SELECT DISTINCT strftime(treatment_date, '%Y') || 'Q' || quarter(treatment_date) "
        "FROM treatments ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def audit(db: Path) -> None:
    seen, truth = Publication(), Publication()
    print("| quarter | suppressed (small + protecting) | narrowest range of a small count "
          "(all publications so far) | printed counts in 1..7 | build s | attack s |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    with duckdb.connect(str(db), read_only=True) as con:
        for q in quarters(con):
            started = time.perf_counter()
            request = ReportRequest(q, None, "public")
            public = build_report(con, request)
            raw = build_report(con, request, suppressed=False)
            built = time.perf_counter() - started
            csv, raw_csv = write_csv(public), write_csv(raw)
            seen.add(csv, q)
            truth.add(raw_csv, q)
            table = pd.read_csv(io.BytesIO(csv), encoding="utf-8-sig")
            printed = table.loc[table["measure"] != "count", ["events", "ref_events"]].stack()
            small_printed = int(printed.between(1, 7).sum())
            mine = {k for k in seen.hidden if seen.where[k].startswith(f"{q}:")}
            small = sorted(k for k in mine if 1 <= truth.known[k] <= 7)
            started = time.perf_counter()
            ranges = seen.ranges(small) if small else {}
            attacked = time.perf_counter() - started
            if ranges:
                key = min(ranges, key=lambda k: (ranges[k][1] - ranges[k][0], str(k)))
                lo, hi = ranges[key]
                width = hi - lo + 1
                narrow = f"{width:g} values ({lo:g} to {hi:g}: {seen.where[key].split(': ', 1)[1]})"
            else:
                narrow = "no small count in this quarter"
            print(f"| {q} | {len(mine)} ({len(small)} + {len(mine) - len(small)}) | {narrow} | "
                  f"{small_printed} | {built:.1f} | {attacked:.1f} |")  # fmt: skip


def flagged(db: Path, quarter: str | None) -> None:
    f = Filters(*parse_quarter(quarter)) if quarter else Filters()
    with duckdb.connect(str(db), read_only=True) as con:
        page = views.clinics(con, f, "clinic")
        report = build_report(con, ReportRequest(quarter)) if quarter else None
    page_set = sorted(
        f"{u} ({o})" for u, o in zip(page.units["unit"], page.units["outside"], strict=True) if o
    )
    buf = io.StringIO()
    with redirect_stdout(buf):
        main(
            [
                "signals",
                "--db",
                str(db),
                "--format",
                "json",
                *(["--quarter", quarter] if quarter else []),
            ]
        )
    rows = json.loads(buf.getvalue())
    cli = sorted(
        f"{r['unit']} ({r['rule'].removesuffix(' limit')})" for r in rows if r["kind"] == "funnel"
    )
    label = quarter or "all dates"
    print(f"| {label} | Clinics page | {len(page_set)} | {', '.join(page_set)} |")
    print(f"| {label} | needlewatch signals | {len(cli)} | {', '.join(cli)} |")
    if report is not None:
        units = report.section("units").frame
        rep = sorted(f"{r['level']} ({r['signal']})" for r in units.to_dict("records")
                     if r["signal"] not in ("within 95% limits", "no treatments this quarter"))  # fmt: skip
        print(f"| {label} | report funnel | {len(rep)} | {', '.join(rep)} |")


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=ROOT / "data" / "needlewatch.duckdb")
    parser.add_argument("--quarter", default="2026Q3")
    args = parser.parse_args()
    print(f"## Public editions of {args.db} against the attacker (tests/attacker.py)\n")
    audit(args.db)
    print("\n## Clinics flagged by each surface (default methods)\n")
    print("| period | surface | flagged | clinics |\n|---|---|---|---|")
    flagged(args.db, args.quarter)
    flagged(args.db, None)


if __name__ == "__main__":
    main_()
