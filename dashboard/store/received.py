"""What a professional body has received: its clinics' submissions, version by version.

Two named queries over the tables ``ingest.submissions`` keeps (schema 5):

    submissions (clinic, quarter, version, current, received, totals, replaced totals)
        --every version, oldest first--> versions(con)
    clinics (the member register) --> members(con): clinic_id, name
    submitted_serious_events of each current version --> serious_submitted(con)
"""

from __future__ import annotations

import duckdb
import pandas as pd

import dashboard.store.frames  # noqa: F401  (text columns as Python strings)


def versions(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every version of every clinic's quarter: clinic_id, quarter, version, current,
    received_at, received_by, file, treatments, events, serious_events and the totals of
    the version it replaced; by clinic, quarter and version."""
    return con.execute(
        """
        SELECT clinic_id, quarter, version, current, received_at, received_by, file,
               treatments, events, serious_events, replaced_treatments, replaced_events,
               replaced_serious_events
        FROM submissions ORDER BY clinic_id, quarter, version
        """
    ).df()


def members(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The member register: clinic_id, name and the date it joined (joined_on, NaT when
    not recorded), by id."""
    return con.execute(
        "SELECT clinic_id, coalesce(name, clinic_id) AS name, joined_on FROM clinics "
        "ORDER BY clinic_id"
    ).df()


def serious_submitted(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The serious events of every clinic's counted (current) version: clinic_id, quarter,
    month (YYYY-MM: a submission gives no day), category, severity, body_region,
    ultrasound (yes/no), training_band, outcome; newest month first."""
    return con.execute(
        """
        SELECT s.clinic_id, s.quarter, strftime(s.month, '%Y-%m') AS month, s.category,
               s.severity, s.body_region,
               CASE WHEN s.ultrasound_guided THEN 'yes' ELSE 'no' END AS ultrasound,
               s.training_band, s.outcome
        FROM submitted_serious_events s
        JOIN submissions v USING (clinic_id, quarter, version)
        WHERE v.current
        ORDER BY s.month DESC, s.clinic_id, s.category
        """
    ).df()
