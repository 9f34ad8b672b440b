"""Drawing helpers shared by pages: page settings kept in the URL, a chart with its data as
a named CSV, the category picker, the rates table, an empty state.

Page settings (how a page reads and writes its own choices)
-----------------------------------------------------------
A page draws each of its settings with ``page_setting``, never with a bare ``st.radio`` or
``st.selectbox``::

    by = page_setting("by", ("month", "quarter"), "month", label="Period", key="trends-by")

The value comes from the URL (``?by=quarter``, checked against ``options``: anything else
is ignored with a notice), else from what this session last chose on this page (the URL
loses its parameters when the page changes), else ``default``; the chosen value is written
back to the URL (left out when it is the default). The key must be one of the page's keys
in ``dashboard.app.state.PAGE_SETTINGS``.

Downloads are named after what they cover: ``chart(fig, data, "rates-by-training-band",
filters=filters)`` offers ``c04-2026Q3-fainting-rates-by-training-band.csv``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace

import pandas as pd
import streamlit as st

from dashboard.analysis.explain import events_noun
from dashboard.analysis.labels import heading, label, per_text
from dashboard.app.auth import download_button
from dashboard.app.display import rates_shown
from dashboard.app.downloads import file_stem, for_download
from dashboard.app.state import PAGE_KEYS, setting_from_params
from dashboard.store.filters import Filters
from ingest.vocab import CATEGORY_CODES, UNMAPPED

ALL_CATEGORIES = "all"
#: Making Data Count colours as coloured dots before a statement (a text glyph: every font
#: has it, where an emoji may draw as a box).
MARKS = {"concern": ":orange[●]", "improvement": ":blue[●]", "neutral": ":gray[●]"}
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+!|~$-])")
#: Session key of each page's remembered settings ({widget key: value}).
REMEMBERED = "needlewatch-page-settings"
#: Session key of the URL settings drawn in this run (the others leave the URL).
DRAWN = "needlewatch-settings-drawn"


def draw_page(page, ctx) -> None:
    """Run a page's ``render(ctx)``, then drop from the URL every page setting it did not
    draw this time (the clinic of "practitioners within a clinic" once the page compares
    clinics again), so the link always says exactly what is on the screen."""
    st.session_state[DRAWN] = set()
    page.render(ctx)
    for name in PAGE_KEYS - st.session_state[DRAWN]:
        if name in st.query_params:
            del st.query_params[name]


def notice(text: str) -> None:
    """A link parameter that was ignored: a toast, and a note that stays in the sidebar."""
    st.toast(f"Link parameter {text}", icon="⚠️")
    st.sidebar.warning(f"Link parameter {text}")


def page_setting(
    name: str,
    options: Sequence[str],
    default: str,
    *,
    label: str,
    key: str,
    widget: str = "radio",
    format_func: Callable[[str], str] = str,
    help: str | None = None,
    in_url: bool = True,
) -> str:
    """Draw a page setting (radio or selectbox) that lives in the URL as ``name`` and
    survives a page switch; return the chosen value (one of ``options``).

    ``key`` is the widget's key, unique to the page. ``in_url=False`` keeps a setting out
    of the link (it is still remembered across page switches)."""
    options = [str(o) for o in options]
    if default not in options:
        default = options[0]
    remembered: dict[str, str] = st.session_state.setdefault(REMEMBERED, {})
    if key in st.session_state and st.session_state[key] not in options:
        del st.session_state[key]  # the options changed under it (another clinic filter)
    if key not in st.session_state:  # first draw on this page in this session
        value = None
        if in_url:
            value, problem = setting_from_params(dict(st.query_params), name, options, default)
            if problem:
                notice(problem)
        if value is None and remembered.get(key) in options:
            value = remembered[key]
        st.session_state[key] = value or default
    draw = st.radio if widget == "radio" else st.selectbox
    extra = {"horizontal": True} if widget == "radio" else {}
    chosen = draw(label, options, key=key, format_func=format_func, help=help, **extra)
    chosen = str(chosen)
    remembered[key] = chosen
    st.session_state.setdefault(DRAWN, set()).add(name)
    if in_url:
        if chosen == default:
            if name in st.query_params:
                del st.query_params[name]
        elif st.query_params.get(name) != chosen:
            st.query_params[name] = chosen
    return chosen


def chart(
    fig,
    data: pd.DataFrame,
    name: str,
    *,
    filters: Filters | None = None,
    per: str = "treatments",
) -> None:
    """Draw a Plotly figure and offer the table behind it as CSV.

    With ``filters`` the file is named after its scope and period
    (``downloads.file_stem``: "c04-2026Q3-fainting-<name>.csv"), else "<name>.csv". Rates
    are rounded with the main estimate's full precision kept (``downloads.for_download``);
    ``per="insertions"`` gives them per 10,000 needle insertions, as the chart."""
    st.plotly_chart(fig, width="stretch")
    stem = file_stem(filters, name) if filters is not None else name
    download_button(
        f"Data behind this chart (CSV): {stem}.csv",
        for_download(data, per).to_csv(index=False).encode(),
        file_name=f"{stem}.csv",
        mime="text/csv",
        page=name,
        key=f"csv-{name}",
    )


def category_choice(filters: Filters, key: str) -> Filters:
    """A page-level event-category picker (URL parameter ``category``); restricts the
    events counted, not treatments."""
    picked = page_setting(
        "category",
        [ALL_CATEGORIES, *CATEGORY_CODES, UNMAPPED],
        ALL_CATEGORIES,
        label="Event category counted",
        key=key,
        widget="selectbox",
        format_func=lambda c: "all categories" if c == ALL_CATEGORIES else label("category", c),
        help="Counts only events of this category; the denominator stays every treatment.",
    )
    return replace(filters, category=None if picked == ALL_CATEGORIES else picked)


def what_counted(filters: Filters) -> str:
    """'Serious fainting events', 'Adverse events', ... for chart titles."""
    kind = events_noun(filters.category, filters.severity)
    return kind[0].upper() + kind[1:]


def rates_table(table: pd.DataFrame, dim: str, per: str = "treatments") -> None:
    """The rates behind a chart as a readable table (words, the chart's denominator)."""
    with st.expander(f"Table: rates by {heading(dim).lower()} ({per_text(per)})"):
        st.dataframe(rates_shown(table, dim, per), hide_index=True, width="stretch")


def escape(text: str) -> str:
    """Markdown-escaped: clinic and category names come from the data."""
    return _MARKDOWN.sub(r"\\\1", text)


def statements(said) -> None:
    """Statements (``dashboard.analysis.statements.Statement``) as a list, each after its dot."""
    st.markdown("\n".join(f"- {MARKS[s.tone]} {escape(s.text)}" for s in said))


def nothing_matches() -> None:
    st.info("No treatments match these filters. Widen the period or clear a filter in the sidebar.")
