"""A report's tables from its counts cube (pure: no database), in the tidy report shape.

Each function adds up cube counts (``dashboard.report.cube.total``) and hands them to the
statistics the command line uses (``rate_table``, ``compare_levels``, ``u_chart``,
``funnel``, ``clopper_pearson``), so every number equals ``needlewatch rates`` /
``compare`` for the same quarter and clinic.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pandas as pd

from dashboard.explain import explain_signals
from dashboard.rates import rate_table
from dashboard.stats.compare import compare_levels
from dashboard.stats.funnel import FunnelResult, funnel
from dashboard.stats.proportions import clopper_pearson
from dashboard.stats.spc import UChart, u_chart

from .cube import Cube, total
from .model import RATE

RATIO_FACTORS = (("ultrasound", "no"), ("training_band", None), ("experience_band", None))
NO_TREATMENTS = "no treatments in this period"


def practitioner_code(practitioner_id: str) -> str:
    """'P-' + first 8 hex digits of sha256(id): the code of the serious-event listing."""
    return "P-" + hashlib.sha256(str(practitioner_id).encode()).hexdigest()[:8]


def long_rates(table: pd.DataFrame, dim: str, levels: list[str] | None = None) -> pd.DataFrame:
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
        }
    )


def headline(cube: Cube, periods: dict[str, list[str]], severity: str | None) -> pd.DataFrame:
    """One row per period (label -> its months): all events, or one severity's."""
    rows = []
    for label, months in periods.items():
        frame = cube.monthly if severity is None else cube.kinds
        counts = total(cube, frame, (), months=months, severity=severity)
        if counts.empty:
            table = pd.DataFrame(
                [{"treatments": 0, "events": 0, "rate_per_1000": None, "ci_low_per_1000": None,
                  "ci_high_per_1000": None, "ci_method": NO_TREATMENTS}]
            )  # fmt: skip
        else:
            table = rate_table(counts, ())
        rows.append(long_rates(table, "period", [label]))
    return pd.concat(rows, ignore_index=True)


def affected(cube: Cube, periods: dict[str, list[str]]) -> pd.DataFrame:
    """Share of treatments with at least one event, per period, Clopper-Pearson 95%."""
    rows = []
    for label, months in periods.items():
        counts = total(cube, cube.monthly, (), months=months)
        if counts.empty:
            continue
        k, n = int(counts["treatments_affected"].iloc[0]), int(counts["treatments"].iloc[0])
        cp = clopper_pearson(k, n)
        rows.append(
            {"dimension": "period", "level": label, "treatments": n, "events": k,
             "measure": "% of treatments with at least one event", "value": 100 * cp.proportion,
             "ci_low": 100 * cp.low, "ci_high": 100 * cp.high,
             "method": "exact binomial (Clopper-Pearson)", "suppressed": False}
        )  # fmt: skip
    return pd.DataFrame(rows)


def breakdown(cube: Cube, dim: str, months: list[str]) -> pd.DataFrame:
    """The quarter's rates by one dimension (event kinds from the kinds cube)."""
    if dim in ("category", "severity"):
        counts = total(cube, cube.kinds, (dim,), months=months)
    else:
        counts = total(cube, cube.quarter, (dim,))
    return long_rates(rate_table(counts, (dim,)), dim)


def ratios(cube: Cube) -> pd.DataFrame:
    """Crude and body-region-adjusted rate ratios per factor, as ``needlewatch compare``."""
    frames = []
    for factor, reference in RATIO_FACTORS:
        counts = total(cube, cube.quarter, (factor, "body_region"))
        if reference not in set(counts[factor]):
            reference = None  # e.g. a clinic that never guides by ultrasound
        table = compare_levels(
            counts[[factor, "body_region", "events", "treatments"]],
            factor,
            reference,
            "body_region",
        )
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
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def trend(cube: Cube) -> tuple[pd.DataFrame, UChart | None]:
    """Monthly rates over the window, with the u-chart's centre, 3-sigma limits and signal."""
    table = rate_table(total(cube, cube.monthly, ("month",)), ("month",))
    frame = long_rates(table, "month")
    if len(table) < 2 or table["events"].sum() == 0:
        return frame, None
    chart = u_chart(table["month"].tolist(), table["events"].tolist(), table["treatments"].tolist())
    frame["expected"] = chart.points["centre"].to_numpy()
    frame["limit_low"] = chart.points["lcl3"].to_numpy()
    frame["limit_high"] = chart.points["ucl3"].to_numpy()
    frame["signal"] = chart.points["signal"].tolist()
    return frame, chart


def signals(
    cube: Cube, quarter_months: list[str], names: dict[str, str] | None, values: bool
) -> list[str]:
    """A sentence for every u-chart signal touching the quarter: all events, each event
    category and, when ``names`` is given (clinic id -> name printed), each clinic.
    A series with under one event a month on average is too rare for a u-chart."""
    out: list[str] = []

    def add(frame: pd.DataFrame, what: str, unit: str) -> None:
        if len(frame) < 2 or frame["events"].sum() < len(frame):
            return
        chart = u_chart(
            frame["month"].tolist(), frame["events"].tolist(), frame["treatments"].tolist()
        )
        periods = chart.points["period"].tolist()
        for s in explain_signals(chart.signals, periods, what=what, unit=unit, values=values):
            covered = periods[periods.index(s.first) : periods.index(s.last) + 1]
            if set(quarter_months).intersection(covered):
                out.append(s.sentence)

    monthly = total(cube, cube.monthly, ("month",))
    add(monthly, "adverse events", "all")
    by_kind = cube.kinds.groupby(["category", "month"], sort=False)["events"].sum().reset_index()
    for category in cube.levels["category"]:
        events = by_kind[by_kind["category"] == category][["month", "events"]]
        series = monthly[["month", "treatments"]].merge(events, on="month", how="left")
        add(series.fillna({"events": 0}), f"{category.replace('_', ' ')} events", "all")
    if names is not None:
        by_clinic = total(cube, cube.monthly, ("clinic", "month"))
        for clinic, frame in by_clinic.groupby("clinic", sort=True):
            add(frame, "adverse events", names[str(clinic)])
    return out


def units(
    cube: Cube, unit: str, months: list[str], names: dict[str, str] | None
) -> tuple[pd.DataFrame, FunnelResult | None]:
    """Clinics (or the clinic's practitioners, by code) against the overall rate: funnel
    with exact Poisson 95% and 99.8% limits. ``names``: clinic id -> name printed."""
    if unit == "clinic":
        counts = total(cube, cube.monthly, ("clinic",), months=months)
        label = counts["clinic"].astype(str).map(names)
    else:
        counts = total(cube, cube.quarter, ("practitioner",))
        label = counts["practitioner"].astype(str).map(practitioner_code)
    if counts.empty or counts["events"].sum() == 0:
        return pd.DataFrame(), None
    result = funnel(label.tolist(), counts["events"].tolist(), counts["treatments"].tolist())
    u = result.units  # same rows, same order as counts
    rates = rate_table(counts, (unit,))  # the CLI's rate arithmetic, to the last bit
    frame = pd.DataFrame(
        {
            "dimension": unit,
            "level": u["unit"],
            "treatments": u["exposure"].round().astype("Int64"),
            "events": u["events"].astype("Int64"),
            "measure": RATE,
            "value": rates["rate_per_1000"].to_numpy(),
            "ci_low": rates["ci_low_per_1000"].to_numpy(),
            "ci_high": rates["ci_high_per_1000"].to_numpy(),
            "method": result.method,
            "expected": result.target,
            "limit_low": u["lo998"],
            "limit_high": u["hi998"],
            "signal": u["outside"].replace("", "within 95% limits"),
            "suppressed": False,
        }
    ).sort_values("level", ignore_index=True)
    return frame, replace(result, units=u)
