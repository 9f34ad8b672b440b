"""Training and ultrasound: rates by training, experience and guidance; adjusted ratios."""

import streamlit as st

from dashboard.analysis import views
from dashboard.analysis.labels import label
from dashboard.app.cache import load
from dashboard.app.display import model_shown
from dashboard.app.screens._common import (
    category_choice,
    chart,
    nothing_matches,
    statements,
    what_counted,
)
from dashboard.figures.charts import rate_bars, ratio_forest

TITLE, SLUG = "Training and ultrasound", "training"
ADJUSTED = (
    "When practitioners differ more than chance (overdispersion), every ratio's interval is "
    "practitioner-clustered (Poisson regression, as the table below); otherwise crude ratios "
    "have exact conditional intervals (as R poisson.test) and adjusted ones Mantel-Haenszel "
    "with Greenland-Robins intervals. Each row's method is in the data behind the chart."
)


def render(ctx) -> None:
    st.title("Training hours, experience and ultrasound guidance")
    filters = category_choice(ctx.filters, "training-category")
    data = load(views.training_ultrasound, filters)
    if data.by_training.empty:
        return nothing_matches()
    if data.statements:
        statements(data.statements)
        st.caption(
            "Each sentence comes from the rate ratios below: the ratio adjusted for body region "
            "leads, since where needling is done differs between practitioners and between "
            "guided and unguided treatments."
        )
    rate = f"{what_counted(filters)} per 1,000 treatments"
    for table, dim, name, what in (
        (
            data.by_training,
            "training_band",
            "rates-by-training-band",
            "dry-needling training hours",
        ),
        (data.by_experience, "experience_band", "rates-by-experience-band", "years of experience"),
        (data.by_ultrasound, "ultrasound", "rates-by-ultrasound", "ultrasound guidance"),
    ):
        chart(
            rate_bars(table, dim, title=f"{rate}, by {what} (95% CI)"), table, name, filters=filters
        )
    chart(
        rate_bars(
            data.by_region_ultrasound,
            "body_region",
            colour="ultrasound",
            title=f"{rate}, by body region and ultrasound guidance (95% CI)",
        ),
        data.by_region_ultrasound,
        "rates-by-region-and-ultrasound",
        filters=filters,
    )
    st.subheader("Rate ratios: crude and adjusted for body region")
    st.caption(ADJUSTED)
    for table, what, dim, name in (
        (data.ultrasound_ratios, "ultrasound guidance", "ultrasound", "ratios-ultrasound"),
        (data.training_ratios, "training hours", "training_band", "ratios-training-band"),
        (
            data.experience_ratios,
            "years of experience",
            "experience_band",
            "ratios-experience-band",
        ),
    ):
        if table.empty:
            continue
        ref = label(dim, table["reference"].iloc[0])
        shown = table.assign(level=[f"{label(dim, lv)} vs {ref}" for lv in table["level"]])
        title = (
            f"Rate ratio by {what}, against {ref} (reference): crude and region-adjusted (95% CI)"
        )
        chart(ratio_forest(shown, label="level", title=title), table, name, filters=filters)
        notes = {n for n in table["note"] if isinstance(n, str) and "reference" in n}
        for note in sorted(notes):
            st.caption(note)
    st.subheader("Poisson regression: mutually adjusted rate ratios")
    st.caption(data.why_they_differ)
    if data.model is None:
        return st.info(data.model_note)
    st.caption(
        f"Method: {data.model.method}. Cells: {data.model.n_cells:,} practitioner x factor-level cells."
    )
    shown = model_shown(data.model.table)
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        height=36 * (len(shown) + 1) + 2,
        column_config={
            "Rate ratio": st.column_config.NumberColumn(format="%.3f"),
            "Treatments": st.column_config.NumberColumn(format="localized"),
            "Events": st.column_config.NumberColumn(format="localized"),
        },
    )
