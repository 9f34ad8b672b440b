"""Sub-commands that load and inspect data: ingest, demo, terms, rejects.

One function per sub-command: arguments into library calls, result to ``out``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from ingest.errors import NeedleWatchError
from needlewatch import settings

from .output import ProgressBar, write_frame, write_ingest_summary, write_submissions_summary

# DuckDB and the ingest library are imported by the commands that use them, so that
# building the parser (``--version``, ``--help``) imports neither.


def cmd_ingest(args: argparse.Namespace, db_path: Path, out: TextIO) -> int:
    from ingest.api import IngestOptions, ingest_files

    mapping = None
    if args.mapping is not None:
        from ingest.mapping import load_profile

        mapping = load_profile(_profile_path(args.mapping))
    options = IngestOptions(
        kind=args.kind, encoding=args.encoding, date_format=args.date_format, strict=args.strict,
        mapping=mapping,
    )  # fmt: skip
    zips = [f for f in args.files if Path(f).suffix.lower() == ".zip"]
    files = [f for f in args.files if f not in zips]
    status = 0
    if files:
        bar = ProgressBar(sys.stderr)
        try:
            with _duckdb_without_pandas(files, mapped=mapping is not None):
                report = ingest_files(db_path, files, options, progress=bar)
        finally:
            bar.close()
        write_ingest_summary(report, out)
        status = 3 if report.rows_rejected else 0
    if zips:
        status = max(status, _ingest_submissions(args, db_path, zips, out))
    return status


def _ingest_submissions(args: argparse.Namespace, db_path: Path, zips: list[Path], out) -> int:
    """Clinics' submission zips, after any row files (a register in the same command is
    in place first): one line per file, rejections on stderr; 3 if any was rejected."""
    from ingest.submissions import ingest_submissions

    bands = {}
    if args.profile is not None:
        from dashboard.report.submission import read_profile

        try:
            profile = read_profile(args.profile)
        except ValueError as exc:
            raise NeedleWatchError(str(exc)) from None
        chosen = profile.bands
        bands = {
            "training_upper": chosen.training_upper, "experience_cuts": chosen.experience_cuts,
            "min_cell": profile.min_cell,
        }  # fmt: skip
    report = ingest_submissions(db_path, zips, **bands)
    for rejected in report.rejected:
        sys.stderr.write(f"rejected: {rejected}\n")
    write_submissions_summary(report, out)
    return 3 if report.rejected else 0


@contextmanager
def _duckdb_without_pandas(files: list[Path], mapped: bool = False) -> Iterator[None]:
    """Hide pandas from DuckDB while the command line ingests CSV or Parquet files.

    DuckDB's Python client imports pandas, when installed, at the first statement with a
    bound parameter (to recognise pandas values among them): 1.5 s of a one-event
    follow-up that never uses pandas. While ``sys.modules["pandas"]`` is None that import
    fails and DuckDB binds the plain Python values as usual; afterwards pandas imports
    normally. Workbooks and mapped exports are read through pandas (``ingest.readers``,
    ``ingest.mapping``), so an ingest with one, or a process that already imported pandas,
    is left as it is.
    """
    from ingest.readers import XLSX_SUFFIXES  # (0.1 s: not for the analysis commands)

    if (
        mapped
        or "pandas" in sys.modules
        or any(Path(f).suffix.lower() in XLSX_SUFFIXES for f in files)
    ):
        yield
        return
    sys.modules["pandas"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if sys.modules.get("pandas", False) is None:
            del sys.modules["pandas"]


def _demo_only(db_path: Path, demo_dir: Path) -> None:
    """Refuse to replace a database that holds anything but demo data. A database of any
    schema version is read (every version records its files in ``ingest_runs``): an older
    demo database is replaced, not sent to ``needlewatch upgrade`` first."""
    if not db_path.exists():
        return
    from dashboard.store.quality import loaded_files
    from ingest.store import open_for_reading

    con = open_for_reading(db_path)
    try:
        files = loaded_files(con)
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
    from ingest.api import IngestOptions, ingest_files
    from ingest.demo import generate_demo

    if args.network:
        return _demo_network(args, db_path, out)
    folder = args.out or settings.DEFAULT_DEMO_DIR
    _demo_only(db_path, folder)
    paths = generate_demo(folder, seed=args.seed, n_treatments=args.treatments)
    report = ingest_files(db_path, list(paths.values()), IngestOptions(), replace=True)
    write_ingest_summary(report, out)
    out.write(f"demo data (seed {args.seed}) loaded into {db_path}\n")
    return 0


def _demo_network(args: argparse.Namespace, db_path: Path, out: TextIO) -> int:
    """``demo --network``: the body's database from the demo clinics' submissions."""
    from datetime import date

    from .network_demo import build_network

    folder = args.out or settings.DEFAULT_NETWORK_DIR
    _demo_only(db_path, folder)
    report, arrivals = build_network(
        folder, db_path, seed=args.seed, treatments=args.treatments, today=date.today()
    )
    received, rejected = report.received, report.rejected
    replaced = sum(r.status == "replaced" for r in received)
    out.write(
        f"{len(arrivals)} submission files from {len({r.clinic_id for r in received})} demo "
        f"clinics in {folder / 'submissions'}: {len(received)} received ({replaced} "
        f"replacing an earlier version), {len(rejected)} rejected:\n"
    )
    for exc in rejected:
        out.write(f"  rejected: {exc}\n")
    out.write(f"the body's database is {db_path}: open it with needlewatch serve --db {db_path}\n")
    return 0


def cmd_terms(args: argparse.Namespace, db_path: Path, out: TextIO) -> int:
    from dashboard.store.db import connect_readonly
    from dashboard.store.quality import term_counts
    from ingest.api import add_term_mappings

    if args.add:
        changed = add_term_mappings(db_path, args.add)
        out.write(f"mappings added from {args.add}; {changed} stored event(s) re-categorised\n")
    con = connect_readonly(db_path)
    try:
        frame = term_counts(con, unmapped_only=not args.all)
    finally:
        con.close()
    if frame.empty and not args.all and args.format == "table":
        out.write("no unmapped event terms: every reported term matched a category\n")
        return 0
    write_frame(frame, args.format, out)
    return 0


def cmd_rejects(args: argparse.Namespace, db_path: Path, out: TextIO) -> int:
    from dashboard.store.db import connect_readonly
    from dashboard.store.quality import reject_rows

    con = connect_readonly(db_path)
    try:
        frame = reject_rows(con, tuple(args.run))
    finally:
        con.close()
    if frame.empty and args.format == "table":  # csv and json stay machine-readable
        out.write("no rejected rows\n")
        return 0
    write_frame(frame, args.format, out)
    return 0


def cmd_audit(args: argparse.Namespace, db_path: Path, out: TextIO) -> int:
    """Every dashboard download logged beside ``db_path``, newest first."""
    from dashboard.store.audit import audit_path, downloads

    frame = downloads(audit_path(db_path))
    if frame.empty and args.format == "table":
        out.write(f"no downloads logged ({audit_path(db_path)})\n")
        return 0
    write_frame(frame, args.format, out)
    return 0


def _loopback(host: str) -> bool:
    """True for an address only this computer can reach (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cmd_serve(args: argparse.Namespace, db_path: Path, out: TextIO) -> int:
    """Run the Streamlit dashboard on ``db_path`` until interrupted."""
    import os

    app = Path(__file__).resolve().parent.parent / "dashboard/app/main.py"
    env = {**os.environ, settings.DB_ENV_VAR: str(db_path.resolve())}
    from dashboard.store.access import secrets_files, sign_in_configured

    if not _loopback(args.host) and not sign_in_configured():
        raise NeedleWatchError(
            f"--host {args.host}: without sign-in the dashboard serves this computer only "
            f'(local mode); configure [auth] in {secrets_files()[0]} (README, "A shared '
            'deployment") to serve others, or leave out --host'
        )
    shown = "localhost" if _loopback(args.host) else args.host
    out.write(f"NeedleWatch dashboard on http://{shown}:{args.port} (database {db_path})\n")
    out.flush()
    command = [
        sys.executable, "-m", "dashboard.app.serve", "run", str(app),
        "--server.address", args.host,
        "--server.port", str(args.port), "--server.headless", str(args.headless).lower(),
        "--browser.gatherUsageStats", "false", "--server.showEmailPrompt", "false",
        "--client.toolbarMode", "viewer", "--logger.hideWelcomeMessage", "true",
    ]  # fmt: skip
    # Become the Streamlit process (no wrapper left holding ~56 MB, and Ctrl+C or a
    # signal to this PID reaches the dashboard itself), through dashboard.app.serve: it
    # warms the process (imports, the store's answers for the first page) as it starts.
    os.execvpe(sys.executable, command, env)
    return 0  # not reached


def cmd_upgrade(args: argparse.Namespace, db_path: Path, out: TextIO) -> int:
    """Bring the database to this release's schema (adds the counts store and the blank
    counts, counted from the rows once)."""
    from ingest.api import upgrade_database

    found, now = upgrade_database(db_path)
    if found == now:
        out.write(f"{db_path}: already at schema version {now}; nothing to do\n")
    else:
        out.write(f"{db_path}: upgraded from schema version {found} to {now}\n")
    return 0


def _profile_path(text: str) -> Path:
    """``--mapping``: a path to a .toml as given, else NAME in the mappings folder."""
    path = Path(text)
    if path.suffix.lower() == ".toml" or path.parent != Path("."):
        return path
    return settings.mappings_dir() / f"{text}.toml"


def cmd_mapping(args: argparse.Namespace, db_path: Path, out: TextIO) -> int:
    """`mapping suggest EXPORT`: the proposed profile, printed or written, notes on stderr;
    exit status 3 when the proposal lacks a required column (a draft to complete)."""
    from ingest.mapping import save_profile
    from ingest.mapping_guess import propose

    proposal = propose(args.export, kind=args.kind, name=args.name)
    for note in proposal.notes:
        print(f"note: {note}", file=sys.stderr)
    profile = proposal.profile
    problems = profile.problems()
    if args.out is None:
        out.write(profile.to_toml())
        if problems:
            print(f"note: incomplete: {problems[0]}; correct it before ingesting", file=sys.stderr)
        return 3 if problems else 0
    if problems:  # a draft to complete by hand: written, and said to be incomplete
        args.out.write_text(profile.to_toml(), encoding="utf-8")
        out.write(
            f"{args.out}: mapping {profile.name!r} for {profile.kind} written, incomplete: "
            f"{problems[0]}; correct it before ingesting\n"
        )
        return 3
    save_profile(profile, args.out)
    out.write(f"{args.out}: mapping {profile.name!r} for {profile.kind} written; check it\n")
    return 0


HANDLERS = {
    "upgrade": cmd_upgrade,
    "serve": cmd_serve,
    "ingest": cmd_ingest,
    "demo": cmd_demo,
    "terms": cmd_terms,
    "rejects": cmd_rejects,
    "mapping": cmd_mapping,
    "audit": cmd_audit,
}
