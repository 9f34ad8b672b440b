"""Read-only, short-lived connections to the NeedleWatch database."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from ingest.errors import DatabaseMissingError, SchemaTooNewError, SchemaTooOldError
from ingest.schema import SCHEMA_VERSION, current_version
from ingest.store import open_for_reading

#: DuckDB's memory limit in the dashboard process (``dashboard.app.cache``). Python, pandas,
#: Streamlit and the statistics libraries take about 300 MB there; this keeps the process
#: under its 500 MB target (bench/dashboard_speed.py). DuckDB then evicts table blocks it
#: has read instead of keeping them cached, and spills a join that would not fit.
DASHBOARD_MEMORY_LIMIT = "128MB"


def connect_readonly(
    db_path: Path,
    memory_limit: str | None = None,
    *,
    wait: float | None = None,
    wait_other: float | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open ``db_path`` read-only; many readers may share it, and it waits out an ingest.

    Raises DatabaseMissingError (with what to run) when there is no database yet.
    An ingest writes the file in place and DuckDB then keeps every other process out of
    it, so while one runs this waits (``ingest.store.open_for_reading``) and opens the
    file once the ingest has committed and closed it: a reader never fails during an
    ingest and sees the data before it or after it, never half of it. After ``wait``
    seconds (settings.READ_WAIT_SECONDS) it gives up with a one-line DatabaseBusyError.
    Another program that has the file open for writing (a DuckDB shell) is waited for
    ``wait_other`` seconds (settings.READ_WAIT_OTHER_WRITER_SECONDS), then named in a
    DatabaseInUseError.
    ``memory_limit`` (e.g. "128MB") caps DuckDB's memory for this database in this
    process (the setting is shared by every connection to the same file).
    """
    if not Path(db_path).exists():
        raise DatabaseMissingError(
            f"no database at {db_path}: run `needlewatch demo` for demo data or "
            "`needlewatch ingest FILE...` to load your own"
        )
    con = open_for_reading(Path(db_path), wait=wait, wait_other=wait_other)
    if memory_limit is not None:
        con.execute(f"SET memory_limit = '{duckdb_size(memory_limit)}'")
    version = current_version(con)
    if version > SCHEMA_VERSION:
        con.close()
        raise SchemaTooNewError(
            f"{db_path}: schema version {version} is newer than this NeedleWatch "
            f"({SCHEMA_VERSION}): upgrade NeedleWatch"
        )
    if version < SCHEMA_VERSION:
        con.close()
        raise SchemaTooOldError(
            f"{db_path}: written by an older NeedleWatch (schema version {version}, this one "
            f"reads {SCHEMA_VERSION}): run `needlewatch upgrade --db {db_path}` once (it adds "
            "the counts store; your rows are kept)"
        )
    return con


def duckdb_size(value: str) -> str:
    """A size such as "128MB" or "1.5GB", checked before it goes into a SET statement."""
    if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", value.strip()):
        raise ValueError(f"not a memory size: {value!r} (write it like 128MB)")
    return value.strip()
