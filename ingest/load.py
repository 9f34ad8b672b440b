"""Load one source into the database: stage, validate, upsert, log. All set-based SQL.

    file --readers--> src (VARCHAR, file order)
         --validate--> errs (one row per failed check) + reader_rej (malformed CSV rows)
         --> valid (typed, one row per id: the last valid row of each id wins)
         --> DELETE superseded ids from the target, INSERT valid, log run + rejects

Counts obey rows_read = rows_accepted + rows_updated + rows_rejected, where a row is
"updated" when its id was already stored (or appeared earlier in the same run) and
"unchanged" is the part of "updated" identical to what was stored.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime

import duckdb

from .errors import EncodingProblemError
from .kinds import Kind
from .readers import Source
from .rownumbers import csv_row_numbers
from .terms import load_mapping_tables
from .validate import Check, ParseOptions, all_checks, parse_expr
from .vocab import ALWAYS_SERIOUS, UNSPECIFIED

#: How many example row numbers a reject summary line shows.
EXAMPLE_ROWS = 5

_READER_REASONS = {
    "TOO MANY COLUMNS": "too many columns (expected {width}): quote values that contain '{delim}'",
    "MISSING COLUMNS": "too few columns (expected {width}): a delimiter is missing or the row "
    "was cut short",
    "UNQUOTED VALUE": 'unbalanced quote: close or remove the stray " (the rows after it may '
    "have been read into this value)",
    "LINE SIZE OVER MAXIMUM": "row longer than the 2 MB limit: split or shorten it",
}


@dataclass(frozen=True)
class RejectGroup:
    """Rejected rows sharing a column and a reason, for the terminal summary."""

    column: str | None
    reason: str
    rows: int
    example_rows: tuple[int, ...]


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


def _used(params: dict[str, object], sql: str) -> dict[str, object]:
    """The named parameters that ``sql`` mentions (DuckDB rejects unused ones)."""
    names = set(re.findall(r"\$([a-z_][a-z0-9_]*)", sql))
    return {k: v for k, v in params.items() if k in names}


def _hmac_pads(secret_hex: str) -> tuple[bytes, bytes]:
    """Inner and outer HMAC-SHA256 pads (RFC 2104) for the per-database key."""
    key = bytes.fromhex(secret_hex)
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def _target_select(kind: Kind, opts: ParseOptions) -> list[str]:
    """SQL expressions, in the target table's column order (run_id excluded)."""
    exprs = []
    for col in kind.columns:
        parsed = parse_expr(col, opts)
        if kind.name == "treatments" and col.name == "clinic_id":
            exprs.append(
                "coalesce(src.clinic_id, (SELECT p.clinic_id FROM practitioners p "
                "WHERE p.practitioner_id = src.practitioner_id))"
            )
        elif col.type == "patient":
            exprs.append(
                "CASE WHEN patient_id IS NULL THEN NULL ELSE "
                "sha256($opad || unhex(sha256($ipad || encode(patient_id)))) END"
            )
        elif col.type == "event_type":
            exprs += ["event_type", "tm.category"]
        elif col.type == "severity":
            exprs += [
                "severity",
                "CASE WHEN hospitalised_flag OR list_contains($always_serious, tm.category) "
                "THEN 'serious' ELSE coalesce(sm.tier, $unspecified) END",
            ]
        else:
            exprs.append(parsed)
    return exprs


def _scan_sql(source: Source) -> str:
    """The source as text: ``_k`` = 1-based position in file order, trimmed, '' -> NULL.

    A streaming ``row_number() OVER ()`` keeps the reader's order (DuckDB preserves
    insertion order), so every pass over the same file numbers rows identically.
    """
    cols = [
        f"nullif(trim({c}), '') AS {c}" if c in source.columns else f"NULL::VARCHAR AS {c}"
        for c in source.kind.names
    ]
    if source.row_column:
        cols.append(source.row_column)
    return f"(SELECT row_number() OVER () AS _k, {', '.join(cols)} FROM {source.relation}) src"


def _mask_sql(checks: list[Check], params: dict[str, object]) -> str:
    """One BIGINT per row with bit i set when check i failed; records each check's label."""
    bits = []
    for i, check in enumerate(checks):
        params[f"col{i}"] = check.column
        params[f"reason{i}"] = check.reason
        bits.append(f"(coalesce({check.predicate}, false)::BIGINT << {i})")
    return " | ".join(bits) if bits else "0::BIGINT"


def _pass_a(
    con: duckdb.DuckDBPyConnection, source: Source, checks: list[Check], params: dict
) -> None:
    """bad: the text of every row that failed a check or is blank (good rows not kept).

    Also reader_rej: rows DuckDB's CSV reader could not parse, one per row number.
    """
    blank = " AND ".join(f"{c} IS NULL" for c in source.kind.names)
    mask = _mask_sql(checks, params)
    if source.csv:
        con.execute("DROP TABLE IF EXISTS csv_reject_errors")
        con.execute("DROP TABLE IF EXISTS csv_reject_scans")
    sql = (
        f"CREATE OR REPLACE TEMP TABLE bad AS SELECT * FROM (SELECT src.*, ({blank}) AS _blank, "
        f"({mask}) AS _mask FROM {_scan_sql(source)}) WHERE _blank OR _mask <> 0"
    )
    con.execute(sql, _named(source, params, sql))
    if source.csv:
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE reader_rej AS
            SELECT line, arg_min(error_type, column_idx) AS error_type,
                   arg_min(column_name, column_idx) AS column_name,
                   arg_min(csv_line, column_idx) AS csv_line
            FROM csv_reject_errors GROUP BY line
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
    else:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE reader_rej "
            "(line BIGINT, error_type VARCHAR, column_name VARCHAR, csv_line VARCHAR)"
        )
    n = len(checks)
    parts = [
        f"SELECT _k, $col{i} AS column_name, {checks[i].column} AS value, "
        f"$reason{i} AS reason FROM bad WHERE NOT _blank AND (_mask >> {i}) & 1 = 1"
        for i in range(n)
    ]
    if parts:
        sql = "CREATE OR REPLACE TEMP TABLE errs AS " + " UNION ALL ".join(parts)
        con.execute(sql, _used(params, sql))
    else:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE errs (_k BIGINT, column_name VARCHAR, "
            "value VARCHAR, reason VARCHAR)"
        )


def _named(source: Source, params: dict, sql: str) -> dict[str, object]:
    """The named parameters ``sql`` uses plus the source's own ($p_src0, $p_src1 ...)."""
    return {**_used(params, sql), **{f"p_src{i}": v for i, v in enumerate(source.params)}}


def _pass_b(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    opts: ParseOptions,
    params: dict,
    run_id: int,
) -> int:
    """Insert every good row, typed, straight into the target table; returns rows inserted."""
    kind = source.kind
    exprs = _target_select(kind, opts)
    joins = ""
    if kind.name == "treatments":
        secret = con.execute("SELECT value FROM meta WHERE key = 'patient_key_secret'").fetchone()
        params["ipad"], params["opad"] = _hmac_pads(secret[0])
    elif kind.name == "adverse_events":
        params["always_serious"] = sorted(ALWAYS_SERIOUS)
        params["unspecified"] = UNSPECIFIED
        hospitalised = parse_expr(kind.column("hospitalised"), opts)
        exprs = [e.replace("hospitalised_flag", f"coalesce({hospitalised}, false)") for e in exprs]
        joins = (
            "LEFT JOIN term_map tm ON tm.raw = src.event_type "
            "LEFT JOIN severity_map sm ON sm.raw = lower(src.severity)"
        )
    params["run_id"] = run_id
    sql = (
        f"INSERT INTO {kind.table} SELECT {', '.join(exprs)}, $run_id "
        f"FROM {_scan_sql(source)} {joins} WHERE src._k NOT IN (SELECT _k FROM bad)"
    )
    return int(con.execute(sql, _named(source, params, sql)).fetchone()[0])


def _make_room(con: duckdb.DuckDBPyConnection, source: Source, opts_params: dict) -> None:
    """old: stored rows this source will replace, moved out of the target before inserting."""
    kind = source.kind
    table, key = kind.table, kind.id_column
    con.execute(f"CREATE OR REPLACE TEMP TABLE old AS SELECT * FROM {table} LIMIT 0")
    if not con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1)").fetchone()[0]:
        return
    sql = (
        f"CREATE OR REPLACE TEMP TABLE incoming AS SELECT DISTINCT {key} FROM "
        f"{_scan_sql(source)} WHERE src._k NOT IN (SELECT _k FROM bad)"
    )
    con.execute(sql, _named(source, opts_params, sql))
    con.execute(
        f"INSERT INTO old SELECT * FROM {table} WHERE {key} IN (SELECT {key} FROM incoming)"
    )
    con.execute(f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM incoming)")


def _dedupe_and_count(
    con: duckdb.DuckDBPyConnection, kind: Kind, run_id: int, inserted: int
) -> tuple[int, int, int]:
    """Keep the last row of each id written by this run; returns (accepted, updated, unchanged)."""
    table, key = kind.table, kind.id_column
    n_ids = con.execute(
        f"SELECT count(DISTINCT {key}) FROM {table} WHERE run_id = ?", [run_id]
    ).fetchone()[0]
    if n_ids != inserted:  # several rows for one id in this file: the last one wins
        con.execute(
            f"DELETE FROM {table} WHERE run_id = $r AND rowid NOT IN "
            f"(SELECT max(rowid) FROM {table} WHERE run_id = $r GROUP BY {key})",
            {"r": run_id},
        )
    cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()][:-1]
    existing, unchanged = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE "
        + " AND ".join(f"o.{c} IS NOT DISTINCT FROM t.{c}" for c in cols)
        + f") FROM old o JOIN {table} t ON t.{key} = o.{key} AND t.run_id = ?",
        [run_id],
    ).fetchone()
    accepted = n_ids - existing
    return accepted, inserted - accepted, unchanged


def _record_rejects(con: duckdb.DuckDBPyConnection, source: Source, run_id: int) -> None:
    """rejects: validation failures and malformed CSV rows, by spreadsheet row number."""
    if source.row_column:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE rownum AS SELECT _k, _row FROM bad "
            "WHERE _k IN (SELECT _k FROM errs)"
        )
    elif source.csv and con.execute("SELECT count(*) FROM errs").fetchone()[0]:
        csv_row_numbers(con, source.csv)
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE rownum (_k BIGINT, _row BIGINT)")
    con.execute(
        "INSERT INTO rejects SELECT ?, ?, r._row, e.column_name, e.value, e.reason "
        "FROM errs e JOIN rownum r USING (_k)",
        [run_id, source.stored],
    )
    if source.csv:
        header = {f"c{i}": name for i, name in enumerate(source.csv.header)}
        rows = con.execute(
            "SELECT line, error_type, column_name, csv_line FROM reader_rej"
        ).fetchall()
        width, delim = len(source.csv.header), source.csv.delimiter.replace("\t", "tab")
        reject_rows = [
            (
                run_id,
                source.stored,
                line,
                header.get(column or "") or None,
                (csv_line or "")[:200],
                _READER_REASONS.get(error_type, f"unreadable row ({error_type.lower()})").format(
                    width=width, delim=delim
                ),
            )
            for line, error_type, column, csv_line in rows
        ]
        if reject_rows:
            con.executemany("INSERT INTO rejects VALUES (?, ?, ?, ?, ?, ?)", reject_rows)


def reject_groups(con: duckdb.DuckDBPyConnection, run_id: int) -> tuple[RejectGroup, ...]:
    rows = con.execute(
        """
        SELECT column_name, reason, count(DISTINCT row_number) AS n,
               list(DISTINCT row_number ORDER BY row_number)[1:?] AS examples
        FROM rejects WHERE run_id = ? GROUP BY column_name, reason ORDER BY n DESC, reason
        """,
        [EXAMPLE_ROWS, run_id],
    ).fetchall()
    return tuple(RejectGroup(c, r, n, tuple(ex)) for c, r, n, ex in rows)


def load_source(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    opts: ParseOptions,
    *,
    run_id: int,
    batch_id: int,
    sha256: str,
    options_json: dict,
) -> RunResult:
    """Stage, validate and upsert one source; log an ingest_runs row and its rejects."""
    started = datetime.now()
    if source.kind.name == "adverse_events":
        load_mapping_tables(
            con, {f"p_src{i}": v for i, v in enumerate(source.params)}, _scan_sql(source)
        )
    params: dict[str, object] = opts.params()
    checks = all_checks(source.kind, source.kind.names, opts)
    _pass_a(con, source, checks, params)
    _make_room(con, source, params)
    inserted = _pass_b(con, source, opts, params, run_id)
    accepted, updated, unchanged = _dedupe_and_count(con, source.kind, run_id, inserted)
    _record_rejects(con, source, run_id)
    n_blank, n_bad_values, n_reader = con.execute(
        "SELECT (SELECT count(*) FROM bad WHERE _blank), (SELECT count(DISTINCT _k) FROM errs), "
        "(SELECT count(*) FROM reader_rej)"
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
            source.kind.name,
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
        kind=source.kind.name,
        sha256=sha256,
        rows_read=rows_read,
        rows_accepted=accepted,
        rows_updated=updated,
        rows_unchanged=unchanged,
        rows_rejected=rejected,
        notices=tuple(notices),
        reject_groups=reject_groups(con, run_id),
    )
