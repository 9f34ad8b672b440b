"""Incidence: rate by event category and by severity tier, with exact 95% intervals.

Both charts are on a log scale (``charts.rate_dots``): bruising at 75 per 1,000 and
pneumothorax at 0.01 share the chart, and a category with no events shows its upper bound.
Per needle insertions the rates are per 10,000 insertions.
"""

import streamlit as st

from dashboard.analysis import views
from dashboard.analysis.labels import per_text
from dashboard.app.cache import load
from dashboard.app.screens._common import chart, nothing_matches, page_setting, rates_table
from dashboard.figures.charts import rate_dots

TITLE, SLUG = "Incidence", "incidence"
PER = ("treatments", "insertions")


def render(ctx) -> None:
    st.title("Incidence by event type and severity")
    per = page_setting(
        "per", PER, "treatments", label="Denominator", key="incidence-per", format_func=per_text
    )
    data = load(views.incidence, ctx.filters, per)
    if data.by_category.empty:
        return nothing_matches()
    rate = f"Adverse events {per_text(per)}"
    suffix = "" if per == "treatments" else "-per-10000-insertions"
    st.caption(
        "Log scale: each gridline is 10 times the one before, so rare and serious categories "
        "show beside common ones. An open triangle marks a category with no events, at the "
        "upper end of its 95% interval."
    )
    for table, dim, what in (
        (data.by_category, "category", "category"),
        (data.by_severity, "severity", "severity tier"),
    ):
        chart(
            rate_dots(
                table, dim, title=f"{rate}, by {what} (exact Poisson 95% CI, log scale)", per=per
            ),
            table,
            f"incidence-by-{dim}{suffix}",
            filters=ctx.filters,
            per=per,
        )
        rates_table(table, dim, per)
