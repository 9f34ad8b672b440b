"""Load one source into the database: validate, upsert, log. All set-based SQL.

    file --scan (parallel): distinct patient ids--> pkeys (HMAC), treatments only
         --scan (parallel): checks as a WHERE filter--> good rows, typed, appended
            (treatments: a blank clinic filled after, ingest.treatment_steps)
         --count(*) (parallel; treatments: counted with their patient ids)--> did that
            leave rows behind?
         --only then, numbered scan (one thread)--> bad, errs (column, value, reason)
         --only if an id repeats in the file--> redo the insert keeping its last row
         --> earlier versions of the same ids moved to ``old``
         --> ingest_runs row + rejects

Counts obey rows_read = rows_accepted + rows_updated + rows_rejected, where a row is
"updated" when its id was already stored (or appeared earlier in the same run) and
"unchanged" is the part of "updated" identical to what was stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import duckdb

from .blanks import note_blanks
from .countstore import note_touched
from .errors import EncodingProblemError, IngestBookkeepingError
from .history import prepare_profile_refs
from .kinds import Kind
from .linebreaks import MARKER
from .loadsql import (
    blank_sql,
    insert_sql,
    mask_sql,
    named,
    reason_sql,
    scan_sql,
    used,
)
from .progress import Progress, run
from .readers import Source
from .rejects import RejectGroup, record_rejects, reject_groups
from .terms import load_mapping_tables
from .treatment_steps import fill_clinics, patient_keys
from .validate import Check, ParseOptions, all_checks, bare_cr_checks


@dataclass(frozen=True)
class RunResult:
    """What one source contributed: the counts of the ingest_runs row and the rejects."""

    run_id: int
    label: str
    kind: str
    sha256: str
    rows_read: int
    rows_accepted: int
    rows_updated: int
    rows_unchanged: int
    rows_rejected: int
    notices: tuple[str, ...]
    reject_groups: tuple[RejectGroup, ...]


def _insert_good(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    checks: list[Check],
    opts: ParseOptions,
    params: dict,
    run_id: int,
    progress: Progress | None,
) -> tuple[int, int]:
    """Fast path: parse, check and insert every good row in one parallel scan.

        src (text) --WHERE no check fails--> typed rows appended to the target table

    Returns (rows inserted, records the reader delivers). The rows' order is not relied
    on: if an id occurs twice, ``_keep_last_versions`` redoes the insert in file order.
    """
    records = None
    if source.kind.name == "treatments":
        records = patient_keys(con, source, params, progress)
    params["run_id"] = run_id
    sql = insert_sql(source, checks, opts, params, last_only=False)
    result = run(con, sql, named(source, params, sql), progress, "checking and loading rows")
    inserted = int(result.fetchone()[0])
    fill_clinics(con, source, run_id)
    if records is None:
        records = _count_records(con, source, progress)
    return inserted, records


def _keep_last_versions(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    checks: list[Check],
    opts: ParseOptions,
    params: dict,
    progress: Progress | None,
) -> None:
    """An id occurs more than once in the file: keep only its last row (file order).

    target (run's rows, duplicates) -> delete the run's rows -> insert again from a
    numbered scan, one row per id: the one with the highest position _k
    """
    con.execute(f"DELETE FROM {source.kind.table} WHERE run_id = ?", [params["run_id"]])
    sql = insert_sql(source, checks, opts, params, last_only=True)
    run(con, sql, named(source, params, sql), progress, "keeping the last row of repeated ids")
    fill_clinics(con, source, params["run_id"])


def _collect_reader_rejects(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    """reader_rej: records the CSV reader could not parse, one row per record number.

    Every scan of the file logs its rejects again under a new scan_id; the first is kept.
    A record with several errors keeps the one of its first column; a record-level error
    (a line over the size limit) has no column and comes first (arg_min skips NULL keys,
    hence the coalesce). Invalid UTF-8 aborts the load with the fix (--encoding).
    """
    if not source.csv:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE reader_rej "
            "(line BIGINT, error_type VARCHAR, column_name VARCHAR, csv_line VARCHAR)"
        )
        return
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE reader_rej AS
        SELECT line, arg_min(error_type, coalesce(column_idx, -1)) AS error_type,
               arg_min(column_name, coalesce(column_idx, -1)) AS column_name,
               arg_min(csv_line, coalesce(column_idx, -1)) AS csv_line
        FROM csv_reject_errors
        WHERE scan_id = (SELECT min(scan_id) FROM csv_reject_errors)
        GROUP BY line
        """
    )
    bad = con.execute(
        "SELECT min(line) FROM reader_rej WHERE error_type = 'INVALID ENCODING'"
    ).fetchone()
    if bad and bad[0] is not None:
        raise EncodingProblemError(
            f"{source.label} row {bad[0]}: not valid UTF-8; pass --encoding=cp1252 "
            f"(Windows Excel) or --encoding=latin-1"
        )


def _locate_bad_rows(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    checks: list[Check],
    opts: ParseOptions,
    params: dict,
    progress: Progress | None,
) -> None:
    """bad: every blank row or row that failed a check, with its position ``_k``; errs:
    one row per failed check (column, value, reason).

    Costs a second, numbered scan, so it runs only when the fast path left rows behind.
    """
    mask = mask_sql(checks, params)
    sql = (
        f"CREATE OR REPLACE TEMP TABLE bad AS SELECT * FROM (SELECT src.*, "
        f"{blank_sql(source)} AS _blank, ({mask}) AS _mask "
        f"FROM {scan_sql(source, numbered=True, typed=opts)}) WHERE _blank OR _mask <> 0"
    )
    run(con, sql, named(source, params, sql), progress, "locating rejected rows")
    parts = [
        f"SELECT _k, $col{i} AS column_name, {checks[i].column} AS value, "
        f"{reason_sql(checks[i], i, params)} AS reason "
        f"FROM bad WHERE NOT _blank AND (_mask >> {i}) & 1 = 1"
        for i in range(len(checks))
    ]
    sql = "CREATE OR REPLACE TEMP TABLE errs AS " + " UNION ALL ".join(parts)
    con.execute(sql, used(params, sql))


def _no_bad_rows(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    """Empty ``bad`` and ``errs`` for a file whose every row loaded."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE bad AS SELECT *, false AS _blank, 0::BIGINT AS _mask "
        f"FROM {scan_sql(source, numbered=True)} LIMIT 0",
        {f"p_src{i}": v for i, v in enumerate(source.params)},
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE errs (_k BIGINT, column_name VARCHAR, "
        "value VARCHAR, reason VARCHAR)"
    )


def _set_aside_replaced(con: duckdb.DuckDBPyConnection, kind: Kind, run_id: int) -> None:
    """old: stored rows whose id this run brought again, moved out of the target.

    target (earlier runs + this run) -> old (earlier versions of ids in this run)
                                     -> target (earlier versions removed)
    """
    table, key = kind.table, kind.id_column
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE old AS SELECT * FROM {table} WHERE run_id <> $r AND "
        f"{key} IN (SELECT {key} FROM {table} WHERE run_id = $r)",
        {"r": run_id},
    )
    if con.execute("SELECT count(*) FROM old").fetchone()[0]:
        con.execute(
            f"DELETE FROM {table} WHERE run_id <> $r AND {key} IN (SELECT {key} FROM old)",
            {"r": run_id},
        )


def _count_changes(
    con: duckdb.DuckDBPyConnection, kind: Kind, run_id: int, n_ids: int, inserted: int
) -> tuple[int, int, int]:
    """(accepted, updated, unchanged) for a run that stored ``n_ids`` ids from ``inserted``
    good rows: an id already stored (now in ``old``) or repeated in the file is "updated".
    """
    table, key = kind.table, kind.id_column
    if not con.execute("SELECT count(*) FROM (SELECT 1 FROM old LIMIT 1)").fetchone()[0]:
        # nothing replaced (a first load, new ids): no join of the whole run with nothing
        # (DuckDB scans the run's rows for it: 1.3 s for 5 million treatments)
        return n_ids, inserted - n_ids, 0
    cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()][:-1]
    existing, unchanged = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE "
        + " AND ".join(f"o.{c} IS NOT DISTINCT FROM t.{c}" for c in cols)
        + f") FROM old o JOIN {table} t ON t.{key} = o.{key} AND t.run_id = ?",
        [run_id],
    ).fetchone()
    accepted = n_ids - existing
    return accepted, inserted - accepted, unchanged


def _count_records(
    con: duckdb.DuckDBPyConnection, source: Source, progress: Progress | None
) -> int:
    """Records the reader delivers, counted without parsing values (cheap, parallel).

    Never fewer than a full scan delivers (a value-level problem such as bad UTF-8 only
    shows when the value is read), so ``== inserted`` proves no row was left behind.
    """
    sql = f"SELECT count(*) FROM {source.relation}"
    return int(run(con, sql, named(source, {}, sql), progress, "counting rows").fetchone()[0])


def _count_rows(
    con: duckdb.DuckDBPyConnection, source: Source, progress: Progress | None
) -> tuple[int, int]:
    """(rows a full scan delivers, blank ones among them), for the bookkeeping check."""
    sql = f"SELECT count(*), count(*) FILTER (WHERE {blank_sql(source)}) FROM {scan_sql(source)}"
    total, blank = run(con, sql, named(source, {}, sql), progress, "counting rows").fetchone()
    return int(total), int(blank)


def load_source(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    opts: ParseOptions,
    *,
    run_id: int,
    batch_id: int,
    sha256: str,
    options_json: dict,
    progress: Progress | None = None,
) -> RunResult:
    """Stage, validate and upsert one source; log an ingest_runs row and its rejects.

    Shape of a load:

        file --one parallel scan, checks as a filter--> good rows appended to the target
             --count--> rows the fast path left behind? --numbered scan--> bad, errs
             --> earlier versions of the same ids moved to ``old``; last row per id wins
             --> ingest_runs row + rejects (by spreadsheet row number)
    """
    started = datetime.now()
    kind = source.kind
    if progress is not None:
        name, report = source.label.rsplit("/", 1)[-1], progress
        progress = lambda stage, percent: report(f"{name}: {stage}", percent)  # noqa: E731
    if source.csv:
        con.execute("DROP TABLE IF EXISTS csv_reject_errors")
        con.execute("DROP TABLE IF EXISTS csv_reject_scans")
    if kind.name == "adverse_events":
        load_mapping_tables(
            con, {f"p_src{i}": v for i, v in enumerate(source.params)}, scan_sql(source)
        )
    elif kind.name == "practitioners":
        prepare_profile_refs(con)
    params: dict[str, object] = opts.params()
    checks = all_checks(kind, kind.names, opts)
    if source.cr_marker:
        checks = bare_cr_checks(source.columns) + checks
        params["cr_marker"] = MARKER
    had_rows = con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {kind.table} LIMIT 1)").fetchone()
    inserted, records = _insert_good(con, source, checks, opts, params, run_id, progress)
    _collect_reader_rejects(con, source)
    n_blank = 0
    if records == inserted:
        _no_bad_rows(con, source)
    else:  # slow path: find the blank and rejected rows by their position in the file
        _locate_bad_rows(con, source, checks, opts, params, progress)
        total, n_blank = _count_rows(con, source, progress)
        n_bad = con.execute("SELECT count(DISTINCT _k) FROM errs").fetchone()[0]
        if total != inserted + n_blank + n_bad:  # the scans disagree: never guess
            raise IngestBookkeepingError(
                f"{source.label}: {total} rows read but {inserted} loaded, {n_blank} blank "
                f"and {n_bad} rejected; nothing was written, please report this as a bug"
            )
    n_ids = con.execute(
        f"SELECT count(DISTINCT {kind.id_column}) FROM {kind.table} WHERE run_id = ?", [run_id]
    ).fetchone()[0]
    if n_ids != inserted:  # an id repeats within the file: its last row wins
        _keep_last_versions(con, source, checks, opts, params, progress)
    # the patient keys (a temp table of one row per distinct patient id, 2 million at 10
    # million treatments) are read by nothing after the inserts: not kept for the counts
    # and the next file
    con.execute("DROP TABLE IF EXISTS pkeys")
    if had_rows[0]:
        _set_aside_replaced(con, kind, run_id)
    else:
        con.execute(f"CREATE OR REPLACE TEMP TABLE old AS SELECT * FROM {kind.table} LIMIT 0")
    note_touched(con, kind.name, run_id, opts.today)
    note_blanks(con, kind.table, run_id)
    accepted, updated, unchanged = _count_changes(con, kind, run_id, n_ids, inserted)
    record_rejects(con, source, run_id)
    n_bad_values, n_reader = con.execute(
        "SELECT (SELECT count(DISTINCT _k) FROM errs), (SELECT count(*) FROM reader_rej)"
    ).fetchone()
    rejected = n_bad_values + n_reader
    rows_read = inserted + n_bad_values + n_reader
    notices = list(source.notices)
    if n_blank:
        notices.append(f"{source.label}: skipped {n_blank} empty row(s)")
    con.execute(
        "INSERT INTO ingest_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            batch_id,
            source.stored,
            sha256,
            kind.name,
            rows_read,
            accepted,
            updated,
            unchanged,
            rejected,
            started,
            datetime.now(),
            "accepted" if rejected == 0 else "partial",
            json.dumps(options_json, sort_keys=True),
        ],
    )
    return RunResult(
        run_id=run_id,
        label=source.label,
        kind=kind.name,
        sha256=sha256,
        rows_read=rows_read,
        rows_accepted=accepted,
        rows_updated=updated,
        rows_unchanged=unchanged,
        rows_rejected=rejected,
        notices=tuple(notices),
        reject_groups=reject_groups(con, run_id),
    )
