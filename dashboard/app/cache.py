"""Cached, short-lived, read-only database access for the dashboard.

Each call opens a read-only connection, restricts it to the session's clinics (the one
place a clinic user's scope is applied: ``dashboard.store.scope``), runs one
``dashboard.analysis.views`` function (or the report's ``report_file``) and closes it;
results are cached per (database file, its modification time, arguments, scope), so what
an ingest writes is picked up on the next rerun, no reader is handed another scope's
answer, and no connection is held open that an ingest would have to wait for.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from dashboard.store.db import DASHBOARD_MEMORY_LIMIT, connect_readonly, keep_per_state
from dashboard.store.scope import EVERYTHING, Scope, apply_scope
from needlewatch import settings

# a filter change reuses what does not depend on the filters (the serious-event rows, the
# event levels stored), kept per database state (``dashboard.store.db.per_state``)
keep_per_state()


def db_path() -> Path:
    return settings.resolve_db_path(None)


def version() -> int:
    """The database file's modification time: the cache key that changes on ingest."""
    try:
        return os.stat(db_path()).st_mtime_ns
    except FileNotFoundError:
        return 0


def data_function(name: str) -> Callable:
    """``'module:function'`` -> that function; a bare name is a ``dashboard.analysis.views`` one."""
    module, _, function = name.rpartition(":")
    if not module:
        from dashboard.analysis import views

        return getattr(views, function)
    return getattr(importlib.import_module(module), function)


def compute(name: str, path: str, args: tuple, scope: Scope = EVERYTHING) -> Any:
    """``data_function(name)(con, *args)`` on a fresh read-only connection restricted to
    ``scope`` (``dashboard.store.scope``), without the cache.

    Every count is a sum over the counts store (``dashboard.store.counts``).
    ``bench/dashboard_speed.py`` times this as "the page's queries alone".
    """
    function = data_function(name)
    con = connect_readonly(Path(path), DASHBOARD_MEMORY_LIMIT)
    try:
        apply_scope(con, scope)
        return function(con, *args)
    finally:
        con.close()


#: View results computed as the process started (``dashboard.app.warm``), each handed to
#: its first asker and then forgotten (Streamlit's cache keeps it from there on).
_WARMED: dict[tuple[str, str, int, tuple], Any] = {}
#: Clear while a warm-up runs: a page waits for it rather than compute the same answers
#: beside it (at 100 million treatments the two together took 1.8 GB, one 0.8 GB).
WARM_IDLE = threading.Event()
WARM_IDLE.set()
#: The longest a page waits for a warm-up before computing on its own.
WARM_WAIT_S = 300.0
_NOT_AHEAD = object()  # no answer computed ahead for this key


def compute_ahead(view: Callable, *args: object) -> Any:
    """``load(view, *args)`` computed now, outside any session, and kept for the first page
    that asks (``dashboard.app.warm``): Streamlit's cache cannot be filled without one."""
    key = (f"{view.__module__}:{view.__qualname__}", str(db_path()), version(), args)
    _WARMED[key] = value = compute(key[0], key[1], args)
    return value


@st.cache_data(show_spinner=False, max_entries=256)
def _cached(name: str, path: str, stamp: int, args: tuple, scope: Scope) -> Any:
    WARM_IDLE.wait(WARM_WAIT_S)
    ahead = _WARMED.pop((name, path, stamp, args), _NOT_AHEAD) if scope.everything else _NOT_AHEAD
    for key in [k for k in _WARMED if k[1] == path and k[2] != stamp]:
        _WARMED.pop(key, None)  # computed before an ingest: nobody will ask for it again
    return compute(name, path, args, scope) if ahead is _NOT_AHEAD else ahead


def load(view: Callable, *args: object) -> Any:
    """``view(con, *args)`` (a ``dashboard.analysis.views`` function, or the report's
    ``report_file``) on this session's clinics only (``auth.session_scope``: from the
    signed-in identity, never from the URL), cached per scope until the database changes."""
    from dashboard.app.auth import session_scope

    name = f"{view.__module__}:{view.__qualname__}"
    return _cached(name, str(db_path()), version(), args, session_scope())
