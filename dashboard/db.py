"""Read-only, short-lived connections to the NeedleWatch database."""

from __future__ import annotations

from pathlib import Path

import duckdb

from ingest.errors import DatabaseMissingError, SchemaTooNewError
from ingest.schema import SCHEMA_VERSION, current_version


def connect_readonly(db_path: Path) -> duckdb.DuckDBPyConnection:
    """Open ``db_path`` read-only; many readers may share it while an ingest runs.

    Raises DatabaseMissingError (with what to run) when there is no database yet.
    Writers never hold the live file open (see ingest.store), so this never meets a lock.
    """
    if not Path(db_path).exists():
        raise DatabaseMissingError(
            f"no database at {db_path}: run `needlewatch demo` for demo data or "
            "`needlewatch ingest FILE...` to load your own"
        )
    con = duckdb.connect(str(db_path), read_only=True)
    version = current_version(con)
    if version > SCHEMA_VERSION:
        con.close()
        raise SchemaTooNewError(
            f"{db_path}: schema version {version} is newer than this NeedleWatch "
            f"({SCHEMA_VERSION}): upgrade NeedleWatch"
        )
    return con
