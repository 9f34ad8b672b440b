"""Which units stand out, and did anything change: one method for every surface.

The Clinics page, the Trends page, ``needlewatch signals`` and the quarterly report all
call these functions with the same ``Methods`` (``dashboard.methods``), so for the same
filters they flag the same clinics and practitioners and list the same signals:

    funnel - units (clinics, or practitioners by keyed code) against the overall rate,
             95% and 99.8% limits widened for overdispersion as the methods say
             (``funnel_verdict``: pure, on counts; ``funnel_chart``: from the database);
    trend  - u-charts by month (or quarter) of all events, each event category and each
             unit in scope, over the methods' trend window (24 months to the end of a
             chosen period), incomplete periods marked and left out of the limits; the
             signals listed are those that touch the chosen period (``chart_series``);
    gchart - treatments between consecutive serious events (Benneyan 2001), for events
             too rare to chart as rates.

The pure functions take counts frames, so the report (which adds up its own counts cube)
and the dashboard (which asks ``rate_counts``) reach the same verdicts by construction:

    counts (period, unit, events, treatments) -> build_series -> chart_series
        -> [ChartedSeries(series, u-chart, statements touching the period)]
    counts (unit, events, treatments)         -> funnel_verdict -> FunnelResult
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

import duckdb
import pandas as pd

from .counts import rate_counts
from .explain import SignalStatement, events_noun, explain_signals
from .filters import Filters, parse_quarter
from .methods import DEFAULT, Methods
from .pseudonyms import pseudonyms
from .queries import data_coverage, database_secret, serious_event_positions, unit_ids
from .stats.funnel import FunnelResult, funnel
from .stats.spc import GChart, UChart, g_chart, u_chart

PERIODS = ("month", "quarter")
UNITS = {"clinic": "clinic", "practitioner": "practitioner"}
ALL_UNITS = "all"
SIGNAL_COLUMNS = ("kind", "series", "unit", "period", "value", "expected", "limit", "rule")

#: Funnel outlier labels, strongest first (the funnel module's ``outside`` values).
FUNNEL_RULES = {
    "above 99.8%": "above 99.8% limit",
    "above 95%": "above 95% limit",
    "below 95%": "below 95% limit",
    "below 99.8%": "below 99.8% limit",
}


def _check(by: str, units: str) -> None:
    if by not in PERIODS:
        raise ValueError(f"--by must be month or quarter, got {by!r}")
    if units not in UNITS:
        raise ValueError(f"--units must be clinic or practitioner, got {units!r}")


# ---------------------------------------------------------------- names of units
def unit_labels(
    con: duckdb.DuckDBPyConnection, units: str, reveal_ids: bool = False
) -> dict[str, str]:
    """How units are printed: practitioners by keyed code (``dashboard.pseudonyms``), unless
    the viewer asked for ids (``reveal_ids``); clinics by id."""
    ids = unit_ids(con, units)
    if units == "practitioner" and not reveal_ids:
        return pseudonyms(ids, database_secret(con), "practitioner")
    return {i: i for i in ids}


# ---------------------------------------------------------------- funnels
def funnel_verdict(
    counts: pd.DataFrame,
    unit: str,
    methods: Methods = DEFAULT,
    labels: Mapping[str, str] | None = None,
) -> FunnelResult | None:
    """Funnel of the units in ``counts`` (columns ``unit``, events, treatments) against
    their overall rate, limits as ``methods.funnel_overdispersion`` says. Units are named
    by ``labels`` (id -> printed name). None when no unit has treatments and events."""
    counts = counts[counts["treatments"] > 0]
    if counts.empty or counts["events"].sum() == 0:
        return None
    ids = counts[unit].astype(str).tolist()
    names = [labels.get(i, i) for i in ids] if labels is not None else ids
    return funnel(
        names,
        counts["events"].astype(int).tolist(),
        counts["treatments"].astype(float).tolist(),
        overdispersion=methods.funnel_overdispersion,
    )


def funnel_chart(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    units: str = "clinic",
    methods: Methods = DEFAULT,
    reveal_ids: bool = False,
) -> FunnelResult | None:
    """Funnel of clinics or practitioners over the filtered treatments (see funnel_verdict)."""
    _check("month", units)
    counts = rate_counts(con, (UNITS[units],), filters)
    return funnel_verdict(counts, UNITS[units], methods, unit_labels(con, units, reveal_ids))


# ---------------------------------------------------------------- trends
@dataclass(frozen=True)
class Series:
    """One monthly (or quarterly) series: what is counted, where, and its counts
    (columns period, events, treatments: periods with treatments, in order)."""

    what: str
    unit: str
    frame: pd.DataFrame
    category: str | None = None


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
    by_category: pd.DataFrame | None,
    period: str,
    unit: str,
    what: str,
    labels: Mapping[str, str] | None,
    severity: str | None = None,
) -> list[Series]:
    """The series to chart, from counts of the trend window:

        by_unit      (period, unit, events, treatments)     -> overall, then each unit
        by_category  (period, category, events, treatments) -> each category overall

    ``labels`` None: no per-unit series (one clinic in scope). ``what`` names the events
    of the overall and unit series ('adverse events', 'serious fainting events')."""
    overall = by_unit.groupby(period, sort=True)[["events", "treatments"]].sum().reset_index()
    series = [Series(what, ALL_UNITS, overall.rename(columns={period: "period"}))]
    if by_category is not None:
        frame = by_category.merge(overall[[period]], on=period)  # periods with treatments
        for category, part in frame.groupby("category", sort=False):
            part = part.sort_values(period)[[period, "events", "treatments"]]
            noun = events_noun(str(category), severity)
            series.append(
                Series(noun, ALL_UNITS, part.rename(columns={period: "period"}), str(category))
            )
    if labels is not None:
        for uid, part in by_unit.groupby(unit, sort=True):
            part = part.sort_values(period)[[period, "events", "treatments"]]
            name = labels.get(str(uid), str(uid))
            series.append(Series(what, name, part.rename(columns={period: "period"})))
    return series


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
    for s in series:
        frame = s.frame[s.frame["treatments"] > 0]
        periods = frame["period"].astype(str).tolist()
        partial = incomplete_flags(periods, coverage)
        complete = [not p for p in partial]
        events = frame["events"].astype(int).tolist()
        n_complete = sum(complete)
        if n_complete < 2:
            why = f"fewer than 2 complete periods with treatments ({n_complete})"
            out.append(ChartedSeries(s, None, (), why))
            continue
        total = sum(e for e, c in zip(events, complete, strict=True) if c)
        if total / n_complete < methods.trend_min_events:
            why = (
                f"too few {s.what} for a u-chart: {total:,} in {n_complete} complete periods, "
                f"under {methods.trend_min_events:g} a period on average; rare events are "
                "watched on the g-chart of serious events instead"
            )
            out.append(ChartedSeries(s, None, (), why))
            continue
        chart = u_chart(periods, events, frame["treatments"].tolist(), incomplete=partial)
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
    """Every charted series of the filters' trend window, overall first, then each event
    category (when no category is chosen), then each unit (when several are in scope)."""
    _check(by, units)
    window = trend_window(filters, methods)
    col = UNITS[units]
    by_category = None
    if filters.category is None:
        # one scan for both: events by unit, period and category; a unit's events are the
        # sum over categories (every event has exactly one), its treatments repeat per row
        full = rate_counts(con, (col, by, "category"), window)
        if full.empty:
            return []
        by_unit = full.groupby([col, by], sort=True).agg(
            events=("events", "sum"), treatments=("treatments", "first")
        ).reset_index()
        months = by_unit.groupby(by, sort=True)["treatments"].sum().rename("treatments")
        by_category = (
            full.groupby([by, "category"], sort=False)["events"].sum().reset_index()
            .merge(months.reset_index(), on=by)
        )  # fmt: skip
    else:
        by_unit = rate_counts(con, (col, by), window)
        if by_unit.empty:
            return []
    several = by_unit[col].nunique() > 1
    labels = unit_labels(con, units, reveal_ids) if several else None
    what = events_noun(filters.category, filters.severity)
    series = build_series(by_unit, by_category, by, col, what, labels, filters.severity)
    if filters.clinics and series:  # "overall" would overstate a clinic filter
        series[0] = replace(series[0], unit=", ".join(filters.clinics))
    return chart_series(series, data_coverage(con), touched_periods(filters, by), methods)


def serious_gchart(
    con: duckdb.DuckDBPyConnection, filters: Filters, severity: str = "serious"
) -> GChart | None:
    """g-chart of treatments between consecutive ``severity`` events (None if < 3 events).

    positions p_1 < p_2 < ... of treatments with such an event (several events in one
    treatment count as gaps of 0) -> gaps g_1 = p_1 - 1, g_j = p_j - p_(j-1) - 1
    """
    positions = serious_event_positions(con, filters, severity)
    gaps, labels, previous = [], [], 0
    for day, position, n_events in positions[["event_date", "position", "events"]].itertuples(
        index=False
    ):
        gaps.append(int(position) - previous - 1)
        gaps.extend([0] * (int(n_events) - 1))
        labels.extend([pd.Timestamp(day).date().isoformat()] * int(n_events))
        previous = int(position)
    if len(gaps) < 2:
        return None
    return g_chart(gaps, labels)


def _period_label(filters: Filters) -> str:
    if not filters.date_from and not filters.date_to:
        return "all dates"
    start = filters.date_from.isoformat() if filters.date_from else "first"
    end = filters.date_to.isoformat() if filters.date_to else "last"
    return f"{start} to {end}"


def funnel_rows(result: FunnelResult, what: str, period: str) -> list[tuple]:
    """Signal rows of a funnel's outliers (SIGNAL_COLUMNS), strongest flag per unit."""
    rows = []
    for unit in result.units.itertuples(index=False):
        if not unit.outside:
            continue
        side = unit.outside.split()[0]
        limit = {"above": unit.hi998, "below": unit.lo998}
        if "95%" in unit.outside:
            limit = {"above": unit.hi95, "below": unit.lo95}
        rows.append(
            ("funnel", what, unit.unit, period, unit.rate, result.target, limit[side],
             FUNNEL_RULES[unit.outside])
        )  # fmt: skip
    return rows


def signals_table(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    by: str = "month",
    units: str = "clinic",
    methods: Methods = DEFAULT,
    reveal_ids: bool = False,
) -> pd.DataFrame:
    """Every trend signal, funnel outlier and serious-event g-chart signal, one per row.

    Columns: kind (trend, funnel, gchart), series (what is counted), unit, period, value,
    expected, limit, rule. trend: one row per signal statement (a run of periods flagged
    by one rule), value its highest (lowest) rate, expected the centre line, limit the
    3-sigma limit crossed (empty for runs and trends). funnel: the unit's rate, the overall
    rate and the limit crossed at its number of treatments. gchart: value is the number of
    treatments since the previous serious event, expected the mean gap.
    """
    rows: list[tuple] = []
    for charted in trend_signals(con, filters, by, units, methods, reveal_ids):
        for s in charted.statements:
            rows.append(("trend", s.what, s.unit, s.span, s.value, s.expected, s.limit, s.rule))
    result = funnel_chart(con, filters, units, methods, reveal_ids)
    if result is not None:
        what = events_noun(filters.category, filters.severity)
        rows.extend(funnel_rows(result, what, _period_label(filters)))
    gchart = serious_gchart(con, replace(filters, category=None, severity=None))
    if gchart is not None:
        for s in gchart.signals:
            rows.append(
                ("gchart", "serious events", ALL_UNITS, s.period, s.value, s.expected, s.limit,
                 s.rule)
            )  # fmt: skip
    return pd.DataFrame(rows, columns=list(SIGNAL_COLUMNS))
