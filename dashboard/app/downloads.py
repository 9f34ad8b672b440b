"""What a chart's "data behind it" download holds, and what its file is called.

Pure (pandas only), so the names and the rounding are tested without Streamlit.

A downloaded file must say what it covers once it sits in a folder of others, so its name
carries the scope (clinics), the period and the events counted:

    file_stem(Filters(clinics=("C04",), date_from=2026-07-01, date_to=2026-09-30,
                      category="fainting"), "rates-by-training-band")
        -> "c04-2026Q3-fainting-rates-by-training-band"
    file_stem(Filters(), "funnel-clinics") -> "all-clinics-all-dates-funnel-clinics"

Its rates are rounded to what a reader can use (2 decimals for rates and limits, 3 for
rate ratios) and the main estimate keeps its full precision beside it
(``rate_per_1000`` and ``rate_per_1000_exact``), so a spreadsheet shows tidy numbers and
a re-analysis loses nothing. Codes stay codes (``pain_during``): they are join keys.
Rates per needle insertion are per 10,000 insertions (``rate_per_10000``), as the pages
show them.
"""

from __future__ import annotations

import re

import pandas as pd

from dashboard.analysis.labels import PER
from dashboard.store.filters import Filters, parse_quarter, quarter_of

#: Rate columns (per 1,000 or per 10,000) and control-chart or funnel limits: 2 decimals.
RATE_COLUMNS = frozenset(
    {"rate", "centre", "target", "lcl1", "ucl1", "lcl2", "ucl2", "lcl3", "ucl3", "lo95",
     "hi95", "lo998", "hi998", "expected"}
)  # fmt: skip
#: Rate ratios and their intervals: 3 decimals.
RATIO_COLUMNS = frozenset({"rate_ratio", "irr", "ci_low", "ci_high"})
#: The main estimates, which keep a full-precision copy (``<name>_exact``).
EXACT_COLUMNS = frozenset({"rate_per_1000", "rate_per_10000", "rate", "rate_ratio", "irr"})
_UNSAFE = re.compile(r"[^A-Za-z0-9]+")


def _slug(text: str) -> str:
    return _UNSAFE.sub("-", str(text)).strip("-").lower()


def _some(values: tuple[str, ...], noun: str) -> list[str]:
    if not values:
        return []
    if len(values) <= 2:
        return ["-".join(_slug(v) for v in values)]
    return [f"{len(values)}-{noun}"]


def period_slug(filters: Filters) -> str:
    """'2026Q3', '2025-04-01-to-2025-06-30', 'from-2025-04-01' or 'all-dates'."""
    start, end = filters.date_from, filters.date_to
    if start and end and (start, end) == parse_quarter(quarter_of(start)):
        return quarter_of(start)
    if start and end:
        return f"{start.isoformat()}-to-{end.isoformat()}"
    if start:
        return f"from-{start.isoformat()}"
    if end:
        return f"to-{end.isoformat()}"
    return "all-dates"


def file_stem(filters: Filters, what: str) -> str:
    """A download's name without ".csv": clinics, period, other filters, then ``what``."""
    clinics = _some(filters.clinics, "clinics") or ["all-clinics"]
    parts = [*clinics, period_slug(filters)]
    parts += _some(filters.professions, "professions")
    parts += _some(filters.regions, "regions")
    parts += _some(filters.techniques, "techniques")
    if filters.category:
        parts.append(_slug(filters.category))
    if filters.severity:
        parts.append(_slug(filters.severity))
    return "-".join([*parts, _slug(what)])


def per_scaled(table: pd.DataFrame, per: str = "treatments") -> pd.DataFrame:
    """``table`` with its ``*_per_1000`` columns per 10,000 when ``per`` is "insertions"
    (the numbers times 10, the columns renamed ``*_per_10000``); unchanged otherwise."""
    if per != "insertions":
        return table
    factor = PER["insertions"] / PER["treatments"]
    out = table.copy()
    renamed = {}
    for col in table.columns:
        if col.endswith("_per_1000"):
            out[col] = [None if pd.isna(v) else v * factor for v in table[col]]
            renamed[col] = col.removesuffix("_per_1000") + "_per_10000"
    return out.rename(columns=renamed)


def _rounded(values: pd.Series, digits: int) -> list[object]:
    return [
        v if v is None or isinstance(v, str) or pd.isna(v) else round(float(v), digits)
        for v in values
    ]


def for_download(table: pd.DataFrame, per: str = "treatments") -> pd.DataFrame:
    """The table as its CSV download: rates per 10,000 insertions when ``per`` says so,
    rates and limits to 2 decimals, rate ratios to 3, each main estimate followed by its
    full-precision ``_exact`` column; counts, codes, p-values and text unchanged."""
    scaled = per_scaled(table, per)
    out = pd.DataFrame(index=scaled.index)
    for col in scaled.columns:
        values = scaled[col]
        numeric = values.dtype.kind in "iuf" or (
            values.dtype.kind == "O"
            and all(v is None or isinstance(v, (int, float)) for v in values)
            and any(v is not None for v in values)
        )
        rate = col in RATE_COLUMNS or col.endswith(("_per_1000", "_per_10000"))
        if numeric and (rate or col in RATIO_COLUMNS):
            out[col] = _rounded(values, 3 if col in RATIO_COLUMNS else 2)
            if col in EXACT_COLUMNS:
                out[f"{col}_exact"] = values
        else:
            out[col] = values
    return out.reset_index(drop=True)
