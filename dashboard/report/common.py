"""What the quarterly report's editions share: the breakdowns, the no-treatments error,
the data's date and page 1's notices (``content`` builds the clinic and public editions,
``feedback`` the feedback edition)."""

from __future__ import annotations

import duckdb
import pandas as pd

from dashboard.store.cube import Cube
from dashboard.store.quality import ingest_runs

from . import tables
from .cells import Period, headline_periods
from .model import ReportRequest, Section

BREAKDOWNS = (
    ("category", "Incidence by event category"),
    ("severity", "Incidence by severity tier"),
    ("training_band", "Incidence by practitioner training hours"),
    ("experience_band", "Incidence by practitioner years of dry-needling experience"),
    ("ultrasound", "Incidence by ultrasound guidance"),
)


class NoTreatmentsError(ValueError):
    """The quarter (and clinic) holds no treatments: there is nothing to report."""


def data_as_of(con: duckdb.DuckDBPyConnection) -> str:
    """When the last ingest finished (UTC), for the report's cover."""
    runs = ingest_runs(con)
    if runs.empty:
        return "no ingest recorded"
    return pd.Timestamp(runs["finished_at"].max()).strftime("%Y-%m-%d %H:%M UTC")


def notices(
    request: ReportRequest, coverage, clinics: list[str], units: pd.DataFrame
) -> tuple[str, ...]:
    """Page-1 notices: an incomplete quarter, clinics with no treatments this quarter."""
    out = []
    first, last = coverage
    start, end = request.period
    if last is not None and last < end:
        out.append(
            f"{request.quarter} is incomplete: the data end on {last:%d %b %Y}, before the "
            "quarter does. Its figures will change as the rest of the quarter is loaded, and "
            "its part-filled month is not used for the u-chart's limits."
        )
    if first is not None and first > start:
        out.append(f"The data start on {first:%d %b %Y}, after {request.quarter} begins.")
    if len(units) and "signal" in units:
        idle = units.loc[units["signal"] == tables.IDLE, "level"].tolist()
        if idle:
            out.append(
                f"No treatments this quarter at {len(idle)} clinic(s): {', '.join(map(str, idle))}"
                " (closed, joined later, or not loaded yet)."
            )
    return tuple(out)


def opening_sections(cube: Cube, scope: str, quarter: Period) -> list[Section]:
    """The headline (all events, serious events, share affected over the quarter, the one
    before and the four to date) and the quarter's breakdowns: every edition's first
    tables."""
    periods = headline_periods(quarter.key)
    sections = [
        Section("headline", "Headline: all adverse events",
                tables.headline(cube, scope, periods, None)),
        Section("serious", "Headline: serious events",
                tables.headline(cube, scope, periods, "serious")),
        Section("affected", "Share of treatments with at least one event",
                tables.affected(cube, scope, periods)),
    ]  # fmt: skip
    for dim, title in BREAKDOWNS:
        sections.append(Section(dim, title, tables.breakdown(cube, scope, dim, quarter)))
    return sections
