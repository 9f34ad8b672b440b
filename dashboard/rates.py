"""Incidence tables: grouped counts from dashboard.queries plus exact Poisson intervals."""

from __future__ import annotations

import duckdb
import pandas as pd

from .filters import Filters
from .queries import rate_counts
from .stats import poisson_rate

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
    filters = filters or Filters()
    counts = rate_counts(con, dims, filters, per)
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
