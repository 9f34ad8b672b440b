"""Progress of long SQL statements, for a progress bar on the terminal.

The library reports, the CLI draws: ``run`` executes a statement while a side thread
polls DuckDB's ``query_progress()`` (safe to call from another thread while the
statement runs) and passes (stage, percent) to the caller's callback.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import duckdb

#: Called with (stage, percent done or None when DuckDB cannot tell).
Progress = Callable[[str, float | None], None]

POLL_SECONDS = 0.25


def run(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: dict[str, object],
    progress: Progress | None,
    stage: str,
) -> duckdb.DuckDBPyConnection:
    """``con.execute(sql, params)``, reporting progress every POLL_SECONDS if asked."""
    if progress is None:
        return con.execute(sql, params)
    done = threading.Event()

    def poll() -> None:
        while not done.wait(POLL_SECONDS):
            percent = con.query_progress()
            progress(stage, percent if percent >= 0 else None)

    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    try:
        return con.execute(sql, params)
    finally:
        done.set()
        watcher.join()
        progress(stage, 100.0)
