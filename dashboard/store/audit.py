"""Who downloaded or exported what: the audit table of a shared deployment.

Every dashboard download (a chart's data, a listing, a report) adds one row: when, who
(the signed-in email, or ``local``), the clinics they could see, the page, the file's
kind and name. The table lives in a small DuckDB file of its own beside the database
(``audit_path``): the dashboard reads the database read-only, and an ingest must never
wait for a download to be logged, nor a download for an ingest.

    audit(logged_at TIMESTAMP, user_name, scope, page, file_kind, file_name)

A write holds the file for a few milliseconds; two sessions logging at once take turns
(a busy file is tried again for up to ``WAIT_S``).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

WAIT_S = 5.0
_CREATE = (
    "CREATE TABLE IF NOT EXISTS audit (logged_at TIMESTAMP, user_name VARCHAR, scope VARCHAR, "
    "page VARCHAR, file_kind VARCHAR, file_name VARCHAR)"
)


def audit_path(db_path: Path) -> Path:
    """``data/needlewatch.duckdb`` -> ``data/needlewatch.audit.duckdb``."""
    db_path = Path(db_path)
    return db_path.with_name(f"{db_path.stem}.audit.duckdb")


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            return duckdb.connect(str(path))
        except duckdb.IOException:  # another session is writing its row
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def record(path: Path, user: str, scope: str, page: str, file_name: str) -> None:
    """Add one download to the audit table at ``path`` (created on first use)."""
    kind = Path(file_name).suffix.lstrip(".").lower() or "file"
    con = _connect(Path(path))
    try:
        con.execute(_CREATE)
        con.execute(
            "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?)",
            [datetime.now(UTC).replace(tzinfo=None), user, scope, page, kind, file_name],
        )
    finally:
        con.close()


def downloads(path: Path) -> pd.DataFrame:
    """Every audit row, newest first (an empty table when nothing was downloaded)."""
    columns = ["logged_at", "user_name", "scope", "page", "file_kind", "file_name"]
    if not Path(path).exists():
        return pd.DataFrame(columns=columns)
    con = _connect(Path(path))
    try:
        con.execute(_CREATE)
        return con.execute(f"SELECT {', '.join(columns)} FROM audit ORDER BY logged_at DESC").df()
    finally:
        con.close()
