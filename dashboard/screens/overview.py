"""Overview: the period's headline figures against the previous period, monthly trend."""

import streamlit as st

from dashboard import views
from dashboard.cache import load
from dashboard.charts import trend_figure

from ._common import chart, nothing_matches

TITLE, SLUG = "Overview", "overview"


def _delta(now, before, digits: int = 0):
    """The change against the previous period, at the precision the value is shown."""
    if before is None or now is None:
        return None
    change = round(now - before, digits)
    return int(change) if digits == 0 else change


def render(ctx) -> None:
    st.title("Overview")
    data = load(views.overview, ctx.filters)
    now, prev = data.current, data.previous
    if now.treatments == 0:
        return nothing_matches()
    cols = st.columns(5)
    cols[0].metric(
        "Treatments", f"{now.treatments:,}", _delta(now.treatments, prev and prev.treatments)
    )
    cols[1].metric(
        "Adverse events",
        f"{now.events:,}",
        _delta(now.events, prev and prev.events),
        delta_color="inverse",
    )
    cols[2].metric(
        "Per 1,000 treatments",
        f"{now.rate:.1f}",
        _delta(now.rate, prev and prev.rate, 1),
        delta_color="inverse",
        help=f"95% CI {now.low:.1f} to {now.high:.1f} (exact Poisson)",
    )
    cols[3].metric(
        "Treatments with an event",
        f"{now.affected_percent:.1f}%",
        _delta(now.affected_percent, prev and prev.affected_percent, 1),
        delta_color="inverse",
    )
    cols[4].metric(
        "Serious events",
        f"{now.serious}",
        _delta(now.serious, prev and prev.serious),
        delta_color="inverse",
    )
    st.caption(
        f"95% interval of the rate: {now.low:.1f} to {now.high:.1f} per 1,000 treatments. Changes are against {data.previous_label}."
    )
    chart(
        trend_figure(
            data.trend, "month", title="Adverse events per 1,000 treatments, by month (95% CI)"
        ),
        data.trend,
        "overview-monthly-rate",
    )
