"""The filters every view and command shares, validated once, carried as a frozen dataclass."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from dashboard.store.bands import Bands

#: Dimensions a rate table can be split by. Event dimensions split the numerator only.
TREATMENT_DIMS = (
    "training_band",
    "experience_band",
    "ultrasound",
    "body_region",
    "clinic",
    "practitioner",
    "profession",
    "technique",
    "month",
    "quarter",
    "year",
)
EVENT_DIMS = ("category", "severity")
DIMS = EVENT_DIMS + TREATMENT_DIMS
PER_UNITS = ("treatments", "insertions")

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


@dataclass(frozen=True)
class Filters:
    """Which treatments (and events) a rate is computed over.

    ``clinics``, ``professions``, ``regions`` (body regions) and ``techniques`` select
    treatments (empty = all). ``category`` and ``severity`` restrict the events counted, never the treatments:
    the denominator stays every treatment matching the other filters.
    """

    date_from: date | None = None
    date_to: date | None = None
    clinics: tuple[str, ...] = ()
    professions: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()
    category: str | None = None
    severity: str | None = None
    bands: Bands = field(default_factory=Bands)

    def treatment_params(self) -> dict[str, object]:
        """Bound parameters of ``sql_fragments.TREATMENT_WHERE``."""
        return {
            "date_from": self.date_from,
            "date_to": self.date_to,
            "clinics": list(self.clinics),
            "professions": list(self.professions),
            "regions": list(self.regions),
            "techniques": list(self.techniques),
        }

    def __post_init__(self) -> None:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError(f"the period starts ({self.date_from}) after it ends ({self.date_to})")


#: Factors ``compare`` splits by, and what it may stratify by (Mantel-Haenszel).
COMPARE_FACTORS = ("ultrasound", "training_band", "experience_band", "profession", "technique")
ADJUSTERS = ("body_region", "clinic", "technique", "profession")
#: The regression's factors: its rate ratios are mutually adjusted.
MODEL_FACTORS = ("training_band", "experience_band", "ultrasound", "body_region")
MODEL_METHODS = ("auto", "poisson", "negbin", "cluster")
