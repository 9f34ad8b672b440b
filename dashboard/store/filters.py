"""The filters every view and command shares, validated once, carried as a frozen dataclass."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from dashboard.store.bands import Bands
from ingest.quarters import (  # noqa: F401 (re-exported)
    parse_quarter,
    quarter_of,
    quarters_between,
    shift_quarter,
)

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
