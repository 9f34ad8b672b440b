"""Counts behind every rate table, and the sharing of counts within one page.

``rate_counts`` answers "treatments, events and treatments affected by these dimensions
for these filters" from one scan (``dashboard.count_scan``). Inside ``shared_counts()``
a later table over the same treatments is a sum of counts an earlier call fetched at a
finer grain (by day, by category...), so a dashboard page scans the treatment-event join
once or twice instead of eight times. Sums of whole numbers are exact: every answer is
the table a fresh query returns.

    rate_counts(("month",), Q2)   -> scan by day over Q1..Q3, kept
    rate_counts((), Q2)           -> sum of the kept days of Q2 (no scan)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from datetime import date, timedelta
from itertools import product

import duckdb
import pandas as pd

from ingest.vocab import CATEGORY_CODES, SEVERITY_TIERS, UNSPECIFIED

from .count_scan import COUNT_COLUMNS, EVENT_FILTERS, Pass, fetch
from .filters import DIMS, EVENT_DIMS, PER_UNITS, Filters, parse_quarter, quarter_of, shift_quarter


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


_SHARED: ContextVar[list[Pass] | None] = ContextVar("needlewatch_shared_counts", default=None)


@contextmanager
def shared_counts() -> Iterator[None]:
    """Within this block, ``rate_counts`` answers from the counts it has already fetched.

    A dashboard page asks for many tables over the same treatments (the regression's
    cells, then rates by band, by region...): each is a sum of finer counts fetched once,
    so a page costs one or two scans of the treatment-event join instead of eight. Sums
    of whole numbers are exact: every table is the one a fresh query would return. The
    scope is one page's data function on one connection (``dashboard.cache``).
    """
    token = _SHARED.set([])
    try:
        yield
    finally:
        _SHARED.reset(token)


def _period_ok(dim: str, grain: tuple[str, ...]) -> bool:
    return (
        dim in grain
        or (dim in ("month", "quarter", "year") and "day" in grain)
        or (dim in ("quarter", "year") and "month" in grain)
        or (dim == "year" and "quarter" in grain)
    )


def _next_period_end(date_from: date, date_to: date) -> date:
    """The last day of the period after [date_from, date_to] as the Overview pairs a
    period with the one before it: the same number of days, or the next calendar quarter
    after a quarter (whichever ends later)."""
    end = date_to + (date_to - date_from) + timedelta(days=1)
    quarter = quarter_of(date_from)
    if (date_from, date_to) == parse_quarter(quarter):
        end = max(end, parse_quarter(shift_quarter(quarter, 1))[1])
    return end


def _covers(p: Pass, span: tuple[date | None, date | None]) -> bool:
    """Whether pass ``p`` counted the treatments of ``span`` and can tell them apart: the
    same dates, or a wider range kept by day."""
    if p.span == span:
        return True
    if "day" not in p.grain:
        return False
    (p_from, p_to), (s_from, s_to) = p.span, span
    return (p_from is None or (s_from is not None and s_from >= p_from)) and (
        p_to is None or (s_to is not None and s_to <= p_to)
    )


def _within(frame: pd.DataFrame, p: Pass, span: tuple[date | None, date | None]) -> pd.DataFrame:
    """The rows of ``frame`` (a part of pass ``p``) whose day lies in ``span``."""
    if p.span == span:
        return frame
    keep = pd.Series(True, index=frame.index)
    if span[0] is not None:
        keep &= frame["day"] >= pd.Timestamp(span[0])
    if span[1] is not None:
        keep &= frame["day"] <= pd.Timestamp(span[1])
    return frame[keep]


def _needed_set(p: Pass, edims: list[str], filters: Filters) -> frozenset[str] | None:
    """The event grouping set of ``p`` that answers (edims, event filters), if any."""
    wanted = set(edims)
    for col, where in zip(EVENT_FILTERS, p.where, strict=True):
        value = getattr(filters, col)
        if where is not None and where != value:
            return None
        if value is not None and where is None:
            wanted.add(col)
    return frozenset(wanted) if frozenset(wanted) in p.sets else None


def _periods(frame: pd.DataFrame, dims: list[str]) -> pd.DataFrame:
    """Add the month, quarter or year labels ``dims`` needs from the day (or month, or
    quarter) column, as the SQL labels spell them (2025-05-17 -> 2025-05 -> 2025Q2 ->
    2025)."""
    extra = {}
    if "day" in frame.columns:
        day = frame["day"]
        for d in ("month", "quarter", "year"):
            if d in dims:
                extra[d] = [_day_label(d, v) for v in day]
        return frame.assign(**extra) if extra else frame
    if "quarter" in dims and "quarter" not in frame.columns:
        month = frame["month"].astype(object)
        extra["quarter"] = [f"{m[:4]}Q{(int(m[5:7]) - 1) // 3 + 1}" for m in month]
    if "year" in dims and "year" not in frame.columns:
        source = frame["month"] if "month" in frame.columns else frame["quarter"]
        extra["year"] = [str(v)[:4] for v in source]
    return frame.assign(**extra) if extra else frame


def _day_label(dim: str, day: pd.Timestamp) -> str:
    """A day's month, quarter or year label, spelled as LABEL_SQL spells it."""
    if dim == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if dim == "quarter":
        return f"{day.year:04d}Q{(day.month - 1) // 3 + 1}"
    return str(day.year)


def _rollup(frame: pd.DataFrame, keys: list[str], columns: list[str]) -> pd.DataFrame:
    """Sums of ``columns`` by ``keys`` (one row, or none, when there are no keys)."""
    if not keys:
        sums = {c: [int(frame[c].sum())] if len(frame) else [] for c in columns}
        return pd.DataFrame({c: pd.Series(v, dtype="int64") for c, v in sums.items()})
    grouped = frame.groupby(keys, sort=False, dropna=False)[columns].sum()
    return grouped.reset_index()


def _answer(
    p: Pass,
    dims: tuple[str, ...],
    tdims: list[str],
    edims: list[str],
    filters: Filters,
    levels: dict[str, list[str]],
    event_set: frozenset[str],
) -> pd.DataFrame:
    """The rate_counts table for ``dims`` from the counts of pass ``p``."""
    span = (filters.date_from, filters.date_to)
    den = _rollup(_periods(_within(p.den, p, span), tdims), tdims, ["treatments", "insertions"])
    ev = _within(p.ev, p, span)
    rows = ev[
        (ev["category"].notna() == ("category" in event_set))
        & (ev["severity"].notna() == ("severity" in event_set))
    ]
    for col in EVENT_FILTERS:
        value = getattr(filters, col)
        if col in event_set and value is not None:
            rows = rows[rows[col] == value]
    keys = [*tdims, *edims]
    ev = _rollup(_periods(rows, tdims), keys, ["events", "treatments_affected"])
    frame = den
    if edims:
        combos = list(product(*(levels[d] for d in edims)))
        frame = frame.merge(pd.DataFrame(combos, columns=edims), how="cross")
    if keys:
        frame = frame.merge(ev, on=keys, how="left")
    else:
        frame = frame.assign(
            events=int(ev["events"].sum()), treatments_affected=int(ev["treatments_affected"].sum())
        )
    for col in ("events", "treatments_affected"):
        frame[col] = frame[col].fillna(0).astype("int64")
    frame = frame[[*dims, *COUNT_COLUMNS]]
    # as DuckDB returns them: text columns are str, or object when there are no rows
    return frame.astype({d: object if frame.empty else "str" for d in dims})


def _key(filters: Filters, per: str) -> tuple:
    """What a pass must share with a request to answer it: treatment filters but dates."""
    treatments = {k: v for k, v in filters.treatment_params().items() if not k.startswith("date")}
    return (tuple(sorted(treatments.items(), key=str)), filters.bands, per)


def _kept(
    con: duckdb.DuckDBPyConnection,
    key: tuple,
    tdims: list[str],
    edims: list[str],
    filters: Filters,
) -> tuple[Pass, frozenset[str]] | None:
    """A pass kept in ``shared_counts()`` that answers the request, and its event set."""
    span = (filters.date_from, filters.date_to)
    for p in _SHARED.get() or ():
        if (
            p.con is con
            and p.key == key
            and _covers(p, span)
            and all(_period_ok(d, p.grain) for d in tdims)
        ):
            event_set = _needed_set(p, edims, filters)
            if event_set is not None:
                return p, event_set
    return None


def prefetch(
    con: duckdb.DuckDBPyConnection,
    grain: tuple[str, ...],
    filters: Filters,
    per: str = "treatments",
) -> None:
    """Inside ``shared_counts()``: count by ``grain`` over exactly the filters' dates now
    (unless a kept pass already answers them), so the page's later tables are sums of it.

    For a page that knows its requests better than the first call's guess: the Overview
    counts by day over the four quarters to its period (the period, the one before it and
    the year are then sums), and once by practitioner x factor x region for its three
    comparisons. Outside ``shared_counts()`` it does nothing."""
    shared = _SHARED.get()
    if shared is None:
        return
    key = _key(filters, per)
    tdims = [d for d in grain if d not in EVENT_DIMS]
    if _kept(con, key, tdims, [], filters) is None:
        shared.append(fetch(con, key, filters, per, grain, [], "day" in grain))


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

    Inside ``shared_counts()`` the answer may be a sum of counts fetched for an earlier
    call (same treatments, finer dimensions); it is the same table either way.
    """
    unknown = [d for d in dims if d not in DIMS]
    if unknown:
        raise ValueError(f"unknown dimension(s) {', '.join(unknown)}; use {', '.join(DIMS)}")
    if per not in PER_UNITS:
        raise ValueError(f"per must be one of {', '.join(PER_UNITS)}, got {per!r}")
    tdims = [d for d in dims if d not in EVENT_DIMS]
    edims = [d for d in dims if d in EVENT_DIMS]
    levels = {d: event_levels(con, d, filters) for d in edims}
    key = _key(filters, per)
    shared = _SHARED.get()
    if (found := _kept(con, key, tdims, edims, filters)) is not None:
        p, event_set = found
        return sort_levels(
            _answer(p, dims, tdims, edims, filters, levels, event_set), dims, filters, levels
        )
    grain, share, scan = tuple(tdims), False, filters
    if shared is not None and not tdims:
        # Guess what the page asks next: counts come by day (and, for few enough
        # treatments, with events split by category and by severity), so a monthly trend
        # or a per-category or serious-only table is a sum of these rather than another
        # scan. Totals also cover the next period, so a period and the one after it cost
        # one scan (a page that knows its periods says so with ``prefetch``).
        grain, share = ("day",), True
        if not edims and filters.date_from is not None and filters.date_to is not None:
            scan = replace(filters, date_to=_next_period_end(filters.date_from, filters.date_to))
    p = fetch(con, key, scan, per, grain, edims, share)
    if shared is not None:
        shared.append(p)
    event_set = _needed_set(p, edims, filters)
    return sort_levels(
        _answer(p, dims, tdims, edims, filters, levels, event_set), dims, filters, levels
    )


def sort_levels(
    frame: pd.DataFrame, dims: tuple[str, ...], filters: Filters, levels: dict
) -> pd.DataFrame:
    """Order rows by dimension in their natural order (bands and categories by rank).

    ``levels`` gives the order of event dimensions (``event_levels``); other dimensions
    sort by value. Reports sort sums of counts with it so they list rows as the CLI does.
    """
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
