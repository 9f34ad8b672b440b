"""Trends: u-chart with Making Data Count signals; g-chart of serious events."""

import streamlit as st

from dashboard import views
from dashboard.cache import load
from dashboard.charts_spc import g_chart_figure, u_chart_figure

from ._common import chart, nothing_matches

TITLE, SLUG = "Trends", "trends"


def render(ctx) -> None:
    st.title("Trends and signals")
    by = st.radio("Period", ["month", "quarter"], horizontal=True)
    data = load(views.trends, ctx.filters, by)
    if not data.charts:
        return nothing_matches()
    u = data.charts[0].chart
    chart(
        u_chart_figure(
            u,
            title=f"u-chart: adverse events per 1,000 treatments by {by}, limits vary with treatments",
        ),
        u.points,
        f"u-chart-{by}",
    )
    if u.signals:
        st.dataframe(
            [
                {
                    "period": s.period,
                    "rule": s.rule,
                    "rate": round(s.value, 2),
                    "centre": round(s.expected, 2),
                }
                for s in u.signals
            ],
            hide_index=True,
        )
    else:
        st.success(
            "No special-cause signal: every point is within its limits and no run or trend rule fired."
        )
    st.subheader("Serious events")
    if data.gchart is None:
        st.info("Fewer than 3 serious events in this view: too few for a g-chart.")
    else:
        chart(
            g_chart_figure(
                data.gchart,
                title="g-chart: treatments between consecutive serious events (probability limits)",
            ),
            data.gchart.points,
            "g-chart-serious",
        )
