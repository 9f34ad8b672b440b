"""Training-hours and experience bands: their bounds and labels (the SQL that assigns them
is ``sql_fragments.TRAINING_CASE`` and ``EXPERIENCE_CASE``)."""

from __future__ import annotations

from dataclasses import dataclass

from ingest.bands import experience_labels, training_labels
from needlewatch import settings

__all__ = ["Bands", "experience_labels", "training_labels"]


@dataclass(frozen=True)
class Bands:
    """Band definitions in force for a query (settings defaults unless overridden)."""

    training_upper: tuple[float, ...] = settings.TRAINING_BAND_UPPER
    experience_cuts: tuple[float, ...] = settings.EXPERIENCE_BAND_CUTS

    def __post_init__(self) -> None:
        training_labels(self.training_upper)
        experience_labels(self.experience_cuts)

    @property
    def training(self) -> tuple[str, ...]:
        return training_labels(self.training_upper)

    @property
    def experience(self) -> tuple[str, ...]:
        return experience_labels(self.experience_cuts)

    def params(self) -> dict[str, object]:
        """Bound parameters of ``sql_fragments.TRAINING_CASE`` and ``EXPERIENCE_CASE``."""
        return {
            "tb_bounds": list(map(float, self.training_upper)),
            "tb_labels": list(self.training),
            "eb_bounds": list(map(float, self.experience_cuts)),
            "eb_labels": list(self.experience),
        }
