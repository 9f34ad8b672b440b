"""Data quality: ingest runs, rejected rows, unmapped event terms, missing fields."""

import streamlit as st

from dashboard.analysis import views
from dashboard.app.cache import load
from dashboard.app.display import quality_shown

TITLE, SLUG = "Data quality", "quality"
COUNTS = ("Rows read", "Rows accepted", "Rows updated", "Rows rejected", "Rows", "Blank", "Events")


def _table(frame) -> None:
    shown = quality_shown(frame)
    config = {c: st.column_config.NumberColumn(format="localized") for c in COUNTS if c in shown}
    if "% blank" in shown:
        config["% blank"] = st.column_config.NumberColumn(format="%.1f")
    st.dataframe(shown, hide_index=True, column_config=config)


def render(ctx) -> None:
    st.title("Data quality")
    data = load(views.quality)
    st.subheader("Ingest runs")
    _table(data.runs)
    st.subheader(f"Rejected rows ({len(data.rejects)})")
    st.caption("Column: the column as your file names it.")
    _table(data.rejects)
    st.subheader(f"Unmapped event terms ({len(data.unmapped)})")
    st.caption("Map them with `needlewatch terms --add mapping.csv`.")
    _table(data.unmapped)
    st.subheader("Missing optional fields")
    _table(data.missing)
