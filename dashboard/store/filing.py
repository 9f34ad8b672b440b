"""What the incident report form reads: the treatments a reporter may file against, the
events they filed and an event's versions (``ingest.form`` writes them).

    treatments (scoped), one day [, practitioners]  -> treatment_id, practitioner_id,
                                                       clinic_id, body_region, ultrasound_guided
    event_versions, filed_by = user                  -> each event's latest version by them
    event_versions, event_id                         -> every version, oldest first

The connection is the caller's, scoped to its clinics (``dashboard.store.scope``); the
practitioner restriction of a practitioner role is a bound parameter here.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd


def treatments_on(
    con: duckdb.DuckDBPyConnection, day: date, practitioners: tuple[str, ...] | None
) -> pd.DataFrame:
    """The treatments of ``day`` (of ``practitioners`` only, when given), by id."""
    return con.execute(
        "SELECT treatment_id, practitioner_id, clinic_id, body_region, ultrasound_guided "
        "FROM treatments WHERE treatment_date = ? AND (? IS NULL OR list_contains(?, "
        "practitioner_id)) ORDER BY treatment_id",
        [day, None if practitioners is None else 1, list(practitioners or ())],
    ).df()


def events_filed_by(con: duckdb.DuckDBPyConnection, user: str) -> pd.DataFrame:
    """Every event ``user`` filed or followed up, with its latest version (anyone's)."""
    return con.execute(
        "SELECT v.event_id, v.treatment_id, v.category, v.severity, v.version, v.filed_by, "
        "v.filed_at FROM event_versions v WHERE v.event_id IN (SELECT event_id FROM "
        "event_versions WHERE filed_by = ?) QUALIFY v.version = max(v.version) OVER "
        "(PARTITION BY v.event_id) ORDER BY v.filed_at DESC",
        [user],
    ).df()


def event_versions(con: duckdb.DuckDBPyConnection, event_id: str) -> pd.DataFrame:
    """Every version of one event, oldest first, as filed."""
    return con.execute(
        "SELECT version, filed_by, filed_at, treatment_id, event_type, category, "
        "severity_reported, severity, onset, onset_date, outcome, hospitalised, narrative "
        "FROM event_versions WHERE event_id = ? ORDER BY version",
        [event_id],
    ).df()
