"""Quarterly report speed on a 10-million-treatment database (issues 5 and 12).

Target (issue 12): a cold `report ... --out q.pdf` for one quarter in under 5 s.
Prints, per report (all clinics clinic edition, public edition, one clinic), the wall
time of ``needlewatch report`` in a fresh process (what cron sees, imports included), then,
in this warm process (as the dashboard's download button runs), its parts: building the
content (the database queries and statistics; Chromium starts and loads plotly.js
meanwhile), writing the HTML (the charts as Plotly JSON), Chromium drawing the charts,
laying out and printing the PDF, and their sum; then bare DuckDB counting the quarter's
treatments and events by clinic and category, the counts the report starts from.

    uv run python bench/report_speed.py [--treatments 10000000] [--quarter 2026Q2]
        [--repeat 3] [--rebuild]

The database is the dashboard bench's (``bench/out/``), built on first use.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dashboard_speed import build_database  # noqa: E402

from dashboard.report.content import build_report  # noqa: E402
from dashboard.report.figures import report_figures  # noqa: E402
from dashboard.report.model import ReportRequest  # noqa: E402
from dashboard.report.page import chart_html  # noqa: E402
from dashboard.report.pdf import PdfPrinter  # noqa: E402
from dashboard.report.render import PDF_HEIGHT, PDF_HEIGHTS, PDF_WIDTH, pdf_html  # noqa: E402
from dashboard.store.filters import parse_quarter  # noqa: E402

TARGET_S = 5.0


def cli_seconds(db: Path, args: list[str], repeat: int) -> list[float]:
    """Wall time of `needlewatch report ... --out x.pdf` in a fresh process, each run."""
    times = []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(repeat):
            out = Path(folder) / "q.pdf"
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "needlewatch.cli", "report", "--db", str(db),
                 "--out", str(out), *args],
                capture_output=True, text=True,
            )  # fmt: skip
            if done.returncode != 0:
                sys.exit(f"report {' '.join(args)} failed ({done.returncode}): {done.stderr}")
            times.append(time.perf_counter() - started)
    return times


def parts(db: Path, request: ReportRequest) -> dict[str, float]:
    """Seconds for each stage of one PDF, in this (warm) process."""
    printer = PdfPrinter()
    printer.start()  # as `needlewatch report` does: Chromium starts while the queries run
    con = duckdb.connect(str(db), read_only=True)
    t0 = time.perf_counter()
    report = build_report(con, request)
    t1 = time.perf_counter()
    con.close()
    figures = report_figures(report)
    tags = {
        k: chart_html(k, f, PDF_WIDTH, PDF_HEIGHTS.get(k, PDF_HEIGHT)) for k, f in figures.items()
    }
    html = pdf_html(report, tags)
    t2 = time.perf_counter()
    with printer:
        pdf = printer.print_pdf(html)
    t3 = time.perf_counter()
    return {
        "build": t1 - t0,
        "html": t2 - t1,
        "print": t3 - t2,
        "warm": t3 - t0,
        "charts_n": len(figures),
        "pages": pdf.count(b"/Type /Page\n") or pdf.count(b"/Type/Page\n"),
        "rows": len(report.listing) if report.listing is not None else 0,
    }


def bare_seconds(db: Path, quarter: str, clinic: str | None) -> float:
    """Bare DuckDB counting the quarter's treatments by clinic and its events by clinic and
    category: the counts every table of the report starts from."""
    start, end = parse_quarter(quarter)
    con = duckdb.connect(str(db), read_only=True)
    where = "treatment_date BETWEEN ? AND ?" + (" AND clinic_id = ?" if clinic else "")
    params = [start, end, *([clinic] if clinic else [])]
    t0 = time.perf_counter()
    con.execute(
        f"SELECT clinic_id, count(*) FROM treatments WHERE {where} GROUP BY 1", params
    ).fetchall()
    con.execute(
        "SELECT t.clinic_id, e.category, count(*) FROM adverse_events e "
        f"JOIN treatments t USING (treatment_id) WHERE {where.replace('treatment_date', 't.treatment_date').replace('clinic_id =', 't.clinic_id =')} "
        "GROUP BY 1, 2",
        params,
    ).fetchall()
    seconds = time.perf_counter() - t0
    con.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--treatments", type=int, default=10_000_000)
    parser.add_argument("--quarter", default="2026Q2")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    db, info = build_database(args.treatments, args.rebuild)
    print(f"database: {db} ({args.treatments:,} treatments); cores: {os.cpu_count()}; "
          f"duckdb {duckdb.__version__}")  # fmt: skip
    cases = [
        ("all clinics, clinic edition", [], ReportRequest(args.quarter)),
        ("all clinics, public edition", ["--edition", "public"], ReportRequest(args.quarter, edition="public")),
        ("clinic C04, clinic edition", ["--clinic", "C04"], ReportRequest(args.quarter, "C04")),
    ]  # fmt: skip
    print(f"\n{'report':30} {'cron run (median)':>18} {'warm':>7} {'target':>6} {'verdict':>10} "
          f"{'build':>7} {'html':>6} {'print':>6} {'charts':>7} {'pages':>6} {'listing':>8} {'bare DuckDB':>12}")  # fmt: skip
    for name, extra, request in cases:
        runs = cli_seconds(db, ["--quarter", args.quarter, *extra], args.repeat)
        median = statistics.median(runs)
        p = parts(db, request)
        bare = bare_seconds(db, args.quarter, request.clinic)
        verdict = "/".join("PASS" if t < TARGET_S else "FAIL" for t in (median, p["warm"]))
        print(
            f"{name:30} {median:>16.2f} s {p['warm']:>6.2f}s {TARGET_S:>5.0f}s {verdict:>10} "
            f"{p['build']:>6.2f}s {p['html']:>5.2f}s {p['print']:>5.2f}s {p['charts_n']:>7} "
            f"{p['pages']:>6} {p['rows']:>8} {bare:>11.2f}s"
        )
    print(f"\ncron runs: {args.repeat} per report, fresh process each (imports and Chromium start "
          f"included); warm: build + html + print in a running process (the dashboard's "
          f"download); print: Chromium draws the charts, lays out and prints; target < "
          f"{TARGET_S:.0f} s for the PDF (cron/warm); bare DuckDB: the quarter's counts by "
          f"clinic and category, for scale.")  # fmt: skip


if __name__ == "__main__":
    main()
