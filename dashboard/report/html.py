"""The report as one HTML document: interactive (HTML edition) or with static images (PDF).

The template (``templates/report.html.j2``, Jinja2 with autoescaping) receives ready-made
rows of formatted strings, so every format prints a number the same way:

    counts 1,234 · rates 12.35 (2 decimals, per 1,000) · intervals "11.80 to 12.91" ·
    ratios 0.92 · a suppressed count "suppressed" and its rate "–"
"""

from __future__ import annotations

from pathlib import Path

import jinja2
import pandas as pd

from dashboard.analysis.labels import label
from dashboard.analysis.statements import NEVER_EVENTS
from dashboard.figures.control_charts import MDC_CAPTION

from .html_tables import (
    DASH,
    Block,
    _serious_table,
    fmt_count,
    fmt_interval,
    fmt_number,
    listing_table,
    peers_table,
    quality_table,
    rate_table,
    ratio_table,
    summary_table,
    trend_table,
    units_table,
)
from .model import Report
from .page import PRINT_CSS

TEMPLATES = Path(__file__).parent / "templates"
SCREEN_CSS = """
@page wide { size: A4 landscape; margin: 18mm 14mm 18mm 14mm; }
.wide { page: wide; }
.wide table { font-size: 7.5pt; }
.cover .subtitle { font-size: 11pt; color: #333; margin-bottom: 4mm; }
table.facts { width: auto; }
table.headline { font-size: 7.8pt; table-layout: fixed; }
table.headline th { white-space: normal; }
table.headline th, table.headline td { box-sizing: border-box; padding-left: 1.2mm; padding-right: 1.2mm; }
table.headline th:nth-child(1) { width: 15%; }
table.headline th:nth-child(2) { width: 11%; }
table.headline th:nth-child(3) { width: 9%; }
table.headline th:nth-child(5) { width: 11%; }
table.headline th:nth-child(4) { width: 22%; }
table.headline th:nth-child(6) { width: 19%; }
table.headline th:nth-child(7) { width: 13%; }
table.facts th { border: none; padding-right: 6mm; }
table.facts td { border: none; background: none !important; }
ul.signals li { margin-bottom: 1.5mm; }
p.intro, h3 + ul.signals { break-after: avoid; }
p.notice { border-left: 3px solid #E69F00; padding: 1mm 0 1mm 3mm; margin: 2mm 0; }
p.capped { border-left: 3px solid #777; padding: 1mm 0 1mm 3mm; color: #1b1b1b; }
ul.statements { list-style: none; padding-left: 0; margin: 1mm 0; }
ul.statements li { margin: 0 0 1.6mm; padding-left: 6mm; text-indent: -6mm; }
ul.statements .mark { display: inline-block; width: 3mm; height: 3mm; border-radius: 50%;
  margin-right: 3mm; vertical-align: baseline; background: #a6a6a6; }
ul.statements li.concern .mark { background: #e46c0a; }
ul.statements li.improvement .mark { background: #00b0f0; }
table.serious { font-size: 8pt; }
table.summary { font-size: 8pt; }
table.summary td.icon { width: 7mm; }
table.summary td:last-child { white-space: nowrap; }
@media print {
  section.methods { columns: 2; column-gap: 7mm; font-size: 8.5pt; }
  section.methods h2 { column-span: all; }
  section.methods h3 { font-size: 9pt; margin-top: 3mm; }
}
.nowrap { white-space: nowrap; }
code { font-size: 8.5pt; }
@media screen {
  body { max-width: 1100px; margin: 0 auto; padding: 24px; }
  .running-footer { display: none; }
}
"""
BLOCK_NOTES = {
    "category": "Categories with no events are listed in the table but not drawn.",
    "ratios": "Rate ratio below 1: fewer events than in the reference level. Adjusted: for body "
    "region. When practitioners differ more than chance, intervals are practitioner-clustered "
    "(Poisson regression); otherwise exact (crude) and Mantel-Haenszel (adjusted). The "
    "XLSX and CSV editions give each row's method.",
    "trend": MDC_CAPTION,
    "peers": "Observed: this clinic's events in the quarter. Expected: the events it would "
    "have had at the network's rate in each body region it needled. Ratio: observed over "
    "expected (1: as the network), with an exact Poisson 95% interval, for chance alone. "
    "Verdict: higher or lower when the interval excludes 1.",
    "units": "Limits are 95% and 99.8% around the overall rate for each unit's number of "
    "treatments (Spiegelhalter 2005), widened by additive random effects when units differ "
    "more than chance; the dashboard's Clinics page and needlewatch signals flag the same units.",
}


EDITION_NAMES = {
    "public": "public edition",
    "clinic": "clinic edition (confidential)",
    "feedback": "feedback edition (for the clinic)",
}
FEEDBACK_NOTE = (
    "Feedback from the professional body to this clinic: its own figures, and where it sits "
    "among every clinic of the network. Other clinics are never named."
)


def _with_ci(row: dict) -> str:
    if row["suppressed"]:
        return DASH
    return f"{fmt_number(row['value'])} ({fmt_interval(row['ci_low'], row['ci_high'])})"


def _headline(report: Report) -> list[dict[str, str]]:
    """Rows of the headline table: this quarter, the previous one, the four quarters."""
    head = report.section("headline").frame.to_dict("records")
    serious = report.section("serious").frame.to_dict("records")
    affected = {r["level"]: r for r in report.section("affected").frame.to_dict("records")}
    labels = (
        report.request.quarter,
        f"{report.previous_quarter} (previous)",
        "Four quarters to date",
    )
    out = []
    for name, h, s in zip(labels, head, serious, strict=True):
        a = affected.get(h["level"])
        share = DASH if a is None or a["suppressed"] else f"{float(a['value']):.1f}%"
        out.append({
            "label": name,
            "treatments": fmt_count(h["treatments"]),
            "events": fmt_count(h["events"], h["suppressed"]),
            "rate": _with_ci(h),
            "serious": fmt_count(s["events"], s["suppressed"]),
            "serious_rate": _with_ci(s),
            "affected": share,
        })  # fmt: skip
    return out


def _not_printed(left: pd.DataFrame, shown: int, total: int) -> str:
    """The note under a capped listing: how many rows are printed, what is left out (by
    severity and category, most first) and which editions list every event."""
    parts = []
    for tier in ("serious", "significant"):
        tier_rows = left[left["severity"] == tier]
        if len(tier_rows):
            kinds = tier_rows["category"].value_counts(sort=True)
            parts.append(
                f"{len(tier_rows):,} {tier} ("
                + ", ".join(f"{label('category', k)} {n:,}" for k, n in kinds.items())
                + ")"
            )
    return (
        f"Printed here: the first {shown:,} of the quarter's {total:,} events. Not printed: "
        + " and ".join(parts)
        + '. The XLSX edition of this report (sheet "Serious events": needlewatch report '
        f"--out FILE.xlsx) and the HTML edition list all {total:,}."
    )


def _listing_block(listing: pd.DataFrame, limit: int | None) -> Block:
    """The line listing: serious and never events first, then the other significant ones,
    newest first; past ``limit`` rows (the PDF) the rest is counted by severity and
    category and left to the HTML and XLSX editions."""
    first = (listing["severity"] == "serious") | listing["category"].isin(NEVER_EVENTS)
    ordered = listing.assign(_serious=~first).sort_values(
        ["_serious", "event_date"], ascending=[True, False], kind="stable"
    )
    shown = ordered if limit is None else ordered.head(limit)
    capped = len(shown) < len(listing)
    note = "" if len(listing) else "No significant or serious event this quarter."
    if capped:
        note = _not_printed(ordered.iloc[len(shown) :], len(shown), len(listing))
    return Block(
        "listing",
        f"Significant and serious events ({len(listing):,})",
        listing_table(shown.drop(columns="_serious")) if len(shown) else None,
        intro="The quarter's significant and serious events with their treatment context: "
        "serious and never events first, newest first. Practitioners by pseudonymous code. "
        "Confidential: clinic edition only."
        + (
            f" This PDF prints the first {len(shown):,} of {len(listing):,}; the note after "
            "the table counts the rest, which the XLSX and HTML editions list."
            if capped
            else ""
        ),
        note=note,
        css="listing",
        new_page=True,
        capped=capped,
    )


def blocks(
    report: Report, figures: dict[str, str], listing_limit: int | None = None
) -> list[Block]:
    """The report body after the headline: one block per table, its chart beside it."""
    titles = {
        "category": "Incidence by event category",
        "severity": "Incidence by severity tier",
        "training_band": "By practitioner training hours",
        "experience_band": "By years of dry-needling experience",
        "ultrasound": "By ultrasound guidance",
    }
    out = []
    for key, title in titles.items():
        if report.has(key):
            section = report.section(key)
            table = rate_table(section, key)
            out.append(
                Block(key, title, table, figures.get(key, ""), note=BLOCK_NOTES.get(key, ""))
            )
    if report.has("ratios") and len(report.section("ratios").frame):
        s = report.section("ratios")
        out.append(
            Block(
                "ratios",
                "Rate ratios: crude and adjusted for body region",
                ratio_table(s),
                figures.get("ratios", ""),
                note=BLOCK_NOTES["ratios"],
            )
        )
    if report.has("peers"):
        s = report.section("peers")
        out.append(
            Block("peers", s.title, peers_table(s), figures.get("peers", ""),
                  note=BLOCK_NOTES["peers"])
        )  # fmt: skip
    s = report.section("trend")
    out.append(
        Block(
            "trend",
            "Monthly trend and signals",
            trend_table(s),
            figures.get("trend", ""),
            intro=BLOCK_NOTES["trend"],
            bullets=report.signals
            or (
                "No special cause touches the quarter on any chart: all events, each category "
                "and severity tier with enough events"
                + ("" if report.request.clinic else ", each clinic")
                + ".",
            ),
        )  # fmt: skip
    )
    if report.has("spc"):
        s = report.section("spc")
        public = report.request.edition == "public"
        spc_table, spc_note = summary_table(s)
        out.append(
            Block(
                "spc",
                s.title,
                spc_table,
                intro="Each category's and severity tier's own control chart over the 24 months: "
                "the latest complete month, its rate, the mean and 3-sigma limits there, and "
                "its variation (grey common cause; orange, higher: a special cause of "
                "concern; blue, lower: an improvement). No targets are set, so there is no "
                "assurance icon."
                + (" The public edition gives the variation only: a category's count in "
                   "one month is not published." if public else ""),
                css="summary",
                note=spc_note,
            )
        )  # fmt: skip
    if report.has("units"):
        s = report.section("units")
        out.append(
            Block(
                "units",
                s.title,
                units_table(s),
                figures.get("units", ""),
                note=" ".join(n for n in (s.note, BLOCK_NOTES["units"]) if n),
            )
        )
    if report.listing is not None:
        out.append(_listing_block(report.listing, listing_limit))
    if not report.has("quality"):  # the feedback edition: not the body's database
        return out
    out.append(
        Block(
            "quality",
            "Data quality",
            quality_table(report.section("quality")),
            intro="Whole database: ingest runs, rejected rows, event terms that matched no category, and blank optional fields.",
            # back to portrait after the landscape listing; the methods follow on its page
            new_page=report.listing is not None and len(report.listing) > 0,
        )
    )
    return out


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    return env


def render_html(
    report: Report,
    figures: dict[str, str],
    plotly_js: str = "",
    listing_limit: int | None = None,
    serious_limit: int | None = None,
) -> str:
    """The whole document. ``figures``: section key -> HTML of its chart (a Plotly div or
    an <img>), inserted unescaped; ``plotly_js``: the library, inlined once (HTML edition);
    ``listing_limit``: most listing rows printed, ``serious_limit``: most serious events
    (besides never events) in page 1's table (the PDF: a national quarter has 1,300
    events, and a governance meeting reads pages, not a register); the rest are counted in a note that says which editions list them."""
    public = report.request.edition == "public"
    feedback = report.request.edition == "feedback"
    start, end = report.request.period
    serious, serious_note = _serious_table(report, serious_limit)
    context = {
        "r": report,
        "css": PRINT_CSS + SCREEN_CSS,
        "plotly_js": plotly_js,
        "period": f"{report.request.label} ({start:%d %b %Y} to {end:%d %b %Y})",
        "edition_name": EDITION_NAMES[report.request.edition],
        "edition_note": FEEDBACK_NOTE
        if feedback
        else (
            f"Public: counts from 1 to {report.request.threshold} and anything that would reveal them "
            "are suppressed; clinics under anonymous codes; no narratives or identifiers."
            if public
            else "Clinic edition for governance: includes the serious-event listing with narratives. Do not publish."
        ),
        "headline": _headline(report),
        "statements": report.statements,
        "serious": serious,
        "serious_note": serious_note,
        "blocks": blocks(report, figures, listing_limit),
    }
    return _environment().get_template("report.html.j2").render(**context)
