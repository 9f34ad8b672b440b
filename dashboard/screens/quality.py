"""Data quality: ingest runs, rejected rows, unmapped event terms, missing fields."""

import streamlit as st

from dashboard import views
from dashboard.cache import load

TITLE, SLUG = "Data quality", "quality"


def render(ctx) -> None:
    st.title("Data quality")
    data = load(views.quality)
    st.subheader("Ingest runs")
    st.dataframe(data.runs, hide_index=True)
    st.subheader(f"Rejected rows ({len(data.rejects)})")
    st.dataframe(data.rejects, hide_index=True)
    st.subheader(f"Unmapped event terms ({len(data.unmapped)})")
    st.caption("Map them with `needlewatch terms --add mapping.csv`.")
    st.dataframe(data.unmapped, hide_index=True)
    st.subheader("Missing optional fields")
    st.dataframe(data.missing.round({"missing_percent": 1}), hide_index=True)
