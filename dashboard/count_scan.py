"""The scan behind every rate: two grouped queries over the filtered treatments.

    treatments by the raw keys of a grain -> treatments, insertions       (denominator)
    events joined to their treatments, same keys (+ category/severity)
                                          -> events, treatments_affected

The queries group by raw columns (``RAW_KEY``) and label the groups afterwards
(``LABEL_SQL``), so no per-row string or band work is done. Only these two queries read
row-level tables, so aggregate submissions (counts by the same dimensions) can later be
UNIONed in at exactly this point. SQL text comes only from the fixed maps below and
``filters.TREATMENT_WHERE``; every value is a bound parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from .bands import EXPERIENCE_CASE, TRAINING_CASE
from .filters import TREATMENT_WHERE, Filters

#: Each dimension's raw column, which the scan groups by (a plain column read per row), and
#: its label, computed from the grouped rows ``k`` (joined to practitioners ``p`` for bands
#: and profession). Grouping first and labelling after keeps string formatting and band
#: lookups off the row path: on 10 million treatments that is most of the work.
RAW_KEY: dict[str, str] = {
    "training_band": "practitioner_id",
    "experience_band": "practitioner_id",
    "profession": "practitioner_id",
    "practitioner": "practitioner_id",
    "ultrasound": "ultrasound_guided",
    "body_region": "body_region",
    "clinic": "clinic_id",
    "technique": "technique",
    "month": "treatment_date",
    "quarter": "treatment_date",
    "year": "treatment_date",
    "day": "treatment_date",  # internal: shared passes keep days, to slice any period
}
LABEL_SQL: dict[str, str] = {
    "training_band": TRAINING_CASE,
    "experience_band": EXPERIENCE_CASE,
    "profession": "coalesce(p.profession, 'unknown')",
    "practitioner": "k.practitioner_id",
    "ultrasound": "CASE WHEN k.ultrasound_guided THEN 'yes' ELSE 'no' END",
    "body_region": "k.body_region",
    "clinic": "k.clinic_id",
    "technique": "coalesce(k.technique, 'unknown')",
    "month": "strftime(k.treatment_date, '%Y-%m')",
    "quarter": "strftime(k.treatment_date, '%Y') || 'Q' || quarter(k.treatment_date)",
    "year": "CAST(year(k.treatment_date) AS VARCHAR)",
    "day": "k.treatment_date",
}
PRACTITIONER_LABELS = ("training_band", "experience_band", "profession")
#: Event grouping sets a shared pass adds (see ``fetch``), and up to how many treatments.
SHARED_EVENT_SETS = (frozenset(), frozenset({"category"}), frozenset({"severity"}))
SHARED_EVENT_SETS_UP_TO = 1_500_000
#: Above this many treatments, events are counted per treatment before the join (memory).
EVENTS_PER_TREATMENT_FIRST_ABOVE = 3_000_000
COUNT_COLUMNS = ("treatments", "insertions", "events", "treatments_affected")
EVENT_FILTERS = ("category", "severity")


@dataclass(frozen=True)
class Pass:
    """Counts of one scan: the denominator by ``grain`` and events by ``grain`` crossed
    with each of ``sets`` (event columns), events filtered in SQL by ``where`` only."""

    con: duckdb.DuckDBPyConnection
    key: tuple  # treatment filters but dates, bands and per
    span: tuple[date | None, date | None]  # the treatment dates counted (None: open)
    grain: tuple[str, ...]
    where: tuple[str | None, str | None]  # (category, severity) filtered in the scan
    sets: tuple[frozenset[str], ...]
    den: pd.DataFrame  # grain..., treatments, insertions
    ev: pd.DataFrame  # grain..., category, severity (NULL: not split), events, affected


def fetch(
    con: duckdb.DuckDBPyConnection,
    key: tuple,
    filters: Filters,
    per: str,
    grain: tuple[str, ...],
    edims: list[str],
    share_events: bool,
) -> Pass:
    """Two grouped queries: treatments by the raw keys of ``grain``, then events joined
    to their treatments by the same keys (and ``edims``); labels come last.

    Events are filtered by category and severity in SQL, unless ``share_events`` and the
    treatments are few enough (``SHARED_EVENT_SETS_UP_TO``): then events are counted
    unfiltered, split by nothing, by category and by severity (grouping sets), so tables
    of other categories or severities over these treatments are slices of this pass.
    Above that size several distinct-treatment counts at once need more memory than the
    dashboard's DuckDB limit allows, and a filtered pass is cheap anyway (few events
    match). Above ``EVENTS_PER_TREATMENT_FIRST_ABOVE`` treatments, events are counted per
    treatment before the join, which DuckDB can spill to disk.
    """
    params: dict[str, object] = {**filters.treatment_params(), **filters.bands.params()}
    where = list(TREATMENT_WHERE)
    if per == "insertions":
        where.append("t.needle_insertions IS NOT NULL")
    raw = sorted({RAW_KEY[d] for d in grain})
    raw_sel = "".join(f"t.{c}, " for c in raw)
    labels = "".join(f"{LABEL_SQL[d]} AS {d}, " for d in grain)
    join_p = ""
    if any(d in PRACTITIONER_LABELS for d in grain):
        join_p = "JOIN practitioners p ON p.practitioner_id = k.practitioner_id"
    scan = (
        f"JOIN practitioners p ON p.practitioner_id = t.practitioner_id WHERE {' AND '.join(where)}"
    )
    den_sql = f"""
        SELECT {labels}CAST(sum(k.treatments) AS BIGINT) AS treatments,
               CAST(coalesce(sum(k.insertions), 0) AS BIGINT) AS insertions
        FROM (SELECT {raw_sel}count(*) AS treatments, sum(t.needle_insertions) AS insertions
              FROM treatments t {scan} GROUP BY ALL HAVING count(*) > 0) k {join_p}
        GROUP BY ALL HAVING count(*) > 0
    """

    def run(sql: str) -> pd.DataFrame:
        return con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql}).df()

    den = run(den_sql)
    needed = frozenset(edims)
    where_events = (filters.category, filters.severity)
    sets: tuple[frozenset[str], ...] = (needed,)
    if share_events and den["treatments"].sum() <= SHARED_EVENT_SETS_UP_TO:
        needed |= {c for c in EVENT_FILTERS if getattr(filters, c) is not None}
        sets = tuple(dict.fromkeys([needed, *SHARED_EVENT_SETS]))
        where_events = (None, None)
    params.update(category=where_events[0], severity=where_events[1])
    grouping = ", ".join(
        "(" + ", ".join([*(f"t.{c}" for c in raw), *(f"e.{c}" for c in sorted(s))]) + ")"
        for s in sets
    )
    split = "".join(
        f"e.{c}, " if any(c in s for s in sets) else f"CAST(NULL AS VARCHAR) AS {c}, "
        for c in EVENT_FILTERS
    )
    ev_sql = f"""
        SELECT {labels}k.category, k.severity, CAST(sum(k.events) AS BIGINT) AS events,
               CAST(sum(k.affected) AS BIGINT) AS treatments_affected
        FROM (SELECT {raw_sel}{split}
                     count(*) AS events, count(DISTINCT e.treatment_id) AS affected
              FROM adverse_events e JOIN treatments t ON t.treatment_id = e.treatment_id {scan}
                AND ($category IS NULL OR e.category = $category)
                AND ($severity IS NULL OR e.severity = $severity)
              GROUP BY GROUPING SETS ({grouping}) HAVING count(*) > 0) k {join_p}
        GROUP BY ALL
    """
    if len(sets) == 1 and den["treatments"].sum() > EVENTS_PER_TREATMENT_FIRST_ABOVE:
        # Many treatments: count each treatment's events first, then join those counts
        # to the treatments. Same sums; an ordinary grouping (which DuckDB can spill to
        # disk under the dashboard's memory limit) instead of a distinct count per group
        # (which it cannot, and which needs ~300 MB for all of 10 million treatments).
        cols = sorted(sets[0])
        split = "".join(
            f"pe.{c}, " if c in cols else f"CAST(NULL AS VARCHAR) AS {c}, " for c in EVENT_FILTERS
        )
        ev_sql = f"""
            SELECT {labels}k.category, k.severity, CAST(sum(k.events) AS BIGINT) AS events,
                   CAST(sum(k.affected) AS BIGINT) AS treatments_affected
            FROM (SELECT {raw_sel}{split}sum(pe.n) AS events, count(*) AS affected
                  FROM (SELECT e.treatment_id, {"".join(f"e.{c}, " for c in cols)}count(*) AS n
                        FROM adverse_events e
                        WHERE ($category IS NULL OR e.category = $category)
                          AND ($severity IS NULL OR e.severity = $severity)
                        GROUP BY ALL) pe
                  JOIN treatments t ON t.treatment_id = pe.treatment_id {scan}
                  GROUP BY ALL) k {join_p}
            GROUP BY ALL
        """
    span = (filters.date_from, filters.date_to)
    return Pass(con, key, span, grain, where_events, sets, den, run(ev_sql))
