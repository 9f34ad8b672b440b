"""``needlewatch``: the command line. A thin wrapper over the ingest and dashboard libraries.

Named exceptions become one-line messages on stderr and exit statuses:
0 success, 3 some rows rejected (or --strict aborted), 2 unusable input or usage error,
1 an internal error (a bug: one line, the traceback only with NEEDLEWATCH_DEBUG=1).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ingest.errors import NeedleWatchError, StrictModeAbort
from ingest.kinds import KINDS
from needlewatch import __version__, settings

from . import commands
from .arguments import add_db, add_format


def build_parser(*, analysis: bool = True) -> argparse.ArgumentParser:
    """The whole command line; ``analysis=False`` leaves out the commands that read rates
    and write reports, whose parsers import the statistics libraries (about a second):
    ``main`` does so for the data commands (ingest, demo, serve, terms, rejects)."""
    parser = argparse.ArgumentParser(
        prog="needlewatch",
        description="Adverse-event surveillance for dry needling: load reports and treatments "
        "into DuckDB and compute incidence with exact confidence intervals.",
    )
    parser.add_argument("--version", action="version", version=f"needlewatch {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "ingest",
        help="load CSV, XLSX or Parquet files (clinics, practitioners, treatments, adverse "
        "events), or clinics' submission zips (at a professional body)",
        description="Validate every row and load the files as one atomic batch. Submission "
        "zips (`needlewatch submit` at a clinic) are checked whole (manifest, checksums, the "
        "clinic in the clinics table, the quarter, the body's bands) and each is received or "
        "rejected on its own; a resubmission replaces its clinic's quarter and is kept as the "
        "next version. Exit status: 0 all rows and submissions accepted, 3 some rows or "
        "submissions rejected (rows stored with reasons; see `needlewatch rejects`), 2 "
        "unusable input (nothing written).",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    add_db(p)
    p.add_argument("--kind", choices=list(KINDS), help="kind of file (default: from the header)")
    p.add_argument("--encoding", help="text encoding of CSV files (default UTF-8), e.g. cp1252")
    p.add_argument(
        "--date-format",
        metavar="F",
        help="strptime format of dates, e.g. %%d/%%m/%%Y (default: ISO 8601 YYYY-MM-DD only)",
    )
    p.add_argument("--strict", action="store_true", help="any rejected row aborts the whole batch")
    p.add_argument(
        "--mapping",
        metavar="PROFILE",
        help="read every FILE as a foreign export (a practice-management system's CSV or XLSX) "
        f"through this mapping profile: a .toml file, or a NAME in {settings.MAPPINGS_DIR}/ "
        f"(${settings.MAPPINGS_ENV_VAR} overrides the folder) "
        "(`needlewatch mapping suggest` writes one); rejected rows are named by the export's "
        "own rows",
    )
    p.add_argument(
        "--profile",
        type=Path,
        metavar="BODY.toml",
        help="the body's profile (its bands and any minimum cell): submissions banded "
        "otherwise, or pooled to a smaller minimum cell, are rejected (default: the settings' "
        "bands, no minimum)",
    )

    p = sub.add_parser(
        "upgrade",
        help="bring a database made by an older NeedleWatch to this release's schema",
        description="Adds what this release stores beside your rows (schemas 2 to 5: practitioner "
        "history, the counts store every page, report and command reads, the blank counts "
        "of the optional columns, and the tables of clinics' submissions a body receives), "
        "counted from the rows already loaded, in one atomic write. The dashboard and the analysis commands ask "
        "for it when they meet an older database.",
    )
    add_db(p)

    p = sub.add_parser(
        "demo",
        help="write the synthetic demo dataset to data/demo/ and load it",
        description="Generate a calibrated synthetic dataset (CSV files in the canonical format) "
        "and load it through the normal ingest. Refuses to touch a database holding other data.",
    )
    add_db(p)
    p.add_argument("--seed", type=int, default=settings.DEFAULT_DEMO_SEED, help="random seed")
    p.add_argument(
        "--treatments",
        type=int,
        default=settings.DEFAULT_DEMO_TREATMENTS,
        help="number of treatments",
    )
    p.add_argument(
        "--network",
        action="store_true",
        help="a professional body's database instead, fed by the demo clinics' quarterly "
        f"submissions (default --db {settings.DEFAULT_NETWORK_DB}; the zips go to "
        f"{settings.DEFAULT_NETWORK_DIR}/submissions/): some late, one missing, one "
        "resubmitted, one rejected for its checksum",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"folder for the CSV files (default {settings.DEFAULT_DEMO_DIR}; with --network: "
        f"for the register and the submissions, default {settings.DEFAULT_NETWORK_DIR})",
    )

    if analysis:
        from .arguments import add_analysis_parsers
        from .report_command import add_report_parser
        from .submit_command import add_submit_parser

        add_analysis_parsers(sub)
        add_report_parser(sub)
        add_submit_parser(sub)

    p = sub.add_parser(
        "serve",
        help="open the dashboard (Streamlit) on the database",
        description=(
            "Start the NeedleWatch dashboard. Stop it with Ctrl+C. As it starts it imports "
            "its pages and computes the Overview at all dates, so the first page opens "
            "without waiting for them."
        ),
    )
    add_db(p)
    p.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    p.add_argument(
        "--host",
        default=settings.SERVE_HOST,
        help=f"address to listen on (default {settings.SERVE_HOST}: this computer only). "
        "Another address needs sign-in: an [auth] table in .streamlit/secrets.toml, and "
        f'roles in {settings.ROLES_FILE} (README, "A shared deployment")',
    )
    p.add_argument(
        "--headless",
        action="store_true",
        help="do not open a browser window (for servers and tests)",
    )

    p = sub.add_parser(
        "terms",
        help="list event terms kept as 'unmapped' (or all) with counts; extend the mapping",
        description="Lists reported event terms that matched no category, with counts. "
        "--add FILE loads a CSV with columns term,category and re-categorises stored events.",
    )
    add_db(p)
    p.add_argument("--all", action="store_true", help="list every reported term, not only unmapped")
    p.add_argument("--add", type=Path, metavar="FILE", help="CSV of term,category mappings to add")
    add_format(p)

    p = sub.add_parser(
        "mapping",
        help="propose a mapping profile for a foreign export (column names, dates, yes/no words)",
        description="Reads the export's first rows, finds its header (below any title rows), "
        "matches its columns to a kind's canonical columns by name, synonyms and content, "
        "finds its date format and maps its yes/no words, then prints the profile (TOML) "
        "and a note on each choice and gap. Check and correct it, then load the export with "
        "`needlewatch ingest --mapping PROFILE FILE`.",
    )
    msub = p.add_subparsers(dest="mapping_command", required=True, metavar="ACTION")
    q = msub.add_parser("suggest", help="propose a profile for EXPORT")
    q.add_argument("export", type=Path, metavar="EXPORT", help="the export (.csv, .tsv or .xlsx)")
    q.add_argument("--kind", choices=list(KINDS), help="the kind it holds (default: guessed)")
    q.add_argument("--name", help="the profile's name (default: the export's file name)")
    q.add_argument(
        "--out",
        type=Path,
        metavar="PROFILE.toml",
        help="write the profile here (default: print it)",
    )

    p = sub.add_parser(
        "audit",
        help="list the dashboard's downloads: when, who, the clinics they could see, the file",
        description="Every download from the dashboard (a chart's data, a listing, a report) "
        "is logged in DATABASE.audit.duckdb beside the database: the time (UTC), the signed-in "
        "user (or 'local'), the clinics they could see, the page, the file's kind and name.",
    )
    add_db(p)
    add_format(p)

    p = sub.add_parser(
        "rejects", help="list rejected rows with file, row, column, value and reason"
    )
    add_db(p)
    p.add_argument(
        "--run", type=int, action="append", default=[], help="only this ingest run (repeatable)"
    )
    add_format(p)
    return parser


def _duckdb_errors() -> tuple[type[BaseException], ...]:
    """``duckdb.Error`` once DuckDB is imported (only then can one be raised), else nothing:
    ``--version``, ``--help`` and usage errors never pay for importing it (~0.2 s)."""
    duckdb = sys.modules.get("duckdb")
    return (duckdb.Error,) if duckdb is not None else ()


def _handler(command: str):
    if command in commands.HANDLERS:
        return commands.HANDLERS[command]
    from . import analysis_commands, report_command, submit_command

    return {**analysis_commands.HANDLERS, **report_command.HANDLERS, **submit_command.HANDLERS}[
        command
    ]


def _early_printer(argv: list[str]):
    """Chromium for `report ... --out FILE.pdf`, started before the parsers' imports (about
    a second) so that it has loaded plotly.js (1.5-2 s) by the time the queries are done;
    None for anything else, or with no Chromium (the report then says so in one line)."""
    if not argv or argv[0] != "report":
        return None
    outs = [b for a, b in zip(argv, argv[1:], strict=False) if a == "--out"]
    outs += [a.removeprefix("--out=") for a in argv if a.startswith("--out=")]
    if not outs or not outs[-1].lower().endswith(".pdf"):
        return None
    from dashboard.report.pdf import PdfPrinter, find_chromium

    if find_chromium() is None:
        return None
    printer = PdfPrinter()
    printer.start()
    return printer


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    printer = _early_printer(argv)
    try:
        return _main(argv, printer)
    finally:
        if printer is not None:
            printer.close()


def _main(argv: list[str], printer) -> int:
    # a data command, or --version, needs no analysis parser (they import the read side)
    light = bool(argv) and (argv[0] in commands.HANDLERS or argv[0] == "--version")
    args = build_parser(analysis=not light).parse_args(argv)
    args.printer = printer  # a started PdfPrinter for a PDF report, else None
    db_path = settings.resolve_db_path(getattr(args, "db", None))
    if args.command == "demo" and args.network and args.db is None:
        db_path = settings.DEFAULT_NETWORK_DB
    handler = _handler(args.command)
    try:
        return handler(args, db_path, sys.stdout)
    except StrictModeAbort as exc:
        if exc.report is not None:
            from .output import write_ingest_summary

            write_ingest_summary(exc.report, sys.stderr, stored=False)
        print(f"needlewatch: {exc}", file=sys.stderr)
        return exc.exit_status
    except NeedleWatchError as exc:
        print(f"needlewatch: {exc}", file=sys.stderr)
        return exc.exit_status
    except ValueError as exc:
        print(f"needlewatch: {exc}", file=sys.stderr)
        return 2
    except _duckdb_errors() as exc:
        first = str(exc).splitlines()[0]
        if type(exc).__name__ == "OutOfMemoryException":
            print(
                f"needlewatch: {args.command} ran out of memory ({first}); the database is "
                "unchanged: split the input into smaller files (a year each) and run them "
                "one after another, or report this with the files' sizes",
                file=sys.stderr,
            )
            return 2
        print(f"needlewatch: {db_path}: cannot use this database ({first})", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("needlewatch: interrupted; the database is unchanged", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `needlewatch rates | head`: the reader left; not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush is silent
        return 0
    except OSError as exc:  # a file problem no library check foresaw: still one line
        where = exc.filename or db_path
        print(f"needlewatch: {where}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: one line, never a traceback (unless asked for)
        if os.environ.get("NEEDLEWATCH_DEBUG"):
            raise
        first = (str(exc).splitlines() or [""])[0][:200]
        print(
            f"needlewatch: internal error ({type(exc).__name__}: {first}); this is a bug in "
            "NeedleWatch, not in your data: please report it with the command you ran "
            "(NEEDLEWATCH_DEBUG=1 shows the details)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
