"""Calendar quarters as NeedleWatch writes them ('2026Q3'): one definition for the write
side (a submission's quarter, ``ingest.submissions``) and the read side (periods, reports;
``dashboard.store.filters`` re-exports these)."""

from __future__ import annotations

import re
from datetime import date

_QUARTER = re.compile(r"^(\d{4})\s*-?\s*[Qq]([1-4])$")


def parse_quarter(text: str) -> tuple[date, date]:
    """``'2026Q3'`` -> (2026-07-01, 2026-09-30). Raises ValueError with the expected form."""
    match = _QUARTER.match(text.strip())
    if not match:
        raise ValueError(f"'{text}' is not a quarter: write it like 2026Q3")
    year, q = int(match.group(1)), int(match.group(2))
    start = date(year, 3 * q - 2, 1)
    end = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
    return start, date.fromordinal(end.toordinal() - 1)


def quarter_of(day: date) -> str:
    """date(2025, 5, 17) -> '2025Q2'."""
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def shift_quarter(quarter: str, by: int) -> str:
    """'2026Q1', -1 -> '2025Q4'."""
    index = int(quarter[:4]) * 4 + int(quarter[-1]) - 1 + by
    return f"{index // 4}Q{index % 4 + 1}"


def quarters_between(first: str, last: str) -> list[str]:
    """'2025Q3', '2026Q1' -> ['2025Q3', '2025Q4', '2026Q1'] (empty when last is earlier)."""
    out = []
    while first <= last:
        out.append(first)
        first = shift_quarter(first, 1)
    return out


def quarter_months(quarter: str) -> list[date]:
    """The first day of each of a quarter's three months: '2026Q2' -> [04-01, 05-01, 06-01]."""
    first = parse_quarter(quarter)[0]
    return [date(first.year, first.month + i, 1) for i in range(3)]
