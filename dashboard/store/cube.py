"""A report's counts in three grouped queries, added up in pandas for every table.

A report needs some thirty rate tables (three periods, five breakdowns, three strata
tables, monthly series per category and per clinic). Asking ``rate_counts`` for each
would scan the treatments-events join thirty times (about 40 s on 10 million treatments);
instead three queries fetch counts at the finest grain any table needs, and each table is
a sum over them. Sums of whole numbers are exact, so every rate equals what
``needlewatch rates`` prints for the same filters:

    monthly  (month, clinic, training_band, experience_band, ultrasound)
                                                  treatments, events, treatments_affected
    kinds    (month, clinic, category, severity)  events
    quarter  (quarter, practitioner, training_band, experience_band, body_region, ultrasound)
                                                  treatments, events, treatments_affected

all three over one span of dates: the report's trend window (24 months to the end of the
quarter) or, for a public edition, every quarter up to it (its suppression looks at the
public editions of the earlier quarters too).
      -> total(monthly, months=Q)                 == rate_counts((), quarter)
      -> total(kinds, ("category",), months=Q)    == rate_counts(("category",), quarter)
      -> total(quarter, ("training_band", "body_region")) == rate_counts(those, quarter)

treatments_affected adds up across these groups because a treatment belongs to exactly
one month, clinic and practitioner; it does not add up across categories, which is why
the event-kind cube carries events only.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import duckdb
import pandas as pd

import dashboard.store.frames  # noqa: F401  (text columns as Python strings)
from dashboard.store.counts import event_levels, rate_counts, sort_levels
from dashboard.store.filters import Filters

#: Bands and ultrasound ride along on the monthly scan (a practitioner and a treatment have
#: one of each), so every quarter's breakdowns come from it without a scan of their own.
MONTHLY = ("month", "clinic", "training_band", "experience_band", "ultrasound")
KINDS = ("month", "clinic", "category", "severity")
QUARTER = (
    "quarter", "practitioner", "training_band", "experience_band", "body_region", "ultrasound",
)  # fmt: skip
SUMMED = ("treatments", "insertions", "events", "treatments_affected")


@dataclass(frozen=True)
class Cube:
    """Counts of a report's window (monthly, kinds) and quarter, and the level orders."""

    monthly: pd.DataFrame
    kinds: pd.DataFrame
    quarter: pd.DataFrame
    filters: Filters
    levels: dict[str, list[str]]


def load_cube(
    con: duckdb.DuckDBPyConnection, span: Filters, quarters: Filters | None = None
) -> Cube:
    """Three grouped queries: over ``span`` by month and clinic (all events, then by
    category and severity), and over ``quarters`` (default ``span``) by quarter,
    practitioner and treatment attributes: the report's quarter alone when only its
    breakdowns and ratios need them (a quarter's scan, not the window's)."""
    levels = {d: event_levels(con, d, span) for d in ("category", "severity")}
    return Cube(
        monthly=rate_counts(con, MONTHLY, span),
        kinds=rate_counts(con, KINDS, span),
        quarter=rate_counts(con, QUARTER, quarters or span),
        filters=span,
        levels=levels,
    )


def total(
    cube: Cube,
    frame: pd.DataFrame,
    dims: tuple[str, ...] = (),
    *,
    months: Collection[str] | None = None,
    severity: str | None = None,
    quarter: str | None = None,
) -> pd.DataFrame:
    """``frame`` (a cube part) summed by ``dims``, over ``months`` (None: all), in the
    row order ``rate_counts`` would give; with ``severity`` only those events count; with
    ``quarter`` only that quarter's rows of the quarter cube.

    For the event-kind cube the denominator comes from the monthly cube, summed over the
    same months and clinics: the kinds cube repeats each month's treatments on every
    category-severity row.
    """
    part = frame if months is None else frame[frame["month"].isin(list(months))]
    if quarter is not None:
        part = part[part["quarter"] == quarter]
    if severity is not None:
        part = part[part["severity"] == severity]
    counted = [c for c in SUMMED if c in part.columns]
    if frame is cube.kinds or severity is not None:
        return _with_denominator(cube, part, dims, months)
    if not dims:
        sums = part[counted].sum().to_frame().T.astype("int64")
        return sums if len(part) else sums.iloc[0:0]
    sums = (
        part.groupby(list(dims), sort=False, observed=True, dropna=False)[counted]
        .sum()
        .reset_index()
    )
    return sort_levels(sums, dims, cube.filters, cube.levels)


def _with_denominator(
    cube: Cube, part: pd.DataFrame, dims: tuple[str, ...], months: Collection[str] | None
) -> pd.DataFrame:
    """Events of ``part`` by ``dims`` (event dims only), every level listed, and the
    treatments of the same months from the monthly cube."""
    base = total(cube, cube.monthly, (), months=months)
    if base.empty:
        return base
    if dims:
        events = part.groupby(list(dims), sort=False)["events"].sum()
        index = pd.MultiIndex.from_product([cube.levels[d] for d in dims], names=list(dims))
        events = events.reindex(index, fill_value=0).reset_index()
    else:
        events = pd.DataFrame({"events": [int(part["events"].sum())]})
    for column in ("treatments", "insertions"):
        events[column] = int(base[column].iloc[0])
    events["treatments_affected"] = 0  # not additive across event kinds: never shown
    return events[[*dims, "treatments", "insertions", "events", "treatments_affected"]]
