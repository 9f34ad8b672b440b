"""Every count on the read side: sums over the counts store (``ingest.countstore``).

``rate_counts`` answers "treatments, insertions, events and treatments affected by these
dimensions for these filters" with two grouped queries over the store's tables, which
ingest keeps by month and every dimension a rate is split or filtered by:

    counts_treatments (month, clinic, practitioner, profile, region, ultrasound, ...)
        --filter, label, sum--> dims..., treatments, insertions
    counts_events (the same keys, category, severity; NULL = all)
        --pick the grouping the request needs, filter, label, sum--> events, affected

A period that starts or ends inside a month takes its whole months from the store and
its first and last days straight from the rows, counted by the very SQL that fills the
store (``ingest.countstore.counts_sql``), so any dates give exactly the counts of the
rows (``tests/test_counts_store.py`` checks this for random filters and dates).

SQL text comes only from the fixed maps below; every value is a bound parameter.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from itertools import product

import duckdb
import numpy as np
import pandas as pd

import dashboard.store.frames  # noqa: F401  (text columns as Python strings)
from dashboard.store.db import keeps_per_state, per_state
from dashboard.store.filters import DIMS, EVENT_DIMS, PER_UNITS, Filters
from dashboard.store.sql_fragments import experience_case, training_case
from ingest.countstore import counts_sql
from ingest.vocab import CATEGORY_CODES, SEVERITY_TIERS, UNSPECIFIED

COUNT_COLUMNS = ("treatments", "insertions", "events", "treatments_affected")
#: How many every-month count frames the dashboard keeps (``_months_of``): the newest, one
#: per set of dims and other filters (a page draws two or three; 100 million treatments:
#: up to 800,000 rows each).
HELD_MONTHLY = 4
EVENT_FILTERS = ("category", "severity")

#: Each treatment dimension's label, from the store's columns.
LABEL_SQL: dict[str, str] = {
    "training_band": training_case("c"),
    "experience_band": experience_case("c"),
    "profession": "coalesce(c.profession, 'unknown')",
    "practitioner": "c.practitioner_id",
    "ultrasound": "CASE WHEN c.ultrasound_guided THEN 'yes' ELSE 'no' END",
    "body_region": "c.body_region",
    "clinic": "c.clinic_id",
    "technique": "coalesce(c.technique, 'unknown')",
    "month": "strftime(c.month, '%Y-%m')",
    "quarter": "strftime(c.month, '%Y') || 'Q' || quarter(c.month)",
    "year": "CAST(year(c.month) AS VARCHAR)",
}

#: The treatment filters, over the store's columns.
STORE_WHERE = (
    "(len($clinics) = 0 OR list_contains($clinics, c.clinic_id))",
    "(len($professions) = 0 OR list_contains($professions, coalesce(c.profession, 'unknown')))",
    "(len($regions) = 0 OR list_contains($regions, c.body_region))",
    "(len($techniques) = 0 OR list_contains($techniques, coalesce(c.technique, 'unknown')))",
    "(NOT $insertions_only OR c.insertions_recorded)",
)
EVENT_WHERE = (
    "((c.category IS NOT NULL) = $by_category)",
    "((c.severity IS NOT NULL) = $by_severity)",
    "($category IS NULL OR c.category = $category)",
    "($severity IS NULL OR c.severity = $severity)",
)


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _month_end(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def split_span(
    date_from: date | None, date_to: date | None
) -> tuple[date | None, date | None, list[tuple[date, date]]]:
    """(first whole month, last whole month, partial stretches) of a period.

    The whole months are summed from the store (None: open end); the stretches (at most
    two: the days before the first whole month and after the last) are counted from the
    rows. 2025-05-17..2025-08-10 -> (2025-06-01, 2025-07-01, [(05-17, 05-31), (08-01,
    08-10)]); a stretch inside one month leaves no whole month (first after last).
    """
    first, last, edges = None, None, []
    if date_from is not None:
        first = _month_start(date_from)
        if date_from != first:
            end = _month_end(date_from)
            edges.append((date_from, end if date_to is None else min(end, date_to)))
            first = end + timedelta(days=1)
    if date_to is not None:
        last = _month_start(date_to)
        if date_to != _month_end(date_to):
            start = last if date_from is None else max(last, date_from)
            if not edges or edges[0] != (start, date_to):
                edges.append((start, date_to))
            last = (last - timedelta(days=1)).replace(day=1)
    return first, last, edges


_STR = pd.api.types.pandas_dtype("str")  # pandas' text dtype, as DuckDB's text columns


def _relation(table: str, date_from: date | None, date_to: date | None) -> tuple[str, dict]:
    """The store rows of ``table`` for a period: whole months from the store, partial
    stretches counted from the rows; and their bound parameters."""
    first, last, edges = split_span(date_from, date_to)
    parts = [
        f"SELECT * EXCLUDE (source) FROM {table} "
        "WHERE ($m_from IS NULL OR month >= $m_from) AND ($m_to IS NULL OR month <= $m_to)"
    ]
    params: dict[str, object] = {"m_from": first, "m_to": last}
    for i, (start, end) in enumerate(edges):
        where = f"t.treatment_date BETWEEN $e{i}_from AND $e{i}_to"
        parts.append(f"SELECT * FROM ({counts_sql(table, where)})")
        params.update({f"e{i}_from": start, f"e{i}_to": end})
    return " UNION ALL ".join(parts), params


def _query(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> pd.DataFrame:
    return con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql}).df()


def event_levels(con: duckdb.DuckDBPyConnection, dim: str, filters: Filters) -> list[str]:
    """Every level an event dimension is listed with, zero counts included.

    category: the canonical codes plus any other category stored (``unmapped``, user
    codes); severity: mild, significant, serious plus ``unspecified`` if stored.
    """
    if dim == "category":
        if filters.category:
            return [filters.category]
        stored = _stored_levels(con, "category")
        return list(CATEGORY_CODES) + [c for c in stored if c not in CATEGORY_CODES]
    if filters.severity:
        return [filters.severity]
    stored = _stored_levels(con, "severity")
    return list(SEVERITY_TIERS) + ([UNSPECIFIED] if UNSPECIFIED in stored else [])


_LEVELS_SQL = {
    "category": "SELECT DISTINCT category FROM counts_events WHERE category IS NOT NULL ORDER BY 1",
    "severity": "SELECT DISTINCT severity FROM counts_events "
    "WHERE severity IS NOT NULL AND category IS NULL ORDER BY 1",
}


def _stored_levels(con: duckdb.DuckDBPyConnection, dim: str) -> tuple[str, ...]:
    """The categories or severities stored: a scan of the event store (40 ms at 10 million
    treatments), once per database state (``db.per_state``), not once per rate table."""
    sql = _LEVELS_SQL[dim]
    return per_state(con, ("levels", dim), lambda: tuple(r[0] for r in con.execute(sql).fetchall()))


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
    denominator. In the dashboard (``db.keep_per_state``), counts by month over whole
    months are cut from every month's counts, kept (``_months_of``).
    """
    unknown = [d for d in dims if d not in DIMS]
    if unknown:
        raise ValueError(f"unknown dimension(s) {', '.join(unknown)}; use {', '.join(DIMS)}")
    if per not in PER_UNITS:
        raise ValueError(f"per must be one of {', '.join(PER_UNITS)}, got {per!r}")
    if (
        "month" in dims
        and keeps_per_state()
        and not split_span(filters.date_from, filters.date_to)[2]
    ):
        return _months_of(con, dims, filters, per)
    return _rate_counts(con, dims, filters, per)


def _months_of(
    con: duckdb.DuckDBPyConnection, dims: tuple[str, ...], filters: Filters, per: str
) -> pd.DataFrame:
    """``rate_counts`` by month for a period of whole months, from the counts of every
    month, kept per database state and the other filters (``db.per_state``, the newest
    HELD_MONTHLY): moving the period (the dashboard's quarter) then reads no store rows.

        every month's rows (dims, counts), held -> the rows of the period's months

    The same frame as counting the period: ``month`` is a dimension, so each row is one
    month's, and a month's rows do not depend on the others (``tests/test_held_answers.py``).
    """
    every = replace(filters, date_from=None, date_to=None)
    # held with its text as categories (100 million treatments: 30 MB a frame, not 200)
    full = per_state(
        con,
        ("rate_counts", dims, every, per),
        lambda: _rate_counts(con, dims, every, per).astype(dict.fromkeys(dims, "category")),
        most=HELD_MONTHLY,
    )
    months = full["month"].cat  # the period's months among the labels, then their rows
    wanted = np.ones(len(months.categories), dtype=bool)
    labels = months.categories.astype(object)
    if filters.date_from is not None:
        wanted &= np.asarray(labels >= f"{filters.date_from:%Y-%m}")
    if filters.date_to is not None:
        wanted &= np.asarray(labels <= f"{filters.date_to:%Y-%m}")
    out = full[wanted[months.codes.to_numpy()]].reset_index(drop=True)
    return out.astype(dict.fromkeys(dims, object if out.empty else _STR))


def _rate_counts(
    con: duckdb.DuckDBPyConnection, dims: tuple[str, ...], filters: Filters, per: str
) -> pd.DataFrame:
    """``rate_counts`` from the store's rows (two grouped queries, module docstring)."""
    tdims = [d for d in dims if d not in EVENT_DIMS]
    edims = [d for d in dims if d in EVENT_DIMS]
    levels = {d: event_levels(con, d, filters) for d in edims}
    params: dict[str, object] = {
        **{k: v for k, v in filters.treatment_params().items() if not k.startswith("date")},
        **filters.bands.params(),
        "insertions_only": per == "insertions",
        "category": filters.category,
        "severity": filters.severity,
        "by_category": "category" in edims or filters.category is not None,
        "by_severity": "severity" in edims or filters.severity is not None,
    }
    labels = "".join(f"{LABEL_SQL[d]} AS {d}, " for d in tdims)
    group = " GROUP BY ALL" if tdims else ""
    den_from, den_params = _relation("counts_treatments", filters.date_from, filters.date_to)
    den = _query(
        con,
        f"SELECT {labels}CAST(sum(c.treatments) AS BIGINT) AS treatments, "
        f"CAST(sum(c.insertions) AS BIGINT) AS insertions FROM ({den_from}) c "
        f"WHERE {' AND '.join(STORE_WHERE)}{group} HAVING sum(c.treatments) > 0",
        {**params, **den_params},
    )
    ev_from, ev_params = _relation("counts_events", filters.date_from, filters.date_to)
    ev_labels = labels + "".join(f"c.{d}, " for d in edims)
    ev = _query(
        con,
        f"SELECT {ev_labels}CAST(sum(c.events) AS BIGINT) AS events, "
        f"CAST(sum(c.treatments_affected) AS BIGINT) AS treatments_affected "
        f"FROM ({ev_from}) c WHERE {' AND '.join((*STORE_WHERE, *EVENT_WHERE))}"
        f"{' GROUP BY ALL' if tdims or edims else ''}",
        {**params, **ev_params},
    )
    return sort_levels(_combine(den, ev, dims, tdims, edims, levels), dims, filters, levels)


def summed_counts(wide: pd.DataFrame, dims: tuple[str, ...], filters: Filters) -> pd.DataFrame:
    """``rate_counts(con, dims, filters)`` from ``rate_counts(con, wider, filters)``, for
    treatment dimensions ``dims`` among ``wider`` (pure: no database). Every count is a sum
    over treatments (treatments affected too: a treatment is in one row of ``wider``), so
    the rows of ``wider`` summed over its other dimensions are the rows of ``dims``:

        wide (wider..., counts) --sum by dims--> (dims..., counts), in rate_counts' order

    A page that needs several tables of one count (the Training page's four) counts once.
    """
    if not dims or any(d in EVENT_DIMS or d not in wide.columns for d in dims):
        raise ValueError(f"dims must be treatment dimensions of the counts, got {dims}")
    if wide.empty:
        return wide[[*dims, *COUNT_COLUMNS]].reset_index(drop=True)
    summed = (
        wide.groupby(list(dims), sort=False, dropna=False)[list(COUNT_COLUMNS)].sum().reset_index()
    )
    return sort_levels(summed, dims, filters, {})


def _combine(
    den: pd.DataFrame,
    ev: pd.DataFrame,
    dims: tuple[str, ...],
    tdims: list[str],
    edims: list[str],
    levels: dict[str, list[str]],
) -> pd.DataFrame:
    """The denominator rows crossed with every event level, their events joined on."""
    keys = [*tdims, *edims]
    frame = den
    if edims:
        combos = list(product(*(levels[d] for d in edims)))
        frame = frame.merge(pd.DataFrame(combos, columns=edims), how="cross")
    if keys:
        frame = (
            frame.merge(ev, on=keys, how="left")
            if len(frame)
            else frame.assign(
                events=pd.Series(dtype="int64"), treatments_affected=pd.Series(dtype="int64")
            )
        )
    elif len(frame):
        frame = frame.assign(
            events=int(ev["events"].fillna(0).sum()),
            treatments_affected=int(ev["treatments_affected"].fillna(0).sum()),
        )
    else:
        frame = frame.assign(
            events=pd.Series(dtype="int64"), treatments_affected=pd.Series(dtype="int64")
        )
    for col in ("events", "treatments_affected"):
        frame[col] = frame[col].fillna(0).astype("int64")
    frame = frame[[*dims, *COUNT_COLUMNS]]
    # as DuckDB returns them: text columns are str, or object when there are no rows
    target = object if frame.empty else _STR
    cast = {d: target for d in dims if frame[d].dtype != target}
    return frame.astype(cast) if cast else frame


def sort_levels(
    frame: pd.DataFrame, dims: tuple[str, ...], filters: Filters, levels: dict
) -> pd.DataFrame:
    """Order rows by dimension in their natural order (bands and categories by rank).

    ``levels`` gives the order of event dimensions (``event_levels``); other dimensions
    sort by value. Reports sort sums of counts with it so they list rows as the CLI does.
    """
    order = {
        "training_band": [*filters.bands.training, "unknown"],
        "experience_band": [*filters.bands.experience, "unknown"],
        **levels,
    }
    if not dims or frame.empty:
        return frame.reset_index(drop=True)
    keys = []
    for d in dims:
        if d in order:  # rank in the natural order; values outside it after, as they come
            rank = pd.Index(order[d]).get_indexer(frame[d])
            keys.append(np.where(rank < 0, len(order[d]), rank))
        else:  # by value, missing values last
            codes = pd.factorize(frame[d], sort=True)[0]
            keys.append(np.where(codes < 0, codes.max() + 1, codes))
    # np.lexsort is stable and sorts by its last key first
    return frame.take(np.lexsort(keys[::-1])).reset_index(drop=True)
