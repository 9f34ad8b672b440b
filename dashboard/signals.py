"""Trend signals and funnel outliers from the database, as one tidy table.

Three analyses, each from grouped counts (dashboard.counts) and a pure statistic
(dashboard.stats), reused by ``needlewatch signals``, the dashboard and the reports:

    trend  - u-chart of events per 1,000 treatments by month or quarter, overall and for
             each clinic (or practitioner), with the NHS "Making Data Count" rules;
    funnel - clinics (or practitioners) against the overall rate over the whole period,
             exact Poisson 95% and 99.8% limits (Spiegelhalter 2005);
    gchart - treatments between consecutive serious events (Benneyan 2001), for events
             too rare to chart as rates.

Every row of the result is one signal: kind, unit, period, value, expected, limit, rule.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import duckdb
import pandas as pd

from .counts import rate_counts
from .filters import Filters
from .queries import serious_event_positions
from .stats.funnel import FunnelResult, funnel
from .stats.spc import GChart, UChart, g_chart, u_chart

PERIODS = ("month", "quarter")
UNITS = {"clinic": "clinic", "practitioner": "practitioner"}
ALL_UNITS = "all"
SIGNAL_COLUMNS = ("kind", "unit", "period", "value", "expected", "limit", "rule")

#: Funnel outlier labels, strongest first (the funnel module's ``outside`` values).
FUNNEL_RULES = {
    "above 99.8%": "above 99.8% limit",
    "above 95%": "above 95% limit",
    "below 95%": "below 95% limit",
    "below 99.8%": "below 99.8% limit",
}


@dataclass(frozen=True)
class TrendChart:
    """A u-chart for one series (``unit`` = 'all' or a clinic/practitioner id)."""

    unit: str
    chart: UChart


def _check(by: str, units: str) -> None:
    if by not in PERIODS:
        raise ValueError(f"--by must be month or quarter, got {by!r}")
    if units not in UNITS:
        raise ValueError(f"--units must be clinic or practitioner, got {units!r}")


def trend_charts(
    con: duckdb.DuckDBPyConnection, filters: Filters, by: str = "month", units: str = "clinic"
) -> list[TrendChart]:
    """u-charts: the overall series first, then one per unit with at least 2 periods.

    Counts come from ``rate_counts`` (periods without treatments are absent, so a
    unit's chart joins its neighbouring periods). A series with no events has no chart.
    """
    _check(by, units)
    per_unit = rate_counts(con, (UNITS[units], by), filters)
    overall = rate_counts(con, (by,), filters)  # in shared_counts(): per_unit summed
    series = [(ALL_UNITS, overall)] + [
        (str(unit), group) for unit, group in per_unit.groupby(UNITS[units], sort=True)
    ]
    charts = []
    for unit, frame in series:
        if len(frame) < 2 or frame["events"].sum() == 0:
            continue
        chart = u_chart(frame[by].tolist(), frame["events"].tolist(), frame["treatments"].tolist())
        charts.append(TrendChart(unit, chart))
    return charts


def funnel_chart(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    units: str = "clinic",
    overdispersion: bool = False,
) -> FunnelResult | None:
    """Funnel of units against the overall rate; None when nothing has events."""
    _check("month", units)
    counts = rate_counts(con, (UNITS[units],), filters)
    if counts.empty or counts["events"].sum() == 0:
        return None
    return funnel(
        counts[UNITS[units]].astype(str).tolist(),
        counts["events"].tolist(),
        counts["treatments"].tolist(),
        overdispersion=overdispersion,
    )


def serious_gchart(
    con: duckdb.DuckDBPyConnection, filters: Filters, severity: str = "serious"
) -> GChart | None:
    """g-chart of treatments between consecutive ``severity`` events (None if < 3 events).

    positions p_1 < p_2 < ... of treatments with such an event (several events in one
    treatment count as gaps of 0) -> gaps g_1 = p_1 - 1, g_j = p_j - p_(j-1) - 1
    """
    positions = serious_event_positions(con, filters, severity)
    gaps, labels, previous = [], [], 0
    for date, position, n_events in positions[["event_date", "position", "events"]].itertuples(
        index=False
    ):
        gaps.append(int(position) - previous - 1)
        gaps.extend([0] * (int(n_events) - 1))
        labels.extend([pd.Timestamp(date).date().isoformat()] * int(n_events))
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


def signals_table(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    by: str = "month",
    units: str = "clinic",
    overdispersion: bool = False,
) -> pd.DataFrame:
    """Every trend signal, funnel outlier and serious-event g-chart signal, one per row.

    Columns: kind (trend, funnel, gchart), unit, period, value, expected, limit, rule.
    trend: value and expected (the centre line) are events per 1,000 treatments, limit
    the sigma limit crossed (empty for runs and trends). funnel: the unit's rate, the
    overall rate and the limit crossed at its number of treatments. gchart: value is the
    number of treatments since the previous serious event, expected the mean gap.
    """
    rows: list[tuple] = []
    for trend in trend_charts(con, filters, by, units):
        for s in trend.chart.signals:
            rows.append(("trend", trend.unit, s.period, s.value, s.expected, s.limit, s.rule))
    result = funnel_chart(con, filters, units, overdispersion)
    if result is not None:
        period = _period_label(filters)
        for unit in result.units.itertuples(index=False):
            if unit.outside:
                limit = {"above": unit.hi998, "below": unit.lo998}
                if "95%" in unit.outside:
                    limit = {"above": unit.hi95, "below": unit.lo95}
                side = unit.outside.split()[0]
                rows.append(
                    (
                        "funnel",
                        unit.unit,
                        period,
                        unit.rate,
                        result.target,
                        limit[side],
                        FUNNEL_RULES[unit.outside],
                    )
                )
    gchart = serious_gchart(con, replace(filters, category=None, severity=None))
    if gchart is not None:
        for s in gchart.signals:
            rows.append(("gchart", ALL_UNITS, s.period, s.value, s.expected, s.limit, s.rule))
    return pd.DataFrame(rows, columns=list(SIGNAL_COLUMNS))
