"""``needlewatch submit``: a clinic's de-identified quarterly submission to its professional
body (``dashboard.report.submission``): one zip file of counts, the serious-event list,
the data-quality summary and a manifest with a SHA-256 per member. ``--dry-run`` prints
exactly what would leave, and writes nothing.
"""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TextIO

from needlewatch import __version__

from .arguments import add_db
from .report_command import _quarter


def add_submit_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "submit",
        help="write a clinic's de-identified quarterly submission for its professional body",
        description="Write one clinic's submission for one ended quarter: a zip file of "
        "counts (treatments, insertions, events, treatments affected by month, profession, "
        "training band, experience band, body region, ultrasound, technique, category and "
        "severity), the serious events (month, category, severity, body region, ultrasound, "
        "training band, outcome), a data-quality summary and manifest.json (clinic, "
        "quarter, tool version, created at, SHA-256 and rows of every member). No "
        "patient, practitioner, treatment or event id, no day and no narrative leaves the "
        "clinic. Bands come from the body's profile (--profile). --dry-run prints every "
        "table that would leave and writes nothing.",
    )
    p.add_argument("--quarter", required=True, type=_quarter, help="an ended quarter, e.g. 2026Q3")
    p.add_argument("--clinic", metavar="ID", help="the clinic (default: the database's one clinic)")
    p.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="the body's profile (TOML: [body] id, name; [bands] training_upper, "
        "experience_cuts; [disclosure] min_cell: cells with fewer treatments withhold the "
        "practitioner's profession, bands and the technique); default: NeedleWatch's bands, "
        "no body named, no minimum",
    )
    p.add_argument("--to", metavar="BODY", help="the body's id (default: the profile's)")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", type=Path, metavar="FILE", help="the zip file to write")
    where.add_argument(
        "--dry-run", action="store_true", help="print what would be submitted; write nothing"
    )
    add_db(p)


def cmd_submit(args: argparse.Namespace, db_path: Path, out: TextIO) -> int:
    from dataclasses import replace

    from dashboard.report.submission import (
        MEMBERS,
        BodyProfile,
        build_submission,
        choose_clinic,
        read_profile,
        write_submission,
    )
    from dashboard.store.db import connect_readonly  # DuckDB: not for building the parser

    profile = read_profile(args.profile) if args.profile else BodyProfile()
    if args.to:
        profile = replace(profile, body_id=args.to)
    if args.out is not None and args.out.suffix.lower() != ".zip":
        raise ValueError(f"{args.out}: a submission is a .zip file; name it like C04-2026Q3.zip")
    con = connect_readonly(db_path)
    try:
        clinic = choose_clinic(con, args.clinic, str(db_path))
        submission = build_submission(
            con, clinic, args.quarter, profile, today=date.today(),
            created_at=datetime.now(UTC), tool_version=__version__,
        )  # fmt: skip
    finally:
        con.close()
    members = submission.manifest["members"]
    if args.dry_run:
        for name in MEMBERS:
            frame = submission.tables[name]
            out.write(f"== {name} ({members[name]['rows']} rows)\n")
            out.write(submission.files[name].decode("utf-8") if len(frame) else "(no rows)\n")
            out.write("\n")
        out.write(
            f"dry run: nothing written; the submission of {clinic} for {args.quarter} holds "
            "the tables above and manifest.json\n"
        )
        return 0
    write_submission(submission, args.out)
    rows = ", ".join(f"{name} {m['rows']}" for name, m in members.items())
    to = f" for {profile.body_id}" if profile.body_id else ""
    out.write(f"{args.out}: submission of {clinic} for {args.quarter}{to} ({rows} rows)\n")
    return 0


HANDLERS = {"submit": cmd_submit}
