"""The ingest library's entry points; ``needlewatch ingest`` is a thin wrapper over these."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Protocol

import duckdb

from needlewatch import settings

from .countstore import refresh_counts
from .errors import DatabaseMissingError, FileUnreadableError, StrictModeAbort
from .kinds import KINDS, LOAD_ORDER
from .linebreaks import is_line_break_error, mark_bare_crs
from .load import RunResult, load_source
from .loadsql import scan_sql
from .mapping import MappingProfile, mapped_source
from .progress import Progress
from .readers import Source, file_sha256, open_sources
from .schema import SCHEMA_VERSION, current_version
from .store import open_for_reading, write_transaction
from .terms import add_mappings, read_mapping_file
from .validate import ParseOptions, known_treatments_sql


@dataclass(frozen=True)
class IngestOptions:
    """What the user may say about a batch of files (mirrors ``needlewatch ingest``)."""

    kind: str | None = None
    encoding: str | None = None
    date_format: str | None = None
    strict: bool = False
    today: date | None = None  # tests pin "today"; None means the real date
    #: Read every file as a foreign export through this profile (ingest.mapping).
    mapping: MappingProfile | None = None
    #: Work done in the ingest's transaction around the load (``ingest.form``: an event's
    #: versions and the filer's scope): ``before_load(con)`` and ``after_load(con, report)``;
    #: an exception from either rolls the whole batch back.
    filing: Filing | None = None

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}; use one of {', '.join(KINDS)}")
        if self.mapping is not None and self.kind not in (None, self.mapping.kind):
            raise ValueError(
                f"--kind {self.kind} contradicts mapping {self.mapping.name!r}, which reads "
                f"{self.mapping.kind}; leave out --kind"
            )


class Filing(Protocol):
    def before_load(self, con: duckdb.DuckDBPyConnection) -> None: ...
    def after_load(self, con: duckdb.DuckDBPyConnection, report: IngestReport) -> None: ...


@dataclass(frozen=True)
class IngestReport:
    """The outcome of one ``ingest`` call: one RunResult per file (or workbook sheet)."""

    db_path: Path
    batch_id: int
    runs: tuple[RunResult, ...] = field(default_factory=tuple)
    #: A dry run's or a --strict abort's rejected rows (file, row, column, value, reason):
    #: its rejects table was rolled back with the rest. Empty after a real ingest
    #: (``needlewatch rejects`` lists those).
    rejected_rows: tuple[tuple, ...] = field(default_factory=tuple)

    @property
    def rows_rejected(self) -> int:
        return sum(r.rows_rejected for r in self.runs)


def ingest_files(
    db_path: Path,
    files: list[Path],
    options: IngestOptions = IngestOptions(),
    *,
    replace: bool = False,
    progress: Progress | None = None,
    dry_run: bool = False,
) -> IngestReport:
    """Load ``files`` into ``db_path`` as one atomic batch.

    Files are loaded kind by kind (clinics, practitioners, treatments, events), in the
    given order within a kind, so references resolve within the batch. Raises an
    UnusableInputError subclass (nothing written) for a file that cannot be read, and
    StrictModeAbort (nothing written) when ``options.strict`` and any row is rejected.
    ``replace=True`` builds a new database from these files alone (``needlewatch demo``).
    ``progress`` is called with (stage, percent) while long statements run.
    ``dry_run=True`` does everything, counts and rejects included, then rolls back: the
    report says what a real run would do, with the rejected rows in ``rejected_rows``.

    The batch is one transaction (``ingest.store.write_transaction``). A statement that
    fails aborts it, so a CSV file that DuckDB's reader refuses for its carriage returns
    rolls the batch back, and the batch runs once more with that file read from a copy
    in which each such CR is a marker that a check rejects with its row and column
    (ingest.linebreaks).
    """
    if options.date_format:
        _check_date_format(options.date_format)
    marked: set[Path] = set()
    while True:
        try:
            return _ingest_batch(
                db_path, files, options, replace, progress, frozenset(marked), dry_run
            )
        except _DryRun as done:  # everything ran; the transaction rolled back
            return done.report
        except _BareCarriageReturns as exc:
            marked.add(exc.path)


class _DryRun(Exception):
    """Raised at the end of a dry run so that the write transaction rolls back."""

    def __init__(self, report: IngestReport) -> None:
        super().__init__("dry run")
        self.report = report


class _BareCarriageReturns(Exception):
    """The CSV reader refused ``path`` for a carriage return; the batch was rolled back."""

    def __init__(self, path: Path) -> None:
        super().__init__(str(path))
        self.path = path


def _ingest_batch(
    db_path: Path,
    files: list[Path],
    options: IngestOptions,
    replace: bool,
    progress: Progress | None,
    marked: frozenset[Path],
    dry_run: bool = False,
) -> IngestReport:
    """One try of ``ingest_files``, reading the CSV files in ``marked`` with their bare
    carriage returns marked."""
    today = options.today or date.today()
    input_bytes = sum(Path(f).stat().st_size for f in files if Path(f).is_file())
    with (
        ThreadPoolExecutor(max_workers=1) as pool,
        write_transaction(db_path, fresh=replace, input_bytes=input_bytes) as session,
    ):
        con = session.con
        hashes = {path: pool.submit(file_sha256, Path(path)) for path in files}
        sources = [
            src
            for index, path in enumerate(files)
            for src in (
                [mapped_source(con, Path(path), options.mapping, index)]
                if options.mapping is not None
                else open_sources(
                    con,
                    Path(path),
                    kind=options.kind,
                    encoding=options.encoding,
                    workdir=session.workdir,
                    index=index,
                )
            )
        ]
        order = [k.name for k in LOAD_ORDER]
        sources.sort(key=lambda s: order.index(s.kind.name))
        if options.filing is not None:
            options.filing.before_load(con)
        batch_id, next_run = con.execute(
            "SELECT coalesce(max(batch_id), 0) + 1, coalesce(max(run_id), 0) + 1 FROM ingest_runs"
        ).fetchone()
        runs = []
        for offset, source in enumerate(sources):
            opts = ParseOptions(
                date_format=options.date_format,
                decimal_comma=source.decimal_comma,
                today=today,
                earliest=settings.EARLIEST_DATE,
                mapping=options.mapping.name if options.mapping else None,
                mapping_date_format=options.mapping.date_format if options.mapping else None,
            )
            runs.append(
                _load(
                    con,
                    source,
                    opts,
                    workdir=session.workdir,
                    marked=marked,
                    run_id=next_run + offset,
                    batch_id=batch_id,
                    sha256=hashes[source.path].result(),
                    options_json={
                        "kind": options.kind,
                        "encoding": options.encoding,
                        "date_format": options.date_format,
                        "strict": options.strict,
                        "mapping": options.mapping.name if options.mapping else None,
                    },
                    progress=progress,
                )
            )
        report = IngestReport(Path(db_path), batch_id, tuple(runs))
        if (options.strict and report.rows_rejected) or dry_run:
            rejected = con.execute(
                "SELECT file, row_number, column_name, value, reason FROM rejects "
                "WHERE run_id >= ? ORDER BY run_id, row_number, column_name",
                [next_run],
            ).fetchall()
            report = dataclasses.replace(report, rejected_rows=tuple(rejected))
        if options.filing is not None and not (options.strict and report.rows_rejected):
            options.filing.after_load(con, report)
        if progress is not None:
            progress("updating the counts", None)
        refresh_counts(con)
        if progress is not None:
            progress("saving the database file", None)
        if options.strict and report.rows_rejected:
            raise StrictModeAbort(
                f"--strict: {report.rows_rejected} row(s) rejected, nothing was written; "
                "fix the rows listed above and run again"
            ).with_report(report)
        if dry_run:
            raise _DryRun(report)
    return report


def _load(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    opts: ParseOptions,
    *,
    workdir: Path,
    marked: frozenset[Path],
    **run: object,
) -> RunResult:
    """``load_source``, from a copy with its bare CRs marked if the file is in ``marked``.

    A CSV that DuckDB's reader refuses for a carriage return (a bare CR in a value, mixed
    line ends) raises _BareCarriageReturns: the failed statement aborted the transaction,
    so the whole batch must run again (``ingest_files``), this file marked.
    """
    if source.csv is not None and source.path in marked:
        fixed = workdir / f"marked_{run['run_id']}.csv"
        mark_bare_crs(source.csv.path, fixed)
        source = replace(
            source,
            params=(str(fixed), *source.params[1:]),
            csv=replace(source.csv, path=fixed),
            cr_marker=True,
        )
    try:
        if source.kind.name == "adverse_events":
            con.execute(
                known_treatments_sql(scan_sql(source)),
                {f"p_src{i}": v for i, v in enumerate(source.params)},
            )
        return load_source(con, source, opts, **run)
    except duckdb.InvalidInputException as exc:
        message = str(exc)
        if source.csv is not None and not source.cr_marker and is_line_break_error(message):
            raise _BareCarriageReturns(source.path) from None
        raise _unreadable(source, message) from None


def _check_date_format(pattern: str) -> None:
    """Refuse a --date-format DuckDB's strptime does not understand, before any file
    (on a connection of its own: a failed statement would abort the write transaction)."""
    try:
        with duckdb.connect() as con:
            con.execute("SELECT try_strptime('2000-01-01', ?)", [pattern])
    except duckdb.InvalidInputException as exc:
        detail = str(exc).splitlines()[0].removeprefix("Invalid Input Error: ")
        raise ValueError(
            f"--date-format {pattern}: not a date pattern ({detail}); use e.g. %d/%m/%Y"
        ) from None


def _unreadable(source: Source, message: str) -> Exception:
    """A CSV the reader cannot parse at all, named as such (not a database problem)."""
    first = message.splitlines()[0]
    if source.csv is None or "CSV" not in message:
        return duckdb.InvalidInputException(message)
    return FileUnreadableError(
        f"{source.label}: the CSV reader stopped ({first}); check that the file is "
        "delimited text and export it again as CSV (UTF-8)"
    )


def upgrade_database(db_path: Path) -> tuple[int, int]:
    """Bring ``db_path`` to this release's schema (``ingest.schema.migrate``, in the same
    atomic write as an ingest); returns (version found, version now). Schemas 2 and 3 add the
    practitioner history and the counts store, counted from the rows already stored."""
    if not Path(db_path).exists():
        raise DatabaseMissingError(
            f"no database at {db_path}: run `needlewatch demo` for demo data or "
            "`needlewatch ingest FILE...` to load your own"
        )
    with open_for_reading(Path(db_path)) as con:  # waits out an ingest
        found = current_version(con)
    if found < SCHEMA_VERSION:
        with write_transaction(db_path, command="upgrade"):
            pass  # the write transaction migrates before anything else
    return found, SCHEMA_VERSION


def add_term_mappings(db_path: Path, mapping_file: Path) -> int:
    """Extend the event-term vocabulary from a CSV (term,category); returns events remapped."""
    pairs = read_mapping_file(mapping_file)
    with write_transaction(db_path, command="command") as session:
        return add_mappings(session.con, pairs)
