"""The dashboard's warm start (``dashboard.app.warm``, run by ``needlewatch serve`` through
``dashboard.app.serve``): the first visitor's Overview at all dates is the one computed
at start, shows the same page as a cold one, and is never served once the database has
changed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import dashboard.app.cache as cache
from dashboard.app.warm import warm
from dashboard.store.db import forget_states

from .test_app import page_script


@pytest.fixture(autouse=True)
def _db(fixture_db, monkeypatch) -> None:
    monkeypatch.setenv("NEEDLEWATCH_DB", str(fixture_db))
    cache._cached.clear()
    cache._WARMED.clear()
    forget_states()
    yield
    cache._cached.clear()
    cache._WARMED.clear()


def _shown(at: AppTest) -> list:
    return [m.value for m in at.metric] + [md.value for md in at.markdown]


def test_first_page_is_the_one_computed_at_start(fixture_db: Path, monkeypatch) -> None:
    cold = AppTest.from_function(page_script, args=("overview",), default_timeout=60).run()
    assert not cold.exception
    cache._cached.clear()
    forget_states()

    assert isinstance(warm(fixture_db), float)
    assert sorted(k[0] for k in cache._WARMED) == [
        "dashboard.analysis.views:options",
        "dashboard.analysis.views:overview",
    ]
    computed: list[str] = []
    real = cache.compute
    monkeypatch.setattr(
        cache, "compute", lambda n, p, a, s=cache.EVERYTHING: computed.append(n) or real(n, p, a, s)
    )
    first = AppTest.from_function(page_script, args=("overview",), default_timeout=60).run()
    assert not first.exception
    assert computed == []  # both views came from the warm start
    assert cache._WARMED == {}  # handed over once, then Streamlit's cache holds them
    assert len(_shown(cold)) > 5
    assert _shown(first) == _shown(cold)


def test_a_database_changed_after_the_warm_start_is_computed_afresh(
    fixture_db: Path, monkeypatch
) -> None:
    warm(fixture_db)
    stamp = os.stat(fixture_db).st_mtime_ns
    monkeypatch.setattr(cache, "version", lambda: stamp + 1)  # as after an ingest
    computed: list[str] = []
    real = cache.compute
    monkeypatch.setattr(
        cache, "compute", lambda n, p, a, s=cache.EVERYTHING: computed.append(n) or real(n, p, a, s)
    )
    at = AppTest.from_function(page_script, args=("overview",), default_timeout=60).run()
    assert not at.exception
    assert computed == ["dashboard.analysis.views:options", "dashboard.analysis.views:overview"]
    assert cache._WARMED == {}  # the stale answers are dropped, not kept for ever


def test_no_database_yet_warms_nothing(tmp_path: Path, monkeypatch) -> None:
    missing = tmp_path / "none.duckdb"
    monkeypatch.setenv("NEEDLEWATCH_DB", str(missing))
    assert warm() is None
    assert cache._WARMED == {}
    assert not missing.exists()  # a reader never creates the database


def test_another_database_than_the_dashboards_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is not the dashboard's database"):
        warm(tmp_path / "other.duckdb")


def test_serve_imports_the_pages_before_the_warm_thread_and_streamlit_start(monkeypatch) -> None:
    """A module imported by two threads at once is seen half-made by one that looks it up
    in sys.modules (Plotly does, for pandas): the 100-million-treatment server died of it
    at start. ``dashboard.app.serve`` imports first, in its own thread, then starts both."""
    import sys as _sys

    import streamlit.web.cli

    import dashboard.app.serve as serve
    import dashboard.app.warm as warm_module

    seen: list[str] = []

    class Thread:
        def __init__(self, target, name, daemon) -> None:
            assert (name, daemon) == ("needlewatch-warm", True)

        def start(self) -> None:
            seen.append("warm thread")

    monkeypatch.setattr(serve.threading, "Thread", Thread)
    monkeypatch.setattr(warm_module, "prepare", lambda: seen.append("prepare"))
    monkeypatch.setattr(streamlit.web.cli, "main", lambda prog_name: seen.append(prog_name))
    monkeypatch.setattr(_sys, "argv", ["serve", "run", "main.py"])
    serve.main()
    assert seen == ["prepare", "warm thread", "streamlit"]


def test_a_page_asked_during_the_warm_up_waits_for_it(fixture_db: Path, monkeypatch) -> None:
    """A visitor who arrives while the server is still warming waits for those answers
    instead of computing the same ones beside it (at 100 million treatments the two at
    once took 1.8 GB, one 0.8 GB)."""
    import threading
    import time

    computed: list[tuple[str, str]] = []
    real = cache.compute

    def compute(name, path, args):
        time.sleep(0.2)  # a warm-up that takes a while
        computed.append((threading.current_thread().name, name.rsplit(":", 1)[1]))
        return real(name, path, args)

    monkeypatch.setattr(cache, "compute", compute)
    cache.WARM_IDLE.clear()  # as dashboard.app.serve does before starting the thread
    warming = threading.Thread(target=warm, name="needlewatch-warm")
    warming.start()
    try:
        at = AppTest.from_function(page_script, args=("overview",), default_timeout=60).run()
    finally:
        warming.join()
        cache.WARM_IDLE.set()
    assert not at.exception
    assert computed == [("needlewatch-warm", "options"), ("needlewatch-warm", "overview")]
