"""Page 1 of a report: the statements (``dashboard.analysis.statements``) from the report's own
printed numbers, after any suppression and rounding, so a sentence never says more than
the tables do:

    headline rows        -> change   (the quarter, the previous one, the rest of the four)
    signal statements    -> trend    (those touching the quarter; no values in public)
    listing / severity   -> serious  (named in the clinic edition, counted in public)
    ratios rows          -> factors  (adjusted first; hidden or rounded ratios: not said)

and the SPC summary section (a row per category and severity tier; the public edition
gives the variation only: a category's rate in one month is a count the suppression does
not cover).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pandas as pd

from dashboard.analysis.statements import (
    NEVER_EVENTS,
    Counts,
    Statement,
    change_statement,
    factor_statement,
    serious_statements,
    trend_statement,
)
from dashboard.analysis.summary import spc_summary
from dashboard.analysis.trends import ChartedSeries

from .model import Report, Section


def _counts(row: dict, label: str) -> Counts | None:
    if row["suppressed"] or pd.isna(row["events"]) or pd.isna(row["treatments"]):
        return None
    return Counts(label, int(row["events"]), int(row["treatments"]))


def change(report: Report) -> Statement:
    rows = report.section("headline").frame.to_dict("records")
    quarter, previous = report.request.quarter, report.previous_quarter
    now = _counts(rows[0], quarter)
    if now is None:
        return Statement("change", f"Adverse events in {quarter}: suppressed (1 to 7).", "headline")
    before = _counts(rows[1], previous)
    four = _counts(rows[2], "four")
    rest = None
    if four is not None and four.treatments > now.treatments:
        first = rows[2]["level"].split(" to ")[0]
        rest = Counts(
            f"{first} to {previous}", four.events - now.events, four.treatments - now.treatments
        )
    return change_statement("adverse events", now, before, rest)


def serious(report: Report) -> list[Statement]:
    quarter = report.request.quarter
    if report.listing is not None:
        sev = report.section("severity").frame.set_index("level")
        counted = int(sev.loc["serious", "events"]) if "serious" in sev.index else None
        return serious_statements(report.listing, {}, quarter, counted)
    counts: dict[str, int | None] = {}
    sev = report.section("severity").frame.set_index("level")
    cat = report.section("category").frame.set_index("level")
    for key, frame, level in (("serious", sev, "serious"),
                              *((c, cat, c) for c in NEVER_EVENTS)):  # fmt: skip
        if level in frame.index:
            row = frame.loc[level]
            counts[key] = None if row["suppressed"] else int(row["events"])
    return serious_statements(None, counts, quarter)


def factors(report: Report) -> list[Statement]:
    if not report.has("ratios"):
        return []
    out = []
    frame = report.section("ratios").frame
    for factor in ("ultrasound", "training_band", "experience_band"):
        rows = frame[frame["dimension"] == factor]
        if rows.empty:
            continue
        table = pd.DataFrame(
            {
                "analysis": [
                    "crude" if m.endswith("crude") else "adjusted" for m in rows["measure"]
                ],
                "level": rows["level"].tolist(),
                "reference": rows["reference"].tolist(),
                "rate_ratio": pd.to_numeric(rows["value"]).tolist(),
                "ci_low": pd.to_numeric(rows["ci_low"]).tolist(),
                "ci_high": pd.to_numeric(rows["ci_high"]).tolist(),
            }
        )
        if table["rate_ratio"].isna().all():
            why = "not shown in a rounded edition" if report.request.rounding else "suppressed"
            out.append(
                Statement(
                    factor, f"{factor.replace('_', ' ').capitalize()}: ratios {why}.", "ratios"
                )
            )
            continue
        if (made := factor_statement(factor, table)) is not None:
            out.append(made)
    return out


def _units_charted(charted: Sequence[ChartedSeries]) -> bool:
    """Whether clinics had charts of their own (several in scope): series of all events
    beyond the overall one."""
    return sum(c.series.kind == "all" for c in charted) > 1


def with_answer(report: Report, charted: Sequence[ChartedSeries]) -> Report:
    """``report`` with its page-1 statements and its SPC summary section."""
    touching = [s for c in charted for s in c.statements]
    charted_any = any(c.chart is not None for c in charted)
    said = (
        change(report),
        trend_statement(touching, report.request.quarter, charted_any, _units_charted(charted)),
        *serious(report),
        *factors(report),
    )
    summary = spc_summary(charted)
    public = report.request.edition == "public"
    sections = list(report.sections)
    if len(summary):
        frame = pd.DataFrame(
            {
                "dimension": summary["kind"],
                "level": summary["level"],
                "measure": "rate per 1,000 treatments",
                "value": None if public else summary["value"],
                "expected": None if public else summary["mean"],
                "limit_low": None if public else summary["lower"],
                "limit_high": None if public else summary["upper"],
                "signal": summary["variation"],
                "method": [p if isinstance(p, str) else "" for p in summary["latest"]],
                "suppressed": False,
            }
        )
        at = next((i for i, s in enumerate(sections) if s.key == "trend"), len(sections))
        sections.insert(at + 1, Section("spc", "SPC summary: every category and severity tier",
                                        frame, kind="summary"))  # fmt: skip
    return replace(report, statements=said, sections=tuple(sections))
