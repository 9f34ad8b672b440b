"""Named queries for the sidebar's options, coverage and unit ids: each takes a connection
and typed parameters (rate counts live in ``dashboard.store.counts``, the serious-event
listing and g-chart positions in ``dashboard.store.listing``).

SQL text comes only from fixed fragments (``sql_fragments``: the treatment filters, the
band CASEs); every value is a bound parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from ingest.countstore import SUBMISSION_SOURCE


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
            "SELECT coalesce(profession, 'unknown') FROM practitioner_history UNION "
            "SELECT coalesce(profession, 'unknown') FROM counts_treatments ORDER BY 1"
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
    starts before the first or ends after the last is incomplete. Clinics' submissions
    (counts by month) cover their months whole: first day to last."""
    first, last = con.execute(
        """
        SELECT least((SELECT min(treatment_date) FROM treatments), s.first),
               greatest((SELECT max(treatment_date) FROM treatments), s.last)
        FROM (SELECT min(month) AS first, CAST(max(month) + INTERVAL 1 MONTH
                                               - INTERVAL 1 DAY AS DATE) AS last
              FROM counts_treatments WHERE source = $submitted) s
        """,
        {"submitted": SUBMISSION_SOURCE},
    ).fetchone()
    return first, last
