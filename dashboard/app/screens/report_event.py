"""Report an event: the incident report form (Datix/LFPSE, Yellow Card style) for a
practitioner (their own treatments; the only page they see), a clinic role (its clinics'),
an admin or local mode. Find the treatment (by id, or by date and practitioner),
describe the event in the vocabulary the ingest accepts (free text allowed: kept as
``unmapped`` when no synonym knows it), and file it; or pick an event you filed and file a
follow-up, its earlier versions shown. Filing runs ``python -m ingest.job --event`` in a
process of its own (``ingest.form``): the same validation and atomic write as a file, the
filer's scope and a serious event's required fields checked inside that transaction.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date

import pandas as pd
import streamlit as st

from dashboard.analysis import filing
from dashboard.analysis.labels import CATEGORY
from dashboard.app.auth import current_access
from dashboard.app.cache import db_path, load

TITLE, SLUG = "Report an event", "report-event"
NEW = "A new event"
OTHER = "other (describe it)"
TIERS = {
    "": "not known yet",
    "mild": "mild: short-lived and reversible; does not inconvenience the patient",
    "significant": "significant: needed medical attention or interfered with activities",
    "serious": "serious: hospital admission, lasting disability, life-threatening, or death",
}
FILED = "needlewatch-form-filed"


def _file(fields: dict, user: str, clinics: tuple[str, ...] | None) -> dict:
    """``ingest.job --event`` as this reader: a clinic role's clinics, a practitioner-only
    role's practitioner ids, or any treatment (admins, body, local mode)."""
    own = _own_practitioners()
    limits = (
        [a for p in own for a in ("--practitioner", p)] if own
        else [a for c in clinics or () for a in ("--clinic", c)]
    )  # fmt: skip
    if own is None and clinics == ():  # cannot happen: such a reader sees no form
        return {"ok": False, "message": "this account may not file reports"}
    command = [sys.executable, "-m", "ingest.job", "--db", str(db_path()), "--event",
               json.dumps(fields, default=str), "--filed-by", user, *limits]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"ok": False, "message": f"the filing stopped ({last[:300]})"}


def _own_practitioners() -> tuple[str, ...] | None:
    """A practitioner-only reader's ids: they file against their own treatments alone."""
    access = current_access()
    if access is None or access.sees_dashboard or not access.practitioners:
        return None
    return access.practitioners


def _treatment(prior: dict) -> str | None:
    """The treatment, typed or found by date and practitioner."""
    typed = st.text_input("Treatment id", value=prior.get("treatment_id", ""))
    if typed.strip():
        return typed.strip()
    left, right = st.columns(2)
    day = left.date_input("or find it: treatment date", value=None, max_value=date.today())
    own = _own_practitioners()
    who = "" if own else right.text_input("practitioner id (optional)")
    if day is None:
        return None
    found = load(filing.treatments_on, day, own or ((who.strip(),) if who.strip() else None))
    if found.empty:
        st.info("No treatment on that date" + (f" by {who.strip()}" if who.strip() else ""))
        return None
    labels = [
        f"{r.treatment_id} · {r.practitioner_id} · {r.clinic_id} · {r.body_region}"
        for r in found.itertuples()
    ]
    pick = st.selectbox("Treatment", labels)
    return pick.split(" · ")[0]


def render(ctx) -> None:
    access = current_access()
    user = access.user if access is not None else "local"
    st.title("Report an adverse event")
    st.caption(
        "Report what happened during or after a dry-needling treatment. Filed reports go "
        "through the same checks as an ingested file and appear on every page at once."
    )
    mine = load(filing.events_filed_by, user)
    options = [NEW, *mine["event_id"]] if not mine.empty else [NEW]
    which = st.selectbox("Event", options, help="pick one you filed to file a follow-up")
    prior: dict = {}
    if which != NEW:
        versions = load(filing.event_versions, which)
        st.subheader(f"History of {which}")
        st.dataframe(versions, hide_index=True)
        prior = versions.iloc[-1].to_dict()
    treatment = _treatment(prior)
    categories, _ = filing.vocabulary()
    names = [CATEGORY.get(c, c) for c in categories] + [OTHER]
    index = categories.index(prior["category"]) if prior.get("category") in categories else 0
    category = st.selectbox("What happened", names, index=index)
    event_type = (
        categories[names.index(category)]
        if category != OTHER
        else st.text_input("Describe it in a few words")
    )
    tier = st.radio("Severity", list(TIERS), format_func=TIERS.get,
                    index=list(TIERS).index(prior.get("severity") or "")
                    if (prior.get("severity") or "") in TIERS else 0)  # fmt: skip
    left, right = st.columns(2)
    onset = left.radio("Onset", ["during", "after"], horizontal=True,
                       index=1 if prior.get("onset") == "after" else 0)  # fmt: skip
    onset_date = right.date_input("Onset date", value=None, max_value=date.today())
    was = prior.get("hospitalised")
    hospitalised = st.radio("Hospitalised", ["not known", "no", "yes"], horizontal=True,
                            index=0 if was is None or pd.isna(was) else (2 if was else 1))  # fmt: skip
    outcome = st.text_input("Outcome (resolved, ongoing, referred...)",
                            value=prior.get("outcome") or "")  # fmt: skip
    narrative = st.text_area("What happened (never published)", value=prior.get("narrative") or "")
    serious = tier == "serious" or event_type == "pneumothorax" or hospitalised == "yes"
    if serious:
        st.warning(
            "A serious event: the report also needs the outcome and whether the patient "
            "was hospitalised."
        )
    if st.button("File the report", type="primary", disabled=not treatment or not event_type):
        fields = {
            "treatment_id": treatment,
            "event_type": event_type,
            "severity": tier or None,
            "onset": onset,
            "onset_date": onset_date,
            "outcome": outcome.strip() or None,
            "hospitalised": {"yes": True, "no": False}.get(hospitalised),
            "narrative": narrative.strip() or None,
            "event_id": None if which == NEW else which,
        }
        st.session_state[FILED] = _file(fields, user, access.clinics if access else None)
        if st.session_state[FILED]["ok"]:
            st.rerun()  # the history and the reporter's events as they now are
    outcome_ = st.session_state.get(FILED)
    if outcome_:
        if outcome_["ok"]:
            st.success(f"Filed: event {outcome_['event_id']}, version {outcome_['version']}.")
        elif outcome_.get("rejected"):
            st.error("Not filed: " + "; ".join(f"{c}: {r}" for c, _, r in outcome_["rejected"]))
        else:
            st.error(f"Not filed: {outcome_['message']}")
