"""Standardised incidence ratio: a unit's observed events over those expected at reference rates.

Indirect standardisation (Breslow NE, Day NE. Statistical Methods in Cancer Research II,
IARC 1987, chapter 2): a unit with n_s treatments in stratum s (a body region), against a
reference (the whole network) with d_s events in N_s treatments there, expects

    E = sum_s n_s * d_s / N_s

events; the standardised ratio is O / E (1: as the network would have, case mix allowed
for). With one stratum it is the crude ratio of the unit's rate to the network's. E is
treated as known (the network is many times the unit, as in SMR and SHMI practice), so the
interval is the exact Poisson (Garwood) interval on O divided by E: what R's
``poisson.test(O, T = E)`` reports.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .poisson import exact_poisson_interval

METHOD_SIR = "observed / expected at network rates, exact Poisson (Garwood) interval on observed"


@dataclass(frozen=True)
class StandardisedRatio:
    """O / E with its exact interval, and the method."""

    observed: int
    expected: float
    ratio: float
    low: float
    high: float
    method: str = METHOD_SIR
    confidence: float = 0.95

    @property
    def verdict(self) -> str:
        """'higher' or 'lower' when the interval excludes 1, else 'as expected'."""
        if self.low > 1:
            return "higher"
        if self.high < 1:
            return "lower"
        return "as expected"


def expected_events(
    exposure: Sequence[float], ref_events: Sequence[int], ref_exposure: Sequence[float]
) -> float:
    """E = sum_s exposure_s * ref_events_s / ref_exposure_s over the strata.

    Raises ValueError for unequal lengths, negative counts, or a stratum where the unit
    has exposure but the reference has none (no reference rate to apply).
    """
    if not len(exposure) == len(ref_events) == len(ref_exposure):
        raise ValueError("exposure, ref_events and ref_exposure must have one value per stratum")
    total = 0.0
    for n, d, big_n in zip(exposure, ref_events, ref_exposure, strict=True):
        if n < 0 or d < 0 or big_n < 0 or not all(map(math.isfinite, (n, d, big_n))):
            raise ValueError(f"counts must be finite and >= 0, got {n}, {d}, {big_n}")
        if d > 0 and big_n == 0:
            raise ValueError(f"a stratum has {d} reference events but no reference exposure")
        if n > 0 and big_n == 0:
            raise ValueError("a stratum has exposure in the unit but none in the reference")
        if n > 0:
            total += n * d / big_n
    return total


def standardised_ratio(
    observed: int, expected: float, confidence: float = 0.95
) -> StandardisedRatio:
    """O / E with the exact Poisson interval on O divided by E.

    Raises ValueError for a negative or fractional O, and for E <= 0 (no events expected:
    the ratio does not exist; say so instead of printing infinity).
    """
    if not math.isfinite(expected) or expected <= 0:
        raise ValueError(f"expected events must be a positive number, got {expected}")
    low, high = exact_poisson_interval(observed, confidence)
    return StandardisedRatio(
        observed=int(observed),
        expected=float(expected),
        ratio=observed / expected,
        low=low / expected,
        high=high / expected,
        confidence=confidence,
    )
