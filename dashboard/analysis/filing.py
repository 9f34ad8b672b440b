"""The incident report form's data functions (one per question the form asks), over the
store's ``dashboard.store.filing``: which treatments the reporter may file against, what
they filed, an event's history. The vocabulary the form offers comes from ``ingest.vocab``
(the same words the ingest accepts)."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from dashboard.store import filing
from ingest.vocab import CATEGORIES, SEVERITY_TIERS


def treatments_on(
    con: duckdb.DuckDBPyConnection, day: date, practitioners: tuple[str, ...] | None
) -> pd.DataFrame:
    """Treatments of one day a reporter can pick from (see ``filing.treatments_on``)."""
    return filing.treatments_on(con, day, practitioners)


def events_filed_by(con: duckdb.DuckDBPyConnection, user: str) -> pd.DataFrame:
    return filing.events_filed_by(con, user)


def event_versions(con: duckdb.DuckDBPyConnection, event_id: str) -> pd.DataFrame:
    return filing.event_versions(con, event_id)


def vocabulary() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(event category codes, severity tiers) the form offers."""
    return tuple(CATEGORIES), SEVERITY_TIERS
