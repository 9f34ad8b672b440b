"""Read-only, short-lived connections to the NeedleWatch database."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

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
            "what this release stores beside your rows, which are kept)"
        )
    return con


def duckdb_size(value: str) -> str:
    """A size such as "128MB" or "1.5GB", checked before it goes into a SET statement."""
    if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", value.strip()):
        raise ValueError(f"not a memory size: {value!r} (write it like 128MB)")
    return value.strip()


def database_state(con: duckdb.DuckDBPyConnection) -> tuple | None:
    """What identifies the data a connection reads: the file's path, the size and
    modification time of the file and of its write-ahead log (every commit changes one),
    and the clinics it is scoped to (``scope.apply_scope``); None for an in-memory database. Read it *before* the data it keys: a commit landing
    in between then changes the state, so nothing is kept under a key older than it."""
    row = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    if row is None or not row[0]:
        return None
    stamp: list[object] = [str(row[0])]
    for name in (str(row[0]), f"{row[0]}.wal"):
        try:
            st = os.stat(name)
        except FileNotFoundError:
            stamp += [None, None]
        else:
            stamp += [st.st_size, st.st_mtime_ns]
    from .scope import scope_of  # a clinic's reader keeps its own answers

    return (*stamp, scope_of(con).clinics)


_T = TypeVar("_T")
_KEEPING = [False]  # set by a long-lived process (the dashboard): ``keep_per_state``
_HELD: dict[tuple, object] = {}
_HELD_LOCK = threading.Lock()
_HELD_MAX = 64  # answers kept in this process (a few databases, a few kinds each)


def per_state(
    con: duckdb.DuckDBPyConnection,
    kind: tuple,
    compute: Callable[[], _T],
    most: int | None = None,
) -> _T:
    """``compute()``, kept in this process per database state (``database_state``) and
    ``kind``: for answers that do not depend on the filters (the event levels stored, the
    serious-event rows) or not on the period (every month's counts), so a filter change
    does not pay for them again. ``most``: keep at most that many answers whose kind
    starts as this one's (the newest; for answers kept per filter choice). In-memory
    databases, and every call in a process that did not ask to keep them
    (``keep_per_state``: a command runs once), are computed every time."""
    state = database_state(con) if _KEEPING[0] else None
    if state is None:
        return compute()
    key = (state, kind)
    if key in _HELD:
        return _HELD[key]  # type: ignore[return-value]
    value = compute()
    with _HELD_LOCK:
        for old in [k for k in _HELD if k[0][0] == state[0] and k[0][:-1] != state[:-1]]:
            del _HELD[old]  # an earlier state of this file: never asked for again
        while len(_HELD) >= _HELD_MAX:
            _HELD.pop(next(iter(_HELD)))
        if most is not None:
            family = [k for k in _HELD if k[1][0] == kind[0]]
            for old in family[: max(len(family) - most + 1, 0)]:
                del _HELD[old]
        _HELD[key] = value
    return value


def keep_per_state(keep: bool = True) -> None:
    """Whether ``per_state`` keeps answers: on in the dashboard, whose filter changes
    reuse them; off in a command, where a query narrowed to its filters is cheaper."""
    _KEEPING[0] = keep


def keeps_per_state() -> bool:
    return _KEEPING[0]


def forget_states() -> None:
    """Drop every answer ``per_state`` keeps (a fresh process: benches, tests)."""
    with _HELD_LOCK:
        _HELD.clear()
