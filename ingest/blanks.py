"""Blank counts of the optional columns, kept by the ingest in its own write.

The Data quality page and every report show how often each optional column is left
blank. Counting that from the rows scans every row of a column with blanks after each
ingest (1.4 s at 100 million treatments); the ingest knows which rows it added and which
it replaced, so it keeps the counts by difference in ``column_blanks``, in the same
transaction as the rows:

    rows of run r (as stored now)      --sum(col IS NULL)--> +blanks
    ``old`` (the versions it replaced) --sum(col IS NULL)--> -blanks
      --> column_blanks.missing += (+blanks) - (-blanks)        (one UPDATE per table)

A run of practitioners or clinics recounts its (small) table instead: a profile change
rewrites rows in place (``ingest.history``). ``recount_blanks`` counts every table from
the rows (the upgrade to schema 4; the tests compare it with what the ingests kept).
"""

from __future__ import annotations

import duckdb

from .errors import IngestBookkeepingError

#: Optional columns whose blanks are worth watching, by table (fixed list: no user input).
BLANK_COLUMNS: dict[str, tuple[str, ...]] = {
    "treatments": ("patient_key", "needle_insertions", "technique", "retention_minutes"),
    "practitioners": ("profession", "years_dn_experience"),
    "adverse_events": ("severity_reported", "onset", "onset_date", "outcome"),
}

#: Tables whose runs are kept by difference (large); the others are recounted.
_BY_DIFFERENCE = ("treatments", "adverse_events")


def _blanks_sql(table: str, rows: str) -> str:
    """One row: the number of blanks of each of ``table``'s optional columns in ``rows``."""
    cols = BLANK_COLUMNS[table]
    return "SELECT " + ", ".join(f"count(*) - count({c})" for c in cols) + f" FROM {rows}"


def _write(con: duckdb.DuckDBPyConnection, table: str, values: list[int], *, add: bool) -> None:
    """Set (or add to) ``table``'s blank counts, one value per optional column: one
    statement, the columns and values bound as two lists."""
    params = {"t": table, "cols": list(BLANK_COLUMNS[table]), "ns": [int(v) for v in values]}
    given = "SELECT unnest($cols) AS column_name, unnest($ns) AS n"
    if add:
        con.execute(
            f"UPDATE column_blanks b SET missing = b.missing + d.n FROM ({given}) d "
            "WHERE b.table_name = $t AND b.column_name = d.column_name",
            params,
        )
    else:
        con.execute("DELETE FROM column_blanks WHERE table_name = $t", {"t": table})
        con.execute(f"INSERT INTO column_blanks SELECT $t, column_name, n FROM ({given})", params)


def note_blanks(con: duckdb.DuckDBPyConnection, table: str, run_id: int) -> None:
    """Bring ``table``'s blank counts up to date after run ``run_id`` stored its rows.

    Needs ``old`` (the stored versions this run replaced, ``ingest.load``) for the tables
    kept by difference. Raises IngestBookkeepingError when a count would fall below zero
    (nothing is written: the ingest's transaction rolls back)."""
    if table not in BLANK_COLUMNS:
        return
    if table not in _BY_DIFFERENCE:
        _write(con, table, list(con.execute(_blanks_sql(table, table)).fetchone()), add=False)
        return
    added = con.execute(
        _blanks_sql(table, f"(SELECT * FROM {table} WHERE run_id = $r)"), {"r": run_id}
    ).fetchone()
    removed = con.execute(_blanks_sql(table, "old")).fetchone()
    change = [a - b for a, b in zip(added, removed, strict=True)]
    if any(change):
        _write(con, table, change, add=True)
    low = con.execute(
        "SELECT count(*) FROM column_blanks WHERE table_name = ? AND missing < 0", [table]
    ).fetchone()[0]
    if low:
        raise IngestBookkeepingError(
            f"column_blanks: {table} would count fewer than no blanks; nothing was written, "
            "please report this as a bug"
        )


def recount_blanks(con: duckdb.DuckDBPyConnection) -> None:
    """Count every optional column's blanks from the rows (``column_blanks`` replaced)."""
    for table in BLANK_COLUMNS:
        _write(con, table, list(con.execute(_blanks_sql(table, table)).fetchone()), add=False)
