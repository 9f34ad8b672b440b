"""Named queries for listings and options: each takes a connection and typed parameters
and returns a DataFrame (rate counts live in ``dashboard.store.counts``).

SQL text comes only from fixed fragments (``sql_fragments``: the treatment filters, the
band CASEs); every value is a bound parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from dashboard.store.filters import Filters
from dashboard.store.sql_fragments import TRAINING_CASE, TREATMENT_WHERE
from ingest.history import PROFILE_JOIN


def serious_event_positions(
    con: duckdb.DuckDBPyConnection, filters: Filters, severity: str = "serious"
) -> pd.DataFrame:
    """Where the treatments with a ``severity`` event fall in the treatment sequence.

    Treatments matching the filters (profession: of the profile in force on the
    treatment's date) are numbered in date order (ties by treatment_id); one row per
    treatment with at least one such event:

        treatments (date, id) -> position 1..N -> rows with an event: event_date, position,
        events (number of such events in that treatment), plus total = N on every row.

    The g-chart and Bernoulli CUSUM work from the gaps between consecutive positions.
    A position is counted, not numbered by sorting every treatment: treatments on earlier
    days (a running sum of daily counts) plus those earlier on the same day (by id) plus
    one. Same numbers as ``row_number() OVER (ORDER BY date, id)``, without sorting (and
    holding) millions of rows.
    """
    sql = """
        WITH ev AS (
            SELECT treatment_id, count(*) AS events FROM adverse_events
            WHERE severity = $severity AND ($category IS NULL OR category = $category)
            GROUP BY treatment_id
        ),
        hit AS (
            SELECT t.treatment_id, t.treatment_date, ev.events
            FROM ({tf}) t JOIN ev USING (treatment_id)
        ),
        days AS (SELECT t.treatment_date, count(*) AS n FROM ({tf}) t GROUP BY ALL),
        earlier AS (
            SELECT treatment_date, sum(n) OVER (ORDER BY treatment_date) - n AS before,
                   sum(n) OVER () AS total
            FROM days
        ),
        same_day AS (
            SELECT h.treatment_id, count(t.treatment_id) AS before
            FROM hit h LEFT JOIN ({tf}) t
              ON t.treatment_date = h.treatment_date AND t.treatment_id < h.treatment_id
            GROUP BY ALL
        )
        SELECT h.treatment_date AS event_date,
               CAST(d.before + s.before + 1 AS BIGINT) AS position, h.events,
               CAST(d.total AS BIGINT) AS total
        FROM hit h JOIN earlier d USING (treatment_date) JOIN same_day s USING (treatment_id)
        ORDER BY position
    """
    tf = (
        f"SELECT t.treatment_id, t.treatment_date FROM treatments t {PROFILE_JOIN} "
        f"WHERE {' AND '.join(TREATMENT_WHERE)}"
    )
    params = {**filters.treatment_params(), "severity": severity, "category": filters.category}
    return con.execute(sql.format(tf=tf), params).df()


def serious_listing(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Significant and serious events with their treatment context, newest first.

    One row per event, with the practitioner's id (``practitioner_id``): the analysis
    layer replaces it by its keyed code (``dashboard.analysis.pseudonyms``) before anything shows it.
    The training band and profession are those of the profile in force on the
    treatment's date (``ingest.history.PROFILE_JOIN``), as in every count.
    """
    sql = f"""
        SELECT coalesce(e.onset_date, t.treatment_date) AS event_date, t.clinic_id AS clinic,
               t.practitioner_id,
               {TRAINING_CASE} AS training_band, t.body_region,
               CASE WHEN t.ultrasound_guided THEN 'yes' ELSE 'no' END AS ultrasound,
               coalesce(t.technique, 'unknown') AS technique, e.category, e.severity,
               e.event_type, e.outcome, e.narrative, e.event_id
        FROM adverse_events e
        JOIN treatments t USING (treatment_id)
        {PROFILE_JOIN}
        WHERE e.severity IN ('significant', 'serious') AND {" AND ".join(TREATMENT_WHERE)}
          AND ($category IS NULL OR e.category = $category)
          AND ($severity IS NULL OR e.severity = $severity)
        ORDER BY event_date DESC, e.event_id
    """
    params = {
        **filters.treatment_params(),
        **filters.bands.params(),
        "category": filters.category,
        "severity": filters.severity,
    }
    return con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql}).df()


@dataclass(frozen=True)
class Options:
    """What the sidebar can offer: the values stored, and the quarters with treatments."""

    clinics: tuple[str, ...]
    professions: tuple[str, ...]
    regions: tuple[str, ...]
    techniques: tuple[str, ...]
    quarters: tuple[str, ...]
    first: date | None
    last: date | None


def filter_options(con: duckdb.DuckDBPyConnection) -> Options:
    """Distinct clinics, professions, body regions, techniques and quarters counted.

    From the counts store (a few hundred thousand rows at 10 million treatments), not
    from every treatment; the first and last treatment dates from the rows (exact days).
    Professions are those of every profile held (``practitioner_history``), so one that a
    practitioner has since left still filters the treatments it bands.
    """

    def distinct(sql: str) -> tuple[str, ...]:
        return tuple(r[0] for r in con.execute(sql).fetchall())

    first, last = data_coverage(con)
    return Options(
        clinics=distinct("SELECT DISTINCT clinic_id FROM counts_treatments ORDER BY 1"),
        professions=distinct(
            "SELECT DISTINCT coalesce(profession, 'unknown') FROM practitioner_history ORDER BY 1"
        ),
        regions=distinct("SELECT DISTINCT body_region FROM counts_treatments ORDER BY 1"),
        techniques=distinct(
            "SELECT DISTINCT coalesce(technique, 'unknown') FROM counts_treatments ORDER BY 1"
        ),
        quarters=distinct(
            "SELECT DISTINCT strftime(month, '%Y') || 'Q' || quarter(month) "
            "FROM counts_treatments ORDER BY 1 DESC"
        ),
        first=first,
        last=last,
    )


def clinic_exists(con: duckdb.DuckDBPyConnection, clinic_id: str) -> bool:
    """Whether the database holds a clinic with this id."""
    row = con.execute("SELECT count(*) FROM clinics WHERE clinic_id = ?", [clinic_id]).fetchone()
    return bool(row[0])


def database_secret(con: duckdb.DuckDBPyConnection) -> bytes:
    """The per-database secret (``meta.patient_key_secret``) that keys patient hashes and
    pseudonyms. Raises ValueError for a database without one."""
    row = con.execute("SELECT value FROM meta WHERE key = 'patient_key_secret'").fetchone()
    if row is None:
        raise ValueError("this database has no secret to key pseudonyms: re-run an ingest")
    return bytes.fromhex(row[0])


def unit_ids(con: duckdb.DuckDBPyConnection, kind: str) -> list[str]:
    """Every practitioner (``kind='practitioner'``) or clinic id stored, sorted."""
    table = {"practitioner": "practitioners", "clinic": "clinics"}[kind]  # fixed names only
    return [r[0] for r in con.execute(f"SELECT {kind}_id FROM {table} ORDER BY 1").fetchall()]


def data_coverage(con: duckdb.DuckDBPyConnection) -> tuple[date | None, date | None]:
    """First and last treatment date stored: the span the data cover. A period that
    starts before the first or ends after the last is incomplete."""
    first, last = con.execute(
        "SELECT min(treatment_date), max(treatment_date) FROM treatments"
    ).fetchone()
    return first, last
