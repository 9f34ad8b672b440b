"""Which member clinic sent which quarter, and whether its counts look complete.

The body's first question each quarter is not "which clinic is unsafe" but "whose
numbers are in, and can they be read": PCORnet and OHDSI compare each refresh with the
site's earlier ones before they use it. From the versions received and the register:

    versions (clinic, quarter, version, received_at, treatments, ...) + members + today
        --> grid: one row per member clinic and quarter, from the quarter it joined (the
            register's joined_on) or, not recorded, its first quarter received (the
            network's, for a clinic that never sent one) to the last ended:
            clinic_id, name, quarter, status (on time, late, missing, due), version,
            first_received, last_received, treatments, events, usual_treatments, check

A quarter is due ``settings.SUBMISSION_DUE_DAYS`` after it ends; "on time" and "late"
read the first version's arrival. ``usual_treatments`` is the median of the clinic's
previous four received quarters (two at least); a quarter below
``settings.SUBMISSION_DROP_SHARE`` of it is flagged for checking when chance alone would
rarely fall that short: P(X <= treatments) < ``SUBMISSION_DROP_P`` for X ~ Poisson(usual),
so a small clinic's ordinary quarter-to-quarter noise (17 treatments against a usual 32:
P = 0.003) is not flagged, and a missing month at a busy one (68 against 126) is.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from dashboard.stats.distributions import poisson_cdf
from dashboard.store.filters import parse_quarter, quarter_of, quarters_between, shift_quarter
from needlewatch import settings

#: How improbable a shortfall must be, under Poisson(usual), to be flagged.
SUBMISSION_DROP_P = 0.001

STATUSES = ("on time", "late", "missing", "due")
GRID_COLUMNS = [
    "clinic_id", "name", "quarter", "status", "version", "first_received", "last_received",
    "treatments", "events", "serious_events", "usual_treatments", "check",
]  # fmt: skip


@dataclass(frozen=True)
class Received:
    """The grid of member clinics by quarter, every version received, per quarter the
    number of clinics in each status (columns ``STATUSES``), and the serious events the
    counted versions list (by month: a submission gives no day)."""

    grid: pd.DataFrame
    versions: pd.DataFrame
    by_quarter: pd.DataFrame
    serious: pd.DataFrame = field(default_factory=pd.DataFrame)


def due_date(quarter: str, due_days: int = settings.SUBMISSION_DUE_DAYS) -> date:
    """The day a quarter's submission is due: '2026Q2' -> 2026-06-30 + 30 days = 2026-07-30."""
    return parse_quarter(quarter)[1] + timedelta(days=due_days)


def received_status(
    versions: pd.DataFrame,
    members: pd.DataFrame,
    today: date,
    *,
    due_days: int = settings.SUBMISSION_DUE_DAYS,
    drop_share: float = settings.SUBMISSION_DROP_SHARE,
) -> Received:
    """The submissions grid (see the module docstring) from ``store.received``'s frames."""
    if versions.empty:
        empty = pd.DataFrame(columns=GRID_COLUMNS)
        return Received(empty, versions, pd.DataFrame(columns=["quarter", *STATUSES]))
    last_ended = shift_quarter(quarter_of(today), -1)
    network_first = min(versions["quarter"])
    quarters = quarters_between(network_first, last_ended)
    due = {q: due_date(q, due_days) for q in quarters}
    # every member x quarter, from the quarter it joined (the register's joined_on), else
    # from its first quarter received, else the network's
    grid = members[["clinic_id", "name"]].merge(pd.DataFrame({"quarter": quarters}), how="cross")
    first_of = versions.groupby("clinic_id")["quarter"].min()
    start = grid["clinic_id"].map(first_of).fillna(network_first)
    if "joined_on" in members:
        joined = {
            c: quarter_of(pd.Timestamp(d).date())
            for c, d in zip(members["clinic_id"], members["joined_on"], strict=True)
            if pd.notna(d)
        }
        if joined:
            start = (
                grid["clinic_id"]
                .map(joined)
                .astype(object)
                .where(grid["clinic_id"].isin(list(joined)), start)
            )
    grid = grid[grid["quarter"] >= start].reset_index(drop=True)
    arrivals = versions.groupby(["clinic_id", "quarter"], as_index=False).agg(
        first_received=("received_at", "min"), last_received=("received_at", "max")
    )
    current = versions.loc[
        versions["current"],
        ["clinic_id", "quarter", "version", "treatments", "events", "serious_events"],
    ]
    grid = grid.merge(current, how="left", on=["clinic_id", "quarter"]).merge(
        arrivals, how="left", on=["clinic_id", "quarter"]
    )
    got = grid["version"].notna()
    due_day = pd.to_datetime(grid["quarter"].map(due))
    late = pd.to_datetime(grid["first_received"]).dt.normalize() > due_day
    overdue = pd.Timestamp(today) > due_day
    grid["status"] = [
        ("late" if lt else "on time") if g else ("missing" if od else "due")
        for g, lt, od in zip(got, late, overdue, strict=True)
    ]
    # usual: the median of the clinic's previous four quarters received (two at least)
    sent = grid[got].sort_values(["clinic_id", "quarter"])
    by_clinic = sent.groupby("clinic_id")["treatments"]
    before = np.column_stack(
        [by_clinic.shift(k).to_numpy(dtype=float, na_value=np.nan) for k in range(1, 5)]
    )  # the four quarters received before, NaN where the clinic had fewer
    enough = (~np.isnan(before)).sum(axis=1) >= 2
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: not enough anyway
        median = np.nanmedian(before, axis=1)
    usual = pd.Series(np.where(enough, median, np.nan), index=sent.index)
    grid["usual_treatments"] = usual.reindex(grid.index)
    grid["check"] = [
        _check(int(t), None if pd.isna(u) else float(u), drop_share) if g else None
        for g, t, u in zip(got, grid["treatments"].fillna(0), grid["usual_treatments"],
                           strict=True)
    ]  # fmt: skip
    grid = grid[GRID_COLUMNS].sort_values(["clinic_id", "quarter"]).reset_index(drop=True)
    for column in ("version", "treatments", "events", "serious_events"):
        grid[column] = grid[column].astype("Int64")
    counts = pd.crosstab(grid["quarter"], pd.Categorical(grid["status"], categories=STATUSES))
    by_quarter = counts.reindex(columns=list(STATUSES), fill_value=0).reset_index()
    by_quarter.columns = ["quarter", *STATUSES]
    return Received(grid, versions, by_quarter)


def _check(treatments: int, usual: float | None, drop_share: float) -> str | None:
    """A note when a quarter's treatments fall below ``drop_share`` of the clinic's usual,
    further than chance would (module docstring)."""
    if usual is None or usual <= 0 or treatments >= drop_share * usual:
        return None
    if float(poisson_cdf(treatments, usual)) >= SUBMISSION_DROP_P:
        return None
    return (
        f"treatments {treatments:,} against a usual {usual:,.0f} a quarter "
        f"({treatments / usual - 1:.0%}): check the export before reading its rates"
    )
