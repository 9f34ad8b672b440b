"""Submissions (a professional body): which member clinic sent which quarter, on time,
late or missing, every version received, and quarters whose counts need checking."""

import streamlit as st

from dashboard.analysis import views
from dashboard.app.auth import download_button
from dashboard.app.cache import load
from dashboard.app.display import listing_shown
from needlewatch import settings

TITLE, SLUG = "Submissions", "submissions"
#: The versions listed on the page (a body of 1,000 clinics has 4,000 a year).
SHOWN_VERSIONS = 200
GRID = {
    "clinic_id": "Clinic", "name": "Name", "quarter": "Quarter", "status": "Status",
    "version": "Version", "first_received": "First received", "last_received": "Last received",
    "treatments": "Treatments", "events": "Events", "serious_events": "Serious events",
    "usual_treatments": "Usual treatments", "check": "Check",
}  # fmt: skip
#: What a check needs, the reason first read: the clinic, quarter and the counts compared.
CHECKS = {
    "clinic_id": "Clinic", "quarter": "Quarter", "check": "Check", "treatments": "Treatments",
    "usual_treatments": "Usual treatments", "version": "Version",
    "last_received": "Last received",
}  # fmt: skip
VERSIONS = {
    "clinic_id": "Clinic", "quarter": "Quarter", "version": "Version", "current": "Counted",
    "received_at": "Received", "received_by": "Received by", "treatments": "Treatments",
    "replaced_treatments": "Treatments before", "events": "Events",
    "replaced_events": "Events before", "serious_events": "Serious events",
    "replaced_serious_events": "Serious events before", "file": "File",
}  # fmt: skip
SERIOUS = {
    "clinic_id": "Clinic", "quarter": "Quarter", "month": "Month", "category": "Category",
    "severity": "Severity", "body_region": "Body region", "ultrasound": "Ultrasound guidance",
    "training_band": "Training (hours)", "outcome": "Outcome",
}  # fmt: skip
NUMBERS = ("Treatments", "Events", "Serious events", "Treatments before", "Events before",
           "Serious events before", "Version")  # fmt: skip


def _table(frame, names: dict[str, str]) -> None:
    shown = frame[list(names)].rename(columns=names)
    config = {c: st.column_config.NumberColumn(format="localized") for c in NUMBERS if c in shown}
    if "Usual treatments" in shown:  # a median: whole or half, shown to the nearest one
        config["Usual treatments"] = st.column_config.NumberColumn(format="localized")
        shown["Usual treatments"] = shown["Usual treatments"].round(0)
    st.dataframe(shown, hide_index=True, column_config=config, width="stretch")


def render(ctx) -> None:
    st.title("Submissions")
    data = load(views.submissions)
    if data.versions.empty:
        return st.info(
            "This database has received no clinic submissions. A professional body receives "
            "them with `needlewatch ingest --db body.duckdb submissions/*.zip`; a clinic "
            "writes one with `needlewatch submit --quarter 2026Q3 --out C04-2026Q3.zip`."
        )
    st.caption(
        f"A quarter is due {settings.SUBMISSION_DUE_DAYS} days after it ends; on time and "
        "late read the first version's arrival. Usual treatments: the median of the "
        "clinic's previous four quarters received."
    )
    latest = data.by_quarter.iloc[-1]
    cols = st.columns(4)
    for col, status in zip(cols, ("on time", "late", "missing", "due"), strict=True):
        col.metric(f"{latest['quarter']}: {status}", int(latest[status]))
    checks = data.grid[data.grid["check"].notna()]
    st.subheader(f"Counts to check ({len(checks)})")
    st.caption(
        f"A quarter whose treatments fall below {settings.SUBMISSION_DROP_SHARE:.0%} of the "
        "clinic's usual is a data problem until the clinic confirms it, not a safety "
        "improvement."
    )
    if len(checks):
        _table(checks, CHECKS)
    st.subheader("Clinics by quarter")
    st.dataframe(
        data.by_quarter.sort_values("quarter", ascending=False).rename(columns=str.capitalize),
        hide_index=True,
    )
    newest = data.grid[data.grid["quarter"] == latest["quarter"]]
    st.caption(f"Each member clinic in {latest['quarter']}; every quarter in the download.")
    _table(newest, GRID)
    download_button(
        f"Download every clinic and quarter (CSV, {len(data.grid):,} rows)",
        data.grid.to_csv(index=False).encode(),
        file_name="submissions-by-clinic-and-quarter.csv",
        mime="text/csv",
        page="submissions",
    )
    st.subheader(f"Serious events submitted ({len(data.serious)})")
    st.caption(
        "From the counted version of each clinic's quarter: by month (a submission gives no "
        "day, no id and no narrative), so they are not in the Serious events page's listing "
        "or its g-chart, which need the day."
    )
    if len(data.serious):
        shown = listing_shown(data.serious[list(SERIOUS)])  # codes as words, as the listing
        shown.columns = list(SERIOUS.values())
        st.dataframe(shown, hide_index=True, width="stretch")
    st.subheader(f"Every version received ({len(data.versions):,})")
    recent = data.versions.sort_values("received_at", ascending=False)
    if len(recent) > SHOWN_VERSIONS:
        st.caption(f"The newest {SHOWN_VERSIONS}; every version in the download.")
    _table(recent.head(SHOWN_VERSIONS), VERSIONS)
    download_button(
        "Download every version (CSV)",
        recent.to_csv(index=False).encode(),
        file_name="submission-versions.csv",
        mime="text/csv",
        page="submissions",
    )
