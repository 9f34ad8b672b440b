"""Quarterly report speed on a 10-million-treatment database (issues 5 and 12).

Target (issue 12): a cold `report ... --out q.pdf` for one quarter in under 5 s, charts drawn
through one kaleido browser.
Prints, per report (all clinics clinic edition, public edition, one clinic), the wall
time of ``needlewatch report`` in a fresh process (what cron sees, imports included), then,
in this warm process (as the dashboard's download button runs), its parts: building the
content (the database queries and statistics; Chromium starts meanwhile), drawing the
charts through the one browser, laying out the PDF, and their sum; then charts drawn with
one kaleido call (one browser) per chart, for the ratio.

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
from dashboard.report.images import ChartRenderer, img_tag  # noqa: E402
from dashboard.report.model import ReportRequest  # noqa: E402
from dashboard.report.pdf import html_to_pdf  # noqa: E402
from dashboard.report.render import PDF_HEIGHT, PDF_WIDTH, pdf_html  # noqa: E402

TARGET_S = 5.0


def cli_seconds(db: Path, args: list[str], repeat: int) -> list[float]:
    """Wall time of `needlewatch report ... --out x.pdf` in a fresh process, each run."""
    times = []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(repeat):
            out = Path(folder) / "q.pdf"
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "needlewatch.cli", "report", "--db", str(db),
                 "--out", str(out), *args],
                check=True, capture_output=True,
            )  # fmt: skip
            times.append(time.perf_counter() - started)
    return times


def parts(db: Path, request: ReportRequest) -> dict[str, float]:
    """Seconds for each stage of one PDF, in this (warm) process."""
    renderer = ChartRenderer()
    renderer.start()  # as `needlewatch report` does: Chromium starts while the queries run
    con = duckdb.connect(str(db), read_only=True)
    t0 = time.perf_counter()
    report = build_report(con, request)
    t1 = time.perf_counter()
    con.close()
    figures = report_figures(report)
    with renderer:
        t2 = time.perf_counter()
        images = renderer.render(list(figures.values()), width=PDF_WIDTH, height=PDF_HEIGHT)
        t3 = time.perf_counter()
    tags = {k: img_tag(i, width=PDF_WIDTH) for k, i in zip(figures, images, strict=True)}
    t4 = time.perf_counter()
    html_to_pdf(pdf_html(report, tags))
    t5 = time.perf_counter()
    import kaleido

    t6 = time.perf_counter()
    for fig in list(figures.values())[:3]:  # one browser per chart: three are enough to time
        kaleido.calc_fig_sync(fig, opts={"width": PDF_WIDTH, "height": PDF_HEIGHT, "format": "png"})
    per_chart_each = (time.perf_counter() - t6) / 3
    return {
        "build": t1 - t0,
        "warm": (t1 - t0) + (t3 - t2) + (t5 - t4) + (t2 - t1),
        "charts": t3 - t2,
        "charts_n": len(figures),
        "pdf": t5 - t4,
        "rows": len(report.listing) if report.listing is not None else 0,
        "per_chart_one_server": (t3 - t2) / len(figures),
        "per_chart_own_browser": per_chart_each,
    }


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
    print(f"\n{'report':32} {'cron run (median)':>18} {'warm':>7} {'target':>7} {'build':>7} {'charts':>8} "
          f"{'pdf':>6} {'listing':>8} {'s/chart one server':>19} {'s/chart own browser':>20} {'ratio':>6}")  # fmt: skip
    for name, extra, request in cases:
        runs = cli_seconds(db, ["--quarter", args.quarter, *extra], args.repeat)
        median = statistics.median(runs)
        p = parts(db, request)
        ratio = p["per_chart_own_browser"] / p["per_chart_one_server"]
        verdict = "/".join("PASS" if t < TARGET_S else "FAIL" for t in (median, p["warm"]))
        print(
            f"{name:32} {median:>16.2f} s {p['warm']:>6.2f}s {verdict:>9} {p['build']:>6.2f}s {p['charts']:>6.2f}s "
            f"({p['charts_n']}) {p['pdf']:>5.2f}s {p['rows']:>8} {p['per_chart_one_server']:>18.2f}s "
            f"{p['per_chart_own_browser']:>19.2f}s {ratio:>5.1f}x"
        )
    print(f"\ncron runs: {args.repeat} per report, fresh process each (imports and Chromium start "
          f"included); warm: build + charts + PDF in a running process (the dashboard's "
          f"download); target < {TARGET_S:.0f} s for the PDF (cron/warm).")  # fmt: skip


if __name__ == "__main__":
    main()
