"""Formula-injection defence for spreadsheet outputs (XLSX and CSV).

A spreadsheet treats a cell whose text begins with ``=``, ``+``, ``-`` or ``@`` as a
formula, and a leading tab or carriage return can hide such a character from a naive
check. Clinic ids, event terms, outcomes and narratives come from the files users ingest,
so a value like ``=HYPERLINK("http://x","y")`` would become a live link (or worse) when a
safety officer opens the report in Excel or LibreOffice.

The rule follows OWASP's CSV Injection guidance
(https://owasp.org/www-community/attacks/CSV_Injection): a text value that begins with
one of ``= + - @``, tab (0x09) or carriage return (0x0D), and line feed (0x0A, added to
the OWASP list in 2025), is prefixed with a single quote ``'``, which OWASP recommends
because spreadsheets read the whole cell as text. NUL (0x00) is included too, as OWASP
ASVS 5.0 requirement 1.2.10 lists it.

Why a visible quote and not only a "text" cell: in the XLSX a string cell is never
evaluated, but the same text would become a formula again as soon as someone copies it
into another sheet or saves the sheet as CSV. The quote travels with the value, so it
stays inert wherever it goes; the cost is one visible character on a rare, odd value.

Numbers are never touched: a negative number stays a number (only *text* starting with
``-`` is prefixed), so every figure still equals ``needlewatch rates``.
"""

from __future__ import annotations

import pandas as pd

#: First characters that make a spreadsheet read a text cell as a formula (OWASP).
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")
PREFIX = "'"


def neutralise(value: object) -> object:
    """``value`` with a leading ``'`` if it is text starting with a formula trigger.

    Anything that is not a ``str`` (numbers, booleans, None, NaN, dates) is returned
    unchanged, so numeric cells stay numeric.

        >>> neutralise('=HYPERLINK("http://x","y")')
        '\\'=HYPERLINK("http://x","y")'
        >>> neutralise(-2.5), neutralise("C01"), neutralise("0-20")
        (-2.5, 'C01', '0-20')
    """
    if isinstance(value, str) and value.startswith(TRIGGERS):
        return PREFIX + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell of every non-numeric column neutralised.

    Numeric and boolean columns are left as they are (their dtype is kept), so this is
    safe to apply to a whole tidy table before writing it.
    """
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_numeric_dtype(out[col]) or pd.api.types.is_bool_dtype(out[col]):
            continue
        out[col] = out[col].astype(object).map(neutralise)
    return out
