"""One data function per dashboard page: a connection and filters in, a frozen bundle out.

Pages never run SQL or statistics; they call exactly one of these and draw the result.
Every number comes from the same functions as the command line (rates, compare, model,
signals), so the dashboard and ``needlewatch rates`` agree to the digit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from dashboard.analysis.comparisons import compare_tables, factor_analyses_on
from dashboard.analysis.explain import SignalStatement, events_noun
from dashboard.analysis.methods import DEFAULT, Methods
from dashboard.analysis.rates import affected_rates, incidence_table, rate_table
from dashboard.analysis.signals import (
    ChartedSeries,
    funnel_chart,
    g_chart_of,
    spc_summary,
    trend_signals,
    unit_labels,
)
from dashboard.analysis.statements import (
    Counts,
    Statement,
    change_statement,
    factor_statement,
    serious_statements,
    trend_statement,
)
from dashboard.stats.funnel import FunnelResult
from dashboard.stats.gchart import GChart
from dashboard.store.counts import rate_counts, summed_counts
from dashboard.store.filters import (
    MODEL_FACTORS,
    Filters,
    parse_quarter,
    quarter_of,
    shift_quarter,
)
from dashboard.store.listing import serious_event_positions
from dashboard.store.queries import Options, data_coverage, filter_options

if TYPE_CHECKING:
    from dashboard.analysis.submissions import Received
    from dashboard.stats.regression import (
        RateModel,
    )


@dataclass(frozen=True)
class Headline:
    """The Overview's figures for one period (None when no treatments match)."""

    treatments: int
    events: int
    rate: float | None
    low: float | None
    high: float | None
    affected_percent: float | None
    serious: int


@dataclass(frozen=True)
class Overview:
    current: Headline
    previous: Headline | None
    previous_label: str
    trend: pd.DataFrame
    statements: tuple[Statement, ...] = ()
    chart: ChartedSeries | None = None  # the u-chart of all events over the trend window
    change_tone: str = "neutral"  # whether the rate's change is beyond chance, and which way


def serious_count(con: duckdb.DuckDBPyConnection, filters: Filters) -> int:
    """Serious events for ``filters`` (their category, if any), from the counts store: rows
    and clinics' submissions alike."""
    counts = rate_counts(con, (), replace(filters, severity="serious"))
    return 0 if counts.empty else int(counts["events"].iloc[0])


def _headline(con: duckdb.DuckDBPyConnection, filters: Filters) -> Headline:
    counts = rate_counts(con, (), filters)  # one count for the rate and the share affected
    if counts.empty:
        return Headline(0, 0, None, None, None, None, 0)
    row = rate_table(counts, ()).iloc[0]
    affected = affected_rates(counts).iloc[0]
    return Headline(
        treatments=int(row["treatments"]),
        events=int(row["events"]),
        rate=float(row["rate_per_1000"]),
        low=float(row["ci_low_per_1000"]),
        high=float(row["ci_high_per_1000"]),
        affected_percent=float(affected["affected_percent"]),
        serious=serious_count(con, filters),
    )


#: The factors the Overview and the training page compare, adjusted for body region.
FACTORS = ("ultrasound", "training_band", "experience_band")


def previous_period(date_from: date, date_to: date) -> tuple[date, date, str]:
    """The period to compare with: the previous calendar quarter when the period is one
    quarter (2025Q2 -> 2025Q1), else the same number of days just before it."""
    if (date_from, date_to) == parse_quarter(quarter_of(date_from)):
        before = shift_quarter(quarter_of(date_from), -1)
        return (*parse_quarter(before), before)
    length = (date_to - date_from).days + 1
    begin, end = date_from - timedelta(days=length), date_from - timedelta(days=1)
    return begin, end, f"{begin:%d %b %Y} to {end:%d %b %Y}"


def overview(
    con: duckdb.DuckDBPyConnection, filters: Filters, methods: Methods = DEFAULT
) -> Overview:
    """The answer first (``dashboard.analysis.statements``), then the period's headline figures
    against the period before it, and the u-chart of its trend window."""
    previous, label = None, "no earlier period to compare (choose a period)"
    current = _headline(con, filters)
    rest, rest_label = None, ""
    if filters.date_from and filters.date_to:
        begin, end, label = previous_period(filters.date_from, filters.date_to)
        previous = _headline(con, replace(filters, date_from=begin, date_to=end))
        quarter = quarter_of(filters.date_from)
        if (filters.date_from, filters.date_to) == parse_quarter(quarter):
            first = parse_quarter(shift_quarter(quarter, -3))[0]
            rest = rate_counts(con, (), replace(filters, date_from=first, date_to=end))
            rest_label = f"{shift_quarter(quarter, -3)} to {shift_quarter(quarter, -1)}"
    what = events_noun(filters.category, filters.severity)
    period = _period_name(filters, data_coverage(con))
    said = []
    if current.treatments:
        change = change_statement(
            what,
            Counts(period, current.events, current.treatments),
            Counts(label, previous.events, previous.treatments) if previous else None,
            Counts(rest_label, int(rest["events"].sum()), int(rest["treatments"].sum()))
            if rest is not None
            else None,
        )
        said.append(change)
    charted = trend_signals(con, filters, "month", "clinic", methods)
    touching = [st for c in charted for st in c.statements]
    each_unit = sum(c.series.kind == "all" for c in charted) > 1  # clinics charted one by one
    said.append(
        trend_statement(touching, period, any(c.chart is not None for c in charted), each_unit)
    )
    if current.treatments:
        listing = serious_events(con, replace(filters, category=None, severity=None))
        every = replace(filters, category=None)  # the listing's scope: every category
        counted = current.serious if filters.category is None else serious_count(con, every)
        said.extend(serious_statements(listing, {}, period, counted))
        tables = compare_tables(con, FACTORS, filters, "body_region", methods)
        for factor, table in tables.items():
            if isinstance(table, Exception):
                continue
            if (made := factor_statement(factor, table)) is not None:
                said.append(made)
    overall = charted[0] if charted and charted[0].chart is not None else None
    return Overview(
        current,
        previous,
        label,
        incidence_table(con, ("month",), filters),
        tuple(said),
        overall if overall is not None and overall.series.category is None else None,
        said[0].tone if said and said[0].key == "change" else "neutral",
    )


def _period_name(filters: Filters, coverage: tuple[date | None, date | None]) -> str:
    """'2025Q2', '01 Mar 2025 to 31 May 2025', or the data's span: 'Oct 2023 to Sep 2026'."""
    if filters.date_from and filters.date_to:
        quarter = quarter_of(filters.date_from)
        if (filters.date_from, filters.date_to) == parse_quarter(quarter):
            return quarter
        return f"{filters.date_from:%d %b %Y} to {filters.date_to:%d %b %Y}"
    first = filters.date_from or coverage[0]
    last = filters.date_to or coverage[1]
    if first is None or last is None:
        return "all dates"
    return f"{first:%b %Y} to {last:%b %Y}"


@dataclass(frozen=True)
class Incidence:
    by_category: pd.DataFrame
    by_severity: pd.DataFrame


def incidence(con: duckdb.DuckDBPyConnection, filters: Filters, per: str) -> Incidence:
    return Incidence(
        incidence_table(con, ("category",), filters, per),
        incidence_table(con, ("severity",), filters, per),
    )


#: Why the forest plots and the regression table need not agree, said wherever both show.
WHY_RATIOS_DIFFER = (
    "The forest plots compare each level with its reference adjusting for body region only; "
    "the regression adjusts training, experience, ultrasound and body region for each "
    "other, so its ratios can differ. Both use practitioner-clustered intervals when "
    "practitioners differ more than chance (overdispersion), so neither is narrower for "
    "ignoring it."
)


@dataclass(frozen=True)
class TrainingUltrasound:
    by_training: pd.DataFrame
    by_experience: pd.DataFrame
    by_ultrasound: pd.DataFrame
    by_region_ultrasound: pd.DataFrame
    ultrasound_ratios: pd.DataFrame
    training_ratios: pd.DataFrame
    experience_ratios: pd.DataFrame
    model: RateModel | None
    model_note: str
    why_they_differ: str = WHY_RATIOS_DIFFER
    #: The ratios in words (``statements.factor_statement``), as on the Overview and page 1
    #: of the report: ultrasound, training, experience, adjusted for body region first.
    statements: tuple[Statement, ...] = ()


def training_ultrasound(
    con: duckdb.DuckDBPyConnection, filters: Filters, methods: Methods = DEFAULT
) -> TrainingUltrasound:
    """Rates by training, experience, ultrasound and region; crude and region-adjusted rate
    ratios against the configured references; the Poisson regression (log-treatments
    offset) with mutually adjusted rate ratios."""
    model, note = None, ""
    # one count for the model, the comparisons and the four rate tables
    wide = rate_counts(con, (*MODEL_FACTORS, "practitioner"), filters)
    fitted, ratios = factor_analyses_on(wide, FACTORS, filters, "body_region", methods)
    if isinstance(fitted, Exception):  # no events; a singular design in one clinic
        note = f"No regression for this view: {fitted}"
    else:
        model = fitted
    for table in ratios.values():
        if isinstance(table, Exception):
            raise table
    said = [factor_statement(factor, table) for factor, table in ratios.items()]
    tables = [
        rate_table(summed_counts(wide, dims, filters), dims)
        for dims in (("training_band",), ("experience_band",), ("ultrasound",),
                     ("body_region", "ultrasound"))
    ]  # fmt: skip
    return TrainingUltrasound(
        *tables,
        ratios["ultrasound"],
        ratios["training_band"],
        ratios["experience_band"],
        model,
        note,
        statements=tuple(s for s in said if s is not None),
    )


@dataclass(frozen=True)
class Trends:
    """The overall u-chart and its signals in words, every category's and clinic's
    signals, the g-chart. Signals are those that touch the chosen period."""

    charts: list[ChartedSeries]
    statements: list[SignalStatement]
    category_statements: list[SignalStatement]
    clinic_statements: list[SignalStatement]
    gchart: GChart | None
    note: str = ""  # why there is no overall chart, when there is none
    severity_statements: tuple[SignalStatement, ...] = ()
    summary: pd.DataFrame | None = None  # the SPC summary table: a row per category, tier
    unplaced: int = 0  # serious events of submissions: by month, so not on the g-chart


def trends(
    con: duckdb.DuckDBPyConnection, filters: Filters, by: str, methods: Methods = DEFAULT
) -> Trends:
    """u-charts over the period's trend window (``signals.trend_signals``, the same as
    ``needlewatch signals`` and the reports), explained; g-chart of serious events."""
    every = trend_signals(con, filters, by, "clinic", methods)
    serious = replace(filters, category=None, severity=None)
    positions = serious_event_positions(con, serious, "serious")  # rows: each has its day
    gchart = g_chart_of(positions)
    first = every[:1]
    overall = [c for c in first if c.chart is not None]
    kinds = {
        k: [c for c in every[1:] if c.series.kind == k] for k in ("category", "severity", "all")
    }
    return Trends(
        overall,
        [s for c in overall for s in c.statements],
        [s for c in kinds["category"] for s in c.statements],
        [s for c in kinds["all"] for s in c.statements],
        gchart,
        note=first[0].reason if first else "",
        severity_statements=tuple(s for c in kinds["severity"] for s in c.statements),
        summary=spc_summary(every),
        unplaced=max(0, serious_count(con, serious) - int(positions["events"].sum())),
    )


def clinics(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    units: str,
    within: str | None = None,
    methods: Methods = DEFAULT,
) -> FunnelResult | None:
    """Funnel of clinics, or of practitioners by keyed code (all, or only those of clinic
    ``within``), limits as the methods say (``signals.funnel_chart``)."""
    if within is not None:
        filters = replace(filters, clinics=(within,))
    return funnel_chart(con, filters, units, methods)


SERIOUS_COLUMNS = (
    "event_date", "clinic", "practitioner", "training_band", "body_region", "ultrasound",
    "technique", "category", "severity", "event_type", "outcome", "narrative",
)  # fmt: skip


def serious_events(
    con: duckdb.DuckDBPyConnection, filters: Filters, reveal_ids: bool = False
) -> pd.DataFrame:
    """Line listing of significant and serious events with their treatment context.

    Practitioners appear by their keyed code (``dashboard.analysis.pseudonyms``: the code the funnels,
    reports and downloads use), or by id when the viewer asked (``reveal_ids``).
    """
    from dashboard.store.listing import serious_listing

    listing = serious_listing(con, filters)
    names = unit_labels(con, "practitioner", reveal_ids)
    listing["practitioner"] = listing["practitioner_id"].map(names)
    return listing[list(SERIOUS_COLUMNS)]


@dataclass(frozen=True)
class SeriousPage:
    """The Serious events page: the listing of rows, and how many serious events in the
    same view came from clinics' submissions (counted, by month, not listed here)."""

    listing: pd.DataFrame
    submitted: int


def serious_page(
    con: duckdb.DuckDBPyConnection, filters: Filters, reveal_ids: bool = False
) -> SeriousPage:
    """``serious_events``, and the serious events the counts store holds beyond it."""
    listing = serious_events(con, filters, reveal_ids)
    if filters.severity not in (None, "serious"):
        return SeriousPage(listing, 0)
    listed = int((listing["severity"] == "serious").sum())
    return SeriousPage(listing, max(0, serious_count(con, filters) - listed))


@dataclass(frozen=True)
class Quality:
    runs: pd.DataFrame
    rejects: pd.DataFrame
    unmapped: pd.DataFrame
    missing: pd.DataFrame


def quality(con: duckdb.DuckDBPyConnection) -> Quality:
    from dashboard.store.quality import ingest_runs, missing_rates, reject_rows, term_counts

    return Quality(ingest_runs(con), reject_rows(con), term_counts(con), missing_rates(con))


def submissions(con: duckdb.DuckDBPyConnection) -> Received:
    """The Submissions page: member clinics by quarter, on time, late or missing, with
    every version received (``submissions.received_status``)."""
    from dashboard.analysis.submissions import received_status
    from dashboard.store.received import members, serious_submitted, versions

    status = received_status(versions(con), members(con), today())
    return replace(status, serious=serious_submitted(con))


def today() -> date:
    return date.today()


def options(con: duckdb.DuckDBPyConnection) -> Options:
    """What the sidebar can offer (``queries.Options``)."""
    return filter_options(con)
