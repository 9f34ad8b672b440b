"""Training and ultrasound: rates by training, experience and guidance; adjusted ratios."""

import streamlit as st

from dashboard import views
from dashboard.cache import load
from dashboard.charts import rate_bars, ratio_forest

from ._common import chart, nothing_matches

TITLE, SLUG = "Training and ultrasound", "training"
RATE = "Adverse events per 1,000 treatments"


def render(ctx) -> None:
    st.title("Training hours, experience and ultrasound guidance")
    data = load(views.training_ultrasound, ctx.filters)
    if data.by_training.empty:
        return nothing_matches()
    left, right = st.columns(2)
    with left:
        chart(
            rate_bars(
                data.by_training, "training_band", title=f"{RATE}, by training hours (95% CI)"
            ),
            data.by_training,
            "rate-by-training-band",
        )
    with right:
        chart(
            rate_bars(
                data.by_experience,
                "experience_band",
                title=f"{RATE}, by years of experience (95% CI)",
            ),
            data.by_experience,
            "rate-by-experience-band",
        )
    chart(
        rate_bars(
            data.by_region_ultrasound,
            "body_region",
            colour="ultrasound",
            title=f"{RATE}, by body region and ultrasound guidance (95% CI)",
        ),
        data.by_region_ultrasound,
        "rate-by-region-ultrasound",
    )
    st.subheader("Rate ratios: crude and adjusted for body region")
    st.caption(
        "Crude: exact conditional interval (as R poisson.test). Adjusted: Mantel-Haenszel across body regions, Greenland-Robins interval."
    )
    chart(
        ratio_forest(
            data.ultrasound_ratios,
            label="level",
            title="Rate ratio, ultrasound-guided vs not, crude and region-adjusted (95% CI)",
        ),
        data.ultrasound_ratios,
        "ratio-ultrasound",
    )
    chart(
        ratio_forest(
            data.training_ratios,
            label="level",
            title="Rate ratio by training band vs the most common band, crude and region-adjusted (95% CI)",
        ),
        data.training_ratios,
        "ratio-training-band",
    )
