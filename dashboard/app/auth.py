"""Sign-in and the reader's scope, from the identity alone (never from the URL or a widget).

With an ``[auth]`` table in ``.streamlit/secrets.toml`` (Streamlit's OIDC sign-in,
``st.login``/``st.user``) every visitor signs in first, and the roles file
(``dashboard.store.access``) says what they may see: a clinic role scopes every data call to
its clinics (``dashboard.app.cache.load`` opens each connection through
``dashboard.store.scope.apply_scope``), body and admin see every clinic, and an identity
with no role sees an explanation and nothing else. Without ``[auth]`` the dashboard is in
local mode: the one user of this computer (``needlewatch serve`` binds 127.0.0.1), every
clinic, and a banner that says so. Every download goes through :func:`download_button`,
which logs it in the audit table (``dashboard.store.audit``).
"""

from __future__ import annotations

import os

import pandas as pd
import streamlit as st

from dashboard.store.access import Access, RolesFile, load_roles
from dashboard.store.audit import audit_path, record
from dashboard.store.scope import Scope
from needlewatch import settings

NOTHING = Scope(())


def sign_in_configured() -> bool:
    """Whether Streamlit has an ``[auth]`` secrets table (OIDC provider settings)."""
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001  (no secrets file at all: local mode)
        return False


_ROLES: dict[tuple[str, int], RolesFile] = {}


def _roles_file() -> RolesFile:
    """The roles file, read again whenever it changes (an admin edits it in place)."""
    path = settings.roles_path()
    try:
        stamp = os.stat(path).st_mtime_ns
    except FileNotFoundError:
        stamp = 0
    key = (str(path), stamp)
    if key not in _ROLES:
        _ROLES.clear()
        _ROLES[key] = load_roles(path)
    return _ROLES[key]


def current_access() -> Access | None:
    """The visitor's access; None when sign-in is configured and they have not signed in."""
    if not sign_in_configured():
        return Access("local", local=True)
    user = st.user
    if not user.is_logged_in:
        return None
    return _roles_file().access(user.get("email"), user.get("email_verified"), user.get("groups"))


def session_scope() -> Scope:
    """The clinics this session may read: every clinic (local mode, body, admin), its
    clinic roles' clinics, a practitioner's own treatments (a practitioner-only role, for
    the incident form), or none (not signed in, or no role)."""
    access = current_access()
    if access is not None and not access.sees_dashboard and access.practitioners:
        return Scope((), practitioners=access.practitioners)  # the form's own rows alone
    if access is None or not access.sees_dashboard:
        return NOTHING
    return Scope(access.clinics)


def sign_in_screen() -> None:
    st.title("NeedleWatch")
    st.write(
        "Adverse-event surveillance for dry needling. Sign in with your organisation's "
        "account to see your clinics' data."
    )
    if st.button("Sign in", type="primary"):
        st.login()


def no_role_screen(access: Access) -> None:
    st.title("NeedleWatch")
    if access.practitioners:
        st.info(
            f"You are signed in as {access.user}, a practitioner "
            f"({', '.join(access.practitioners)}). The dashboard's pages are for clinic "
            "safety officers and the professional body; ask your clinic's safety officer "
            "for the figures you need."
        )
    else:
        st.warning(
            f"You are signed in as {access.user}, but no role is given to this account, so "
            "there is nothing to show. Ask the NeedleWatch administrator to add you to the "
            "roles file (a clinic, practitioner, body or admin role)."
        )
    if st.button("Sign out"):
        st.logout()


def identity_sidebar(access: Access) -> None:
    """Who is signed in, what they see, and sign-out; or the local-mode banner."""
    if access.local:
        st.sidebar.info(
            "Local mode: no sign-in, every clinic, for this computer only (127.0.0.1). A "
            'shared deployment needs sign-in: README, "A shared deployment".'
        )
        return
    scope = "every clinic" if access.clinics is None else ", ".join(access.clinics)
    if not access.sees_dashboard and access.practitioners:
        scope = "practitioner " + ", ".join(access.practitioners)
    st.sidebar.caption(f"Signed in as {access.user} · {scope}")
    if st.sidebar.button("Sign out"):
        st.logout()


def _log_download(page: str, file_name: str) -> None:
    access = current_access()
    who = access.user if access is not None else "unknown"
    record(audit_path(settings.resolve_db_path(None)), who, session_scope().describe(),
           page, file_name)  # fmt: skip


def download_button(label: str, data: bytes, *, file_name: str, mime: str, page: str,
                    **kwargs: object) -> None:  # fmt: skip
    """``st.download_button`` that adds a row to the audit table when clicked (who, when,
    the clinics they could see, the page, the file): every download goes through here."""
    st.download_button(label, data, file_name=file_name, mime=mime, on_click=_log_download,
                       args=(page, file_name), **kwargs)  # fmt: skip


def csv_download(what: str, frame: pd.DataFrame, stem: str, page: str) -> None:
    """``frame`` as "Download WHAT (CSV): STEM.csv", through ``download_button``."""
    download_button(f"Download {what} (CSV): {stem}.csv", frame.to_csv(index=False).encode(),
                    file_name=f"{stem}.csv", mime="text/csv", page=page)  # fmt: skip
