"""Rejected rows: record them by spreadsheet row number and summarise them.

Two sources of rejects, one table:

    errs       (_k, column_name, value, reason)   values that failed a validation check
    reader_rej (line, error_type, column, text)    records DuckDB's CSV reader could not parse
      -> rejects (run_id, file, row_number, column_name, value, reason)
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from .linebreaks import MARKER
from .readers import Source
from .rownumbers import csv_row_numbers
from .validate import BARE_CR_REASON

#: How many example row numbers a reject summary line shows.
EXAMPLE_ROWS = 5

READER_REASONS = {
    "TOO MANY COLUMNS": "too many columns (expected {width}): quote values that contain '{delim}'",
    "MISSING COLUMNS": "too few columns (expected {width}): a delimiter is missing or the row "
    "was cut short",
    "UNQUOTED VALUE": 'unbalanced quote: close or remove the stray " (the rows after it may '
    "have been read into this value)",
    "LINE SIZE OVER MAXIMUM": "row longer than the 2 MB limit: split or shorten it",
    # Not a DuckDB error type: a value with a carriage return outside quotes, which the
    # reader refuses file-wide; ingest.linebreaks lets a check find it (validate.py).
    "BARE CARRIAGE RETURN": BARE_CR_REASON,
}


def reader_reason(error_type: str | None) -> str:
    """The reason stored for a record DuckDB's CSV reader logged with ``error_type``."""
    if error_type in READER_REASONS:
        return READER_REASONS[error_type]
    return f"unreadable row ({(error_type or 'unknown error').lower()})"


@dataclass(frozen=True)
class RejectGroup:
    """Rejected rows sharing a column and a reason, for the terminal summary."""

    column: str | None
    reason: str
    rows: int
    example_rows: tuple[int, ...]


def record_rejects(con: duckdb.DuckDBPyConnection, source: Source, run_id: int) -> None:
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
    value = "replace(e.value, $marker, chr(13))" if source.cr_marker else "e.value"
    con.execute(
        f"INSERT INTO rejects SELECT $run, $file, r._row, e.column_name, {value}, e.reason "
        "FROM errs e JOIN rownum r USING (_k)",
        {"run": run_id, "file": source.stored} | ({"marker": MARKER} if source.cr_marker else {}),
    )
    if not source.csv:
        return
    header = {f"c{i}": name for i, name in enumerate(source.csv.header)}
    rows = con.execute("SELECT line, error_type, column_name, csv_line FROM reader_rej").fetchall()
    width, delim = len(source.csv.header), source.csv.delimiter.replace("\t", "tab")
    reject_rows = [
        (
            run_id,
            source.stored,
            line,
            header.get(column or "") or None,
            (csv_line or "").replace(MARKER, "\r")[:200],
            reader_reason(error_type).format(width=width, delim=delim),
        )
        for line, error_type, column, csv_line in rows
    ]
    if reject_rows:  # a handful of malformed records, never millions: executemany is fine
        con.executemany("INSERT INTO rejects VALUES (?, ?, ?, ?, ?, ?)", reject_rows)


def reject_groups(con: duckdb.DuckDBPyConnection, run_id: int) -> tuple[RejectGroup, ...]:
    """The rejects of one run grouped by column and reason, largest group first."""
    rows = con.execute(
        """
        SELECT column_name, reason, count(DISTINCT row_number) AS n,
               list(DISTINCT row_number ORDER BY row_number)[1:?] AS examples
        FROM rejects WHERE run_id = ? GROUP BY column_name, reason ORDER BY n DESC, reason
        """,
        [EXAMPLE_ROWS, run_id],
    ).fetchall()
    return tuple(RejectGroup(c, r, n, tuple(ex)) for c, r, n, ex in rows)
