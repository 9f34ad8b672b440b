"""Clinics: funnel plot of clinics, or of practitioners within a clinic, vs the overall rate.

Only the units outside the limits are named on the chart (hover names every unit); the
settings (category, clinics or practitioners, the clinic, the limits) are in the URL.
"""

from dataclasses import replace

import streamlit as st

from dashboard.analysis import views
from dashboard.analysis.comparisons import NoDataError
from dashboard.analysis.methods import DEFAULT, FUNNEL_ADJUSTMENTS, Methods
from dashboard.app.cache import load
from dashboard.app.display import outliers_shown
from dashboard.app.screens._common import (
    category_choice,
    chart,
    nothing_matches,
    page_setting,
    what_counted,
)
from dashboard.figures.charts import label_outliers_only
from dashboard.figures.control_charts import funnel_figure

TITLE, SLUG = "Clinics", "clinics"
COMPARE = {"clinics": "clinics", "practitioners": "practitioners within a clinic"}
LIMITS = {
    "additive": "allow for overdispersion: additive random effects (default)",
    "multiplicative": "allow for overdispersion: multiplicative phi",
    "none": "no allowance: exact Poisson limits",
}


def render(ctx) -> None:
    st.title("Clinics and practitioners: funnel plot")
    filters = category_choice(ctx.filters, "clinics-category")
    compare = page_setting(
        "compare", list(COMPARE), "clinics", label="Compare", key="clinics-compare",
        format_func=COMPARE.get,
    )  # fmt: skip
    within = None
    if compare == "practitioners":
        clinics = ctx.filters.clinics or ctx.options.clinics
        within = page_setting(
            "within", clinics, clinics[0], label="Clinic", key="clinics-within", widget="selectbox"
        )
    units = "clinic" if compare == "clinics" else "practitioner"
    how = page_setting(
        "limits",
        FUNNEL_ADJUSTMENTS,
        DEFAULT.funnel_overdispersion,
        label="Funnel limits",
        key="clinics-funnel-limits",
        widget="selectbox",
        format_func=LIMITS.get,
        help="Real units differ by more than chance alone (case mix, reporting habits). When "
        "that extra spread is significant, the limits are widened by it (Spiegelhalter 2005), "
        "so only units that stand out beyond it are flagged. The reports and `needlewatch "
        "signals` use the default.",
    )
    methods = Methods(funnel_overdispersion=how)
    for override in methods.overrides():
        st.warning(f"{override} The reports and `needlewatch signals` flag units by the default.")
    try:
        result = load(views.clinics, filters, units, within, methods)
    except NoDataError as exc:  # a submitting clinic's practitioners: none named
        return st.info(str(exc)[0].upper() + str(exc)[1:] + ".")
    if result is None:
        return nothing_matches()
    scope = f" at {within}" if within else ""
    chart(
        label_outliers_only(
            funnel_figure(
                result,
                title=f"{what_counted(filters)} per 1,000 treatments by {units}{scope}: "
                "95% and 99.8% limits",
                unit_label=units.capitalize(),
            )
        ),
        result.units,
        f"funnel-{units}s",
        filters=replace(filters, clinics=(within,)) if within else filters,
    )
    st.caption(
        f"Only the {units}s outside the 95% limits are named on the chart; hover over a point "
        f"to see which {units} it is."
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
    shown = outliers_shown(result.units, units)
    st.subheader(f"Outside the limits ({len(shown)} of {len(result.units)} {units}s)")
    st.caption(
        "Outside 95%: worth a look (1 in 20 would be by chance). Outside 99.8%: unlikely to be "
        "chance, or the ordinary variation between clinics when the limits allow for it."
    )
    st.dataframe(
        shown,
        hide_index=True,
        height=36 * (len(shown) + 1) + 2,
        column_config={
            "Per 1,000 treatments": st.column_config.NumberColumn(format="%.2f"),
            "Treatments": st.column_config.NumberColumn(format="localized"),
            "Events": st.column_config.NumberColumn(format="localized"),
        },
    )
