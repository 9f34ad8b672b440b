"""Training-hours and experience bands: their bounds and labels (the SQL that assigns them
is ``sql_fragments.TRAINING_CASE`` and ``EXPERIENCE_CASE``)."""

from __future__ import annotations

from dataclasses import dataclass

from needlewatch import settings


def _fmt(x: float) -> str:
    return f"{x:g}"


def training_labels(upper: tuple[float, ...]) -> tuple[str, ...]:
    """Inclusive upper bounds (20, 60, 100, 200) -> 0-20, 21-60, 61-100, 101-200, >200."""
    _check_increasing(upper)
    labels, low = [], 0.0
    for bound in upper:
        labels.append(f"{_fmt(low)}-{_fmt(bound)}")
        low = bound + 1
    return (*labels, f">{_fmt(upper[-1])}")


def experience_labels(cuts: tuple[float, ...]) -> tuple[str, ...]:
    """Lower bounds of later bands (2, 5, 10) -> <2, 2-4, 5-9, >=10 (whole years)."""
    _check_increasing(cuts)
    labels = [f"<{_fmt(cuts[0])}"]
    labels += [f"{_fmt(a)}-{_fmt(b - 1)}" for a, b in zip(cuts, cuts[1:], strict=False)]
    return (*labels, f">={_fmt(cuts[-1])}")


def _check_increasing(bounds: tuple[float, ...]) -> None:
    if (
        not bounds
        or any(b <= a for a, b in zip(bounds, bounds[1:], strict=False))
        or bounds[0] <= 0
    ):
        raise ValueError(f"band bounds must be positive and increasing, got {list(bounds)}")


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
