"""Named queries: each takes a connection and typed parameters and returns a DataFrame.

Rates are computed from two grouped counts, never from rows in pandas:

    treatment_counts: dims -> treatments, insertions        (the denominator)
    event_counts:     dims (+ category/severity) -> events, treatments_affected

Only these two CTEs read row-level tables, so aggregate submissions (counts by the
same dimensions) can later be UNIONed in at exactly this point.

Dimension SQL comes from the fixed ``DIM_SQL`` map; every value is a bound parameter.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from ingest.vocab import CATEGORY_CODES, SEVERITY_TIERS, UNSPECIFIED

from .bands import EXPERIENCE_CASE, TRAINING_CASE
from .filters import DIMS, EVENT_DIMS, PER_UNITS, TREATMENT_WHERE, Filters

DIM_SQL: dict[str, str] = {
    "training_band": TRAINING_CASE,
    "experience_band": EXPERIENCE_CASE,
    "ultrasound": "CASE WHEN t.ultrasound_guided THEN 'yes' ELSE 'no' END",
    "body_region": "t.body_region",
    "clinic": "t.clinic_id",
    "practitioner": "t.practitioner_id",
    "profession": "coalesce(p.profession, 'unknown')",
    "technique": "coalesce(t.technique, 'unknown')",
    "month": "strftime(t.treatment_date, '%Y-%m')",
    "quarter": "strftime(t.treatment_date, '%Y') || 'Q' || quarter(t.treatment_date)",
    "year": "CAST(year(t.treatment_date) AS VARCHAR)",
}


def event_levels(con: duckdb.DuckDBPyConnection, dim: str, filters: Filters) -> list[str]:
    """Every level an event dimension is listed with, zero counts included.

    category: the canonical codes plus any other category stored (``unmapped``, user
    codes); severity: mild, significant, serious plus ``unspecified`` if stored.
    """
    if dim == "category":
        if filters.category:
            return [filters.category]
        stored = [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT category FROM adverse_events ORDER BY 1"
            ).fetchall()
        ]
        return list(CATEGORY_CODES) + [c for c in stored if c not in CATEGORY_CODES]
    if filters.severity:
        return [filters.severity]
    stored = {r[0] for r in con.execute("SELECT DISTINCT severity FROM adverse_events").fetchall()}
    return list(SEVERITY_TIERS) + ([UNSPECIFIED] if UNSPECIFIED in stored else [])


def rate_counts(
    con: duckdb.DuckDBPyConnection,
    dims: tuple[str, ...],
    filters: Filters,
    per: str = "treatments",
) -> pd.DataFrame:
    """Counts behind a rate table: dims, treatments, insertions, events, treatments_affected.

    One row per combination of treatment-dimension values present in the filtered
    treatments, crossed with every level of the requested event dimensions (so a
    category with no events still gets a row and a zero). With ``per='insertions'``
    only treatments with a recorded needle count are counted, in both numerator and
    denominator.
    """
    unknown = [d for d in dims if d not in DIMS]
    if unknown:
        raise ValueError(f"unknown dimension(s) {', '.join(unknown)}; use {', '.join(DIMS)}")
    if per not in PER_UNITS:
        raise ValueError(f"per must be one of {', '.join(PER_UNITS)}, got {per!r}")
    tdims = [d for d in dims if d not in EVENT_DIMS]
    edims = [d for d in dims if d in EVENT_DIMS]
    params: dict[str, object] = {
        **filters.treatment_params(),
        "category": filters.category,
        "severity": filters.severity,
        **filters.bands.params(),
    }
    where = list(TREATMENT_WHERE)
    if per == "insertions":
        where.append("t.needle_insertions IS NOT NULL")
    tsel = "".join(f"{DIM_SQL[d]} AS {d}, " for d in tdims)
    tcols = "".join(f"{d}, " for d in tdims)
    levels_sql, join_on = "SELECT 1 AS _one", ["true"]
    for d in edims:
        params[f"levels_{d}"] = event_levels(con, d, filters)
    if edims:
        levels_sql = "SELECT " + ", ".join(f"unnest($levels_{d}) AS {d}" for d in edims)
        if len(edims) == 2:  # every category x every severity
            levels_sql = (
                "SELECT c.category, s.severity "
                "FROM (SELECT unnest($levels_category) AS category) c "
                "CROSS JOIN (SELECT unnest($levels_severity) AS severity) s"
            )
    join_on += [f"ev.{d} = den.{d}" for d in tdims] + [f"ev.{d} = lv.{d}" for d in edims]
    ecols = "".join(f"e.{d}, " for d in edims)
    sql = f"""
        WITH tf AS (
            SELECT t.treatment_id, t.needle_insertions, {tsel} 1 AS _one
            FROM treatments t JOIN practitioners p ON p.practitioner_id = t.practitioner_id
            WHERE {" AND ".join(where)}
        ),
        den AS (
            SELECT {tcols} count(*) AS treatments, sum(needle_insertions) AS insertions
            FROM tf GROUP BY ALL HAVING count(*) > 0
        ),
        ev AS (
            SELECT {"".join(f"tf.{d}, " for d in tdims)}{ecols}
                   count(*) AS events, count(DISTINCT e.treatment_id) AS treatments_affected
            FROM adverse_events e JOIN tf ON tf.treatment_id = e.treatment_id
            WHERE ($category IS NULL OR e.category = $category)
              AND ($severity IS NULL OR e.severity = $severity)
            GROUP BY ALL
        ),
        lv AS ({levels_sql})
        SELECT {"".join(f"den.{d}, " for d in tdims)}{"".join(f"lv.{d}, " for d in edims)}
               den.treatments, CAST(coalesce(den.insertions, 0) AS BIGINT) AS insertions,
               coalesce(ev.events, 0) AS events,
               coalesce(ev.treatments_affected, 0) AS treatments_affected
        FROM den CROSS JOIN lv LEFT JOIN ev ON {" AND ".join(join_on)}
    """
    used = {k: v for k, v in params.items() if f"${k}" in sql}
    frame = con.execute(sql, used).df()
    frame = frame[[*dims, "treatments", "insertions", "events", "treatments_affected"]]
    return _sort(frame, dims, filters, {d: params[f"levels_{d}"] for d in edims})


def _sort(
    frame: pd.DataFrame, dims: tuple[str, ...], filters: Filters, levels: dict
) -> pd.DataFrame:
    """Order rows by dimension in their natural order (bands and categories by rank)."""
    order = {
        "training_band": list(filters.bands.training),
        "experience_band": [*filters.bands.experience, "unknown"],
        **levels,
    }
    if not dims or frame.empty:
        return frame.reset_index(drop=True)
    keys = {}
    for d in dims:
        if d in order:
            keys[d] = frame[d].map({v: i for i, v in enumerate(order[d])})
        else:
            keys[d] = frame[d]
    ordered = frame.assign(**{f"_k_{d}": k for d, k in keys.items()})
    ordered = ordered.sort_values([f"_k_{d}" for d in dims], kind="stable")
    return ordered.drop(columns=[f"_k_{d}" for d in dims]).reset_index(drop=True)


def serious_event_positions(
    con: duckdb.DuckDBPyConnection, filters: Filters, severity: str = "serious"
) -> pd.DataFrame:
    """Where the treatments with a ``severity`` event fall in the treatment sequence.

    Treatments matching the date and clinic filters are numbered in date order (ties by
    treatment_id); one row per treatment with at least one such event:

        treatments (date, id) -> position 1..N -> rows with an event: event_date, position,
        events (number of such events in that treatment), plus total = N on every row.

    The g-chart and Bernoulli CUSUM work from the gaps between consecutive positions.
    """
    sql = """
        WITH tf AS (
            SELECT t.treatment_id, t.treatment_date,
                   row_number() OVER (ORDER BY t.treatment_date, t.treatment_id) AS position
            FROM treatments t JOIN practitioners p USING (practitioner_id)
            WHERE {where}
        ),
        ev AS (
            SELECT treatment_id, count(*) AS events FROM adverse_events
            WHERE severity = $severity AND ($category IS NULL OR category = $category)
            GROUP BY treatment_id
        )
        SELECT tf.treatment_date AS event_date, tf.position, ev.events,
               (SELECT count(*) FROM tf) AS total
        FROM tf JOIN ev USING (treatment_id)
        ORDER BY tf.position
    """
    params = {**filters.treatment_params(), "severity": severity, "category": filters.category}
    return con.execute(sql.format(where=" AND ".join(TREATMENT_WHERE)), params).df()


def serious_listing(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Significant and serious events with their treatment context, newest first.

    One row per event; the practitioner is shown only as ``P-`` plus 8 hex digits of
    sha256(practitioner_id) so a listing can circulate without naming staff.
    """
    sql = f"""
        SELECT coalesce(e.onset_date, t.treatment_date) AS event_date, t.clinic_id AS clinic,
               'P-' || left(sha256(t.practitioner_id), 8) AS practitioner_code,
               {TRAINING_CASE} AS training_band, t.body_region,
               CASE WHEN t.ultrasound_guided THEN 'yes' ELSE 'no' END AS ultrasound,
               coalesce(t.technique, 'unknown') AS technique, e.category, e.severity,
               e.event_type, e.outcome, e.narrative, e.event_id
        FROM adverse_events e
        JOIN treatments t USING (treatment_id)
        JOIN practitioners p ON p.practitioner_id = t.practitioner_id
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


def filter_options(con: duckdb.DuckDBPyConnection):  # -> views.Options
    """Distinct clinics, professions, body regions, techniques and quarters stored."""
    from .views import Options

    def distinct(sql: str) -> tuple[str, ...]:
        return tuple(r[0] for r in con.execute(sql).fetchall())

    first, last = con.execute(
        "SELECT min(treatment_date), max(treatment_date) FROM treatments"
    ).fetchone()
    return Options(
        clinics=distinct("SELECT DISTINCT clinic_id FROM treatments ORDER BY 1"),
        professions=distinct(
            "SELECT DISTINCT coalesce(profession, 'unknown') FROM practitioners ORDER BY 1"
        ),
        regions=distinct("SELECT DISTINCT body_region FROM treatments ORDER BY 1"),
        techniques=distinct(
            "SELECT DISTINCT coalesce(technique, 'unknown') FROM treatments ORDER BY 1"
        ),
        quarters=distinct(
            "SELECT DISTINCT strftime(treatment_date, '%Y') || 'Q' || quarter(treatment_date) "
            "FROM treatments ORDER BY 1 DESC"
        ),
        first=first,
        last=last,
    )
