"""NeedleWatch dashboard: ``needlewatch serve`` runs this with Streamlit.

Who first: with sign-in configured a visitor signs in, and an identity with no role sees
an explanation only (``dashboard.app.auth``); a clinic role's every data call is scoped to
its clinics. Settings, then data, then show: the sidebar collects the global filters and each page its
own settings (both mirrored in the URL so a copied link reopens the same view, and kept
across a page switch), each page calls one function of ``dashboard.analysis.views`` through
``dashboard.app.cache`` and draws the result.
"""

from __future__ import annotations

import streamlit as st

from dashboard.app import auth, sidebar
from dashboard.app.screens import ADMIN_PAGES, FORM_PAGES, PAGES
from dashboard.app.screens._common import draw_page


def main() -> None:
    st.set_page_config(page_title="NeedleWatch", page_icon="💉", layout="wide")
    access = auth.current_access()
    if access is None:  # sign-in configured, not signed in: nothing else is drawn
        auth.sign_in_screen()
        return
    if not access.sees_dashboard and access.practitioners:  # the incident form alone
        auth.identity_sidebar(access)
        form = FORM_PAGES[0]
        st.navigation([st.Page(lambda: form.render(None), title=form.TITLE,
                               url_path=form.SLUG)], position="hidden").run()  # fmt: skip
        return
    if not access.sees_dashboard:  # deny by default: an explanation, nothing else
        auth.no_role_screen(access)
        return
    auth.identity_sidebar(access)
    drawn: dict[str, sidebar.Context] = {}
    shown = [
        *PAGES,
        *FORM_PAGES,
        *(ADMIN_PAGES if access.local or "admin" in access.roles or access.clinics else ()),
    ]
    pages = [
        st.Page(lambda p=p: draw_page(p, drawn["ctx"]), title=p.TITLE, url_path=p.SLUG)
        for p in shown
    ]
    current = st.navigation(pages)  # which page is asked for, before the sidebar reads the URL
    slug = {p.TITLE: p.SLUG for p in shown}.get(current.title)
    ctx = sidebar.context(page=slug)
    if ctx is None:  # no database yet: sidebar.context drew the empty state
        return
    drawn["ctx"] = ctx
    current.run()


main()
