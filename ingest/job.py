"""One ingest in a process of its own, its outcome as JSON: for the dashboard's upload page.

    python -m ingest.job --db DB [--mapping PROFILE.toml] [--dry-run] [--clinic C]... FILE...
    python -m ingest.job --db DB --event JSON --filed-by WHO [--clinic C]... [--practitioner P]...
      -> {"ok": true, "event_id": ..., "version": n} (the incident form: ``ingest.form``)
      -> {"ok": true, "dry_run": true, "runs": [{"label": ..., "kind": ..., "rows_read": ...,
          "rows_accepted": ..., "rows_updated": ..., "rows_unchanged": ...,
          "rows_rejected": ..., "notices": [...]}],
          "rejected": [{"file": ..., "row": ..., "column": ..., "value": ..., "reason": ...}]}
      or {"ok": false, "message": "<the one-line fix>"}

Why a process: DuckDB lets a process hold a database file for writing or for reading, not
both, and the dashboard's process reads it for every page. An ingest in a process of its
own takes the file as ``needlewatch ingest`` does, and the dashboard's readers wait it out
(``ingest.store``). ``--dry-run`` runs the whole ingest, validation, rejects and counts
included, then rolls it back: what a commit would do, shown before it is done.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from .api import IngestOptions, ingest_files
from .errors import NeedleWatchError
from .form import EventReport, Filer, file_event
from .guard import ClinicGuard
from .mapping import load_profile


def run(
    db: Path,
    files: list[Path],
    mapping: Path | None,
    dry_run: bool,
    clinics: tuple[str, ...] | None = None,
) -> dict:
    """The ingest's outcome as a JSON-ready dict (see the module docstring); ``clinics``:
    an upload by those clinics' safety officer, every row checked (``ingest.guard``)."""
    try:
        options = IngestOptions(
            mapping=load_profile(mapping) if mapping else None,
            filing=ClinicGuard(clinics) if clinics is not None else None,
        )
        report = ingest_files(db, files, options, dry_run=dry_run)
    except (NeedleWatchError, ValueError) as exc:
        return {"ok": False, "message": str(exc)}
    return {
        "ok": True,
        "dry_run": dry_run,
        "runs": [
            {
                "label": r.label,
                "kind": r.kind,
                "rows_read": r.rows_read,
                "rows_accepted": r.rows_accepted,
                "rows_updated": r.rows_updated,
                "rows_unchanged": r.rows_unchanged,
                "rows_rejected": r.rows_rejected,
                "notices": list(r.notices),
            }  # fmt: skip
            for r in report.runs
        ],
        "rejected": [
            {"file": f, "row": row, "column": col, "value": value, "reason": reason}
            for f, row, col, value, reason in report.rejected_rows
        ],
    }


def file_one(db: Path, fields: dict, filer: Filer) -> dict:
    """``ingest.form.file_event`` of the form's fields, as a JSON-ready dict."""
    try:
        onset = fields.get("onset_date")
        report = EventReport(
            **{**fields, "onset_date": date.fromisoformat(onset) if onset else None}
        )
        filed = file_event(db, report, filer)
    except (NeedleWatchError, ValueError, TypeError) as exc:
        return {"ok": False, "message": str(exc)}
    if not filed.ok:
        return {"ok": False, "message": "a value was rejected", "event_id": filed.event_id,
                "rejected": [list(r) for r in filed.rejected]}  # fmt: skip
    return {"ok": True, "event_id": filed.event_id, "version": filed.version}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ingest.job", description=__doc__.split("\n")[0]
    )
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--mapping", type=Path)
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--event", help="the incident form's fields as JSON (no FILE)")
    parser.add_argument("--filed-by", default="local")
    parser.add_argument("--clinic", action="append", help="the filer's clinics (any if none)")
    parser.add_argument("--practitioner", action="append", help="the filer's practitioner ids")
    args = parser.parse_args(argv)
    if args.event is not None:
        limited = args.clinic is not None or args.practitioner is not None
        filer = Filer(
            args.filed_by,
            practitioners=tuple(args.practitioner or ()) if limited else None,
            clinics=tuple(args.clinic or ()) if limited else None,
        )
        outcome = file_one(args.db, json.loads(args.event), filer)
    elif not args.files:
        parser.error("give the FILE(s) to ingest, or --event")
    else:
        clinics = tuple(args.clinic) if args.clinic else None
        outcome = run(args.db, args.files, args.mapping, args.dry_run, clinics)
    json.dump(outcome, sys.stdout, default=str)
    return 0 if outcome["ok"] else 2


if __name__ == "__main__":
    sys.exit(main())
