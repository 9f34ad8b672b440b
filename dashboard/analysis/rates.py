"""Incidence tables: grouped counts from dashboard.store.counts plus exact Poisson intervals."""

from __future__ import annotations

import duckdb
import pandas as pd

from dashboard.stats import poisson_rate
from dashboard.stats.proportions import clopper_pearson, wilson
from dashboard.store.counts import rate_counts
from dashboard.store.filters import Filters

NO_EXPOSURE = "no needle insertions recorded: rate undefined"
RATE_COLUMNS = (
    "treatments",
    "events",
    "treatments_affected",
    "rate_per_1000",
    "ci_low_per_1000",
    "ci_high_per_1000",
    "ci_method",
)


def incidence_table(
    con: duckdb.DuckDBPyConnection,
    dims: tuple[str, ...] = (),
    filters: Filters | None = None,
    per: str = "treatments",
) -> pd.DataFrame:
    """Events per 1,000 treatments (or insertions) by ``dims``, with exact 95% intervals.

    Columns: the dims, treatments, [insertions,] events, treatments_affected,
    rate_per_1000, ci_low_per_1000, ci_high_per_1000, ci_method. A group whose
    exposure is zero (possible only per insertions) gets empty rate columns and a
    ci_method that says why, never NaN presented as a number.
    """
    return rate_table(rate_counts(con, dims, filters or Filters(), per), dims, per)


def rate_table(
    counts: pd.DataFrame, dims: tuple[str, ...], per: str = "treatments"
) -> pd.DataFrame:
    """The rate columns of ``incidence_table`` from a counts table (pure: no database).

    ``counts`` has the dims, treatments, [insertions,] events and treatments_affected,
    as ``rate_counts`` returns them or as sums of them (reports add up finer counts).
    """
    exposure_col = "insertions" if per == "insertions" else "treatments"
    estimates = [
        poisson_rate(int(ev), float(n)) if n > 0 else None
        for ev, n in zip(counts["events"], counts[exposure_col], strict=True)
    ]
    table = counts.copy()
    table["rate_per_1000"] = [e.rate if e else None for e in estimates]
    table["ci_low_per_1000"] = [e.low if e else None for e in estimates]
    table["ci_high_per_1000"] = [e.high if e else None for e in estimates]
    table["ci_method"] = [e.method if e else NO_EXPOSURE for e in estimates]
    columns = list(dims) + ["treatments"]
    if per == "insertions":
        columns.append("insertions")
    return table[columns + list(RATE_COLUMNS[1:])]


AFFECTED_COLUMNS = (
    "treatments",
    "treatments_affected",
    "affected_percent",
    "cp_low_percent",
    "cp_high_percent",
    "wilson_low_percent",
    "wilson_high_percent",
)


def affected_table(
    con: duckdb.DuckDBPyConnection, dims: tuple[str, ...] = (), filters: Filters | None = None
) -> pd.DataFrame:
    """Share of treatments with at least one (matching) adverse event, per cent, by ``dims``.

    A proportion of treatments, not a rate: a treatment with three events counts once.
    Two 95% intervals: exact binomial (Clopper-Pearson) and Wilson score. Event
    dimensions (category, severity) make it "share with at least one event of that kind".
    """
    return affected_rates(rate_counts(con, dims, filters or Filters()), dims)


def affected_rates(counts: pd.DataFrame, dims: tuple[str, ...] = ()) -> pd.DataFrame:
    """The columns of ``affected_table`` from a counts table (pure: no database)."""
    cp = [
        clopper_pearson(int(k), int(n))
        for k, n in zip(counts["treatments_affected"], counts["treatments"], strict=True)
    ]
    ws = [
        wilson(int(k), int(n))
        for k, n in zip(counts["treatments_affected"], counts["treatments"], strict=True)
    ]
    table = counts[[*dims, "treatments", "treatments_affected"]].copy()
    table["affected_percent"] = [100 * e.proportion for e in cp]
    table["cp_low_percent"] = [100 * e.low for e in cp]
    table["cp_high_percent"] = [100 * e.high for e in cp]
    table["wilson_low_percent"] = [100 * e.low for e in ws]
    table["wilson_high_percent"] = [100 * e.high for e in ws]
    return table[[*dims, *AFFECTED_COLUMNS]]
