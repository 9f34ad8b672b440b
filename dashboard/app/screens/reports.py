"""Reports: the quarterly report for the quarter and clinic in view, as a download."""

import streamlit as st

from dashboard.app.auth import download_button
from dashboard.app.cache import load
from dashboard.app.screens._common import page_setting
from dashboard.report.render import report_file
from ingest.errors import NeedleWatchError

TITLE, SLUG = "Quarterly report", "report"
FORMATS = {
    "pdf": "PDF (A4)",
    "html": "HTML (interactive)",
    "xlsx": "Excel (XLSX)",
    "csv": "CSV (tidy)",
}
EDITIONS = {
    "clinic": "Clinic (confidential, with narratives)",
    "public": "Public (suppressed, anonymous)",
    "feedback": "Feedback (one clinic against the network, peers unnamed)",
}
MIME = {
    "pdf": "application/pdf",
    "html": "text/html",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv",
}


def render(ctx) -> None:
    st.title("Quarterly report")
    quarter = ctx.quarter
    if quarter is None:
        st.info("A report covers one calendar quarter: choose it in the sidebar's Period.")
        quarters = list(ctx.options.quarters)
        quarter = page_setting(
            "report_quarter",
            quarters,
            quarters[0],  # the newest
            label="Or pick the report's quarter here",
            key="report-quarter",
            widget="selectbox",
        )
    clinics = ctx.filters.clinics
    clinic = clinics[0] if len(clinics) == 1 else None
    if len(clinics) > 1:
        st.info("A report covers one clinic or all clinics: with several chosen, it covers all.")
    st.caption(
        f"{quarter}, {'clinic ' + clinic if clinic else 'all clinics'}. The same files as "
        f"`needlewatch report --quarter {quarter}{' --clinic ' + clinic if clinic else ''}`. "
        "Other sidebar filters do not apply to reports."
    )
    edition = page_setting(
        "edition",
        list(EDITIONS),
        "clinic",
        label="Edition",
        key="report-edition",
        format_func=EDITIONS.get,
    )
    fmt = page_setting(
        "format", list(FORMATS), "pdf", label="Format", key="report-format", format_func=FORMATS.get
    )
    rounding = None
    if edition == "feedback" and clinic is None:
        st.info(
            "The feedback edition is what a professional body sends one member clinic: choose "
            "that clinic (one) in the sidebar's Clinics."
        )
        return
    if edition == "public":
        rounded = page_setting(
            "rounding",
            ["none", "5", "10"],
            "none",
            label="Rounding of printed counts",
            key="report-rounding",
            widget="selectbox",
            format_func=lambda n: (
                "none (exact counts, small ones suppressed)"
                if n == "none"
                else f"to the nearest {n}, after suppression (as OpenSAFELY releases counts)"
            ),
        )
        rounding = None if rounded == "none" else int(rounded)
    if not st.button("Prepare the report", type="primary"):
        return
    try:
        with st.spinner("Building the report..."):
            made = load(report_file, quarter, clinic, edition, fmt, rounding)
    except (NeedleWatchError, ValueError) as exc:  # no treatments, Chromium missing
        return st.error(f"The report could not be made: {exc}")
    name = (
        f"needlewatch-{quarter}-{clinic or 'all'}-{edition}{'-rounded' if rounding else ''}.{fmt}"
    )
    download_button(
        f"Download {name}",
        made.data,
        file_name=name,
        mime=MIME[fmt],
        page="report",
        type="primary",
    )
    for heading, text in made.disclosure:  # what the public edition hid, and the audit
        st.caption(f"**{heading}.** {text}")
