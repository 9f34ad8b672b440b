"""Incidence rates with exact Poisson confidence intervals.

For k events in exposure n (treatments or needle insertions), the rate is k / n and
the exact two-sided (1 - alpha) interval for the Poisson mean is Garwood's (1936):

    lower = chi2.ppf(alpha / 2,     2k)     / 2      (0 when k = 0)
    upper = chi2.ppf(1 - alpha / 2, 2k + 2) / 2

divided by n. This is what R's ``poisson.test`` reports. With k = 0 the upper bound
is -ln(alpha / 2) / n = 3.689 / n at 95%, the "exact two-sided 3.69/n" bound (the
"rule of three", 3/n, is the one-sided 95% version and is not used here).

chi2.ppf(q, 2k) / 2 is the inverse regularised lower incomplete gamma function
P(k, .) at q (scipy computes chi2.ppf as 2 * gammaincinv(df / 2, q)), so the bounds are
``gammaincinv(k, alpha / 2)`` and ``gammaincinv(k + 1, 1 - alpha / 2)``: the same floats,
without importing scipy.stats (most of a command's start-up time).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from scipy.special import gammaincinv

METHOD_EXACT = "exact Poisson (Garwood)"
METHOD_ZERO = "exact Poisson (Garwood), 0 events: upper = 3.69/n"


@dataclass(frozen=True)
class RateEstimate:
    """A rate per ``per`` units of exposure with its interval and the method used."""

    events: int
    exposure: float
    rate: float
    low: float
    high: float
    method: str
    per: float = 1000.0
    confidence: float = 0.95


def exact_poisson_interval(events: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood) interval for a Poisson count: bounds on the expected count."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    if events < 0 or int(events) != events:
        raise ValueError(f"events must be a whole number >= 0, got {events}")
    alpha = 1 - confidence
    low = 0.0 if events == 0 else float(gammaincinv(events, alpha / 2))
    high = float(gammaincinv(events + 1, 1 - alpha / 2))
    return low, high


def poisson_rate(
    events: int, exposure: float, per: float = 1000.0, confidence: float = 0.95
) -> RateEstimate:
    """Rate of ``events`` per ``per`` units of ``exposure`` with an exact Poisson interval.

    Raises ValueError for negative or fractional events and for exposure <= 0 (a rate
    over no treatments does not exist; callers must say so instead of printing NaN).
    """
    if (
        isinstance(exposure, bool)
        or not isinstance(exposure, numbers.Real)
        or not math.isfinite(exposure)
        or exposure <= 0
    ):
        raise ValueError(f"exposure must be a positive number, got {exposure}")
    low, high = exact_poisson_interval(events, confidence)
    scale = per / exposure
    method = METHOD_ZERO if events == 0 else METHOD_EXACT
    if events == 0 and confidence != 0.95:
        method = f"exact Poisson (Garwood), 0 events: upper = {high:.3g}/n"
    return RateEstimate(
        events=int(events),
        exposure=float(exposure),
        rate=events * scale,
        low=low * scale,
        high=high * scale,
        method=method,
        per=per,
        confidence=confidence,
    )
