"""The report's tables as rows of formatted strings (one ``TableView`` per table), so
every format prints a number the same way and a code as the same words:

    counts 1,234 · rates 12.35 (2 decimals, per 1,000) · intervals "11.80 to 12.91" ·
    ratios 0.92 · a suppressed count "suppressed" and its rate "–" ·
    levels through ``dashboard.analysis.labels`` ("pain during needling", "21-60 h")
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from dashboard.analysis.labels import heading, label
from dashboard.analysis.statements import NEVER_EVENTS
from dashboard.figures.icons import WORDS, variation_svg

from .model import Report, Section

DASH = "–"
SUPPRESSED = "suppressed"


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def fmt_count(value: object, suppressed: bool = False) -> str:
    if suppressed and _missing(value):
        return SUPPRESSED
    return DASH if _missing(value) else f"{int(value):,}"


def fmt_number(value: object, digits: int = 2) -> str:
    return DASH if _missing(value) else f"{float(value):,.{digits}f}"


def fmt_interval(low: object, high: object, digits: int = 2) -> str:
    if _missing(low) or _missing(high):
        return DASH
    return f"{float(low):,.{digits}f} to {float(high):,.{digits}f}"


@dataclass(frozen=True)
class Header:
    text: str
    num: bool = False


@dataclass(frozen=True)
class TableView:
    headers: tuple[Header, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Block:
    key: str
    title: str
    table: TableView | None
    figure: str = ""
    intro: str = ""
    note: str = ""
    css: str = ""
    new_page: bool = False
    bullets: tuple[str, ...] = ()
    capped: bool = False  # the table prints only part of its rows: the note says so


def _level(value: object, dim: str = "") -> str:
    return label(dim, value)


def rate_table(section: Section, dim: str) -> TableView:
    f = section.frame
    rows = tuple(
        (
            _level(r["level"], dim),
            fmt_count(r["treatments"]),
            fmt_count(r["events"], r["suppressed"]),
            fmt_number(r["value"]),
            fmt_interval(r["ci_low"], r["ci_high"]),
        )
        for r in f.to_dict("records")
    )
    head = (heading(dim), "Treatments", "Events", "Per 1,000 treatments", "95% CI")
    return TableView(tuple(Header(h, i > 0) for i, h in enumerate(head)), rows)


def ratio_table(section: Section) -> TableView:
    rows = tuple(
        (
            heading(r["dimension"]),
            f"{label(r['dimension'], r['level'])} vs {label(r['dimension'], r['reference'])}",
            "crude" if r["measure"].endswith("crude") else "adjusted for region",
            fmt_count(r["events"], r["suppressed"]),
            fmt_count(r["treatments"]),
            SUPPRESSED if r["suppressed"] else fmt_number(r["value"], 3),
            fmt_interval(r["ci_low"], r["ci_high"], 3),
        )
        for r in section.frame.to_dict("records")
    )
    head = (
        "Factor",
        "Level vs reference",
        "Analysis",
        "Events",
        "Treatments",
        "Rate ratio",
        "95% CI",
    )
    return TableView(tuple(Header(h, i > 2) for i, h in enumerate(head)), rows)


def trend_table(section: Section) -> TableView:
    rows = tuple(
        (
            str(r["level"]),
            fmt_count(r["treatments"]),
            fmt_count(r["events"], r["suppressed"]),
            fmt_number(r["value"]),
            fmt_interval(r.get("limit_low"), r.get("limit_high")),
            str(r.get("signal") or "") if not _missing(r.get("signal")) else "",
        )
        for r in section.frame.to_dict("records")
    )
    head = ("Month", "Treatments", "Events", "Per 1,000 treatments", "3-sigma limits", "Signal")
    return TableView(tuple(Header(h, 0 < i < 5) for i, h in enumerate(head)), rows)


def peers_table(section: Section) -> TableView:
    """The feedback edition's observed against expected events, one row per kind."""
    rows = tuple(
        (
            "All adverse events" if r["dimension"] == "all" else
            "Serious events" if r["dimension"] == "severity" else str(r["level"]),
            fmt_count(r["events"]),
            fmt_number(r["expected"], 1),
            fmt_number(r["network_rate"]),
            fmt_number(r["value"]),
            fmt_interval(r["ci_low"], r["ci_high"]),
            str(r["signal"]) or str(r["method"]),
        )
        for r in section.frame.to_dict("records")
    )  # fmt: skip
    head = ("Events", "Observed", "Expected", "Network per 1,000", "Ratio", "95% CI", "Verdict")
    return TableView(tuple(Header(h, 0 < i < 6) for i, h in enumerate(head)), rows)


def units_table(section: Section) -> TableView:
    rows = tuple(
        (
            str(r["level"]),
            fmt_count(r["treatments"]),
            fmt_count(r["events"], r["suppressed"]),
            fmt_number(r["value"]),
            fmt_interval(r["limit_low"], r["limit_high"]),
            DASH if r["suppressed"] else str(r["signal"]),
        )
        for r in section.frame.to_dict("records")
    )
    unit = heading(str(section.frame["dimension"].iloc[0]))
    head = (unit, "Treatments", "Events", "Per 1,000 treatments", "99.8% limits", "Funnel")
    return TableView(tuple(Header(h, 0 < i < 5) for i, h in enumerate(head)), rows)


def quality_table(section: Section) -> TableView:
    rows = tuple(
        (
            _level(r["level"]),
            r["measure"],
            SUPPRESSED
            if r["suppressed"]
            else fmt_number(r["value"], 1 if r["measure"].startswith("%") else 0),
        )
        for r in section.frame.to_dict("records")
    )
    return TableView((Header("Item"), Header("Measure"), Header("Value", True)), rows)


def listing_table(listing: pd.DataFrame) -> TableView:
    cols = ("event_date", "clinic", "practitioner", "training_band", "body_region",
            "ultrasound", "technique", "category", "severity", "outcome", "narrative")  # fmt: skip
    head = ("Date", "Clinic", "Practitioner", "Training", "Region", "US", "Technique",
            "Category", "Severity", "Outcome", "Narrative")  # fmt: skip
    rows = tuple(
        tuple(
            pd.Timestamp(r[c]).strftime("%Y-%m-%d")
            if c == "event_date"
            else ("" if _missing(r[c]) else _level(r[c], c) if c != "narrative" else str(r[c]))
            for c in cols
        )
        for r in listing.to_dict("records")
    )
    return TableView(tuple(Header(h) for h in head), rows)


def summary_table(section: Section) -> tuple[TableView, str]:
    """The SPC summary: icon, measure, latest month, its rate, mean and limits, reading.

    Measures with too few events for a chart are named in one sentence under the table
    instead of a row of dashes each (the XLSX and CSV editions keep every row)."""
    charted, uncharted = [], []
    for r in section.frame.to_dict("records"):
        kind = "Category" if r["dimension"] == "category" else "Severity"
        name = label(str(r["dimension"]), r["level"])
        if str(r["signal"]) == "not charted":
            uncharted.append(name if kind == "Category" else f"{name} (severity)")
            continue
        charted.append((
            variation_svg(str(r["signal"]), 16),
            f"{kind}: {name}",
            str(r["method"]),
            fmt_number(r["value"]),
            fmt_number(r["expected"]),
            fmt_interval(r["limit_low"], r["limit_high"]),
            WORDS.get(str(r["signal"]), str(r["signal"])),
        ))  # fmt: skip
    head = ("", "Measure", "Latest", "Per 1,000", "Mean", "3-sigma limits", "Variation")
    note = (
        f"Too few events over the 24 months to chart: {', '.join(uncharted)}." if uncharted else ""
    )
    headers = tuple(Header(h, 2 < i < 6) for i, h in enumerate(head))
    if charted and all(all(c == DASH for c in row[3:6]) for row in charted):
        # the public edition prints the variation only: no column of dashes
        keep = (0, 1, 2, 6)
        headers = tuple(headers[i] for i in keep)
        charted = [tuple(row[i] for i in keep) for row in charted]
    return TableView(headers, tuple(charted)), note


def _serious_table(report: Report, limit: int | None = None) -> tuple[TableView | None, str]:
    """Page 1's serious events and never events (clinic edition; the public edition counts
    them in its statements), by date, and the note under it.

    ``limit`` (the PDF): every never event but only the first ``limit`` other serious
    events are printed; the note counts the rest and says where every one is listed (the
    XLSX edition's sheet "Serious events" and the HTML edition). A national quarter has
    over a thousand serious events: a governance meeting reads the first page, not 30."""
    if report.listing is None:
        return None, ""
    listing = report.listing
    never = listing["category"].isin(NEVER_EVENTS)
    frame = listing[(listing["severity"] == "serious") | never].sort_values(
        "event_date", kind="stable"
    )
    note = ""
    if limit is not None:
        others = frame[~frame["category"].isin(NEVER_EVENTS)]
        if len(others) > limit:
            serious = int((frame["severity"] == "serious").sum())
            frame = frame[~frame.index.isin(others.index[limit:])]
            note = (
                f"The first {limit} serious events of the quarter by date"
                + (" and every never event" if never.any() else "")
                + f" are printed here; the other {len(others) - limit:,} of its {serious:,} "
                "serious events are not. The listing of significant and serious events "
                "below prints serious and never events first; the XLSX edition of this "
                'report (sheet "Serious events": needlewatch report --out FILE.xlsx) and '
                "the HTML edition list every one."
            )
    head = ("Date", "Clinic", "Event", "Severity", "Body region", "Ultrasound", "Outcome")
    rows = tuple(
        (
            pd.Timestamp(r["event_date"]).strftime("%Y-%m-%d"), str(r["clinic"]),
            label("category", r["category"]), label("severity", r["severity"]),
            label("body_region", r["body_region"]), label("ultrasound", r["ultrasound"]),
            "" if _missing(r["outcome"]) else str(r["outcome"]),
        )
        for r in frame.to_dict("records")
    )  # fmt: skip
    return TableView(tuple(Header(h) for h in head), rows), note
