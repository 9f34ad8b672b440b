"""Build a quarterly report's content from the database.

Every number comes from grouped counts (``dashboard.store.cube``: three queries) and the
analysis behind the dashboard and the command line (``dashboard.report.tables``), so a
report and ``needlewatch rates`` / ``compare`` / ``signals`` agree to the digit and name
the same outliers and signals:

    headline   rates --quarter Q [--clinic C]            (and the previous quarter,
    serious    rates --quarter Q --severity serious       and the four quarters to Q)
    category   rates --by category --quarter Q
    ratios     compare --factor F --adjust body_region --quarter Q
    trend      rates --by month over the 24 months to Q  (+ u-chart, signals --quarter Q)
    units      rates --by clinic (or practitioner) --quarter Q  (+ funnel, signals)

The public edition differs in names (keyed clinic codes, no practitioners, no listing,
signal sentences without rates) and is then suppressed over its publication series by
``dashboard.report.public``.
"""

from __future__ import annotations

from dataclasses import replace

import duckdb
import pandas as pd

from dashboard.analysis.labels import heading, label
from dashboard.analysis.methods import Methods
from dashboard.analysis.pseudonyms import pseudonyms
from dashboard.analysis.signals import incomplete_flags, trend_window
from dashboard.analysis.views import SERIOUS_COLUMNS
from dashboard.store.cube import Cube, load_cube
from dashboard.store.filters import Filters, parse_quarter, shift_quarter
from dashboard.store.listing import serious_listing
from dashboard.store.quality import ingest_runs, missing_rates, term_counts
from dashboard.store.queries import data_coverage, database_secret, unit_ids

from . import tables
from .answer import with_answer
from .cells import (
    CubeIndex,
    Period,
    months_of_quarter,
    quarter_system,
    window_months,
)
from .common import NoTreatmentsError, data_as_of, notices, opening_sections
from .feedback import build_feedback
from .methods import methods_text
from .model import Report, ReportRequest, Section
from .public import decide, public_edition


def _quality(con, public: bool) -> pd.DataFrame:
    """Data quality of the whole database. The public edition leaves out the count of
    events with an unmapped term (an event count over every quarter, outside the report's
    disclosure control); the quarter's unmapped events are its category table's row."""
    runs, terms, missing = ingest_runs(con), term_counts(con), missing_rates(con)
    rows = [
        ("ingest runs", len(runs)),
        ("rows read", int(runs["rows_read"].sum()) if len(runs) else 0),
        ("rows rejected", int(runs["rows_rejected"].sum()) if len(runs) else 0),
        ("unmapped event terms", len(terms)),
    ]
    if not public:
        rows.append(
            ("events with an unmapped term", int(terms["events"].sum()) if len(terms) else 0)
        )
    frame = pd.DataFrame(
        [{"dimension": "data quality", "level": k, "measure": "count", "value": float(v),
          "events": pd.NA, "suppressed": False} for k, v in rows]
    )  # fmt: skip
    miss = pd.DataFrame(
        {
            "dimension": "missing field",
            "level": [
                f"{label('table', t)}: {heading(str(c)).lower()}"
                for t, c in zip(missing["table_name"], missing["column_name"], strict=True)
            ],
            "treatments": pd.NA,
            "measure": "% of rows blank",
            "value": missing["missing_percent"],
            "suppressed": False,
        }
    )
    return pd.concat([frame, miss], ignore_index=True)


def _quarters(first: str, last: str) -> list[str]:
    out, q = [], first
    while q <= last:
        out.append(q)
        q = shift_quarter(q, 1)
    return out


def _complete(months: list[str], coverage) -> set[str]:
    return {
        m
        for m, partial in zip(months, incomplete_flags(months, coverage), strict=True)
        if not partial
    }


def _series(
    cube: Cube, scope: str, quarter: str, coverage, clinics: list[str], methods: Methods
) -> list:
    """The cell systems of the public editions of every quarter with data up to ``quarter``."""
    months = sorted(cube.monthly["month"].astype(str).unique())
    if not months:
        return []
    first = f"{months[0][:4]}Q{(int(months[0][5:7]) - 1) // 3 + 1}"
    complete = _complete(months, coverage)
    index = CubeIndex.of(cube)
    return [
        quarter_system(index, scope, q, methods.trend_months, complete, clinics, methods)
        for q in _quarters(first, quarter)
    ]


def build_report(
    con: duckdb.DuckDBPyConnection, request: ReportRequest, *, suppressed: bool = True
) -> Report:
    """``request``'s report; raises NoTreatmentsError if the quarter has no treatments.

    The public edition has keyed clinic codes, rates-free signal sentences, no listing
    and no practitioners, and (unless ``suppressed=False``, for audits) its small counts
    suppressed over the publication series by ``dashboard.report.public``.
    """
    if request.edition == "feedback":
        return build_feedback(con, request)
    methods = request.methods
    start, end = request.period
    scope = request.clinic or "all"
    base = Filters(clinics=(request.clinic,) if request.clinic else ())
    current = replace(base, date_from=start, date_to=end)
    window = trend_window(current, methods)
    public = request.edition == "public"
    coverage = data_coverage(con)
    series = public and suppressed
    span = window
    if series and coverage[0] is not None and coverage[0] < window.date_from:
        span = replace(window, date_from=coverage[0])
    cube = load_cube(con, span, current)
    quarter = Period(request.quarter, request.quarter, months_of_quarter(request.quarter))
    if not cube.monthly["month"].isin(quarter.months).any():
        where = f" at clinic {request.clinic}" if request.clinic else ""
        raise NoTreatmentsError(
            f"no treatments in {request.quarter}{where}: check the quarter "
            "(needlewatch rates --by quarter lists them) and the clinic id"
        )
    every_clinic = unit_ids(con, "clinic")
    clinics = [request.clinic] if request.clinic else every_clinic
    secret = database_secret(con)
    names = pseudonyms(every_clinic, secret, "clinic") if public else {c: c for c in every_clinic}
    practitioners = unit_ids(con, "practitioner")
    codes = (
        {p: p for p in practitioners}
        if request.reveal_ids
        else pseudonyms(practitioners, secret, "practitioner")
    )
    sections = opening_sections(cube, scope, quarter)
    ratio_frame = tables.ratios(cube, scope, quarter, methods)
    if len(ratio_frame):
        sections.append(
            Section("ratios", "Rate ratios, crude and adjusted for body region", ratio_frame,
                    kind="ratios")
        )  # fmt: skip
    shown = [names[c] for c in clinics]
    trend = tables.trend(
        cube, scope, window_months(request.quarter, methods.trend_months), quarter, coverage,
        None if request.clinic else names, names[request.clinic] if request.clinic else "all",
        methods, values=not public,
    )  # fmt: skip
    sections.append(Section("trend", "Monthly trend (u-chart)", trend.frame, kind="trend"))
    unit_frame, funnel, title = pd.DataFrame(), None, ""
    if request.clinic is None:
        unit_frame, funnel = tables.units(cube, scope, "clinic", quarter, names, clinics, methods)
        title = "Clinics compared (funnel plot)"
    elif not public:  # one clinic: its practitioners, by code; never in the public edition
        unit_frame, funnel = tables.units(cube, scope, "practitioner", quarter, codes, (), methods)
        title = "Practitioners of the clinic (funnel plot)"
    if not unit_frame.empty:
        sections.append(Section("units", title, unit_frame, kind="units"))
    sections.append(
        Section("quality", "Data quality (whole database)", _quality(con, public), kind="counts")
    )
    listing = None
    if not public:
        listing = serious_listing(con, current)
        listing["practitioner"] = listing["practitioner_id"].map(codes)
        listing = listing[list(SERIOUS_COLUMNS)]
    report = Report(
        request=request,
        title=f"NeedleWatch quarterly safety report, {request.label}",
        scope=f"Clinic {shown[0]}" if request.clinic else f"All {len(shown)} clinics",
        units=tuple(sorted(shown)),
        previous_quarter=shift_quarter(request.quarter, -1),
        trailing=(parse_quarter(shift_quarter(request.quarter, -3))[0], end),
        data_as_of=data_as_of(con),
        sections=tuple(sections),
        signals=tuple(st.sentence for c in trend.charts for st in c.statements),
        listing=listing,
        methods=methods_text(request),
        trend_points=None if trend.overall is None else trend.overall.chart.points,
        funnel=funnel,
        notices=notices(request, coverage, clinics, unit_frame),
        method_overrides=methods.overrides(),
    )
    if not series:
        return with_answer(report, trend.charts)
    start_with = None
    if request.clinic is not None:  # a clinic's own edition keeps the all-clinic decisions
        whole = load_cube(con, replace(span, clinics=()), replace(current, clinics=()))
        start_with, _ = decide(
            _series(whole, "all", request.quarter, coverage, every_clinic, methods),
            request.threshold,
        )
    systems = _series(cube, scope, request.quarter, coverage, [] if request.clinic else clinics,
                      methods)  # fmt: skip
    return with_answer(public_edition(report, systems, start_with)[0], trend.charts)
