"""NeedleWatch dashboard: ``needlewatch serve`` runs this with Streamlit.

Settings, then data, then show: the sidebar collects the global filters (mirrored in the
URL so a copied link reopens the same view), each page calls one function of
``dashboard.views`` through ``dashboard.cache`` and draws the result.
"""

from __future__ import annotations

import streamlit as st

from dashboard import sidebar
from dashboard.screens import PAGES


def main() -> None:
    st.set_page_config(page_title="NeedleWatch", page_icon="💉", layout="wide")
    ctx = sidebar.context()
    if ctx is None:  # no database yet: sidebar.context drew the empty state
        return
    pages = [st.Page(lambda p=p: p.render(ctx), title=p.TITLE, url_path=p.SLUG) for p in PAGES]
    st.navigation(pages).run()


main()
