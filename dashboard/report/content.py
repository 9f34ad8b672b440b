"""Build a quarterly report's content from the database.

Every number comes from grouped counts (``dashboard.report.cube``: three queries) and the
statistics behind the command line (``dashboard.report.tables``), so a report and
``needlewatch rates`` / ``compare`` agree to the digit:

    headline   rates --quarter Q [--clinic C]            (and the previous quarter,
    serious    rates --quarter Q --severity serious       and the four quarters to Q)
    category   rates --by category --quarter Q
    ratios     compare --factor F --adjust body_region --quarter Q
    trend      rates --by month --from <24 months before> --to <end of Q>  (+ u-chart)
    units      rates --by clinic (or practitioner) --quarter Q            (+ funnel)

The public edition differs in names (anonymous clinic codes, no practitioners, no
listing, signal sentences without rates) and is then suppressed by
``dashboard.report.public``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import duckdb
import pandas as pd

from dashboard.filters import Filters, parse_quarter, shift_quarter
from dashboard.quality import ingest_runs, missing_rates, term_counts
from dashboard.queries import serious_listing
from dashboard.views import SERIOUS_COLUMNS, trend_window

from . import tables
from .cube import load_cube
from .methods import methods_text
from .model import Report, ReportRequest, Section
from .public import anonymous_codes, clinic_secret, public_edition

BREAKDOWNS = (
    ("category", "Incidence by event category"),
    ("severity", "Incidence by severity tier"),
    ("training_band", "Incidence by practitioner training hours"),
    ("experience_band", "Incidence by practitioner years of dry-needling experience"),
    ("ultrasound", "Incidence by ultrasound guidance"),
)
practitioner_code = tables.practitioner_code


class NoTreatmentsError(ValueError):
    """The quarter (and clinic) holds no treatments: there is nothing to report."""


def months_of(start: date, end: date) -> list[str]:
    """['2025-04', '2025-05', '2025-06'] for 2025-04-01 .. 2025-06-30."""
    first, last = start.year * 12 + start.month - 1, end.year * 12 + end.month - 1
    return [f"{i // 12}-{i % 12 + 1:02d}" for i in range(first, last + 1)]


def _periods(request: ReportRequest) -> dict[str, list[str]]:
    """Headline periods (label -> months): the quarter, the previous one, four quarters."""
    start, end = request.period
    previous = shift_quarter(request.quarter, -1)
    first = shift_quarter(request.quarter, -3)
    return {
        request.quarter: months_of(start, end),
        f"{previous} (previous quarter)": months_of(*parse_quarter(previous)),
        f"{first} to {request.quarter} (four quarters)": months_of(parse_quarter(first)[0], end),
    }


def _quality(con) -> pd.DataFrame:
    runs, terms, missing = ingest_runs(con), term_counts(con), missing_rates(con)
    rows = [
        ("ingest runs", len(runs)),
        ("rows read", int(runs["rows_read"].sum()) if len(runs) else 0),
        ("rows rejected", int(runs["rows_rejected"].sum()) if len(runs) else 0),
        ("unmapped event terms", len(terms)),
        ("events with an unmapped term", int(terms["events"].sum()) if len(terms) else 0),
    ]
    frame = pd.DataFrame(
        [{"dimension": "data quality", "level": k, "measure": "count", "value": float(v),
          "events": pd.NA, "suppressed": False} for k, v in rows]
    )  # fmt: skip
    miss = pd.DataFrame(
        {
            "dimension": "missing field",
            "level": missing["table_name"] + "." + missing["column_name"],
            "treatments": pd.NA,
            "measure": "% of rows blank",
            "value": missing["missing_percent"],
            "suppressed": False,
        }
    )
    return pd.concat([frame, miss], ignore_index=True)


def _data_as_of(con) -> str:
    runs = ingest_runs(con)
    if runs.empty:
        return "no ingest recorded"
    return pd.Timestamp(runs["finished_at"].max()).strftime("%Y-%m-%d %H:%M UTC")


def build_report(
    con: duckdb.DuckDBPyConnection, request: ReportRequest, *, suppressed: bool = True
) -> Report:
    """``request``'s report; raises NoTreatmentsError if the quarter has no treatments.

    The public edition has anonymous clinic codes, rates-free signal sentences, no
    listing and no practitioners, and (unless ``suppressed=False``, for audits) its small
    counts suppressed by ``dashboard.report.public.public_edition``.
    """
    start, end = request.period
    base = Filters(clinics=(request.clinic,) if request.clinic else ())
    current = replace(base, date_from=start, date_to=end)
    cube = load_cube(con, trend_window(current), current)
    periods = _periods(request)
    quarter = periods[request.quarter]
    if cube.quarter.empty:
        where = f" at clinic {request.clinic}" if request.clinic else ""
        raise NoTreatmentsError(
            f"no treatments in {request.quarter}{where}: check the quarter "
            "(needlewatch rates --by quarter lists them) and the clinic id"
        )
    public = request.edition == "public"
    ids = sorted(
        str(c) for c in cube.monthly.loc[cube.monthly["month"].isin(quarter), "clinic"].unique()
    )
    names = anonymous_codes(ids, clinic_secret(con)) if public else {c: c for c in ids}
    sections = [
        Section("headline", "Headline: all adverse events", tables.headline(cube, periods, None)),
        Section("serious", "Headline: serious events", tables.headline(cube, periods, "serious")),
        Section(
            "affected",
            "Share of treatments with at least one event",
            tables.affected(cube, periods),
        ),
    ]
    for dim, title in BREAKDOWNS:
        sections.append(Section(dim, title, tables.breakdown(cube, dim, quarter)))
    sections.append(
        Section(
            "ratios",
            "Rate ratios, crude and adjusted for body region",
            tables.ratios(cube),
            kind="ratios",
        )
    )
    trend, chart = tables.trend(cube)
    sections.append(Section("trend", "Monthly trend (u-chart)", trend, kind="trend"))
    unit_frame, funnel = pd.DataFrame(), None
    if request.clinic is None:
        unit_frame, funnel = tables.units(cube, "clinic", quarter, names)
        title = "Clinics compared (funnel plot)"
    elif not public:  # one clinic: its practitioners, by code; never in the public edition
        unit_frame, funnel = tables.units(cube, "practitioner", quarter, None)
        title = "Practitioners of the clinic (funnel plot)"
    if not unit_frame.empty:
        sections.append(Section("units", title, unit_frame, kind="units"))
    sections.append(
        Section("quality", "Data quality (whole database)", _quality(con), kind="counts")
    )
    shown = tuple(sorted(names.values()))
    report = Report(
        request=request,
        title=f"NeedleWatch quarterly safety report, {request.label}",
        scope=f"Clinic {shown[0]}" if request.clinic else f"All {len(shown)} clinics",
        units=shown,
        previous_quarter=shift_quarter(request.quarter, -1),
        trailing=(parse_quarter(shift_quarter(request.quarter, -3))[0], end),
        data_as_of=_data_as_of(con),
        sections=tuple(sections),
        signals=tuple(tables.signals(cube, quarter, None if request.clinic else names, not public)),
        listing=None if public else serious_listing(con, current)[list(SERIOUS_COLUMNS)],
        methods=methods_text(request),
        trend_points=None if chart is None else chart.points,
        funnel=funnel,
    )
    return public_edition(report)[0] if public and suppressed else report
