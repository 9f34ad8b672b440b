"""Warm a dashboard process when it starts, before anyone opens a page.

The first page a visitor opens in a fresh process used to pay for everything at once
(1.5-1.7 s at 10 million treatments): importing the pages' libraries (pandas, SciPy,
Plotly: about 0.5 s), and reading what the store keeps per database state
(``dashboard.store.db.per_state``: the serious-event rows, every month's counts, the
levels stored: about 0.45 s). ``needlewatch serve`` starts the server through
``dashboard.app.serve``, which runs :func:`warm` in a background thread while Streamlit
starts: it imports the pages and computes the sidebar's options and the Overview at all
dates with the sidebar's default filters, as the first visitor will ask for them
(``dashboard.app.cache.compute_ahead``: handed to the first page that asks, then held
by Streamlit's cache as any view), and the store's answers they read stay held for the
pages after. Nothing is shown here; an ingest that lands before the first visitor
changes the database's stamp, so the page computes afresh.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from dashboard.analysis import views
from dashboard.app.state import Choices, filters_from_params
from dashboard.store.db import keep_per_state
from ingest.errors import NeedleWatchError


def prepare() -> None:
    """Import the pages (pandas, SciPy, Plotly with them) and set Plotly's template up.

    ``dashboard.app.serve`` calls this in the main thread *before* Streamlit starts and
    before :func:`warm` runs in its own thread: a module being imported in one thread is
    visible half-made to another that looks it up in ``sys.modules`` without importing
    it, as Plotly does for pandas, and the server once died of it at start
    ("partially initialized module 'pandas' has no attribute 'Series'")."""
    keep_per_state()  # as dashboard.app.cache does on import
    # st.cache_data checks its storage as the cache module is imported; before the server
    # runs that logs "No runtime found, using MemoryCacheStorageManager", which is what the
    # server then uses anyway: not a line for the user's terminal
    import streamlit.runtime.caching.cache_data_api as cache_data_api  # makes its logger

    quiet = logging.getLogger(cache_data_api.__name__)
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        import dashboard.app.screens  # noqa: F401  (the pages, their figures and libraries)
    finally:
        quiet.setLevel(level)
    from dashboard.figures.style import new_figure

    new_figure()  # Plotly validates its default template once per process


def warm(path: Path | None = None) -> float | None:
    """:func:`prepare`, then compute the first page's views and hold the store's answers
    for the database the dashboard reads (``$NEEDLEWATCH_DB``; ``path`` must be that one);
    the seconds it took, or None when there is nothing to warm (no database yet, or one
    this release cannot read: the page says why)."""
    start = time.perf_counter()
    prepare()
    from dashboard.app.cache import WARM_IDLE, db_path

    if path is not None and Path(path).resolve() != db_path().resolve():
        raise ValueError(f"warm: {path} is not the dashboard's database ({db_path()})")
    WARM_IDLE.clear()  # a page that asks meanwhile waits for these answers
    try:
        return _compute_first_page(start)
    finally:
        WARM_IDLE.set()


def _compute_first_page(start: float) -> float | None:
    from dashboard.app.cache import compute_ahead

    try:
        options = compute_ahead(views.options)
    except NeedleWatchError:
        return None
    if not options.quarters:
        return None
    choices = Choices(options.clinics, options.professions, options.regions, options.techniques)
    state, _ = filters_from_params({}, choices)
    compute_ahead(views.overview, state.filters)
    return time.perf_counter() - start
