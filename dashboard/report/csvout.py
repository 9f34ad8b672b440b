"""The CSV edition of a quarterly report: every table as one tidy long table.

Columns (``CSV_COLUMNS``), one row per printed table row:

    quarter, scope, edition,            which report (so several reports' CSVs stack)
    section, dimension, level, reference, treatments, events, measure, value, ci_low,
    ci_high, method, expected, limit_low, limit_high, signal, suppressed

as ``Report.long_table()`` (see ``dashboard.report.model`` for what each column means).

Choices, for people who open it in Excel and for programs that read it:

- UTF-8 *with* a byte-order mark. Excel opens a BOM-less CSV in the Windows ANSI code
  page and garbles "Clínica Sol"; with the BOM it reads UTF-8. pandas, DuckDB and
  Python's ``csv`` (``encoding="utf-8-sig"``) skip the BOM. To stack files by hand, keep
  the first file whole and drop the first line of the others (the BOM goes with it).
- Comma separated with RFC 4180 CRLF line ends and quoting. (With ``\\n`` line ends
  Python's csv writer leaves a lone ``\\r`` inside a value unquoted, and readers then
  split the row there: a clinic id "\\r=1" would break the table.) Numbers at full
  precision (Python's shortest round-trip repr, the same digits as ``needlewatch rates
  --format csv``), counts as whole numbers, empty for missing, ``suppressed`` as
  ``true``/``false`` (pandas reads these as booleans).
- Text cells pass through ``safe.neutralise`` (formula injection, OWASP), so a level,
  clinic id or reference that begins with ``=``, ``+``, ``-``, ``@``, tab or CR starts
  with ``'`` instead. Numbers are never altered.
"""

from __future__ import annotations

import pandas as pd

from .model import LONG_COLUMNS, Report
from .safe import neutralise_frame

REPORT_COLUMNS = ("quarter", "scope", "edition")
CSV_COLUMNS = (*REPORT_COLUMNS, *LONG_COLUMNS)
COUNT_COLUMNS = ("treatments", "events", "ref_events")
FLOAT_COLUMNS = ("value", "ci_low", "ci_high", "expected", "limit_low", "limit_high")
ENCODING = "utf-8-sig"
LINE_END = "\r\n"


def csv_table(report: Report) -> pd.DataFrame:
    """The frame ``write_csv`` writes: typed (Int64 counts, float64 numbers, bool flag),
    text neutralised, columns ``CSV_COLUMNS``."""
    table = report.long_table()
    for col in (c for c in COUNT_COLUMNS if c in table):
        table[col] = pd.to_numeric(table[col], errors="raise").astype("Int64")
    for col in FLOAT_COLUMNS:
        table[col] = pd.to_numeric(table[col], errors="raise").astype("float64")
    table["suppressed"] = table["suppressed"].fillna(False).astype(bool)
    table.insert(0, "edition", report.request.edition)
    table.insert(0, "scope", report.scope)
    table.insert(0, "quarter", report.request.quarter)
    return neutralise_frame(table)[list(CSV_COLUMNS)]


def write_csv(report: Report) -> bytes:
    """``report`` as UTF-8 (with BOM) CSV bytes; the same report gives the same bytes."""
    table = csv_table(report)
    table["suppressed"] = table["suppressed"].map({True: "true", False: "false"})
    text = table.to_csv(index=False, lineterminator=LINE_END, na_rep="")
    return text.encode(ENCODING)
