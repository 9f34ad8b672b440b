"""A report's tables from its counts cube (pure: no database), in the tidy report shape.

Each function adds up cube counts (``dashboard.store.cube.total``) and hands them to the
same analysis the dashboard and the command line use (``rate_table``, ``ratio_table``,
``funnel_verdict``, ``build_series``/``chart_series``, ``clopper_pearson``), so every
number and every verdict equals ``needlewatch rates`` / ``compare`` / ``signals`` for the
same quarter and clinic. Every count row carries ``cell``, the canonical id of the
quantity it prints (``dashboard.report.cells``), which the public edition's disclosure
control works on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

import pandas as pd

from dashboard.analysis.comparisons import ratio_table
from dashboard.analysis.methods import Methods
from dashboard.analysis.rates import rate_table
from dashboard.analysis.signals import ChartedSeries, build_series, chart_series, funnel_verdict
from dashboard.stats.funnel import FunnelResult
from dashboard.stats.proportions import clopper_pearson
from dashboard.store.cube import Cube, total

from .cells import Period, cell
from .model import RATE

RATIO_FACTORS = ("ultrasound", "training_band", "experience_band")
NO_TREATMENTS = "no treatments in this period"
IDLE = "no treatments this quarter"


def long_rates(
    table: pd.DataFrame, dim: str, levels: list[str] | None = None, cells: list[str] | None = None
) -> pd.DataFrame:
    """rate_table rows -> the tidy report shape (dimension, level, counts, value, CI)."""
    return pd.DataFrame(
        {
            "dimension": dim,
            "level": levels if levels is not None else table[dim].astype(str).tolist(),
            "treatments": table["treatments"].astype("Int64").tolist(),
            "events": table["events"].astype("Int64").tolist(),
            "measure": RATE,
            "value": table["rate_per_1000"].tolist(),
            "ci_low": table["ci_low_per_1000"].tolist(),
            "ci_high": table["ci_high_per_1000"].tolist(),
            "method": table["ci_method"].tolist(),
            "suppressed": False,
            "cell": cells if cells is not None else [None] * len(table),
        }
    )


def _empty_rates() -> pd.DataFrame:
    return pd.DataFrame(
        [{"treatments": 0, "events": 0, "rate_per_1000": None, "ci_low_per_1000": None,
          "ci_high_per_1000": None, "ci_method": NO_TREATMENTS}]
    )  # fmt: skip


def headline(
    cube: Cube, scope: str, periods: Sequence[Period], severity: str | None
) -> pd.DataFrame:
    """One row per headline period (the quarter, the previous one, four quarters): all
    events, or one severity's."""
    rows = []
    for p in periods:
        frame = cube.monthly if severity is None else cube.kinds
        counts = total(cube, frame, (), months=p.months, severity=severity)
        table = _empty_rates() if counts.empty else rate_table(counts, ())
        dim = None if severity is None else "severity"
        rows.append(
            long_rates(table, "period", [p.label], [cell(scope, "events", p.key, dim, severity)])
        )
    return pd.concat(rows, ignore_index=True)


def affected(cube: Cube, scope: str, periods: Sequence[Period]) -> pd.DataFrame:
    """Share of treatments with at least one event, per period, Clopper-Pearson 95%."""
    rows = []
    for p in periods:
        counts = total(cube, cube.monthly, (), months=p.months)
        if counts.empty:
            continue
        k, n = int(counts["treatments_affected"].iloc[0]), int(counts["treatments"].iloc[0])
        cp = clopper_pearson(k, n)
        rows.append(
            {"dimension": "period", "level": p.label, "treatments": n, "events": k,
             "measure": "% of treatments with at least one event", "value": 100 * cp.proportion,
             "ci_low": 100 * cp.low, "ci_high": 100 * cp.high,
             "method": "exact binomial (Clopper-Pearson)", "suppressed": False,
             "cell": cell(scope, "affected", p.key)}
        )  # fmt: skip
    return pd.DataFrame(rows)


def breakdown(cube: Cube, scope: str, dim: str, quarter: Period) -> pd.DataFrame:
    """The quarter's rates by one dimension (event kinds from the kinds cube)."""
    if dim in ("category", "severity"):
        counts = total(cube, cube.kinds, (dim,), months=quarter.months)
    else:
        counts = total(cube, cube.quarter, (dim,), quarter=quarter.key)
    table = rate_table(counts, (dim,))
    cells = [cell(scope, "events", quarter.key, dim, v) for v in table[dim].astype(str)]
    return long_rates(table, dim, cells=cells)


def ratios(cube: Cube, scope: str, quarter: Period, methods: Methods) -> pd.DataFrame:
    """Crude and body-region-adjusted rate ratios per factor against the configured
    references, as ``needlewatch compare --adjust body_region`` (``ratio_table``)."""
    frames = []
    for factor in RATIO_FACTORS:
        counts = total(
            cube, cube.quarter, (factor, "body_region", "practitioner"), quarter=quarter.key
        )
        if counts[factor].nunique() < 2:
            continue
        table = ratio_table(counts, factor, "body_region", None, methods)
        if table.empty:
            continue
        frames.append(
            pd.DataFrame(
                {
                    "dimension": factor,
                    "level": table["level"].astype(str),
                    "reference": table["reference"].astype(str),
                    "treatments": table["treatments"].astype("Int64"),
                    "events": table["events"].astype("Int64"),
                    "measure": [
                        "rate ratio, crude"
                        if a == "crude"
                        else "rate ratio, adjusted for body region"
                        for a in table["analysis"]
                    ],
                    "value": table["rate_ratio"],
                    "ci_low": table["ci_low"],
                    "ci_high": table["ci_high"],
                    "method": [
                        m if not isinstance(n, str) or not n else f"{m}; {n}"
                        for m, n in zip(table["method"], table["note"], strict=True)
                    ],
                    "ref_events": table["ref_events"].astype("Int64"),
                    "suppressed": False,
                    "cell": [cell(scope, "events", quarter.key, factor, v) for v in table["level"]],
                    "ref_cell": [
                        cell(scope, "events", quarter.key, factor, v) for v in table["reference"]
                    ],
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


@dataclass(frozen=True)
class Trend:
    """The report's monthly trend: the overall series' table and chart, and every charted
    series (overall, categories, clinics) with the statements touching the quarter."""

    frame: pd.DataFrame
    charts: list[ChartedSeries]

    @property
    def overall(self) -> ChartedSeries | None:
        first = self.charts[0] if self.charts else None
        ok = first is not None and first.series.category is None and first.chart is not None
        return first if ok else None


OUT_OF_BASELINE = "left out of the baseline"
INCOMPLETE_MONTH = "incomplete month: not used for the limits"


def trend_signal(incomplete: bool, baseline: bool, signal: str) -> str:
    """A month's signal column: the first rule that fired, and whether the month sets the
    centre line (a reader needs to know which months the centre line is the rate of)."""
    if incomplete:
        return INCOMPLETE_MONTH
    if baseline:
        return signal
    return f"{signal}; {OUT_OF_BASELINE}" if signal else OUT_OF_BASELINE


def trend(
    cube: Cube,
    scope: str,
    window: Sequence[str],
    quarter: Period,
    coverage: tuple[date | None, date | None],
    names: Mapping[str, str] | None,
    overall_name: str,
    methods: Methods,
    values: bool,
) -> Trend:
    """Monthly rates over the window with the u-chart's centre, 3-sigma limits and signal,
    and the signals of all events, each category and (``names``: several clinics) each
    clinic that touch the quarter (``signals.chart_series``, as the Trends page)."""
    monthly = cube.monthly[cube.monthly["month"].isin(list(window))]
    kinds = cube.kinds[cube.kinds["month"].isin(list(window))]
    by_clinic = total(cube, monthly, ("month", "clinic"))
    months = total(cube, monthly, ("month",))
    by_kind = {
        dim: kinds.groupby(["month", dim], sort=False)["events"].sum().reset_index()
        .merge(months[["month", "treatments"]], on="month")
        for dim in ("category", "severity")
    }  # fmt: skip
    series = build_series(by_clinic, by_kind, "month", "clinic", "adverse events", names)
    if overall_name != "all":  # one clinic's report: every series is that clinic's
        series = [replace(s, unit=overall_name) if s.unit == "all" else s for s in series]
    charts = chart_series(series, coverage, set(quarter.months), methods, values)
    table = rate_table(months, ("month",))
    frame = long_rates(
        table, "month", cells=[cell(scope, "events", m) for m in table["month"].astype(str)]
    )
    result = Trend(frame, charts)
    chart = result.overall
    if chart is not None:
        points = chart.chart.points.set_index("period")
        order = frame["level"]
        frame["expected"] = points["centre"].reindex(order).to_numpy()
        frame["limit_low"] = points["lcl3"].reindex(order).to_numpy()
        frame["limit_high"] = points["ucl3"].reindex(order).to_numpy()
        frame["signal"] = [
            trend_signal(bool(inc), bool(base), str(sig))
            for inc, base, sig in zip(
                points["incomplete"].reindex(order), points["baseline"].reindex(order),
                points["signal"].reindex(order), strict=True,
            )
        ]  # fmt: skip
    return Trend(frame, charts)


def units(
    cube: Cube,
    scope: str,
    unit: str,
    quarter: Period,
    labels: Mapping[str, str],
    every: Sequence[str],
    methods: Methods,
) -> tuple[pd.DataFrame, FunnelResult | None]:
    """Clinics (or the clinic's practitioners, by code) against the overall rate, funnel
    limits as the methods say (``signals.funnel_verdict``, as the Clinics page). Clinics in
    ``every`` without a treatment this quarter are listed as such, not charted."""
    if unit == "clinic":
        counts = total(cube, cube.monthly, ("clinic",), months=quarter.months)
    else:
        counts = total(cube, cube.quarter, ("practitioner",), quarter=quarter.key)
    result = funnel_verdict(counts, unit, methods, labels)
    if counts.empty:
        return pd.DataFrame(), None
    rates = rate_table(counts, (unit,))
    ids = counts[unit].astype(str).tolist()
    signal = [""] * len(ids)
    lo, hi = [None] * len(ids), [None] * len(ids)
    if result is not None:  # funnel rows are in the order of counts
        u = result.units
        signal = u["outside"].replace("", "within 95% limits").tolist()
        lo, hi = u["lo998"].tolist(), u["hi998"].tolist()
    frame = pd.DataFrame(
        {
            "dimension": unit,
            "level": [labels.get(i, i) for i in ids],
            "treatments": counts["treatments"].astype("Int64").to_numpy(),
            "events": counts["events"].astype("Int64").to_numpy(),
            "measure": RATE,
            "value": rates["rate_per_1000"].to_numpy(),
            "ci_low": rates["ci_low_per_1000"].to_numpy(),
            "ci_high": rates["ci_high_per_1000"].to_numpy(),
            "method": result.method if result is not None else "no events: no funnel",
            "expected": result.target if result is not None else None,
            "limit_low": lo,
            "limit_high": hi,
            "signal": signal,
            "suppressed": False,
            "cell": [_unit_cell(scope, unit, i, quarter) for i in ids],
        }
    )
    idle = [i for i in every if i not in set(ids)]
    if unit == "clinic" and idle:
        frame = pd.concat(
            [
                frame,
                pd.DataFrame(
                    {"dimension": unit, "level": [labels.get(i, i) for i in idle], "treatments": 0,
                     "events": 0, "measure": RATE, "method": IDLE, "signal": IDLE,
                     "suppressed": False, "cell": [_unit_cell(scope, unit, i, quarter) for i in idle]}
                ),
            ],
            ignore_index=True,
        )  # fmt: skip
    return frame.sort_values("level", ignore_index=True), result


def _unit_cell(scope: str, unit: str, uid: str, quarter: Period) -> str:
    """A clinic's quarter total is the same quantity as that clinic's own headline."""
    if unit == "clinic":
        return cell(uid, "events", quarter.key)
    return cell(scope, "events", quarter.key, "practitioner", uid)
