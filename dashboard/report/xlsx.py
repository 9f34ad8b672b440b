"""The XLSX edition of a quarterly report: one sheet per table, native Excel charts.

Sheets, in order: "Summary" (title, scope, period, data as of, edition, signals, the
suppression rule in the public edition, links to every sheet), one sheet per section
(``sheet_names``), "Serious events" (the listing; clinic edition only) and "Methods".

Every table sheet has one header row (frozen, with an autofilter) of readable headers
("Rate per 1,000 treatments", "95% CI low"), numbers as numeric cells with number formats
(counts ``#,##0``, rates ``0.00``, ratios ``0.000``, shares ``0.00"%"``), and the text
"suppressed" where the public edition hid a count and what was computed from it. A cell
holds the CLI's float to 16 significant digits (xlsxwriter writes ``%.16G``; Excel keeps
15): ``stored(x)`` is the value read back. The CSV keeps every bit.

Charts are native Excel charts beside their table: a column chart with 95% CI error bars
per breakdown (``COLUMN_CHARTS``) and a line chart of the monthly u-chart (rate, centre
line, 3-sigma limits, signal months in red). Excel plots a text cell ("suppressed") as 0,
so each chart reads a "Chart data" block right of its table: the rate (blank where
suppressed) and the error-bar lengths (rate - CI low, CI high - rate).

Safety and reproducibility: text from input data (levels, clinic ids, terms, outcomes,
narratives) goes through ``safe.neutralise`` and ``write_string``; the workbook has
``strings_to_formulas``, ``strings_to_numbers`` and ``strings_to_urls`` off and no cell is
ever a formula. The creation date is the report's "data as of" time (xlsxwriter fixes the
zip member times), so the same report gives the same bytes.
"""

from __future__ import annotations

import io
import math
import re
from datetime import datetime

import pandas as pd
import xlsxwriter
from xlsxwriter.utility import quote_sheetname, xl_range_abs

from .model import RATE, Report, Section
from .safe import neutralise

COLUMN_CHARTS = ("category", "severity", "training_band", "experience_band", "ultrasound")
SHEETS = {
    "headline": "Headline", "serious": "Serious headline", "affected": "Share affected",
    "category": "By category", "severity": "By severity", "training_band": "By training hours",
    "experience_band": "By experience", "ultrasound": "By ultrasound", "ratios": "Rate ratios",
    "trend": "Monthly trend", "spc": "SPC summary", "quality": "Data quality",
}  # fmt: skip
LEVELS = {
    "period": "Period", "category": "Event category", "severity": "Severity tier",
    "training_band": "Training hours", "experience_band": "Years of experience",
    "ultrasound": "Ultrasound guided", "month": "Month", "clinic": "Clinic",
    "practitioner": "Practitioner code",
}  # fmt: skip
ORDER = (
    "dimension", "level", "reference", "treatments", "events", "ref_events", "measure",
    "value", "ci_low", "ci_high", "expected", "limit_low", "limit_high", "signal", "method",
    "suppressed",
)  # fmt: skip
FIXED = {
    "dimension": "Dimension", "reference": "Reference level", "treatments": "Treatments",
    "ref_events": "Reference events", "measure": "Measure", "ci_low": "95% CI low",
    "ci_high": "95% CI high", "method": "Method", "suppressed": "Suppressed",
}  # fmt: skip
BY_KIND = {  # headers of expected, limit_low, limit_high, signal
    "trend": ("Centre line", "Lower 3-sigma limit", "Upper 3-sigma limit", "Signal"),
    "units": ("Overall rate", "Lower 99.8% limit", "Upper 99.8% limit", "Funnel position"),
    "summary": ("Mean", "Lower 3-sigma limit", "Upper 3-sigma limit", "Variation"),
}
OTHER_KIND = ("Expected", "Lower limit", "Upper limit", "Signal")
COUNTS = frozenset({"treatments", "events", "ref_events"})
NUMBERS = frozenset({"value", "ci_low", "ci_high", "expected", "limit_low", "limit_high"})
HIDDEN = frozenset({"events", "ref_events", "value", "ci_low", "ci_high"})
SUPPRESSED = "suppressed"
FALLBACK_CREATED = datetime(2000, 1, 1)
RATE_LABEL = "Rate per 1,000 treatments"
BLUE, NAVY, RED, GREY = "#4C72B0", "#1F4E79", "#C00000", "#555555"
LIMIT_LINES = (
    ("expected", "Centre line", GREY),
    ("limit_low", "Lower 3-sigma limit", RED),
    ("limit_high", "Upper 3-sigma limit", RED),
)
OPTIONS = {
    "in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
    "strings_to_urls": False,
}  # fmt: skip


def stored(value: float) -> float:
    """What an XLSX cell holds for ``value``: xlsxwriter writes 16 significant digits."""
    return float(f"{value:.16G}")


def sheet_names(report: Report) -> dict[str, str]:
    """Section key -> sheet name (<= 31 characters, unique, case-insensitively), plus
    "summary", "listing" (clinic edition only) and "methods"."""
    used: set[str] = set()
    names = {"summary": _unique("Summary", used)}
    for s in report.sections:
        units = "Clinics" if s.frame["dimension"].eq("clinic").all() else "Practitioners"
        names[s.key] = _unique(SHEETS.get(s.key, units if s.key == "units" else s.key), used)
    if report.listing is not None:
        names["listing"] = _unique("Serious events", used)
    names["methods"] = _unique("Methods", used)
    return names


def _unique(name: str, used: set[str]) -> str:
    name = re.sub(r"[\[\]:*?/\\]", " ", name).strip("' ")[:31] or "Sheet"
    candidate, n = name, 2
    while candidate.lower() in used:
        candidate, n = f"{name[: 28 - len(str(n))]} ({n})", n + 1
    used.add(candidate.lower())
    return candidate


def section_columns(section: Section, edition: str) -> list[tuple[str, str]]:
    """(frame column, header) of the columns a section's sheet prints, in order: dimension
    and measure only when they vary, columns empty in every row dropped, "Suppressed" in
    the public edition only."""
    f = section.frame
    one = {c: f[c].nunique(dropna=False) == 1 for c in ("dimension", "measure")}
    measure = str(f["measure"].iloc[0]) if len(f) else ""
    if not one["measure"]:
        value = "Rate ratio" if f["measure"].str.startswith("rate ratio").all() else "Value"
    else:
        value = RATE_LABEL if measure == RATE else measure.capitalize()
    expected, low, high, signal = BY_KIND.get(section.kind, OTHER_KIND)
    dimension = str(f["dimension"].iloc[0]) if one["dimension"] and len(f) else ""
    headers = FIXED | {
        "level": LEVELS.get(dimension, "Level"),
        "events": "Treatments with an event" if section.key == "affected" else "Events",
        "value": value, "expected": expected, "limit_low": low, "limit_high": high,
        "signal": signal,
        **({"method": "Latest month", "value": "Latest rate per 1,000 treatments"}
           if section.kind == "summary" else {}),
    }  # fmt: skip
    return [
        (c, headers[c])
        for c in ORDER
        if c in f
        and not one.get(c, False)
        and (c != "suppressed" or edition == "public")
        and (
            c in ("level", "value", "suppressed")
            or f[c].notna().any()
            or (c in HIDDEN and bool(f["suppressed"].any()))  # "suppressed" must show
        )
    ]


def _number_format(measure: object) -> str:
    m = str(measure)
    if m.startswith("%"):
        return '0.00"%"'
    return "#,##0" if m == "count" else "0.000" if m.startswith("rate ratio") else "0.00"


def _missing(value: object) -> bool:
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


class _Writer:
    """One workbook being written: its formats and one method per kind of sheet."""

    def __init__(self, report: Report, out: io.BytesIO) -> None:
        self.report, self.wb = report, xlsxwriter.Workbook(out, OPTIONS)
        add = self.wb.add_format
        top = {"valign": "top"}
        self.fmt = {
            "header": add({**top, "bold": True, "text_wrap": True, "bottom": 1,
                           "bg_color": "#E8ECF2"}),
            "chartdata": add({**top, "italic": True, "font_color": "#666666",
                              "text_wrap": True, "bottom": 1}),
            "suppressed": add({"italic": True, "font_color": "#777777", "align": "right"}),
            "text": add(top), "wrap": add({**top, "text_wrap": True}),
            "bold": add({**top, "bold": True}), "title": add({"bold": True, "size": 14}),
            "date": add({**top, "num_format": "yyyy-mm-dd"}),
        }  # fmt: skip
        for nf in ("#,##0", "0.00", "0.000", '0.00"%"'):
            self.fmt[nf] = add({"num_format": nf})

    def text(self, ws, row: int, col: int, value: object, fmt: str = "text") -> None:
        """A text cell, neutralised against formula injection; nothing if blank."""
        if not _missing(value) and str(value) != "":
            ws.write_string(row, col, str(neutralise(str(value))), self.fmt[fmt])

    def number(self, ws, row: int, col: int, value: object, nf: str) -> None:
        v = float(value)
        if math.isinf(v):  # Excel has no infinity: print what the CLI's table prints
            ws.write_string(row, col, "inf" if v > 0 else "-inf", self.fmt["text"])
        else:
            ws.write_number(row, col, v, self.fmt[nf])

    def table(self, name: str, headers: list[str], widths: list[float], rows: int):
        """A new sheet with a frozen header row and an autofilter over ``rows`` rows."""
        ws = self.wb.add_worksheet(name)
        for c, (h, w) in enumerate(zip(headers, widths, strict=True)):
            ws.write_string(0, c, h, self.fmt["header"])
            ws.set_column(c, c, w)
        ws.set_row(0, 32)
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, max(rows, 1), len(headers) - 1)
        return ws

    def section(self, s: Section, name: str) -> None:
        cols, f = section_columns(s, self.report.request.edition), s.frame.reset_index(drop=True)
        widths = [
            min(60, max([11, len(h) / 2 + 2, *(len(str(v)) + 2 for v in f[c].dropna())]))
            if c not in COUNTS | NUMBERS
            else 12
            for c, h in cols
        ]
        ws = self.table(name, [h for _, h in cols], widths, len(f))
        for r, row in enumerate(f.to_dict("records"), start=1):
            hidden, nf = bool(row["suppressed"]), _number_format(row["measure"])
            for c, (col, _) in enumerate(cols):
                v = row[col]
                if col == "suppressed":
                    ws.write_boolean(r, c, hidden)
                elif _missing(v):
                    if hidden and col in HIDDEN:
                        ws.write_string(r, c, SUPPRESSED, self.fmt["suppressed"])
                elif col in COUNTS | NUMBERS:
                    self.number(ws, r, c, v, "#,##0" if col in COUNTS else nf)
                else:
                    self.text(ws, r, c, v)
        side, shown = len(cols) + 1, [c for c, _ in cols]
        if len(f) and (s.key in COLUMN_CHARTS or (s.kind == "trend" and "expected" in shown)):
            side = self.chart(ws, name, s, shown, side)
        self.text(ws, 0, side, s.title, "bold")
        self.text(ws, 1, side, s.note, "wrap")

    def chart(self, ws, name: str, s: Section, cols: list[str], start: int) -> int:
        """The chart data block at column ``start`` and the chart beside it (row 3);
        returns the chart's column, where the section title goes."""
        trend, n = s.kind == "trend", len(s.frame)
        block = _chart_data(s.frame.reset_index(drop=True), trend)
        for j, (header, values) in enumerate(block.items()):
            ws.write_string(0, start + j, header, self.fmt["chartdata"])
            ws.set_column(start + j, start + j, 13)
            for r, v in enumerate(values, start=1):
                if v is not None:
                    ws.write_number(r, start + j, v, self.fmt["0.00"])
        chart = self.wb.add_chart({"type": "line" if trend else "column"})
        for series in _series(name, n, cols, start, trend):
            chart.add_series(series)
        chart.set_legend({"position": "bottom"} if trend else {"none": True})
        chart.set_title({"name": s.title, "name_font": {"size": 11}})
        chart.set_y_axis({"name": "per 1,000 treatments", "num_format": "0.0"})
        chart.set_x_axis({"num_font": {"rotation": -45}} if n > 6 else {})
        chart.show_blanks_as("gap")
        chart.set_size({"width": 680, "height": 380})
        side = start + len(block) + 1
        ws.insert_chart(2, side, chart)
        return side

    def summary(self, name: str, names: dict[str, str]) -> None:
        r, ws = self.report, self.wb.add_worksheet(name)
        public, (start, end) = r.request.edition == "public", r.request.period
        edition = (
            f"public: counts 1 to {r.request.threshold} suppressed, clinics by anonymous code"
            if public
            else "clinic: internal governance only, not for publication"
        )
        ws.set_column(0, 0, 26)
        ws.set_column(1, 1, 110)
        rows = [
            ("Scope", r.scope),
            ("Quarter", f"{r.request.label} ({start:%Y-%m-%d} to {end:%Y-%m-%d})"),
            ("Previous quarter", r.previous_quarter),
            ("Four quarters", f"{r.trailing[0]:%Y-%m-%d} to {r.trailing[1]:%Y-%m-%d}"),
            ("Data as of", r.data_as_of),
            ("Edition", edition),
            ("Clinics in scope", ", ".join(r.units)),
            *((h, p) for h, p in r.methods if public and h.startswith("Suppression")),
            *(("Notice", n) for n in r.notices),
            ("Signals", r.signals[0] if r.signals else "No signal touches the quarter."),
            *(("", s) for s in r.signals[1:]),
            ("Sheets", "One table per sheet (click a title to open it):"),
        ]
        titles = {s.key: s.title for s in r.sections} | {
            "listing": "Serious and significant events of the quarter, with narratives",
            "methods": "Definitions, denominators, intervals, adjustment, suppression",
        }
        self.text(ws, 0, 0, r.title, "title")
        for i, (label, value) in enumerate(rows, start=2):
            self.text(ws, i, 0, label, "bold")
            self.text(ws, i, 1, value, "wrap")
        for i, (key, sheet) in enumerate(names.items(), start=len(rows) + 1):
            if key != "summary":
                self.text(ws, i, 0, sheet, "bold")
                link = f"internal:{quote_sheetname(sheet)}!A1"
                ws.write_url(i, 1, link, string=str(neutralise(titles[key])))

    def listing(self, name: str, frame: pd.DataFrame) -> None:
        cols = list(frame.columns)
        headers = [
            "Reported term" if c == "event_type" else c.replace("_", " ").capitalize() for c in cols
        ]
        widths = [80 if c == "narrative" else 24 if c == "outcome" else 15 for c in cols]
        ws = self.table(name, headers, widths, len(frame))
        for r, row in enumerate(frame.itertuples(index=False), start=1):
            for c, v in enumerate(row):
                if isinstance(v, (datetime, pd.Timestamp)) and not _missing(v):
                    ws.write_datetime(r, c, pd.Timestamp(v).to_pydatetime(), self.fmt["date"])
                else:
                    self.text(ws, r, c, v, "wrap" if cols[c] == "narrative" else "text")
        if frame.empty:
            ws.write_string(1, 0, "No serious or significant events in the quarter.")

    def methods(self, name: str) -> None:
        rows = (*self.report.methods, *self.report.disclosure)
        ws = self.table(name, ["Topic", "Method"], [28, 110], len(rows))
        for r, (heading, body) in enumerate(rows, start=1):
            self.text(ws, r, 0, heading, "bold")
            self.text(ws, r, 1, body, "wrap")


def _chart_data(f: pd.DataFrame, trend: bool) -> dict[str, list[float | None]]:
    """What a chart plots: the rate (None where suppressed or missing) and, for the trend,
    the rate of signal months only, else the error-bar lengths below and above."""
    rate = [
        None if hidden or _missing(v) else float(v)
        for hidden, v in zip(f["suppressed"], f["value"], strict=True)
    ]
    if trend:
        flagged = f["signal"].fillna("").astype(str).ne("") if "signal" in f else [False] * len(f)
        signal = [r if flag else None for r, flag in zip(rate, flagged, strict=True)]
        return {"Chart data: rate": rate, "Chart data: signal months": signal}
    low, high = (pd.to_numeric(f[c]).tolist() for c in ("ci_low", "ci_high"))
    below = [None if r is None else r - lo for r, lo in zip(rate, low, strict=True)]
    above = [None if r is None else hi - r for r, hi in zip(rate, high, strict=True)]
    return {"Chart data: rate": rate, "Chart data: rate - CI low": below,
            "Chart data: CI high - rate": above}  # fmt: skip


def _series(name: str, n: int, cols: list[str], start: int, trend: bool) -> list[dict]:
    """xlsxwriter series options: the rate (columns with custom 95% CI error bars, or a
    line), and for the trend the signal months, the centre line and the 3-sigma limits."""

    def ref(col: int) -> list:
        return [name, 1, col, n, col]

    def series(label: str, col: int, **style) -> dict:
        return {"name": label, "categories": ref(cols.index("level")), "values": ref(col)} | style

    if not trend:
        minus, plus = (f"={quote_sheetname(name)}!{xl_range_abs(1, c, n, c)}" for c in
                       (start + 1, start + 2))  # fmt: skip
        bars = {"type": "custom", "plus_values": plus, "minus_values": minus, "end_style": 1}
        return [series(RATE_LABEL, start, fill={"color": BLUE}, gap=60, y_error_bars=bars)]
    dot = {"type": "circle", "size": 7, "fill": {"color": RED}, "border": {"color": RED}}
    return [
        series(RATE_LABEL, start, marker={"type": "circle", "size": 5},
               line={"color": NAVY, "width": 1.5}),
        series("Signal", start + 1, line={"none": True}, marker=dot),
        *(series(label, cols.index(col), marker={"type": "none"},
                 line={"color": colour, "dash_type": "dash", "width": 1})
          for col, label, colour in LIMIT_LINES),
    ]  # fmt: skip


def _created(data_as_of: str) -> datetime:
    try:
        return datetime.strptime(data_as_of, "%Y-%m-%d %H:%M UTC")
    except ValueError:  # "no ingest recorded"
        return FALLBACK_CREATED


def write_xlsx(report: Report) -> bytes:
    """``report`` as XLSX bytes (see the module doc); the same report gives the same bytes."""
    out = io.BytesIO()
    w = _Writer(report, out)
    w.wb.set_properties(
        {"title": report.title, "subject": report.scope, "author": "NeedleWatch",
         "keywords": f"{report.request.edition} edition", "created": _created(report.data_as_of)}
    )  # fmt: skip
    names = sheet_names(report)
    w.summary(names["summary"], names)
    for s in report.sections:
        w.section(s, names[s.key])
    if report.listing is not None:
        w.listing(names["listing"], report.listing)
    w.methods(names["methods"])
    w.wb.close()
    return out.getvalue()
