"""The public edition: anonymous clinic codes and small-cell suppression across tables.

A report prints many counts that add up: each breakdown of the quarter (category,
severity, training band, ...) sums to the quarter's events, the quarter's three months sum
to it too, the twelve months of the trailing year sum to that year's total, and the
u-chart's centre line times its treatments gives the total of its 24 months. Each of these
is one ``Group`` (whole = sum of parts) for ``dashboard.report.suppress``, which hides
counts 1..threshold and then enough others that no hidden count can be worked out:

    cells  {"headline|2026Q3": 512, "category|fainting": 3, "category|nausea": 4, ...}
    groups [Group("headline|2026Q3", ("category|bruising", ..., "category|fainting")), ...]
      -> hidden {"category|fainting", "category|nausea", ...}

A hidden row keeps its treatments (the denominator) and loses events, rate and interval;
a rate ratio is hidden when its level's or its reference's count is hidden.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace

import duckdb
import numpy as np
import pandas as pd

from .model import Report, Section
from .suppress import Group, Suppression, suppress

#: Breakdowns of the quarter's events: each sums to the quarter's headline count.
QUARTER_PARTS = ("category", "severity", "training_band", "experience_band", "ultrasound")
HIDE_COLUMNS = ("events", "value", "ci_low", "ci_high")
UNMAPPED_EVENTS = "events with an unmapped term"


def clinic_secret(con: duckdb.DuckDBPyConnection) -> bytes:
    """The per-database secret (meta.patient_key_secret) that keys anonymous codes."""
    row = con.execute("SELECT value FROM meta WHERE key = 'patient_key_secret'").fetchone()
    if row is None:
        raise ValueError("this database has no secret to key anonymous codes: re-run an ingest")
    return bytes.fromhex(row[0])


def anonymous_codes(clinics: list[str], secret: bytes) -> dict[str, str]:
    """Stable anonymous clinic codes: 'K-' + 4 hex of HMAC-SHA256(secret, 'clinic:' + id).

    Stable across quarters and reports of one database; not reversible without the secret;
    lengthened to 6, 8, ... hex digits if two clinics would share a code.
    """
    digests = {
        c: hmac.new(secret, f"clinic:{c}".encode(), hashlib.sha256).hexdigest() for c in clinics
    }
    for width in range(4, 65, 2):
        codes = {c: f"K-{d[:width].upper()}" for c, d in digests.items()}
        if len(set(codes.values())) == len(codes):
            return codes
    raise AssertionError("SHA-256 collision")  # pragma: no cover


def _months(quarter: str) -> list[str]:
    year, q = quarter[:4], int(quarter[-1])
    return [f"{year}-{3 * (q - 1) + i:02d}" for i in (1, 2, 3)]


def _cells(report: Report) -> tuple[dict[str, int], list[Group]]:
    """Every published count with an id, and the additive relations between them."""
    values: dict[str, int] = {}
    rows: dict[str, list[str]] = {}
    for s in report.sections:
        if s.kind in ("rates", "trend", "units"):
            for level, events in zip(s.frame["level"], s.frame["events"], strict=True):
                if not pd.isna(events):
                    values[f"{s.key}|{level}"] = int(events)
                    rows.setdefault(s.key, []).append(f"{s.key}|{level}")
    quality = report.section("quality").frame
    unmapped = quality.loc[quality["level"] == UNMAPPED_EVENTS, "value"]
    if len(unmapped):
        values[f"quality|{UNMAPPED_EVENTS}"] = int(unmapped.iloc[0])
    headline = report.section("headline").frame["level"].tolist()  # quarter, previous, year
    whole = {label: f"headline|{label}" for label in headline}
    groups = [
        Group(whole[headline[0]], tuple(rows[key]))
        for key in (*QUARTER_PARTS, "units")
        if key in rows
    ]
    if "severity|serious" in values:  # the headline's serious count is the severity row
        groups.append(Group("severity|serious", (f"serious|{headline[0]}",)))
    trend = rows.get("trend", [])
    if trend:
        values["trend|total"] = sum(values[c] for c in trend)  # centre line x treatments
        groups.append(Group("trend|total", tuple(trend)))
    quarter = report.request.quarter
    for label, months in (
        (headline[0], _months(quarter)),
        (headline[1], _months(report.previous_quarter)),
        (
            headline[2],
            [m for m in (c.split("|")[1] for c in trend) if m >= f"{report.trailing[0]:%Y-%m}"],
        ),
    ):
        parts = tuple(f"trend|{m}" for m in months if f"trend|{m}" in values)
        if parts and whole[label] in values:
            groups.append(Group(whole[label], parts))
    return values, groups


def _hide(section: Section, hidden: Suppression) -> Section:
    frame = section.frame.copy()
    if section.kind == "ratios":
        level = [f"{frame['dimension'].iloc[i]}|{v}" for i, v in enumerate(frame["level"])]
        ref = [f"{d}|{v}" for d, v in zip(frame["dimension"], frame["reference"], strict=True)]
        mask = np.array(
            [hidden.hidden(a) or hidden.hidden(b) for a, b in zip(level, ref, strict=True)]
        )
        frame["ref_events"] = frame["ref_events"].astype("Int64")
        frame.loc[[hidden.hidden(b) for b in ref], "ref_events"] = pd.NA
    elif section.kind == "counts":
        mask = np.array([hidden.hidden(f"quality|{v}") for v in frame["level"]])
        frame.loc[mask, "value"] = np.nan
        frame.loc[mask, "suppressed"] = True
        return replace(section, frame=frame)
    else:
        mask = np.array([hidden.hidden(f"{section.key}|{v}") for v in frame["level"]])
    frame["events"] = frame["events"].astype("Int64")
    frame.loc[mask, "events"] = pd.NA
    for col in ("value", "ci_low", "ci_high"):
        if col in frame:
            frame.loc[mask, col] = np.nan
    frame.loc[mask, "suppressed"] = True
    return replace(section, frame=frame)


def public_edition(report: Report) -> tuple[Report, Suppression]:
    """Suppress ``report``'s counts (clinic codes must already be anonymous) and drop the
    listing; returns the public report and the suppression pattern (for audit and tests)."""
    values, groups = _cells(report)
    hidden = suppress(values, groups, report.request.threshold)
    sections = tuple(_hide(s, hidden) for s in report.sections)
    points, funnel = report.trend_points, report.funnel
    if points is not None:  # the chart shows no rate for a hidden month
        mask = np.array([hidden.hidden(f"trend|{p}") for p in points["period"]])
        points = points.assign(rate=np.where(mask, np.nan, points["rate"]))
        points["events"] = points["events"].astype("Int64").mask(mask)
    if funnel is not None:
        mask = np.array([hidden.hidden(f"units|{u}") for u in funnel.units["unit"]])
        units = funnel.units.assign(rate=np.where(mask, np.nan, funnel.units["rate"]))
        units["events"] = units["events"].astype("Int64").mask(mask)
        units["outside"] = units["outside"].where(~mask, "")
        funnel = replace(funnel, units=units)
    public = replace(report, sections=sections, listing=None, trend_points=points, funnel=funnel)
    return public, hidden
