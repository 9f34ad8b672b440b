"""Training-hours and experience bands: their labels, and the value that stands for a band.

One definition for both sides: the read side bands stored hours and years with these
labels (``dashboard.store.bands``, the SQL in ``dashboard.store.sql_fragments``), and a
professional body's ingest turns a submission's band labels back into store values
(``ingest.submissions``):

    training upper bounds (20, 60, 100, 200), inclusive
        -> labels 0-20, 21-60, 61-100, 101-200, >200
        -> values  20,    60,    100,     200,  201   (each band's inclusive upper bound;
                                                      the last, one above the last bound)
    experience cuts (2, 5, 10), lower bounds of the later bands
        -> labels <2, 2-4, 5-9, >=10
        -> values  0,   2,   5,   10                  (each band's lower bound)

A value is banded by the same rule as any stored hours (a training band holds hours above
the previous bound up to its own; an experience band years from its cut), so a band's
value always falls back into that band.
"""

from __future__ import annotations


def _fmt(x: float) -> str:
    return f"{x:g}"


def check_increasing(bounds: tuple[float, ...]) -> None:
    """ValueError unless ``bounds`` are positive and strictly increasing."""
    if (
        not bounds
        or any(b <= a for a, b in zip(bounds, bounds[1:], strict=False))
        or bounds[0] <= 0
    ):
        raise ValueError(f"band bounds must be positive and increasing, got {list(bounds)}")


def training_labels(upper: tuple[float, ...]) -> tuple[str, ...]:
    """Inclusive upper bounds (20, 60, 100, 200) -> 0-20, 21-60, 61-100, 101-200, >200."""
    check_increasing(upper)
    labels, low = [], 0.0
    for bound in upper:
        labels.append(f"{_fmt(low)}-{_fmt(bound)}")
        low = bound + 1
    return (*labels, f">{_fmt(upper[-1])}")


def experience_labels(cuts: tuple[float, ...]) -> tuple[str, ...]:
    """Lower bounds of later bands (2, 5, 10) -> <2, 2-4, 5-9, >=10 (whole years)."""
    check_increasing(cuts)
    labels = [f"<{_fmt(cuts[0])}"]
    labels += [f"{_fmt(a)}-{_fmt(b - 1)}" for a, b in zip(cuts, cuts[1:], strict=False)]
    return (*labels, f">={_fmt(cuts[-1])}")


def training_values(upper: tuple[float, ...]) -> tuple[float, ...]:
    """The hours that stand for each training band: its upper bound; the last, bound + 1."""
    check_increasing(upper)
    return (*map(float, upper), float(upper[-1]) + 1.0)


def experience_values(cuts: tuple[float, ...]) -> tuple[float, ...]:
    """The years that stand for each experience band: its lower bound (0 for the first)."""
    check_increasing(cuts)
    return (0.0, *map(float, cuts))
