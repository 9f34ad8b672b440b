"""Incidence: rate by event category and by severity tier, with exact 95% intervals."""

import streamlit as st

from dashboard import views
from dashboard.cache import load
from dashboard.charts import rate_bars

from ._common import chart, nothing_matches, rates_table

TITLE, SLUG = "Incidence", "incidence"


def render(ctx) -> None:
    st.title("Incidence by event type and severity")
    per = st.radio(
        "Denominator",
        ["treatments", "insertions"],
        horizontal=True,
        format_func=lambda p: (
            f"per 1,000 {'needle insertions' if p == 'insertions' else 'treatments'}"
        ),
    )
    data = load(views.incidence, ctx.filters, per)
    if data.by_category.empty:
        return nothing_matches()
    unit = "needle insertions" if per == "insertions" else "treatments"
    chart(
        rate_bars(
            data.by_category,
            "category",
            title=f"Adverse events per 1,000 {unit}, by category (exact Poisson 95% CI)",
            per=per,
        ),
        data.by_category,
        "incidence-by-category",
    )
    rates_table(data.by_category, "category", per)
    chart(
        rate_bars(
            data.by_severity,
            "severity",
            title=f"Adverse events per 1,000 {unit}, by severity tier (exact Poisson 95% CI)",
            per=per,
        ),
        data.by_severity,
        "incidence-by-severity",
    )
    rates_table(data.by_severity, "severity", per)
