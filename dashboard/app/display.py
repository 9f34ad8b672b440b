"""Tables as the pages show them: words for codes and column names, numbers formatted.

Pure (pandas only): each function takes what a ``dashboard.analysis.views`` function returned and
gives the frame a page hands to ``st.dataframe``, with printed column names
(``labels.heading``) and values (``labels.label``). Numbers a test compares with the
command line (rates, rate ratios, counts) stay numbers, formatted by the page's column
config; text that a number cannot say (a p-value below 0.001, a reference level, an
interval) is text.
"""

from __future__ import annotations

import pandas as pd

from dashboard.analysis.labels import heading, headings, label, p_text, per_text
from dashboard.app.downloads import per_scaled
from dashboard.figures.style import num

REFERENCE = "reference"


def _words(values: pd.Series, dim: str) -> list[str]:
    return [label(dim, v) if not pd.isna(v) else "" for v in values]


def _interval(low: object, high: object, digits: int | None = None) -> str:
    """'0.928 to 1.352' (``digits`` decimals), or 3 significant figures each."""
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return ""
    if digits is None:
        return f"{num(low)} to {num(high)}"
    return f"{float(low):.{digits}f} to {float(high):.{digits}f}"


def rates_shown(table: pd.DataFrame, dim: str, per: str = "treatments") -> pd.DataFrame:
    """The rates behind a chart: level in words, exposure, events, the rate (per 1,000
    treatments or per 10,000 needle insertions, as the chart; 3 significant figures, so
    0.012 stays legible beside 75.6) and its 95% interval."""
    scaled = per_scaled(table, per)
    suffix = "per_10000" if per == "insertions" else "per_1000"
    exposure = "insertions" if per == "insertions" else "treatments"
    return pd.DataFrame(
        {
            heading(dim): _words(table[dim], dim),
            heading(exposure): table[exposure].tolist(),
            heading("events"): table["events"].tolist(),
            per_text(per).capitalize(): [num(v) for v in scaled[f"rate_{suffix}"]],
            "95% CI": [
                _interval(lo, hi)
                for lo, hi in zip(
                    scaled[f"ci_low_{suffix}"], scaled[f"ci_high_{suffix}"], strict=True
                )
            ],
        }
    )


def model_shown(table: pd.DataFrame) -> pd.DataFrame:
    """The regression table (``RateModel.table``): factor and levels in words, the rate
    ratio a number, its interval and p-value as text, "reference" on reference rows."""
    rows = table.to_dict("records")
    is_ref = [str(r["level"]) == str(r["reference"]) for r in rows]
    return pd.DataFrame(
        {
            "Factor": [heading(str(r["term"])) for r in rows],
            "Level": [label(str(r["term"]), r["level"]) for r in rows],
            "Compared with": [label(str(r["term"]), r["reference"]) for r in rows],
            "Rate ratio": [None if pd.isna(r["irr"]) else float(r["irr"]) for r in rows],
            "95% CI": [
                REFERENCE if ref else _interval(r["ci_low"], r["ci_high"], 3)
                for r, ref in zip(rows, is_ref, strict=True)
            ],
            "p": [
                REFERENCE if ref else p_text(r["p_value"])
                for r, ref in zip(rows, is_ref, strict=True)
            ],
            heading("events"): [int(r["events"]) for r in rows],
            heading("treatments"): [int(r["treatments"]) for r in rows],
            # a reference row says "reference" already; other notes (no events, ...) stay
            heading("note"): [
                "" if ref or pd.isna(r["note"]) else str(r["note"])
                for r, ref in zip(rows, is_ref, strict=True)
            ],
        }
    )


def outliers_shown(units: pd.DataFrame, unit: str) -> pd.DataFrame:
    """A funnel's units outside the limits: unit, events, treatments, rate, which limit."""
    out = units[units["outside"] != ""]
    return pd.DataFrame(
        {
            heading(unit): out["unit"].tolist(),
            heading("events"): out["events"].tolist(),
            heading("treatments"): [int(v) for v in out["exposure"]],
            heading("rate"): out["rate"].tolist(),
            heading("outside"): out["outside"].tolist(),
        }
    )


#: The serious-events listing's dimension columns, printed as words.
LISTING_DIMS = ("training_band", "body_region", "ultrasound", "technique", "category", "severity")


def listing_shown(listing: pd.DataFrame) -> pd.DataFrame:
    """The line listing with words for codes and printed column names."""
    shown = listing.copy()
    for dim in LISTING_DIMS:
        if dim in shown:
            shown[dim] = _words(shown[dim], dim)
    shown.columns = headings(list(shown.columns))
    return shown


def quality_shown(frame: pd.DataFrame) -> pd.DataFrame:
    """A data-quality table: printed column names; stored table names and the optional
    columns of the blanks table as words (a rejected row's ``column_name`` stays as the
    file wrote it: the reader looks for it in the file)."""
    shown = frame.copy()
    if "table_name" in shown:
        shown["table_name"] = _words(shown["table_name"], "table")
        if "missing" in shown:
            shown["column_name"] = [heading(str(c)) for c in shown["column_name"]]
    if "kind" in shown and "rows_read" in shown:
        shown["kind"] = _words(shown["kind"], "table")
    if "category" in shown:
        shown["category"] = _words(shown["category"], "category")
    shown.columns = headings(list(shown.columns))
    return shown
