"""Build a quarterly report's content from the database (the clinic edition's numbers).

Every number comes from the functions behind the command line, with the same filters, so
a report and ``needlewatch rates`` / ``compare`` agree to the digit:

    headline   rates --quarter Q [--clinic C]           (and the previous quarter,
    serious    rates --quarter Q --severity serious      and the four quarters to Q)
    category   rates --by category --quarter Q
    ratios     compare --factor F --adjust body_region --quarter Q
    trend      rates --by month --from <24 months before> --to <end of Q>  (+ u-chart)
    units      rates --by clinic (or practitioner) --quarter Q            (+ funnel)

The public edition is derived from this one by ``dashboard.report.public``.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date

import duckdb
import pandas as pd

from dashboard.analysis import compare_table
from dashboard.explain import explain_signals
from dashboard.filters import Filters, parse_quarter
from dashboard.quality import ingest_runs, missing_rates, term_counts
from dashboard.queries import rate_counts
from dashboard.rates import affected_table, incidence_table
from dashboard.signals import funnel_chart
from dashboard.stats.funnel import FunnelResult
from dashboard.stats.spc import u_chart
from dashboard.views import serious_events
from needlewatch import settings

from .methods import methods_text
from .model import RATE, Report, ReportRequest, Section
from .public import anonymous_codes, clinic_secret, public_edition

RATIO_FACTORS = (
    ("ultrasound", "no", "ultrasound guidance (reference: not guided)"),
    ("training_band", None, "training hours (reference: the band with most treatments)"),
    ("experience_band", None, "years of experience (reference: the band with most treatments)"),
)
BREAKDOWNS = (
    ("category", "Incidence by event category"),
    ("severity", "Incidence by severity tier"),
    ("training_band", "Incidence by practitioner training hours"),
    ("experience_band", "Incidence by practitioner years of dry-needling experience"),
    ("ultrasound", "Incidence by ultrasound guidance"),
)


class NoTreatmentsError(ValueError):
    """The quarter (and clinic) holds no treatments: there is nothing to report."""


def practitioner_code(practitioner_id: str) -> str:
    """'P-' + first 8 hex digits of sha256(id): the code of the serious-event listing."""
    return "P-" + hashlib.sha256(str(practitioner_id).encode()).hexdigest()[:8]


def shift_quarter(quarter: str, by: int) -> str:
    """'2026Q1', -1 -> '2025Q4'."""
    index = int(quarter[:4]) * 4 + int(quarter[-1]) - 1 + by
    return f"{index // 4}Q{index % 4 + 1}"


def _month_start(day: date, months_back: int) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def long_rates(table: pd.DataFrame, dim: str, levels: list[str] | None = None) -> pd.DataFrame:
    """incidence_table rows -> the tidy report shape (dimension, level, counts, value, CI)."""
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


def _periods(con, request: ReportRequest, base: Filters) -> dict[str, Filters]:
    start, end = request.period
    previous = shift_quarter(request.quarter, -1)
    p_start, p_end = parse_quarter(previous)
    t_start, _ = parse_quarter(shift_quarter(request.quarter, -3))
    return {
        request.quarter: replace(base, date_from=start, date_to=end),
        f"{previous} (previous quarter)": replace(base, date_from=p_start, date_to=p_end),
        f"{shift_quarter(request.quarter, -3)} to {request.quarter} (four quarters)": replace(
            base, date_from=t_start, date_to=end
        ),
    }


def _headline(con, periods: dict[str, Filters], severity: str | None) -> pd.DataFrame:
    rows = []
    for label, filters in periods.items():
        table = incidence_table(con, (), replace(filters, severity=severity))
        if table.empty:  # no treatments in that period: counts 0, no rate
            table = pd.DataFrame(
                [{"treatments": 0, "events": 0, "rate_per_1000": None, "ci_low_per_1000": None,
                  "ci_high_per_1000": None, "ci_method": "no treatments in this period"}]
            )  # fmt: skip
        rows.append(long_rates(table, "period", [label]))
    return pd.concat(rows, ignore_index=True)


def _affected(con, periods: dict[str, Filters]) -> pd.DataFrame:
    rows = []
    for label, filters in periods.items():
        table = affected_table(con, (), filters)
        if table.empty:
            continue
        r = table.iloc[0]
        rows.append(
            {"dimension": "period", "level": label, "treatments": int(r["treatments"]),
             "events": int(r["treatments_affected"]),
             "measure": "% of treatments with at least one event", "value": r["affected_percent"],
             "ci_low": r["cp_low_percent"], "ci_high": r["cp_high_percent"],
             "method": "exact binomial (Clopper-Pearson)", "suppressed": False}
        )  # fmt: skip
    return pd.DataFrame(rows)


def _ratios(con, filters: Filters) -> pd.DataFrame:
    frames = []
    for factor, reference, _ in RATIO_FACTORS:
        table = compare_table(con, factor, filters, adjust="body_region", reference=reference)
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


def _trend(con, request: ReportRequest, base: Filters) -> tuple[pd.DataFrame, list, Filters]:
    """Monthly rates over the trend window with u-chart limits; the chart for signals."""
    start, end = request.period
    window = replace(
        base, date_from=_month_start(start, settings.REPORT_TREND_MONTHS - 3), date_to=end
    )
    table = incidence_table(con, ("month",), window)
    frame = long_rates(table, "month")
    chart = None
    if len(table) >= 2 and table["events"].sum() > 0:
        chart = u_chart(
            table["month"].tolist(), table["events"].tolist(), table["treatments"].tolist()
        )
        pts = chart.points
        frame["expected"] = pts["centre"].to_numpy()
        frame["limit_low"] = pts["lcl3"].to_numpy()
        frame["limit_high"] = pts["ucl3"].to_numpy()
        frame["signal"] = pts["signal"].tolist()
    return frame, ([] if chart is None else [chart]), window


def _quarter_months(request: ReportRequest) -> set[str]:
    start, _ = request.period
    return {f"{start.year}-{start.month + i:02d}" for i in range(3)}


def _signals(con, request: ReportRequest, window: Filters, names: dict[str, str] | None):
    """Sentences for every u-chart signal touching the quarter: all events, each category,
    and each clinic (``names``: clinic id -> name printed; None for one-clinic reports).
    The public edition's sentences carry no rates. Returns [(unit, sentence)]."""
    values = request.edition != "public"
    months = _quarter_months(request)
    out: list[tuple[str, str]] = []

    def add(frame: pd.DataFrame, what: str, unit: str) -> None:
        if len(frame) < 2 or frame["events"].sum() < len(frame):
            return  # under one event a month: too rare for a u-chart (g-chart instead)
        chart = u_chart(
            frame["month"].tolist(), frame["events"].tolist(), frame["treatments"].tolist()
        )
        periods = chart.points["period"].tolist()
        for s in explain_signals(chart.signals, periods, what=what, unit=unit, values=values):
            covered = periods[periods.index(s.first) : periods.index(s.last) + 1]
            if months.intersection(covered):
                out.append((unit, s.sentence))

    add(rate_counts(con, ("month",), window), "adverse events", "all")
    by_category = rate_counts(con, ("category", "month"), window)
    for category, frame in by_category.groupby("category", sort=False):
        add(frame, f"{str(category).replace('_', ' ')} events", "all")
    if names is not None:
        for clinic, frame in rate_counts(con, ("clinic", "month"), window).groupby("clinic"):
            add(frame, "adverse events", names[str(clinic)])
    return out


def _units(
    con, filters: Filters, units: str, names: dict[str, str] | None
) -> tuple[pd.DataFrame, FunnelResult | None]:
    """Clinics (or practitioners, by pseudonymous code) against the overall rate: funnel
    limits and outcome. ``names`` maps clinic ids to the names printed."""
    result = funnel_chart(con, filters, units)
    if result is None:
        return pd.DataFrame(), None
    names = (
        result.units["unit"]
        .astype(str)
        .map(practitioner_code if units == "practitioner" else names)
    )
    result = replace(result, units=result.units.assign(unit=names))
    u = result.units
    frame = pd.DataFrame(
        {
            "dimension": units,
            "level": names,
            "treatments": u["exposure"].round().astype("Int64"),
            "events": u["events"].astype("Int64"),
            "measure": RATE,
            "value": u["rate"],
            "method": result.method,
            "expected": result.target,
            "limit_low": u["lo998"],
            "limit_high": u["hi998"],
            "signal": u["outside"].replace("", "within 95% limits"),
            "suppressed": False,
        }
    ).sort_values("level", ignore_index=True)
    return frame, result


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


def build_report(con: duckdb.DuckDBPyConnection, request: ReportRequest) -> Report:
    """The clinic edition of ``request``'s report; raises NoTreatmentsError if empty."""
    start, end = request.period
    base = Filters(clinics=(request.clinic,) if request.clinic else ())
    current = replace(base, date_from=start, date_to=end)
    if incidence_table(con, (), current).empty:
        where = f" at clinic {request.clinic}" if request.clinic else ""
        raise NoTreatmentsError(
            f"no treatments in {request.quarter}{where}: check the quarter "
            "(needlewatch rates --by quarter lists them) and the clinic id"
        )
    periods = _periods(con, request, base)
    sections = [
        Section("headline", "Headline: all adverse events", _headline(con, periods, None)),
        Section("serious", "Headline: serious events", _headline(con, periods, "serious")),
        Section("affected", "Share of treatments with at least one event", _affected(con, periods)),
    ]
    for dim, title in BREAKDOWNS:
        sections.append(Section(dim, title, long_rates(incidence_table(con, (dim,), current), dim)))
    sections.append(
        Section(
            "ratios",
            "Rate ratios, crude and adjusted for body region",
            _ratios(con, current),
            kind="ratios",
        )
    )
    trend, charts, window = _trend(con, request, base)
    sections.append(Section("trend", "Monthly trend (u-chart)", trend, kind="trend"))
    public = request.edition == "public"
    ids = sorted(str(c) for c in rate_counts(con, ("clinic",), current)["clinic"])
    names = anonymous_codes(ids, clinic_secret(con)) if public else {c: c for c in ids}
    unit_frame, funnel = pd.DataFrame(), None
    if request.clinic is None:
        unit_frame, funnel = _units(con, current, "clinic", names)
        title = "Clinics compared (funnel plot)"
    elif not public:  # one clinic: its practitioners, by code; never in the public edition
        unit_frame, funnel = _units(con, current, "practitioner", None)
        title = "Practitioners of the clinic (funnel plot)"
    if not unit_frame.empty:
        sections.append(Section("units", title, unit_frame, kind="units"))
    sections.append(
        Section("quality", "Data quality (whole database)", _quality(con), kind="counts")
    )
    signals = _signals(con, request, window, None if request.clinic else names)
    shown = tuple(sorted(names.values()))
    scope = f"Clinic {shown[0]}" if request.clinic else f"All {len(shown)} clinics"
    report = Report(
        request=request,
        title=f"NeedleWatch quarterly safety report, {request.label}",
        scope=scope,
        units=shown,
        previous_quarter=shift_quarter(request.quarter, -1),
        trailing=(parse_quarter(shift_quarter(request.quarter, -3))[0], end),
        data_as_of=_data_as_of(con),
        sections=tuple(sections),
        signals=tuple(s for _, s in signals),
        listing=None if public else serious_events(con, current),
        methods=methods_text(request),
        trend_points=charts[0].points if charts else None,
        funnel=funnel,
    )
    return public_edition(report)[0] if public else report
