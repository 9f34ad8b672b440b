"""Adjusted comparisons and the rate model, from grouped counts in the database.

The statistics live in ``dashboard.stats`` (pure functions on counts); this module only
fetches the counts they need through ``dashboard.counts.rate_counts`` and hands them
over, so the CLI, the dashboard and the reports all compute the same numbers:

    rate_counts(factor[, stratum]) -> compare_levels  -> crude and Mantel-Haenszel ratios
    rate_counts(factors + practitioner) -> fit_rate_model -> incidence rate ratios
    rate_counts(dims + practitioner) -> rate_spread   -> pooled vs per-practitioner rates
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from ingest.errors import NeedleWatchError

from .counts import rate_counts
from .filters import ADJUSTERS, COMPARE_FACTORS, MODEL_FACTORS, MODEL_METHODS, Filters
from .stats.compare import compare_levels
from .stats.spread import rate_spread

if TYPE_CHECKING:
    from .stats.regression import RateModel

COMPARE_COLUMNS = (
    "analysis", "level", "reference", "events", "treatments", "rate_ratio", "ci_low",
    "ci_high", "method", "p_value", "ref_events", "ref_treatments", "strata_used",
    "strata_dropped", "homogeneity_p", "note",
)  # fmt: skip
SPREAD_COLUMNS = (
    "treatments", "events", "pooled_per_1000", "practitioners",
    "practitioner_mean_per_1000", "practitioner_median_per_1000", "practitioner_q1_per_1000",
    "practitioner_q3_per_1000", "practitioner_min_per_1000", "practitioner_max_per_1000",
)  # fmt: skip


class NoDataError(NeedleWatchError):
    """No treatments match the filters: nothing to compare or model."""


def _counts(
    con: duckdb.DuckDBPyConnection, dims: tuple[str, ...], filters: Filters
) -> pd.DataFrame:
    counts = rate_counts(con, dims, filters)
    if counts.empty:
        raise NoDataError(
            "no treatments match these filters; widen the period or check the clinic ids "
            "(needlewatch rates --by clinic lists them)"
        )
    return counts


def compare_table(
    con: duckdb.DuckDBPyConnection,
    factor: str,
    filters: Filters,
    adjust: str | None = None,
    reference: str | None = None,
) -> pd.DataFrame:
    """Rate ratio of each level of ``factor`` against ``reference``: crude, then adjusted.

    Crude rows use the exact conditional interval (R ``poisson.test``); with ``adjust``
    each is followed by a Mantel-Haenszel row stratified by that dimension. The reference
    defaults to the level with the most treatments. Columns: COMPARE_COLUMNS.
    """
    if factor not in COMPARE_FACTORS:
        raise ValueError(f"unknown factor {factor!r}; use one of {', '.join(COMPARE_FACTORS)}")
    if adjust is not None and (adjust not in ADJUSTERS or adjust == factor):
        choices = ", ".join(a for a in ADJUSTERS if a != factor)
        raise ValueError(f"cannot adjust {factor} for {adjust!r}; use one of {choices}")
    dims = (factor,) if adjust is None else (factor, adjust)
    counts = _counts(con, dims, filters)
    levels = list(dict.fromkeys(counts[factor]))
    if reference is not None and reference not in levels:
        raise ValueError(
            f"reference level {reference!r} is not a level of {factor} here; "
            f"use one of {', '.join(map(str, levels))}"
        )
    table = compare_levels(counts[[*dims, "events", "treatments"]], factor, reference, adjust)
    return table[list(COMPARE_COLUMNS)]


def rate_model(con: duckdb.DuckDBPyConnection, filters: Filters, method: str = "auto") -> RateModel:
    """Poisson regression of events on MODEL_FACTORS with a log(treatments) offset.

    Cells are practitioner x factor levels so that, if counts are overdispersed,
    standard errors can be clustered by practitioner (``method='auto'``).
    """
    from .stats.regression import fit_rate_model  # statsmodels: ~2 s to import, only here

    if method not in MODEL_METHODS:
        raise ValueError(f"unknown method {method!r}; use one of {', '.join(MODEL_METHODS)}")
    cells = _counts(con, (*MODEL_FACTORS, "practitioner"), filters)
    if cells["events"].sum() == 0:
        raise NoDataError("no events match these filters: there is nothing to model")
    return fit_rate_model(cells, MODEL_FACTORS, cluster="practitioner", method=method)


def spread_table(
    con: duckdb.DuckDBPyConnection, dims: tuple[str, ...], filters: Filters
) -> pd.DataFrame:
    """Pooled rate next to the spread of per-practitioner rates, per group of ``dims``.

    Surveys often print the mean of per-practitioner rates; it weights a practitioner
    with 20 treatments like one with 2,000 and so differs from the pooled rate (events /
    treatments). Both are shown, labelled, per 1,000 treatments.
    """
    if "practitioner" in dims:
        raise ValueError("--spread already splits by practitioner; drop it from --by")
    counts = _counts(con, (*dims, "practitioner"), filters)
    groups = counts.groupby(list(dims), sort=False) if dims else [((), counts)]
    rows = []
    for key, group in groups:
        spread = rate_spread(group["events"].tolist(), group["treatments"].tolist())
        key = key if isinstance(key, tuple) else (key,)
        rows.append(
            (
                *key,
                int(group["treatments"].sum()),
                int(group["events"].sum()),
                spread.pooled_rate,
                spread.units,
                spread.mean_of_unit_rates,
                spread.median,
                spread.q1,
                spread.q3,
                spread.min,
                spread.max,
            )
        )
    return pd.DataFrame(rows, columns=[*dims, *SPREAD_COLUMNS])
