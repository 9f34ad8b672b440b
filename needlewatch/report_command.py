"""``needlewatch report``: write a quarterly report (PDF, HTML, XLSX or CSV) for cron or hand.

No prompts; exit status 0 only when the file was written. Unknown quarter, a quarter with
no treatments, an unwritable path or a missing system library end with one line on
stderr naming the fix, and exit status 2 (nothing is written).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TextIO

from dashboard.store.filters import parse_quarter, quarter_of
from needlewatch import settings

from .arguments import add_db, add_ids, add_overdispersion


def _quarter(text: str) -> str:
    try:
        start, _ = parse_quarter(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return quarter_of(start)


def _threshold(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of at least 1")
    return value


def add_report_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="write the quarterly report: PDF, HTML, XLSX or CSV (by the --out extension)",
        description="Write the quarterly safety report for one calendar quarter, for all "
        "clinics or one (--clinic). Editions: 'clinic' (confidential, for governance: includes "
        "the serious-event listing with narratives, practitioners by pseudonymous code) and "
        "'public' (keyed clinic codes, no narratives or identifiers, counts from 1 to "
        "--threshold suppressed with secondary suppression checked over this and every "
        "earlier quarter's public edition, optionally --rounding). The format follows the "
        "extension of --out: .pdf (A4, drawn and printed by Chromium, which it needs; prints the "
        f"first {settings.PDF_SERIOUS_ROWS} serious events of the quarter and every never "
        f"event on page 1 and the first {settings.PDF_LISTING_ROWS} rows of the listing, and "
        "counts the rest), .html (one "
        "self-contained file, interactive charts, every event listed), .xlsx (a sheet per "
        "table, native charts, every event in the sheet 'Serious events') "
        "or .csv (one tidy long table). Exit status 0 only when the file was written.",
    )
    p.add_argument("--quarter", required=True, type=_quarter, help="calendar quarter, e.g. 2026Q3")
    p.add_argument("--clinic", metavar="ID", help="one clinic only (default: every clinic)")
    p.add_argument(
        "--edition",
        choices=("clinic", "public", "feedback"),
        default="clinic",
        help="default clinic; feedback (with --clinic): what a professional body sends a member "
        "clinic, that clinic against the network of every clinic in the database, "
        "standardised for body region, on the funnel among unnamed peers (needs "
        f"{settings.FEEDBACK_MIN_PEERS} other clinics treating that quarter)",
    )
    p.add_argument(
        "--threshold",
        type=_threshold,
        default=settings.SUPPRESSION_THRESHOLD,
        metavar="N",
        help=f"public edition: suppress counts 1..N (default {settings.SUPPRESSION_THRESHOLD})",
    )
    p.add_argument(
        "--rounding",
        type=_threshold,
        metavar="N",
        help="public edition: after suppression, round every event count printed to the "
        "nearest N (OpenSAFELY uses 5) and compute rates from the rounded counts",
    )
    add_overdispersion(p)
    add_ids(p)
    p.add_argument(
        "--each-clinic",
        action="store_true",
        help="feedback edition: one report for every clinic with treatments in the quarter, "
        "each to --out with {clinic} replaced by its id (e.g. --out 'feedback/{clinic}.pdf')",
    )
    p.add_argument("--out", required=True, type=Path, metavar="FILE", help="report file to write")
    add_db(p)


def cmd_report(args: argparse.Namespace, db_path: Path, out: TextIO) -> int:
    from dashboard.report.model import ReportRequest
    from dashboard.report.render import format_of, write_report
    from dashboard.store.db import connect_readonly  # DuckDB: not for building the parser
    from dashboard.store.queries import clinic_exists

    format_of(args.out)  # a wrong extension fails before any work
    if args.each_clinic:
        return _each_clinic(args, db_path, out)
    request = ReportRequest(
        args.quarter, args.clinic, args.edition, args.threshold, args.rounding,
        args.practitioner_ids, args.overdispersion,
    )  # fmt: skip
    started = time.perf_counter()
    con = connect_readonly(db_path)
    try:
        if args.clinic and not clinic_exists(con, args.clinic):
            raise ValueError(
                f"no clinic {args.clinic!r} in {db_path}: `needlewatch rates --by clinic` lists them"
            )
        report = write_report(con, request, args.out, printer=args.printer)
    finally:
        con.close()
    seconds = time.perf_counter() - started
    out.write(
        f"{args.out}: {report.title}, {report.scope}, {args.edition} edition "
        f"({args.out.stat().st_size:,} bytes, {seconds:.1f} s)\n"
    )
    for sentence in report.method_overrides:
        print(f"note: {sentence}", file=sys.stderr)
    for heading, text in report.disclosure:  # for the publisher
        print(f"{heading.lower()}: {text}", file=sys.stderr)
    return 0


def _each_clinic(args: argparse.Namespace, db_path: Path, out: TextIO) -> int:
    """``--each-clinic``: every clinic's feedback report, a line per file written."""
    from dashboard.report.render import feedback_path, write_each_feedback
    from dashboard.store.db import connect_readonly
    from dashboard.store.queries import unit_ids

    if args.edition != "feedback" or args.clinic:
        raise ValueError(
            "--each-clinic writes the feedback edition for every clinic: give --edition "
            "feedback and no --clinic"
        )
    feedback_path(args.out, "x")  # {clinic} in the name, before any work
    started = time.perf_counter()
    con = connect_readonly(db_path)
    try:
        written = write_each_feedback(
            con, args.quarter, args.out, args.overdispersion, printer=args.printer
        )
        members = unit_ids(con, "clinic")
    finally:
        con.close()
    for path, report in written:
        out.write(f"{path}: {report.title}, {report.scope} ({path.stat().st_size:,} bytes)\n")
    sent = {r.request.clinic for _, r in written}
    for clinic in (c for c in members if c not in sent):
        out.write(f"no report for {clinic}: no treatments in {args.quarter} (idle, or its "
                  "submission has not arrived)\n")  # fmt: skip
    out.write(
        f"{len(written)} feedback reports for {args.quarter} "
        f"({time.perf_counter() - started:.1f} s)\n"
    )
    return 0


HANDLERS = {"report": cmd_report}
