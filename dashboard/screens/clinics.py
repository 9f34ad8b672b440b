"""Clinics: funnel plot of clinics, or of practitioners within a clinic, vs the overall rate."""

import streamlit as st

from dashboard import views
from dashboard.cache import load
from dashboard.charts_spc import funnel_figure
from dashboard.methods import DEFAULT, FUNNEL_ADJUSTMENTS, Methods

from ._common import category_choice, chart, nothing_matches, what_counted

TITLE, SLUG = "Clinics", "clinics"
CLINICS, WITHIN = "clinics", "practitioners within a clinic"


def render(ctx) -> None:
    st.title("Clinics and practitioners: funnel plot")
    filters = category_choice(ctx.filters, "clinics-category")
    compare = st.radio("Compare", [CLINICS, WITHIN], horizontal=True)
    within = None
    if compare == WITHIN:
        within = st.selectbox(
            "Clinic", ctx.filters.clinics or ctx.options.clinics, key="clinics-within"
        )
    units = "clinic" if compare == CLINICS else "practitioner"
    labels = {
        "additive": "allow for overdispersion: additive random effects (default)",
        "multiplicative": "allow for overdispersion: multiplicative phi",
        "none": "no allowance: exact Poisson limits",
    }
    how = st.selectbox(
        "Funnel limits",
        FUNNEL_ADJUSTMENTS,
        index=FUNNEL_ADJUSTMENTS.index(DEFAULT.funnel_overdispersion),
        format_func=labels.get,
        key="clinics-funnel-limits",
        help="Real units differ by more than chance alone (case mix, reporting habits). When "
        "that extra spread is significant, the limits are widened by it (Spiegelhalter 2005), "
        "so only units that stand out beyond it are flagged. The reports and `needlewatch "
        "signals` use the default.",
    )
    methods = Methods(funnel_overdispersion=how)
    for override in methods.overrides():
        st.warning(f"{override} The reports and `needlewatch signals` flag units by the default.")
    result = load(views.clinics, filters, units, within, methods)
    if result is None:
        return nothing_matches()
    scope = f" at {within}" if within else ""
    chart(
        funnel_figure(
            result,
            title=f"{what_counted(filters)} per 1,000 treatments by {units}{scope}: 95% and 99.8% limits",
            unit_label=units.capitalize(),
        ),
        result.units,
        f"funnel-{units}{'-' + within if within else ''}",
    )
    if result.overdispersion_applied:
        st.caption(
            f"Limits widened for overdispersion (phi = {result.phi:.2f}, tau² = {result.tau2:.4f})."
        )
    elif how != "none":
        st.caption(
            f"No significant overdispersion (phi = {result.phi:.2f}, below the chi-square "
            f"threshold {result.dispersion_threshold:.2f}): exact Poisson limits."
        )
    if units == "practitioner":
        st.caption(
            "Practitioners are shown by their keyed code, the same on every page and report."
        )
    outliers = result.units[result.units["outside"] != ""]
    st.subheader(f"Outside the limits ({len(outliers)} of {len(result.units)} {units}s)")
    st.caption(
        "Outside 95%: worth a look (1 in 20 would be by chance). Outside 99.8%: unlikely to be "
        "chance, or the ordinary variation between clinics when the limits allow for it."
    )
    shown = outliers[["unit", "events", "exposure", "rate", "outside"]].rename(
        columns={"unit": units.capitalize(), "events": "Events", "exposure": "Treatments",
                 "rate": "Per 1,000 treatments", "outside": "Outside"}
    )  # fmt: skip
    st.dataframe(
        shown.round({"Per 1,000 treatments": 2, "Treatments": 0}),
        hide_index=True,
        height=36 * (len(shown) + 1),
    )
