"""Named queries: each takes a connection and typed parameters and returns a DataFrame.

Rates are computed from two grouped counts, never from rows in pandas:

    treatment_counts: dims -> treatments, insertions        (the denominator)
    event_counts:     dims (+ category/severity) -> events, treatments_affected

Only these two queries read row-level tables, so aggregate submissions (counts by the
same dimensions) can later be UNIONed in at exactly this point. They group by raw columns
(``RAW_KEY``) and label the groups afterwards (``LABEL_SQL``), so no per-row string or band
work is done; within ``shared_counts()`` later tables are sums of counts already fetched.

Dimension SQL comes from the fixed ``RAW_KEY``/``LABEL_SQL`` maps; every value is a bound
parameter.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import date, timedelta
from itertools import product

import duckdb
import pandas as pd

from ingest.vocab import CATEGORY_CODES, SEVERITY_TIERS, UNSPECIFIED

from .bands import EXPERIENCE_CASE, TRAINING_CASE
from .filters import DIMS, EVENT_DIMS, PER_UNITS, TREATMENT_WHERE, Filters, parse_quarter


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
#: Event grouping sets a shared pass adds (see ``_fetch``), and up to how many treatments.
SHARED_EVENT_SETS = (frozenset(), frozenset({"category"}), frozenset({"severity"}))
SHARED_EVENT_SETS_UP_TO = 1_500_000
#: Above this many treatments, events are counted per treatment before the join (memory).
EVENTS_PER_TREATMENT_FIRST_ABOVE = 3_000_000
COUNT_COLUMNS = ("treatments", "insertions", "events", "treatments_affected")
EVENT_FILTERS = ("category", "severity")


@dataclass(frozen=True)
class _Pass:
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


_SHARED: ContextVar[list[_Pass] | None] = ContextVar("needlewatch_shared_counts", default=None)


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
    quarter = f"{date_from.year}Q{(date_from.month - 1) // 3 + 1}"
    if (date_from, date_to) == parse_quarter(quarter):
        index = date_from.year * 4 + (date_from.month - 1) // 3 + 1
        end = max(end, parse_quarter(f"{index // 4}Q{index % 4 + 1}")[1])
    return end


def _covers(p: _Pass, span: tuple[date | None, date | None]) -> bool:
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


def _within(frame: pd.DataFrame, p: _Pass, span: tuple[date | None, date | None]) -> pd.DataFrame:
    """The rows of ``frame`` (a part of pass ``p``) whose day lies in ``span``."""
    if p.span == span:
        return frame
    keep = pd.Series(True, index=frame.index)
    if span[0] is not None:
        keep &= frame["day"] >= pd.Timestamp(span[0])
    if span[1] is not None:
        keep &= frame["day"] <= pd.Timestamp(span[1])
    return frame[keep]


def _needed_set(p: _Pass, edims: list[str], filters: Filters) -> frozenset[str] | None:
    """The event grouping set of ``p`` that answers (edims, event filters), if any."""
    wanted = set(edims)
    for col, where in zip(EVENT_FILTERS, p.where, strict=True):
        value = getattr(filters, col)
        if where is not None and where != value:
            return None
        if value is not None and where is None:
            wanted.add(col)
    return frozenset(wanted) if frozenset(wanted) in p.sets else None


def _fetch(
    con: duckdb.DuckDBPyConnection,
    key: tuple,
    filters: Filters,
    per: str,
    grain: tuple[str, ...],
    edims: list[str],
    share_events: bool,
) -> _Pass:
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
    return _Pass(con, key, span, grain, where_events, sets, den, run(ev_sql))


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
    p: _Pass,
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
    treatments = {k: v for k, v in filters.treatment_params().items() if not k.startswith("date")}
    key = (tuple(sorted(treatments.items(), key=str)), filters.bands, per)
    span = (filters.date_from, filters.date_to)
    shared = _SHARED.get()
    for p in shared or ():
        if (
            p.con is con
            and p.key == key
            and _covers(p, span)
            and all(_period_ok(d, p.grain) for d in tdims)
        ):
            event_set = _needed_set(p, edims, filters)
            if event_set is not None:
                return sort_levels(
                    _answer(p, dims, tdims, edims, filters, levels, event_set),
                    dims,
                    filters,
                    levels,
                )
    grain, share, scan = tuple(tdims), False, filters
    if shared is not None and not tdims:
        # Guess what the page asks next: counts come by day (and, for few enough
        # treatments, with events split by category and by severity), so a monthly trend
        # or a per-category or serious-only table is a sum of these rather than another
        # scan. Totals also cover the next period: the Overview asks for the period
        # before the one shown first, then for the one shown.
        grain, share = ("day",), True
        if not edims and filters.date_from is not None and filters.date_to is not None:
            scan = replace(filters, date_to=_next_period_end(filters.date_from, filters.date_to))
    p = _fetch(con, key, scan, per, grain, edims, share)
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


def serious_event_positions(
    con: duckdb.DuckDBPyConnection, filters: Filters, severity: str = "serious"
) -> pd.DataFrame:
    """Where the treatments with a ``severity`` event fall in the treatment sequence.

    Treatments matching the date and clinic filters are numbered in date order (ties by
    treatment_id); one row per treatment with at least one such event:

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
        "SELECT t.treatment_id, t.treatment_date FROM treatments t "
        f"JOIN practitioners p USING (practitioner_id) WHERE {' AND '.join(TREATMENT_WHERE)}"
    )
    params = {**filters.treatment_params(), "severity": severity, "category": filters.category}
    return con.execute(sql.format(tf=tf), params).df()


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
    """Distinct clinics, professions, body regions, techniques and quarters stored.

    Quarters are labelled from the distinct dates (a thousand), not from every treatment.
    """
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
            "SELECT DISTINCT strftime(d, '%Y') || 'Q' || quarter(d) "
            "FROM (SELECT DISTINCT treatment_date AS d FROM treatments) ORDER BY 1 DESC"
        ),
        first=first,
        last=last,
    )
