"""Small drawing helpers shared by pages: a chart with its data as CSV, an empty state."""

from __future__ import annotations

import pandas as pd
import streamlit as st


def chart(fig, data: pd.DataFrame, name: str) -> None:
    """Draw a Plotly figure and offer the table behind it as CSV."""
    st.plotly_chart(fig, use_container_width=True)
    st.download_button(
        f"Data behind this chart (CSV): {name}",
        data.to_csv(index=False).encode(),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"csv-{name}",
    )


def nothing_matches() -> None:
    st.info("No treatments match these filters. Widen the period or clear a filter in the sidebar.")
