"""One function per sub-command: parse arguments into library calls, print the result."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

import duckdb
import pandas as pd

from dashboard.bands import Bands
from dashboard.db import connect_readonly
from dashboard.filters import DIMS, PER_UNITS, Filters, parse_quarter
from dashboard.rates import incidence_table
from ingest.api import IngestOptions, add_term_mappings, ingest_files
from ingest.errors import NeedleWatchError
from ingest.vocab import UNMAPPED

from .output import write_frame, write_ingest_summary

__all__ = ["DIMS", "PER_UNITS"]


def cmd_ingest(args: argparse.Namespace, db_path: Path, out: TextIO) -> int:
    options = IngestOptions(
        kind=args.kind, encoding=args.encoding, date_format=args.date_format, strict=args.strict
    )
    report = ingest_files(db_path, list(args.files), options)
    write_ingest_summary(report, out)
    return 3 if report.rows_rejected else 0


def _demo_only(db_path: Path, demo_dir: Path) -> None:
    """Refuse to replace a database that holds anything but demo data."""
    if not db_path.exists():
        return
    con = connect_readonly(db_path)
    try:
        files = [r[0] for r in con.execute("SELECT DISTINCT file FROM ingest_runs").fetchall()]
    finally:
        con.close()
    demo_root = demo_dir.resolve()
    foreign = [f for f in files if demo_root not in Path(f.split("[")[0]).parents]
    if foreign:
        raise NeedleWatchError(
            f"{db_path} holds data that is not from the demo ({foreign[0]}); "
            "pass --db with another path to load the demo there"
        )


def cmd_demo(args: argparse.Namespace, db_path: Path, out: TextIO) -> int:
    from ingest.demo import generate_demo

    _demo_only(db_path, args.out)
    paths = generate_demo(args.out, seed=args.seed, n_treatments=args.treatments)
    report = ingest_files(db_path, list(paths.values()), IngestOptions(), replace=True)
    write_ingest_summary(report, out)
    out.write(f"demo data (seed {args.seed}) loaded into {db_path}\n")
    return 0


def _filters(args: argparse.Namespace) -> Filters:
    date_from, date_to = args.date_from, args.date_to
    if args.quarter:
        if date_from or date_to:
            raise ValueError("give either --quarter or --from/--to, not both")
        date_from, date_to = parse_quarter(args.quarter)
    return Filters(
        date_from=date_from,
        date_to=date_to,
        clinics=tuple(args.clinic),
        category=args.category,
        severity=args.severity,
        bands=Bands(tuple(args.training_bands), tuple(args.experience_bands)),
    )


def _check_category(con: duckdb.DuckDBPyConnection, category: str | None) -> None:
    from dashboard.queries import event_levels

    if category is None:
        return
    known = event_levels(con, "category", Filters())
    if category not in known:
        raise ValueError(f"unknown category '{category}'; use one of {', '.join(known)}")


def cmd_rates(args: argparse.Namespace, db_path: Path, out: TextIO) -> int:
    dims = tuple(d.strip() for d in args.by.split(",") if d.strip())
    filters = _filters(args)
    con = connect_readonly(db_path)
    try:
        _check_category(con, filters.category)
        table = incidence_table(con, dims, filters, args.per)
    finally:
        con.close()
    if table.empty:
        raise NeedleWatchError(
            "no treatments match these filters; widen the period or check the clinic ids "
            "(needlewatch rates --by clinic lists them)"
        )
    write_frame(table, args.format, out)
    return 0


def cmd_terms(args: argparse.Namespace, db_path: Path, out: TextIO) -> int:
    if args.add:
        changed = add_term_mappings(db_path, args.add)
        out.write(f"mappings added from {args.add}; {changed} stored event(s) re-categorised\n")
    con = connect_readonly(db_path)
    try:
        frame = con.execute(
            """
            SELECT event_type AS term, category, count(*) AS events
            FROM adverse_events WHERE $all OR category = $unmapped
            GROUP BY ALL ORDER BY events DESC, term
            """,
            {"all": args.all, "unmapped": UNMAPPED},
        ).df()
    finally:
        con.close()
    if frame.empty and not args.all:
        out.write("no unmapped event terms: every reported term matched a category\n")
        return 0
    write_frame(frame, args.format, out)
    return 0


def cmd_rejects(args: argparse.Namespace, db_path: Path, out: TextIO) -> int:
    con = connect_readonly(db_path)
    try:
        frame: pd.DataFrame = con.execute(
            """
            SELECT run_id, file, row_number, column_name, value, reason
            FROM rejects WHERE len($runs) = 0 OR list_contains($runs, run_id)
            ORDER BY run_id, row_number, column_name
            """,
            {"runs": list(args.run)},
        ).df()
    finally:
        con.close()
    if frame.empty:
        out.write("no rejected rows\n")
        return 0
    write_frame(frame, args.format, out)
    return 0
