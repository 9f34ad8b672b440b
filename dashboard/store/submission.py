"""What a clinic's quarterly submission to a professional body holds, read from its store.

Three named queries, one clinic and one calendar quarter each (whole months, so every
count is a sum over the counts store's rows, never over treatment rows):

    counts_treatments (month, clinic, practitioner, hours, years, region, ...) of the quarter
        --practitioner and exact hours/years dropped, banded by the body's bands, summed-->
    treatment_cells: month, clinic_id, profession, training_band, experience_band,
                     body_region, ultrasound_guided, technique, insertions_recorded,
                     treatments, insertions
    counts_events (the same keys, category, severity; NULL = all), the same way -->
    event_cells: the keys above, category, severity, events, treatments_affected
    adverse_events + treatments (rows) --serious only, month not day, no ids or text but
        the outcome--> serious_list: month, category, severity, body_region, ultrasound,
                                     training_band, outcome

Treatments affected add up over practitioners (a treatment has one), so the cells keep
every count the store has at this grain, "all events" rows (category and severity NULL)
included. Values are bound parameters; SQL text is fixed.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

import dashboard.store.frames  # noqa: F401  (text columns as Python strings)
from dashboard.store.bands import Bands
from dashboard.store.sql_fragments import experience_case, training_case
from ingest.history import PROFILE_JOIN
from ingest.vocab import UNMAPPED

#: The cells' keys: the store's keys without the practitioner, bands for hours and years.
_KEY_SQL = (
    "strftime(c.month, '%Y-%m') AS month, c.clinic_id, c.profession, "
    f"{training_case('c')} AS training_band, {experience_case('c')} AS experience_band, "
    "c.body_region, c.ultrasound_guided, c.technique, c.insertions_recorded"
)
_WHERE = "c.clinic_id = $clinic AND c.month BETWEEN $m_from AND $m_to"


def _params(
    clinic: str, first_month: date, last_month: date, bands: Bands, min_cell: int | None
) -> dict:
    return {
        "clinic": clinic, "m_from": first_month, "m_to": last_month, "min_cell": min_cell or 0,
        **bands.params(),
    }  # fmt: skip


#: A treatment cell under the body's minimum (``$min_cell``; 0: no policy) withholds the
#: practitioner's profession, bands and the technique: they become not given (NULL, or
#: 'unknown' for a band) and the cell merges with the others of its month, region,
#: ultrasound and insertions recorded. Its counts stay whole, so every total is exact.
_POOLED = (
    "month, clinic_id, CASE WHEN small THEN NULL ELSE profession END AS profession, "
    "CASE WHEN small THEN 'unknown' ELSE training_band END AS training_band, "
    "CASE WHEN small THEN 'unknown' ELSE experience_band END AS experience_band, "
    "body_region, ultrasound_guided, CASE WHEN small THEN NULL ELSE technique END AS technique, "
    "insertions_recorded"
)
_KEYS = (
    "month", "clinic_id", "profession", "training_band", "experience_band", "body_region",
    "ultrasound_guided", "technique", "insertions_recorded",
)  # fmt: skip
_SIZES = (
    f"SELECT {_KEY_SQL}, sum(c.treatments) < $min_cell AS small "
    f"FROM counts_treatments c WHERE {_WHERE} GROUP BY ALL"
)


def treatment_cells(
    con: duckdb.DuckDBPyConnection,
    clinic: str,
    first_month: date,
    last_month: date,
    bands: Bands,
    min_cell: int | None = None,
) -> pd.DataFrame:
    """Treatments and insertions of ``clinic`` by month and the cells' keys (months inclusive,
    each the first day of its month), in key order; cells under ``min_cell`` treatments
    pooled (``_POOLED``)."""
    return con.execute(
        f"SELECT {_POOLED}, CAST(sum(treatments) AS BIGINT) AS treatments, "
        "CAST(sum(insertions) AS BIGINT) AS insertions FROM ("
        f"SELECT {_KEY_SQL}, sum(c.treatments) AS treatments, sum(c.insertions) AS insertions, "
        "sum(c.treatments) < $min_cell AS small "
        f"FROM counts_treatments c WHERE {_WHERE} GROUP BY ALL HAVING sum(c.treatments) > 0"
        ") GROUP BY ALL ORDER BY ALL",
        _params(clinic, first_month, last_month, bands, min_cell),
    ).df()


def event_cells(
    con: duckdb.DuckDBPyConnection,
    clinic: str,
    first_month: date,
    last_month: date,
    bands: Bands,
    min_cell: int | None = None,
) -> pd.DataFrame:
    """Events and treatments affected of ``clinic`` by month, the cells' keys, category and
    severity (NULL: all, as in the store), in key order; an event cell pooled with its
    treatment cell (``_POOLED``)."""
    same = " AND ".join(f"s.{k} IS NOT DISTINCT FROM e.{k}" for k in _KEYS)
    return con.execute(
        f"SELECT {_POOLED}, category, severity, CAST(sum(events) AS BIGINT) AS events, "
        "CAST(sum(treatments_affected) AS BIGINT) AS treatments_affected FROM ("
        "SELECT e.*, coalesce(s.small, false) AS small FROM ("
        f"SELECT {_KEY_SQL}, c.category, c.severity, sum(c.events) AS events, "
        "sum(c.treatments_affected) AS treatments_affected "
        f"FROM counts_events c WHERE {_WHERE} GROUP BY ALL HAVING sum(c.events) > 0"
        f") e LEFT JOIN ({_SIZES}) s ON {same}"
        ") GROUP BY ALL ORDER BY ALL NULLS FIRST",
        _params(clinic, first_month, last_month, bands, min_cell),
    ).df()


def serious_list(
    con: duckdb.DuckDBPyConnection,
    clinic: str,
    first_day: date,
    last_day: date,
    bands: Bands,
    min_cell: int | None = None,
) -> pd.DataFrame:
    """The serious events of ``clinic`` whose treatment falls in the period: month (never
    the day), category, severity, body region, ultrasound, training band (the profile in
    force on the treatment's date, by ``bands``; 'unknown' when the clinic gave fewer than
    ``min_cell`` treatments in that band that month) and outcome; no id, narrative or
    event term. Sorted by its columns, so the order tells nothing the rows do not."""
    sql = f"""
        SELECT x.month, x.category, x.severity, x.body_region, x.ultrasound,
               CASE WHEN coalesce(z.n, 0) < $min_cell THEN 'unknown' ELSE x.training_band END
               AS training_band, x.outcome
        FROM (
            SELECT strftime(t.treatment_date, '%Y-%m') AS month, e.category, e.severity,
                   t.body_region, CASE WHEN t.ultrasound_guided THEN 'yes' ELSE 'no' END
                   AS ultrasound, {training_case("p")} AS training_band, e.outcome
            FROM adverse_events e JOIN treatments t USING (treatment_id) {PROFILE_JOIN}
            WHERE t.clinic_id = $clinic AND t.treatment_date BETWEEN $d_from AND $d_to
              AND e.severity = $serious
        ) x LEFT JOIN (
            SELECT strftime(c.month, '%Y-%m') AS month, {training_case("c")} AS training_band,
                   sum(c.treatments) AS n
            FROM counts_treatments c
            WHERE c.clinic_id = $clinic AND c.month BETWEEN $m_from AND $d_to GROUP BY ALL
        ) z USING (month, training_band)
        ORDER BY ALL NULLS FIRST
    """
    params = {
        "clinic": clinic, "d_from": first_day, "d_to": last_day, "serious": "serious",
        "m_from": first_day.replace(day=1), "min_cell": min_cell or 0, **bands.params(),
    }  # fmt: skip
    return con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql}).df()


def unmapped_events(
    con: duckdb.DuckDBPyConnection, clinic: str, first_day: date, last_day: date
) -> tuple[int, int]:
    """(events, of them with an event term no category matched) of ``clinic``'s treatments
    in the period."""
    row = con.execute(
        """
        SELECT count(*), count(*) FILTER (WHERE e.category = $unmapped)
        FROM adverse_events e JOIN treatments t USING (treatment_id)
        WHERE t.clinic_id = $clinic AND t.treatment_date BETWEEN $d_from AND $d_to
        """,
        {"clinic": clinic, "d_from": first_day, "d_to": last_day, "unmapped": UNMAPPED},
    ).fetchone()
    return int(row[0]), int(row[1])


def ingest_totals(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Rows read, accepted, updated and rejected by every ingest into this database, by
    kind of file (the whole database's: a run is not kept per clinic or quarter)."""
    return con.execute(
        """
        SELECT kind, CAST(sum(rows_read) AS BIGINT) AS rows_read,
               CAST(sum(rows_accepted) AS BIGINT) AS rows_accepted,
               CAST(sum(rows_updated) AS BIGINT) AS rows_updated,
               CAST(sum(rows_rejected) AS BIGINT) AS rows_rejected
        FROM ingest_runs GROUP BY kind ORDER BY kind
        """
    ).df()


def clinic_ids(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The clinics with treatments in this database, sorted."""
    return [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT clinic_id FROM counts_treatments ORDER BY clinic_id"
        ).fetchall()
    ]
