"""Did anything change: u-charts of every series a view, a command or a report charts.

Pure functions on counts (``build_series``, ``chart_series``) and the one function that
fetches those counts for the dashboard and the command line (``trend_signals``); the
report adds up its own counts cube and calls the same pure functions, so the Trends page,
``needlewatch signals`` and the report list the same signals:

    counts (unit, period), (period, category), (period, severity) -> build_series
        -> chart_series -> [ChartedSeries(series, u-chart, statements touching the period)]

Series: all events, each event category and each severity tier (unless one is chosen),
and each clinic (or practitioner) when several are in scope; charted when they have at
least ``methods.trend_min_events`` events per complete period on average, with the
methods' baseline (a signal's own point left out of it) and rebase.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

import duckdb
import numpy as np
import pandas as pd

from dashboard.analysis.explain import SignalStatement, events_noun, explain_signals
from dashboard.analysis.methods import DEFAULT, Methods
from dashboard.analysis.pseudonyms import pseudonyms
from dashboard.stats.spc import RULE_BEYOND, UChart, u_chart
from dashboard.store.counts import rate_counts
from dashboard.store.filters import Filters, parse_quarter
from dashboard.store.queries import data_coverage, database_secret, unit_ids

ALL_UNITS = "all"
PERIODS = ("month", "quarter")
UNITS = {"clinic": "clinic", "practitioner": "practitioner"}


def check_units(by: str, units: str) -> None:
    if by not in PERIODS:
        raise ValueError(f"--by must be month or quarter, got {by!r}")
    if units not in UNITS:
        raise ValueError(f"--units must be clinic or practitioner, got {units!r}")


def unit_labels(
    con: duckdb.DuckDBPyConnection, units: str, reveal_ids: bool = False
) -> dict[str, str]:
    """How units are printed: practitioners by keyed code (``dashboard.analysis.pseudonyms``), unless
    the viewer asked for ids (``reveal_ids``); clinics by id."""
    ids = unit_ids(con, units)
    if units == "practitioner" and not reveal_ids:
        return pseudonyms(ids, database_secret(con), "practitioner")
    return {i: i for i in ids}


@dataclass(frozen=True)
class Series:
    """One monthly (or quarterly) series: what is counted, where, and its counts
    (columns period, events, treatments: periods with treatments, in order)."""

    what: str
    unit: str
    frame: pd.DataFrame
    category: str | None = None
    severity: str | None = None

    @property
    def kind(self) -> str:
        """'all', 'category' or 'severity': what the series splits by."""
        return "category" if self.category else "severity" if self.severity else "all"


@dataclass(frozen=True)
class ChartedSeries:
    """A series' u-chart and the statements of its signals that touch the period; no chart
    (and ``reason`` why) for a series too short or too rare to chart."""

    series: Series
    chart: UChart | None
    statements: tuple[SignalStatement, ...]
    reason: str = ""


def period_bounds(period: str) -> tuple[date, date]:
    """'2025-05' -> (2025-05-01, 2025-05-31); '2025Q2' -> (2025-04-01, 2025-06-30)."""
    if "Q" in period:
        return parse_quarter(period)
    year, month = int(period[:4]), int(period[5:7])
    end = date(year + month // 12, month % 12 + 1, 1)
    return date(year, month, 1), date.fromordinal(end.toordinal() - 1)


def incomplete_flags(
    periods: Sequence[str], coverage: tuple[date | None, date | None]
) -> list[bool]:
    """True for a period the data do not cover in full: it starts before the first
    treatment stored or ends after the last (a running month, data stopping mid-month)."""
    first, last = coverage
    out = []
    for p in periods:
        start, end = period_bounds(str(p))
        out.append(bool((first is not None and start < first) or (last is not None and end > last)))
    return out


def build_series(
    by_unit: pd.DataFrame,
    by_kind: Mapping[str, pd.DataFrame],
    period: str,
    unit: str,
    what: str,
    labels: Mapping[str, str] | None,
    category: str | None = None,
    severity: str | None = None,
) -> list[Series]:
    """The series to chart, from counts of the trend window:

        by_unit              (period, unit, events, treatments) -> overall, then each unit
        by_kind["category"]  (period, category, events, treatments) -> each category
        by_kind["severity"]  (period, severity, events, treatments) -> each severity tier

    ``labels`` None: no per-unit series (one clinic in scope). ``what`` names the events
    of the overall and unit series ('adverse events', 'serious fainting events'); the
    ``category`` or ``severity`` chosen, if any, qualifies the kind series' names."""
    overall = by_unit.groupby(period, sort=True)[["events", "treatments"]].sum().reset_index()
    series = [Series(what, ALL_UNITS, _as_series(overall, period))]
    for dim in ("category", "severity"):
        if dim not in by_kind:
            continue
        frame = by_kind[dim].merge(overall[[period]], on=period)  # periods with treatments
        for level, part in frame.groupby(dim, sort=False):
            cat, sev = (str(level), severity) if dim == "category" else (category, str(level))
            series.append(
                Series(
                    events_noun(cat, sev), ALL_UNITS, _as_series(part, period),
                    category=str(level) if dim == "category" else None,
                    severity=str(level) if dim == "severity" else None,
                )
            )  # fmt: skip
    if labels is not None:
        series.extend(_unit_series(by_unit, period, unit, what, labels))
    return series


def _unit_series(
    by_unit: pd.DataFrame, period: str, unit: str, what: str, labels: Mapping[str, str]
) -> list[Series]:
    """Each unit's series, units in sorted order, periods in order, rows without a unit
    left out (as ``groupby`` would): one sort and slices of its arrays, not a groupby's
    sub-frame per unit (a body has a thousand clinics)."""
    rows = by_unit[by_unit[unit].notna()].sort_values([unit, period], kind="stable")
    ids = rows[unit].astype(str).to_numpy()
    if not len(ids):
        return []
    cuts = [0, *(np.flatnonzero(ids[1:] != ids[:-1]) + 1).tolist(), len(ids)]
    periods, index = rows[period].array, rows.index
    events, treatments = rows["events"].to_numpy(), rows["treatments"].to_numpy()
    return [
        Series(
            what,
            labels.get(ids[a], ids[a]),
            pd.DataFrame(
                {"period": periods[a:b], "events": events[a:b], "treatments": treatments[a:b]},
                index=index[a:b],
            ),
        )
        for a, b in zip(cuts, cuts[1:], strict=False)
    ]


def _as_series(part: pd.DataFrame, period: str) -> pd.DataFrame:
    """(period column named ``period``, events, treatments, ...) in period order ->
    (period, events, treatments), renamed by position (a rename per series cost more
    than its u-chart)."""
    if not part[period].is_monotonic_increasing:
        part = part.sort_values(period)
    return pd.DataFrame(
        {
            "period": part[period].array,
            "events": part["events"].to_numpy(),
            "treatments": part["treatments"].to_numpy(),
        },
        index=part.index,
    )


def chart_series(
    series: Sequence[Series],
    coverage: tuple[date | None, date | None],
    touching: set[str] | None,
    methods: Methods = DEFAULT,
    values: bool = True,
) -> list[ChartedSeries]:
    """A u-chart per series that has at least 2 complete periods and, on average,
    ``methods.trend_min_events`` events per complete period (else no chart, and the reason);
    statements of its signals that touch ``touching`` (the chosen period's labels; None:
    every signal)."""
    out = []
    flags: dict[tuple[str, ...], list[bool]] = {}  # most units share their periods
    for s in series:
        treatments = s.frame["treatments"].to_numpy()
        keep = treatments > 0
        periods = [str(p) for p in s.frame["period"].to_numpy()[keep]]
        key = tuple(periods)
        if key not in flags:
            flags[key] = incomplete_flags(periods, coverage)
        partial = flags[key]
        events = s.frame["events"].to_numpy()[keep].astype(int).tolist()
        chart, why = series_uchart(
            periods, events, treatments[keep].tolist(), partial, methods, s.what
        )
        if chart is None:
            out.append(ChartedSeries(s, None, (), why))
            continue
        said = explain_signals(chart.signals, periods, what=s.what, unit=s.unit, values=values)
        if touching is not None:
            said = [
                st
                for st in said
                if touching.intersection(
                    periods[periods.index(st.first) : periods.index(st.last) + 1]
                )
            ]
        out.append(ChartedSeries(s, chart, tuple(said)))
    return out


def series_uchart(
    periods: list[str],
    events: list[int],
    treatments: list[float],
    partial: list[bool],
    methods: Methods,
    what: str = "events",
) -> tuple[UChart | None, str]:
    """The u-chart of one series with the methods' baseline, or None and why not.

    Not charted: fewer than 2 complete periods, or fewer than ``methods.trend_min_events``
    events a complete period on average (rare events belong on the g-chart). Charted:
    complete periods (of the fixed baseline, if any) set the centre line, less any point
    beyond the 3-sigma limits of a first pass, so that a signal does not set its own limits
    (Shewhart's phase I practice: a point with a special cause is left out of the
    baseline); ``methods.rebase`` starts a new segment with its own centre line. A fixed
    baseline sets the centre line of each segment it overlaps; a segment it does not reach
    (the new normal after a rebase) takes every complete period of its own. A rebase that
    leaves a segment under 2 complete periods gives no chart, and says so.
    """
    complete = [not p for p in partial]
    n_complete = sum(complete)
    if n_complete < 2:
        return None, f"fewer than 2 complete periods with treatments ({n_complete})"
    total = sum(e for e, c in zip(events, complete, strict=True) if c)
    if total / n_complete < methods.trend_min_events:
        return None, (
            f"too few {what} for a u-chart: {total:,} in {n_complete} complete periods, "
            f"under {methods.trend_min_events:g} a period on average; rare events are "
            "watched on the g-chart of serious events instead"
        )
    rebase = [r for r in methods.rebase if r in periods]
    base = _baseline(periods, partial, methods, rebase)
    try:
        first = u_chart(
            periods, events, treatments, incomplete=partial, baseline=base, rebase=rebase
        )
    except ValueError as e:  # a rebase leaving a segment under 2 complete periods
        return None, f"no u-chart with these limits: {e}"
    beyond = {s.period for s in first.signals if s.rule == RULE_BEYOND}
    trimmed = [b and q not in beyond for b, q in zip(base, periods, strict=True)]
    if trimmed == base:
        return first, ""
    try:
        return u_chart(
            periods, events, treatments, incomplete=partial, baseline=trimmed, rebase=rebase
        ), ""
    except ValueError:  # every baseline point of a segment signalled: keep the first pass
        return first, ""


def _baseline(
    periods: list[str], partial: list[bool], methods: Methods, rebase: list[str]
) -> list[bool]:
    """Which periods set the centre line: complete periods in the fixed baseline, and in a
    segment the baseline does not reach, every complete period of that segment.

        periods  2024Q1 2024Q2 2024Q3 | 2025Q1 2025Q2    (rebase at 2025Q1)
        baseline 2024Q1-2024Q2:  T T F | T T
    """
    starts = sorted({0, *(periods.index(r) for r in rebase)}) + [len(periods)]
    out: list[bool] = []
    for a, b in zip(starts, starts[1:], strict=False):
        seg = range(a, b)
        fixed = [not partial[i] and methods.in_baseline(periods[i]) for i in seg]
        out += fixed if any(fixed) else [not partial[i] for i in seg]
    return out


def centre_baselines(chart: UChart | None) -> list[list[str]]:
    """The periods whose counts set each segment's centre line (one list per segment; none
    without a chart): the centre line times these periods' treatments is their events, a
    relation a reader of the chart knows (``dashboard.report.cells``)."""
    if chart is None:
        return []
    p = chart.points
    return [
        part.loc[part["baseline"], "period"].astype(str).tolist()
        for _, part in p.groupby("segment", sort=True)
    ]


def trend_window(filters: Filters, methods: Methods = DEFAULT) -> Filters:
    """A chosen period seen in context: the ``methods.trend_months`` months to its end (a
    u-chart of one quarter's three months would measure the quarter against itself)."""
    if filters.date_to is None:
        return filters
    index = filters.date_to.year * 12 + filters.date_to.month - methods.trend_months
    start = date(index // 12, index % 12 + 1, 1)
    if filters.date_from is not None and filters.date_from <= start:
        return filters
    return replace(filters, date_from=start)


def touched_periods(filters: Filters, by: str) -> set[str] | None:
    """Labels of the periods the filters choose (None: no period chosen, every signal)."""
    if filters.date_from is None and filters.date_to is None:
        return None
    start = filters.date_from or date(1900, 1, 1)
    end = filters.date_to or date(9999, 12, 31)
    out, year, month = set(), start.year, start.month
    while (year, month) <= (end.year, end.month) and year < 3000:
        out.add(
            f"{year:04d}-{month:02d}" if by == "month" else f"{year:04d}Q{(month - 1) // 3 + 1}"
        )
        year, month = (year + month // 12, month % 12 + 1)
    return out


def trend_signals(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    by: str = "month",
    units: str = "clinic",
    methods: Methods = DEFAULT,
    reveal_ids: bool = False,
) -> list[ChartedSeries]:
    """Every series of the filters' trend window, overall first, then each event category
    (when no category is chosen), each severity tier (when none is chosen), then each unit
    (when several are in scope)."""
    check_units(by, units)
    window = trend_window(filters, methods)
    col = UNITS[units]
    kinds = [d for d in ("category", "severity") if getattr(filters, d) is None]
    # by unit and period, and by period and each kind: three small groupings of the counts
    # store (one frame by unit, period and every kind is units x periods x categories x
    # severities rows: 1.4 million at 1,000 clinics, a second to fetch and split)
    by_unit = rate_counts(con, (col, by), window)
    if by_unit.empty:
        return []
    by_kind = {
        dim: rate_counts(con, (by, dim), window)[[by, dim, "events", "treatments"]] for dim in kinds
    }
    several = by_unit[col].nunique() > 1
    labels = unit_labels(con, units, reveal_ids) if several else None
    what = events_noun(filters.category, filters.severity)
    series = build_series(
        by_unit, by_kind, by, col, what, labels, filters.category, filters.severity
    )
    if filters.clinics and series:  # "overall" would overstate a clinic filter
        scope = ", ".join(filters.clinics)
        series = [replace(s, unit=scope) if s.unit == ALL_UNITS else s for s in series]
    return chart_series(series, data_coverage(con), touched_periods(filters, by), methods)
