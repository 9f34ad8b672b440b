"""Serious events: line listing of significant and serious events with context.

Codes print as words and long text wraps in its cell (taller rows); the download keeps the
codes (join keys) and is named after the clinics and period it covers.
"""

import streamlit as st

from dashboard.analysis import views
from dashboard.app.auth import csv_download
from dashboard.app.cache import load
from dashboard.app.display import listing_shown
from dashboard.app.downloads import file_stem

TITLE, SLUG = "Serious events", "serious"
#: Row height (pixels) that lets Streamlit wrap text: three lines of a narrative.
ROW_PX = 84
#: The event first (what, how bad, in the reporter's words), then its context.
ORDER = (
    "Date", "Clinic", "Category", "Severity", "Reported as", "Narrative", "Outcome",
    "Practitioner", "Training (hours)", "Body region", "Ultrasound guidance", "Technique",
)  # fmt: skip


def render(ctx) -> None:
    st.title("Significant and serious events")
    reveal = st.toggle(
        "Show practitioner ids",
        value=False,
        help="Practitioners are shown by a keyed code, the same in every page, report and "
        "download. Show their ids only where you are entitled to see who they are. (This "
        "choice is never put in a link.)",
    )
    page = load(views.serious_page, ctx.filters, reveal)
    listing = page.listing
    shown_as = "ids (shown on request)" if reveal else "keyed code"
    st.caption(f"{len(listing)} event(s). Practitioners are shown by {shown_as}.")
    if page.submitted:
        st.info(
            f"{page.submitted:,} more serious event(s) in this view came in clinics' quarterly "
            "submissions: they are listed by month on the Submissions page (a submission "
            "gives no day, id or narrative)."
        )
    if listing.empty:
        if page.submitted:
            return None
        return st.info("No significant or serious events match these filters.")
    shown = listing_shown(listing)
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        row_height=ROW_PX,
        height=min(ROW_PX * len(shown) + 40, 900),
        column_order=ORDER,
        column_config={
            "Date": st.column_config.DateColumn(format="YYYY-MM-DD", width=90),
            "Clinic": st.column_config.TextColumn(width=55),
            "Category": st.column_config.TextColumn(width=120),
            "Severity": st.column_config.TextColumn(width=85),
            "Reported as": st.column_config.TextColumn(width=130),
            "Narrative": st.column_config.TextColumn(width=330),
            "Outcome": st.column_config.TextColumn(width=130),
            "Ultrasound guidance": st.column_config.TextColumn(width=130),
        },
    )
    stem = file_stem(ctx.filters, "serious-events" + ("-with-ids" if reveal else ""))
    csv_download("the listing", listing, stem, "serious")
