"""Clinics: funnel plot of clinics, or of practitioners within a clinic, vs the overall rate."""

import streamlit as st

from dashboard import views
from dashboard.cache import load
from dashboard.charts_spc import funnel_figure

from ._common import category_choice, chart, nothing_matches, what_counted

TITLE, SLUG = "Clinics", "clinics"
CLINICS, WITHIN = "clinics", "practitioners within a clinic"


def render(ctx) -> None:
    st.title("Clinics and practitioners: funnel plot")
    filters = category_choice(ctx.filters, "clinics-category")
    compare = st.radio("Compare", [CLINICS, WITHIN], horizontal=True)
    within = None
    if compare == WITHIN:
        within = st.selectbox("Clinic", ctx.filters.clinics or ctx.options.clinics)
    units = "clinic" if compare == CLINICS else "practitioner"
    result = load(views.clinics, filters, units, within)
    if result is None:
        return nothing_matches()
    scope = f" at {within}" if within else ""
    chart(
        funnel_figure(
            result,
            title=f"{what_counted(filters)} per 1,000 treatments by {units}{scope}: exact Poisson 95% and 99.8% limits",
            unit_label=units.capitalize(),
        ),
        result.units,
        f"funnel-{units}{'-' + within if within else ''}",
    )
    outliers = result.units[result.units["outside"] != ""]
    st.subheader(f"Outside the limits ({len(outliers)} of {len(result.units)} {units}s)")
    st.caption(
        "Outside 95%: worth a look (1 in 20 would be by chance). Outside 99.8%: unlikely to be chance."
    )
    st.dataframe(outliers[["unit", "events", "exposure", "rate", "outside"]], hide_index=True)
