"""Significant and serious events with their treatment context: the listing and the g-chart.

Joining the events to their treatments reads every treatment id: 0.7-1.2 s at 10 million
treatments, for 13,644 significant and serious events. The join does not depend on the
filters, so the dashboard runs it once per database state and keeps it
(``serious_rows``, ``db.per_state``); each listing or g-chart is then a query over those
few thousand rows,
joined to the practitioner profiles (a few hundred rows) for the band and profession in
force on the treatment's date:

    adverse_events (significant, serious) x treatments  -> serious rows, held:
        event_id, treatment_id, event_type, category, severity, onset_date, outcome,
        narrative, treatment_date, clinic_id, practitioner_id, body_region,
        ultrasound_guided, technique
    serious rows x practitioner_profiles, filtered        -> listing / g-chart hits

A database state is the file's and its write-ahead log's modification time and size
(``db.database_state``): a commit changes it, and the next call joins again. A command
(one query, then exit) and an in-memory database run the join inline instead, narrowed
by DuckDB to the filters' treatments.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pandas as pd
import pyarrow as pa

import dashboard.store.frames  # noqa: F401  (text columns as Python strings)
from dashboard.store.db import keeps_per_state, per_state
from dashboard.store.filters import Filters
from dashboard.store.sql_fragments import (
    DATE_WHERE,
    PLACE_WHERE,
    ROW_WHERE,
    TRAINING_CASE,
    TREATMENT_WHERE,
)
from ingest.history import PROFILE_JOIN

#: The severities held: the listing's (significant, serious); the g-chart's is serious.
HELD_SEVERITIES = ("significant", "serious")

_SERIOUS_ROWS_SQL = """
    SELECT e.event_id, e.treatment_id, e.event_type, e.category, e.severity, e.onset_date,
           e.outcome, e.narrative, t.treatment_date, t.clinic_id, t.practitioner_id,
           t.body_region, t.ultrasound_guided, t.technique
    FROM adverse_events e JOIN treatments t USING (treatment_id)
    WHERE e.severity IN ({held})
""".format(held=", ".join(f"$held{i}" for i in range(len(HELD_SEVERITIES))))
#: One bound parameter per severity held: DuckDB narrows the events scan by ``IN ($a, $b)``
#: before the join, and did not by ``list_contains($held, ...)`` (100 million treatments:
#: 3.1 s and about 300 MB, against 17-20 s and 1.2 GB).
_HELD_PARAMS = {f"held{i}": severity for i, severity in enumerate(HELD_SEVERITIES)}


def serious_rows(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Every significant and serious event with its treatment's columns (module docstring),
    joined once per database state (``db.per_state``)."""
    return per_state(
        con,
        ("serious_rows",),
        lambda: con.execute(_SERIOUS_ROWS_SQL, _HELD_PARAMS).to_arrow_table(),
    )


@contextmanager
def _registered(con: duckdb.DuckDBPyConnection, tables: dict[str, pa.Table]) -> Iterator[None]:
    """The held ``tables`` visible to ``con``'s queries by name, for the block only."""
    for name, table in tables.items():
        con.register(name, table)
    try:
        yield
    finally:
        for name in tables:
            con.unregister(name)


def _bound(sql: str, params: dict) -> dict:
    """The parameters ``sql`` names (DuckDB refuses unused ones)."""
    return {k: v for k, v in params.items() if f"${k}" in sql}


def _on_rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> pd.DataFrame:
    """``sql`` over the serious rows, ``{rows}`` in it naming them, values bound: the rows
    held for this database state in the dashboard, else the join itself, which DuckDB
    then narrows to the filters (a command asks once: holding every row would cost it
    more than it saves)."""
    if not keeps_per_state():
        sql = sql.format(rows=f"({_SERIOUS_ROWS_SQL})")
        return con.execute(sql, _bound(sql, {**params, **_HELD_PARAMS})).df()
    sql = sql.format(rows="serious_rows")
    with _registered(con, {"serious_rows": serious_rows(con)}):
        return con.execute(sql, _bound(sql, params)).df()


def serious_listing(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Significant and serious events with their treatment context, newest first.

    One row per event, with the practitioner's id (``practitioner_id``): the analysis
    layer replaces it by its keyed code (``dashboard.analysis.pseudonyms``) before anything
    shows it. The training band and profession are those of the profile in force on the
    treatment's date (``ingest.history.PROFILE_JOIN``), as in every count.
    """
    sql = f"""
        SELECT coalesce(t.onset_date, t.treatment_date) AS event_date, t.clinic_id AS clinic,
               t.practitioner_id,
               {TRAINING_CASE} AS training_band, t.body_region,
               CASE WHEN t.ultrasound_guided THEN 'yes' ELSE 'no' END AS ultrasound,
               coalesce(t.technique, 'unknown') AS technique, t.category, t.severity,
               t.event_type, t.outcome, t.narrative, t.event_id
        FROM {{rows}} t
        {PROFILE_JOIN}
        WHERE {" AND ".join(TREATMENT_WHERE)}
          AND ($category IS NULL OR t.category = $category)
          AND ($severity IS NULL OR t.severity = $severity)
        ORDER BY event_date DESC, t.event_id
    """
    params = {
        **filters.treatment_params(),
        **filters.bands.params(),
        "category": filters.category,
        "severity": filters.severity,
    }
    return _on_rows(con, sql, params)


#: The g-chart positions' shared parts: the treatments with an event of the severity
#: (``hit``, over the serious rows named ``{rows}``), the treatments before each day
#: (``earlier``, from ``days``), and the positions (from ``hit``, ``earlier``, ``same_day``).
_HIT = f"""hit AS (
            SELECT t.treatment_id, t.treatment_date, count(*) AS events
            FROM {{rows}} t {PROFILE_JOIN}
            WHERE t.severity = $severity AND ($category IS NULL OR t.category = $category)
              AND {" AND ".join(TREATMENT_WHERE)}
            GROUP BY ALL
        ),"""
_EARLIER = """earlier AS (
            SELECT treatment_date, sum(n) OVER (ORDER BY treatment_date) - n AS before,
                   sum(n) OVER () AS total
            FROM days
        ),"""
_POSITIONS = """SELECT h.treatment_date AS event_date,
               CAST(d.before + s.before + 1 AS BIGINT) AS position, h.events,
               CAST(d.total AS BIGINT) AS total
        FROM hit h JOIN earlier d USING (treatment_date) JOIN same_day s USING (treatment_id)
        ORDER BY position"""


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
    holding) millions of rows. The treatments with an event come from the held rows; the
    daily counts and the same-day ids from the treatment rows, read only on those days.
    """
    if severity not in HELD_SEVERITIES:
        held = ", ".join(HELD_SEVERITIES)
        raise ValueError(f"severity must be one of {held}, got {severity!r}")
    params = {**filters.treatment_params(), "severity": severity, "category": filters.category}
    if keeps_per_state() and severity == "serious" and not filters.professions:
        return _positions_from_held(con, params)
    where = " AND ".join(TREATMENT_WHERE)
    # the treatment rows join the profiles only when a profession is chosen (every
    # treatment has a profile): 10 million rows less to join
    join, rows_where = (
        (PROFILE_JOIN, where) if filters.professions else ("", " AND ".join(ROW_WHERE))
    )
    sql = f"""
        WITH {_HIT.format(rows="{rows}")}
        days AS (
            SELECT t.treatment_date, count(*) AS n FROM treatments t {join}
            WHERE {rows_where} GROUP BY ALL
        ),
        {_EARLIER}
        same_day AS (
            SELECT h.treatment_id, count(t.treatment_id) AS before
            FROM hit h LEFT JOIN (
                SELECT t.treatment_id, t.treatment_date FROM treatments t {join}
                WHERE {rows_where} AND t.treatment_date IN (SELECT treatment_date FROM hit)
            ) t ON t.treatment_date = h.treatment_date AND t.treatment_id < h.treatment_id
            GROUP BY ALL
        )
        {_POSITIONS}
    """
    return _on_rows(con, sql, params)


_DAY_COUNTS_SQL = f"""
    SELECT t.treatment_date, count(*) AS n FROM treatments t
    WHERE {" AND ".join(PLACE_WHERE)} GROUP BY ALL
"""
_SAME_DAY_SQL = f"""
    WITH h AS (
        SELECT DISTINCT treatment_id, treatment_date FROM serious_rows WHERE severity = 'serious'
    )
    SELECT h.treatment_id, count(*) AS n
    FROM h JOIN treatments t
      ON t.treatment_date = h.treatment_date AND t.treatment_id < h.treatment_id
    WHERE {" AND ".join(PLACE_WHERE)}
    GROUP BY ALL
"""


def _positions_from_held(con: duckdb.DuckDBPyConnection, params: dict) -> pd.DataFrame:
    """``serious_event_positions`` for serious events, no profession chosen, from what the
    dashboard keeps per database state instead of two scans of the treatment rows:

        day_counts       (treatment_date, n) the treatments of the chosen clinics, regions
                         and techniques, counted by day: kept per choice, so a new period
                         reuses it (a scan of dates alone, 0.1 s at 10 million, per choice)
        same_day_counts  (treatment_id, n) per treatment with a serious event, the
                         treatments of its day with a smaller id among the chosen clinics,
                         regions and techniques: kept per choice too (grouped by every
                         combination instead, it ran out of memory at 100 million)

    Both were counted from the rows with the rows' own conditions (``PLACE_WHERE``), and the
    period's dates apply to ``day_counts`` as to the rows (``DATE_WHERE``), so the sums are
    the counts the scans give."""
    rows = serious_rows(con)

    place = {k: params[k] for k in ("clinics", "regions", "techniques")}
    choice = tuple(tuple(sorted(v)) for v in place.values())

    def same_day() -> pa.Table:
        with _registered(con, {"serious_rows": rows}):
            return con.execute(_SAME_DAY_SQL, place).to_arrow_table()

    days = per_state(
        con, ("day_counts", *choice), lambda: con.execute(_DAY_COUNTS_SQL, place).to_arrow_table()
    )
    earlier_same_day = per_state(con, ("same_day_counts", *choice), same_day)
    sql = f"""
        WITH {_HIT.format(rows="serious_rows")}
        days AS (
            SELECT t.treatment_date, t.n FROM day_counts t WHERE {" AND ".join(DATE_WHERE)}
        ),
        {_EARLIER}
        same_day AS (
            SELECT h.treatment_id, coalesce(sum(t.n), 0) AS before
            FROM hit h LEFT JOIN same_day_counts t USING (treatment_id)
            GROUP BY ALL
        )
        {_POSITIONS}
    """
    held = {"serious_rows": rows, "day_counts": days, "same_day_counts": earlier_same_day}
    with _registered(con, held):
        return con.execute(sql, _bound(sql, params)).df()
