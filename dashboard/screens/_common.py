"""Small drawing helpers shared by pages: a chart with its data as CSV, an empty state."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from dashboard.explain import events_noun
from dashboard.filters import Filters
from ingest.vocab import CATEGORY_CODES, UNMAPPED

ALL_CATEGORIES = "all categories"


def chart(fig, data: pd.DataFrame, name: str) -> None:
    """Draw a Plotly figure and offer the table behind it as CSV."""
    st.plotly_chart(fig, width="stretch")
    st.download_button(
        f"Data behind this chart (CSV): {name}",
        data.to_csv(index=False).encode(),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"csv-{name}",
    )


def category_choice(filters: Filters, key: str) -> Filters:
    """A page-level event-category picker; restricts the events counted, not treatments."""
    options = [ALL_CATEGORIES, *CATEGORY_CODES, UNMAPPED]
    picked = st.selectbox(
        "Event category counted",
        options,
        key=key,
        format_func=lambda c: c.replace("_", " "),
        help="Counts only events of this category; the denominator stays every treatment.",
    )
    return replace(filters, category=None if picked == ALL_CATEGORIES else picked)


def what_counted(filters: Filters) -> str:
    """'Serious fainting events', 'Adverse events', ... for chart titles."""
    kind = events_noun(filters.category, filters.severity)
    return kind[0].upper() + kind[1:]


def rates_table(table: pd.DataFrame, dim: str, per: str = "treatments") -> None:
    """The rates behind a bar chart as a readable table: small rates stay legible here."""
    unit = "needle insertions" if per == "insertions" else "treatments"
    shown = pd.DataFrame(
        {
            dim.replace("_", " ").capitalize(): table[dim].astype(str).str.replace("_", " "),
            unit.capitalize(): table["insertions" if per == "insertions" else "treatments"],
            "Events": table["events"],
            f"Per 1,000 {unit}": table["rate_per_1000"].round(2),
            "95% CI": [
                "" if pd.isna(lo) else f"{lo:.2f} to {hi:.2f}"
                for lo, hi in zip(table["ci_low_per_1000"], table["ci_high_per_1000"], strict=True)
            ],
        }
    )
    with st.expander(f"Table: rates by {dim.replace('_', ' ')}"):
        st.dataframe(shown, hide_index=True, width="stretch")


def nothing_matches() -> None:
    st.info("No treatments match these filters. Widen the period or clear a filter in the sidebar.")
