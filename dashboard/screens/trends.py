"""Trends: u-chart with Making Data Count signals, explained; g-chart of serious events."""

import re

import streamlit as st

from dashboard import views
from dashboard.cache import load
from dashboard.charts_spc import g_chart_figure, u_chart_figure
from dashboard.explain import RULE_MEANING

from ._common import category_choice, chart, nothing_matches, what_counted

TITLE, SLUG = "Trends", "trends"


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+!|~$-])")


def _statements(statements) -> None:
    """Each signal as a bullet (full sentences, escaped: unit names come from the data),
    then what each rule that fired means."""
    st.markdown("\n".join("- " + _MARKDOWN.sub(r"\\\1", s.sentence) for s in statements))
    rules = dict.fromkeys(s.rule for s in statements)
    st.caption(" · ".join(f"{rule}: {RULE_MEANING.get(rule, '')}" for rule in rules))


def render(ctx) -> None:
    st.title("Trends and signals")
    filters = category_choice(ctx.filters, "trends-category")
    by = st.radio("Period", ["month", "quarter"], horizontal=True)
    data = load(views.trends, filters, by)
    if not data.charts and not data.note:
        return nothing_matches()
    if not data.charts:
        st.info(f"No u-chart for this view: {data.note}.")
        return _gchart(data)
    u = data.charts[0].chart
    if ctx.filters.date_to is not None:
        st.caption(
            "With a period chosen, the chart shows it in context: the 24 months to its end, "
            "so the period is measured against its own history, not against itself. The "
            "signals listed are those that touch the period, as in the report and "
            "`needlewatch signals`."
        )
    if u.points["incomplete"].any():
        st.caption(
            "A period the data do not yet cover in full is drawn but not used for the limits "
            "and not tested for signals."
        )
    chart(
        u_chart_figure(
            u,
            title=f"u-chart: {what_counted(filters).lower()} per 1,000 treatments by {by}; limits vary with treatments",
        ),
        u.points,
        f"u-chart-{by}",
    )
    st.subheader(f"Signals on this chart ({len(data.statements)})")
    if data.statements:
        _statements(data.statements)
    else:
        st.success(
            "No special-cause signal: every point is within its limits and no run or trend rule fired."
        )
    st.subheader(f"Signals by event category ({len(data.category_statements)})")
    st.caption(
        "Each category's own u-chart over all treatments, when it has at least one event a "
        "period on average (rarer events are watched on the g-chart below)."
    )
    if data.category_statements:
        _statements(data.category_statements)
    st.subheader(f"Signals in single clinics ({len(data.clinic_statements)})")
    st.caption(
        "Each clinic's own u-chart, against its own centre line. Pick the clinic in the sidebar to see its chart."
    )
    if data.clinic_statements:
        _statements(data.clinic_statements)
    _gchart(data)


def _gchart(data) -> None:
    st.subheader("Serious events")
    if data.gchart is None:
        return st.info("Fewer than 3 serious events in this view: too few for a g-chart.")
    chart(
        g_chart_figure(
            data.gchart,
            title="g-chart: treatments between consecutive serious events (probability limits)",
        ),
        data.gchart.points,
        "g-chart-serious",
    )
