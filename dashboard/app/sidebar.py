"""The global filters: read from the URL, drawn in the sidebar, written back to the URL.

The page's own settings (``state.PAGE_SETTINGS``) ride along in the URL untouched: the page
checks and draws them (``screens._common.page_setting``). Another page's setting in a link
is dropped with a notice.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from dashboard.analysis import views
from dashboard.analysis.labels import label
from dashboard.app.auth import session_scope
from dashboard.app.cache import db_path, load
from dashboard.app.state import (
    KEYS,
    SEVERITIES,
    Choices,
    ViewState,
    collapse_params,
    filters_from_params,
    page_params,
    params_from_state,
)
from dashboard.store.filters import Filters
from ingest.errors import NeedleWatchError

ALL_DATES = "all dates"
#: Session key of the last filters applied (the URL loses them when the page changes).
LAST_PARAMS = "needlewatch-filters"


@dataclass(frozen=True)
class Context:
    """What every page receives: the validated filters and the database's options."""

    filters: Filters
    options: views.Options
    quarter: str | None = None  # the quarter chosen, when the period is one quarter


def _empty_state(message: str) -> None:
    st.title("NeedleWatch")
    st.info(
        f"{message}\n\nLoad data first: `needlewatch demo` loads a synthetic demo dataset; "
        "`needlewatch ingest FILE...` loads your own (templates in `data/templates/`)."
    )


def context(page: str | None = None) -> Context | None:
    """Validated filters from URL and sidebar; None (with an empty state drawn) if no data.

    ``page`` is the slug of the page about to be drawn: its settings stay in the URL,
    another page's are dropped with a notice (None keeps every page's)."""
    try:
        options = load(views.options)
    except NeedleWatchError as exc:
        _empty_state(str(exc))
        return None
    if not options.quarters:
        _empty_state(f"The database {db_path()} holds no treatments yet.")
        return None
    choices = Choices(options.clinics, options.professions, options.regions, options.techniques)
    params, notices = collapse_params({k: st.query_params.get_all(k) for k in st.query_params})
    settings, foreign = page_params(params, page)
    notices += foreign
    if not set(params) - {"page"} and LAST_PARAMS in st.session_state:
        # Switching page drops the query string: keep this session's filters instead.
        params = st.session_state[LAST_PARAMS]
    state, more = filters_from_params({k: v for k, v in params.items() if k in KEYS}, choices)
    notices += more
    for notice in notices:
        st.toast(f"Link parameter {notice}", icon="⚠️")
        st.sidebar.warning(f"Link parameter {notice}")
    sb = st.sidebar
    sb.header("Filters")
    periods = [ALL_DATES, *options.quarters]
    quarter = sb.selectbox(
        "Period (quarter)", periods, index=periods.index(state.quarter or ALL_DATES)
    )
    f = state.filters
    clinics = sb.multiselect("Clinics", options.clinics, default=list(f.clinics))
    professions = sb.multiselect(
        "Profession",
        options.professions,
        default=list(f.professions),
        format_func=lambda v: label("profession", v),
    )
    regions = sb.multiselect(
        "Body region",
        options.regions,
        default=list(f.regions),
        format_func=lambda v: label("body_region", v),
    )
    techniques = sb.multiselect(
        "Technique",
        options.techniques,
        default=list(f.techniques),
        format_func=lambda v: label("technique", v),
    )
    severity = sb.selectbox(
        "Severity of events counted",
        ["all", *SEVERITIES],
        index=(["all", *SEVERITIES]).index(f.severity or "all"),
        format_func=lambda v: "all severities" if v == "all" else label("severity", v),
    )
    keep_dates = quarter == ALL_DATES and state.quarter is None
    if keep_dates and (f.date_from or f.date_to):
        sb.caption(f"Period from the link: {f.date_from or 'first'} to {f.date_to or 'last'}")
    if not clinics and not session_scope().everything:
        # a clinic role's "all clinics" is its own: say so in every title and file name
        clinics = list(options.clinics)
    chosen = ViewState(
        Filters(
            date_from=f.date_from if keep_dates else None,
            date_to=f.date_to if keep_dates else None,
            clinics=tuple(clinics),
            professions=tuple(professions),
            regions=tuple(regions),
            techniques=tuple(techniques),
            severity=None if severity == "all" else severity,
        ),
        quarter=None if quarter == ALL_DATES else quarter,
    )
    params = params_from_state(chosen)
    validated, _ = filters_from_params(params, choices)  # the quarter becomes dates here
    st.session_state[LAST_PARAMS] = params
    in_url = {**params, **settings}  # the page checks and rewrites its own settings
    if dict(st.query_params) != in_url:
        st.query_params.from_dict(in_url)
    if session_scope().everything:  # the server's file paths are not a clinic's business
        sb.caption(f"Database: {db_path()}")
    return Context(validated.filters, options, validated.quarter)
