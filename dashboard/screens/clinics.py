"""Clinics: funnel plot of clinics or practitioners against the overall rate."""

import streamlit as st

from dashboard import views
from dashboard.cache import load
from dashboard.charts_spc import funnel_figure

from ._common import chart, nothing_matches

TITLE, SLUG = "Clinics", "clinics"


def render(ctx) -> None:
    st.title("Clinics and practitioners: funnel plot")
    units = st.radio("Compare", ["clinic", "practitioner"], horizontal=True)
    result = load(views.clinics, ctx.filters, units)
    if result is None:
        return nothing_matches()
    chart(
        funnel_figure(
            result,
            title=f"Adverse events per 1,000 treatments by {units}, with 95% and 99.8% exact Poisson limits",
            unit_label=units.capitalize(),
        ),
        result.units,
        f"funnel-{units}",
    )
    outliers = result.units[result.units["outside"] != ""]
    st.subheader(f"Outside the limits ({len(outliers)})")
    st.dataframe(outliers[["unit", "events", "exposure", "rate", "outside"]], hide_index=True)
