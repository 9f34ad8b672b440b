"""Which units stand out, and did anything change: one method for every surface.

The Clinics page, the Trends page, ``needlewatch signals`` and the quarterly report all
call these functions with the same ``Methods`` (``dashboard.analysis.methods``), so for the same
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

from collections.abc import Mapping
from dataclasses import replace

import duckdb
import pandas as pd

from dashboard.analysis.explain import events_noun
from dashboard.analysis.methods import DEFAULT, Methods
from dashboard.analysis.summary import spc_summary  # noqa: F401 - re-exported
from dashboard.analysis.trends import (  # noqa: F401 - the trend half of the verdicts, re-exported
    ALL_UNITS,
    UNITS,
    ChartedSeries,
    Series,
    build_series,
    chart_series,
    check_units,
    incomplete_flags,
    period_bounds,
    touched_periods,
    trend_signals,
    trend_window,
    unit_labels,
)
from dashboard.stats.funnel import FunnelResult, funnel
from dashboard.stats.gchart import GChart, g_chart
from dashboard.store.counts import rate_counts
from dashboard.store.filters import Filters
from dashboard.store.listing import serious_event_positions

SIGNAL_COLUMNS = ("kind", "series", "unit", "period", "value", "expected", "limit", "rule")

#: Funnel outlier labels, strongest first (the funnel module's ``outside`` values).
FUNNEL_RULES = {
    "above 99.8%": "above 99.8% limit",
    "above 95%": "above 95% limit",
    "below 95%": "below 95% limit",
    "below 99.8%": "below 99.8% limit",
}


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
    """Funnel of clinics or practitioners over the filtered treatments (see funnel_verdict).

    Clinics' submissions name no practitioner: a practitioner funnel leaves their
    treatments out (never one unnamed "practitioner" for a whole clinic) and its method
    says so."""
    check_units("month", units)
    counts = rate_counts(con, (UNITS[units],), filters)
    unnamed = counts[UNITS[units]].isna()
    if len(counts) and unnamed.all():
        from dashboard.analysis.comparisons import NoDataError

        raise NoDataError(
            "these treatments come from clinics' quarterly submissions, which name no "
            "practitioner: compare clinics here, and practitioners in the clinic's own "
            "NeedleWatch"
        )
    result = funnel_verdict(
        counts[~unnamed], UNITS[units], methods, unit_labels(con, units, reveal_ids)
    )
    if result is not None and unnamed.any():
        left = int(counts.loc[unnamed, "treatments"].sum())
        result = replace(
            result,
            method=f"{result.method}; {left:,} treatments from clinics' submissions are not "
            "in this funnel (a submission names no practitioner)",
        )
    return result


def serious_gchart(
    con: duckdb.DuckDBPyConnection, filters: Filters, severity: str = "serious"
) -> GChart | None:
    """g-chart of treatments between consecutive ``severity`` events (None if < 3 events).

    positions p_1 < p_2 < ... of treatments with such an event (several events in one
    treatment count as gaps of 0) -> gaps g_1 = p_1 - 1, g_j = p_j - p_(j-1) - 1
    """
    return g_chart_of(serious_event_positions(con, filters, severity))


def g_chart_of(positions: pd.DataFrame) -> GChart | None:
    """The g-chart of ``serious_event_positions`` rows (None under 3 events)."""
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
