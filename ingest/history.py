"""Practitioner history: which profile bands each treatment, and which changes are allowed.

A practitioners file brings one profile per practitioner (the last valid row of an id
wins, as for every kind). Against ``practitioner_history`` (every profile held) a row is:

    new        no profile held yet           -> first profile, dated by effective_from
                                                (blank: NULL), holding for every treatment
                                                before the next profile, however early
    unchanged  same clinic, profession,      -> nothing added, whatever effective_from it
               hours and years as the latest    carries (there is no change to date)
    change     anything else                 -> a new profile from effective_from
                                                (blank: the ingest date, ``today``)

A change must start after the latest profile's date (else "overlapping") and after the
practitioner's latest stored treatment (else "backdated"): a treatment already banded
by a profile is never moved to another. Both rules are checks of the validation step
(``profile_checks``), so a rejected row changes neither ``practitioners`` nor the
history, and its reject names the dates involved.

The checks read, per practitioner, the latest profile and the treatments' date span
(``prepare_profile_refs``: one temp table, built before the file is scanned) through a
join in the typed scan (``SCAN_JOIN``, ``SCAN_ITEMS``):

    practitioner_history (latest per id) + treatments (min, max date per practitioner)
      -> profile_refs (one row per practitioner)
      -> src._ref_* (one row per file row) -> checks, reject reasons
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import duckdb

from .errors import IngestBookkeepingError
from .kinds import PRACTITIONERS
from .validate import Check, ParseOptions, parsed_ref

#: The values that make a profile: a row differing in any of them is a change.
PROFILE_VALUES = ("clinic_id", "profession", "dn_training_hours", "years_dn_experience")

#: Each treatment ``t`` with the practitioner profile ``p`` in force on its date: the
#: join every read of practitioner attributes beside treatments goes through.
PROFILE_IN_FORCE = (
    "p.practitioner_id = t.practitioner_id "
    "AND t.treatment_date >= p.valid_from AND t.treatment_date < p.valid_to"
)
PROFILE_JOIN = f"JOIN practitioner_profiles p ON {PROFILE_IN_FORCE}"

#: The latest profile of each practitioner in ``practitioner_history`` (a first profile's
#: NULL effective_from sorts before every date).
LATEST_SQL = (
    "SELECT * FROM practitioner_history "
    "QUALIFY row_number() OVER (PARTITION BY practitioner_id "
    "ORDER BY effective_from DESC NULLS LAST) = 1"
)

#: The typed scan of a practitioners file joins ``profile_refs`` under names of its own
#: (``_ref_*``: the file's columns keep theirs, unqualified in every check).
_REF_NAMES = (
    ("practitioner_id", "_ref_id"),
    *((c, f"_ref_{c}") for c in PROFILE_VALUES),
    ("effective_from", "_ref_from"),
    ("holds_from", "_ref_holds_from"),
    ("last_treated", "_ref_treated_to"),
)
SCAN_JOIN = (
    "LEFT JOIN (SELECT "
    + ", ".join(f"{name} AS {alias}" for name, alias in _REF_NAMES)
    + " FROM profile_refs) _r ON _r._ref_id = t.practitioner_id"
)
SCAN_ITEMS = ("_r.* EXCLUDE (_ref_id)", "_r._ref_id IS NOT NULL AS _ref_known")

_COLUMNS = {c.name: c for c in PRACTITIONERS.columns}
#: The file row differs from the latest profile held (SQL over the typed scan).
CHANGED = (
    "(_ref_known AND ("
    + " OR ".join(f"{parsed_ref(_COLUMNS[c])} IS DISTINCT FROM _ref_{c}" for c in PROFILE_VALUES)
    + "))"
)
_DATED = parsed_ref(_COLUMNS["effective_from"])
#: A usable effective_from (an unreadable, too early or future one has its own reject).
_GOOD_DATE = f"{_DATED} BETWEEN $earliest AND $today"

#: Reject reasons. ``{latest_from}``: the date of the latest profile held;
#: ``{treated_to}``: the practitioner's latest stored treatment; ``{profile_from}``: the
#: date the profile banding it holds from (a first profile: its first treatment).
OVERLAP_REASON = (
    "overlapping profile: on or before {latest_from}, the date of the latest profile held "
    "for this practitioner; give an effective_from after {latest_from}"
)
BACKDATED_REASON = (
    "backdated profile: their treatments up to {treated_to} are already banded by the "
    "profile from {profile_from}; give an effective_from after {treated_to}, or leave the "
    "profile as it is (earlier treatments are never re-banded)"
)
#: The same for a change without effective_from, which holds from the ingest date
#: (``{today}``, filled in when the checks are built): a later date would be in the
#: future, so the fix is to load the change on a later day.
OVERLAP_UNDATED_REASON = (
    "overlapping profile: a change without effective_from holds from the ingest date, "
    "{today}, which is on or before {latest_from}, the date of the latest profile held for "
    "this practitioner; ingest the change after {latest_from}"
)
BACKDATED_UNDATED_REASON = (
    "backdated profile: a change without effective_from holds from the ingest date, "
    "{today}, but their treatments up to {treated_to} are already banded by the profile "
    "from {profile_from}; ingest the change after {treated_to}, or leave the profile as it "
    "is (earlier treatments are never re-banded)"
)
#: What each placeholder is filled with (``_ref_*`` of the typed scan, see SCAN_JOIN).
_FIELDS = (
    ("latest_from", "_ref_from"),
    ("treated_to", "_ref_treated_to"),
    ("profile_from", "_ref_holds_from"),
)


def profile_checks(opts: ParseOptions) -> list[Check]:
    """Overlapping and backdated changes, one reject per row: on ``effective_from`` when
    the row gives one, else on ``dn_training_hours`` (the change holds from ``$today``).
    A row that overlaps is not also reported as backdated."""
    overlaps = "{d} <= _ref_from"
    backdated = "NOT coalesce({d} <= _ref_from, false) AND {d} <= _ref_treated_to"
    dated = f"{CHANGED} AND {_GOOD_DATE} AND "
    undated = f"{CHANGED} AND effective_from IS NULL AND "
    today = opts.today.isoformat()
    overlap_undated = OVERLAP_UNDATED_REASON.replace("{today}", today)
    backdated_undated = BACKDATED_UNDATED_REASON.replace("{today}", today)
    checks = [
        Check("effective_from", dated + overlaps.format(d=_DATED), OVERLAP_REASON),
        Check("effective_from", dated + backdated.format(d=_DATED), BACKDATED_REASON),
        Check("dn_training_hours", undated + overlaps.format(d="$today"), overlap_undated),
        Check("dn_training_hours", undated + backdated.format(d="$today"), backdated_undated),
    ]
    return [replace(check, values=_FIELDS) for check in checks]


def prepare_profile_refs(con: duckdb.DuckDBPyConnection) -> None:
    """profile_refs: per practitioner held, the latest profile, its date, the date the
    profile banding their latest treatment holds from, and their treatments' date span.

    A first profile (the only one) holds from the first treatment even when dated later
    (``holds_from`` is then the earlier of the two), so no treatment is left unbanded.
    """
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE profile_refs AS
        WITH latest AS (
            SELECT l.*, n.profiles FROM ({LATEST_SQL}) l
            JOIN (SELECT practitioner_id, count(*) AS profiles FROM practitioner_history
                  GROUP BY ALL) n USING (practitioner_id)
        ),
        treated AS (
            SELECT practitioner_id, min(treatment_date) AS first_treated,
                   max(treatment_date) AS last_treated
            FROM treatments GROUP BY ALL
        )
        SELECT l.practitioner_id, l.clinic_id, l.profession, l.dn_training_hours,
               l.years_dn_experience, l.effective_from, t.first_treated, t.last_treated,
               CASE WHEN l.profiles = 1 THEN least(l.effective_from, t.first_treated)
                    ELSE l.effective_from END AS holds_from
        FROM latest l LEFT JOIN treated t USING (practitioner_id)"""
    )


def stage_profiles(con: duckdb.DuckDBPyConnection, run_id: int, today: date) -> int:
    """new_profiles: the profiles run ``run_id`` brings (one row per new or changed
    practitioner, ``is_change`` for a change), not yet in ``practitioner_history``;
    returns how many practitioners got a changed profile.

    New practitioner: a first profile dated by its effective_from (NULL if blank). Change:
    a profile from its effective_from, or ``today``. Unchanged: nothing (its
    ``practitioners`` row keeps the date of the profile in force, so it counts as
    unchanged). The checks (``profile_checks``) let only changes dated after the latest
    profile through; one that is not is a bug, and nothing is written.
    """
    differs = " OR ".join(f"p.{c} IS DISTINCT FROM h.{c}" for c in PROFILE_VALUES)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE new_profiles AS
        SELECT p.practitioner_id, p.clinic_id, p.profession, p.dn_training_hours,
               p.years_dn_experience,
               CASE WHEN h.practitioner_id IS NULL THEN p.effective_from
                    ELSE coalesce(p.effective_from, CAST($today AS DATE)) END AS effective_from,
               p.run_id, h.practitioner_id IS NOT NULL AS is_change,
               h.effective_from AS replaces_from
        FROM practitioners p LEFT JOIN ({LATEST_SQL}) h USING (practitioner_id)
        WHERE p.run_id = $r AND (h.practitioner_id IS NULL OR {differs})""",
        {"r": run_id, "today": today},
    )
    changed, overlapping = con.execute(
        "SELECT count(*) FILTER (WHERE is_change), "
        "count(*) FILTER (WHERE is_change AND effective_from <= replaces_from) FROM new_profiles"
    ).fetchone()
    if overlapping:
        raise IngestBookkeepingError(
            f"{overlapping} changed practitioner profile(s) dated on or before the profile "
            "they follow passed the checks; nothing was written, please report this as a bug"
        )
    return int(changed)


def commit_profiles(con: duckdb.DuckDBPyConnection, run_id: int) -> None:
    """Add ``new_profiles`` (``stage_profiles``) to ``practitioner_history`` and date run
    ``run_id``'s ``practitioners`` rows by the profile now in force."""
    con.execute(
        "INSERT INTO practitioner_history "
        "SELECT * EXCLUDE (is_change, replaces_from) FROM new_profiles"
    )
    con.execute(
        f"UPDATE practitioners p SET effective_from = h.effective_from FROM ({LATEST_SQL}) h "
        "WHERE p.run_id = $r AND h.practitioner_id = p.practitioner_id "
        "AND p.effective_from IS DISTINCT FROM h.effective_from",
        {"r": run_id},
    )
