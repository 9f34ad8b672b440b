"""Serious events: line listing of significant and serious events with context."""

import streamlit as st

from dashboard import views
from dashboard.cache import load

TITLE, SLUG = "Serious events", "serious"


def render(ctx) -> None:
    st.title("Significant and serious events")
    reveal = st.toggle(
        "Show practitioner ids",
        value=False,
        help="Practitioners are shown by a keyed code, the same in every page, report and "
        "download. Show their ids only where you are entitled to see who they are.",
    )
    listing = load(views.serious_events, ctx.filters, reveal)
    shown_as = "ids (shown on request)" if reveal else "keyed code"
    st.caption(f"{len(listing)} event(s). Practitioners are shown by {shown_as}.")
    if listing.empty:
        return st.info("No significant or serious events match these filters.")
    st.dataframe(
        listing,
        hide_index=True,
        width="stretch",
        height=min(36 * (len(listing) + 1), 640),
        column_config={
            "event_date": st.column_config.DateColumn("Date", format="YYYY-MM-DD"),
            "clinic": "Clinic",
            "practitioner": "Practitioner",
            "training_band": "Training (h)",
            "body_region": "Region",
            "ultrasound": "Ultrasound",
            "technique": "Technique",
            "category": "Category",
            "severity": "Severity",
            "event_type": st.column_config.TextColumn("Reported as", width="medium"),
            "outcome": "Outcome",
            "narrative": st.column_config.TextColumn("Narrative", width="large"),
        },
    )
    st.download_button(
        "Download the listing (CSV)",
        listing.to_csv(index=False).encode(),
        file_name="serious-events-with-ids.csv" if reveal else "serious-events.csv",
        mime="text/csv",
    )
