"""Overview: the answer first (is it getting safer or riskier, and is it training or
ultrasound?), then the headline figures and the u-chart of the period in its context."""

import streamlit as st

from dashboard.analysis import views
from dashboard.app.cache import load
from dashboard.app.screens._common import MARKS, chart, nothing_matches, statements
from dashboard.figures.charts import trend_figure
from dashboard.figures.control_charts import u_chart_figure

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
    statements(data.statements)
    st.caption(
        f"{MARKS['concern']} a concern, {MARKS['improvement']} an improvement, "
        f"{MARKS['neutral']} nothing beyond chance. Each sentence comes from "
        "a page: the change from the figures below, signals from Trends, serious events from "
        "Serious events, ratios from Training and ultrasound (adjusted for body region)."
    )
    # A change chip is coloured only when the change in the rate is beyond chance (the
    # exact test of the first sentence); otherwise it is shown in grey.
    tone = data.change_tone
    coloured = "inverse" if tone in ("concern", "improvement") else "off"
    cols = st.columns(5)
    cols[0].metric(
        "Treatments",
        f"{now.treatments:,}",
        _delta(now.treatments, prev and prev.treatments),
        delta_color="off",
    )
    cols[1].metric(
        "Adverse events",
        f"{now.events:,}",
        _delta(now.events, prev and prev.events),
        delta_color=coloured,
    )
    cols[2].metric(
        "Per 1,000 treatments",
        f"{now.rate:.1f}",
        _delta(now.rate, prev and prev.rate, 1),
        delta_color=coloured,
        help=f"95% CI {now.low:.1f} to {now.high:.1f} (exact Poisson)",
    )
    cols[3].metric(
        "Treatments with an event",
        f"{now.affected_percent:.1f}%",
        _delta(now.affected_percent, prev and prev.affected_percent, 1),
        delta_color="off",
    )
    cols[4].metric(
        "Serious events",
        f"{now.serious}",
        _delta(now.serious, prev and prev.serious),
        delta_color="off",
    )
    st.caption(
        f"95% interval of the rate: {now.low:.1f} to {now.high:.1f} per 1,000 treatments. "
        f"Changes are against {data.previous_label}; they are coloured only when the rate's "
        "change is beyond chance."
    )
    if data.chart is not None:
        chart(
            u_chart_figure(
                data.chart.chart,
                title="Adverse events per 1,000 treatments by month, with control limits",
            ),
            data.chart.chart.points,
            "u-chart-by-month",
            filters=ctx.filters,
        )
    else:
        chart(
            trend_figure(
                data.trend, "month", title="Adverse events per 1,000 treatments, by month (95% CI)"
            ),
            data.trend,
            "rates-by-month",
            filters=ctx.filters,
        )
