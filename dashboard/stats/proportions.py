"""Binomial proportions: the share of treatments with at least one adverse event.

A treatment either had an adverse event or it did not, so "k of n treatments had at least
one AE" is a binomial proportion, not a Poisson rate (a rate counts every event, and one
treatment can have several). Two intervals are offered:

- Clopper-Pearson (1934), the exact "tail area" interval that R's ``binom.test`` reports:

      lower = Beta.ppf(alpha / 2,     k,     n - k + 1)   (0 when k = 0)
      upper = Beta.ppf(1 - alpha / 2, k + 1, n - k)       (1 when k = n)

  It guarantees at least the nominal coverage and is therefore conservative. Beta.ppf is
  the inverse regularised incomplete beta function, ``scipy.special.betaincinv(a, b, q)``
  (the same floats; scipy.stats is not imported, most of a command's start-up time).

- Wilson (1927) score interval without continuity correction (Newcombe 1998, method 3):

      centre = (p + z^2 / 2n) / (1 + z^2 / n)
      half   = z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / 4n^2)

  Its coverage is close to nominal on average; it never leaves [0, 1].

Reference: Newcombe RG. Two-sided confidence intervals for the single proportion:
comparison of seven methods. Stat Med 1998;17:857-872 (Table I gives worked examples).

With zero events, :func:`zero_event_upper_bound` gives the upper bound on an event rate
per unit of exposure, either exact two-sided 95% (-ln(0.025) / n = 3.689 / n, Garwood
1936, the bound R's ``poisson.test(0, n)`` reports) or the one-sided 95% "rule of three"
(3 / n; Hanley JA, Lippman-Hand A. JAMA 1983;249:1743-1745).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Literal

from scipy.special import betaincinv, ndtri

METHOD_CLOPPER_PEARSON = "exact binomial (Clopper-Pearson)"
METHOD_WILSON = "Wilson score (no continuity correction)"
METHOD_ZERO_EXACT = "exact Poisson (Garwood), 0 events, two-sided 95%: upper = 3.69/n"
METHOD_ZERO_RULE_OF_THREE = "rule of three, 0 events, one-sided 95%: upper = 3/n"

#: -ln(0.025): the exact two-sided 95% upper bound on a Poisson mean after 0 events.
EXACT_ZERO_MULTIPLIER = -math.log(0.025)
#: The rule of three: 3 is -ln(0.05) = 2.996 rounded, the one-sided 95% bound.
RULE_OF_THREE_MULTIPLIER = 3.0


@dataclass(frozen=True)
class ProportionEstimate:
    """``successes`` of ``trials`` with a two-sided interval and the method used."""

    successes: int
    trials: int
    proportion: float
    low: float
    high: float
    method: str
    confidence: float = 0.95


@dataclass(frozen=True)
class ZeroEventBound:
    """Upper bound on an event rate per unit of exposure after zero events.

    ``upper`` is per single unit of exposure (multiply by 1000 for "per 1,000
    treatments"); ``multiplier`` is the bound on the expected count (3.689 or 3).
    """

    exposure: float
    upper: float
    multiplier: float
    method: str
    confidence: float
    sided: Literal["one-sided", "two-sided"]


def _as_count(name: str, value: object) -> int:
    """A whole number >= 0 (int, numpy integer or a whole float), else ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < 0 or number != int(number):
        raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")
    return int(number)


def _as_exposure(name: str, value: object, *, allow_zero: bool = False) -> float:
    """A finite positive real (or >= 0 with ``allow_zero``), else ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return number


def _check_confidence(confidence: object) -> float:
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, numbers.Real)
        or not 0 < float(confidence) < 1
    ):
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    return float(confidence)


def _check_binomial(k: object, n: object, confidence: object) -> tuple[int, int, float]:
    successes = _as_count("k (successes)", k)
    trials = _as_count("n (trials)", n)
    if trials == 0:
        raise ValueError("n (trials) must be at least 1: a proportion of nothing does not exist")
    if successes > trials:
        raise ValueError(f"k (successes) = {successes} cannot exceed n (trials) = {trials}")
    return successes, trials, _check_confidence(confidence)


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> ProportionEstimate:
    """Exact (Clopper-Pearson) interval for ``k`` successes in ``n`` trials.

    Same limits as R's ``binom.test(k, n)$conf.int``. Example: 81/263 gives
    0.2527 to 0.3676 (Newcombe 1998, Table I, method 5).

    Raises ValueError for k < 0, k > n, n <= 0, non-integer counts, or a confidence
    outside (0, 1).
    """
    successes, trials, conf = _check_binomial(k, n, confidence)
    alpha = 1 - conf
    low = 0.0 if successes == 0 else float(betaincinv(successes, trials - successes + 1, alpha / 2))
    high = (
        1.0
        if successes == trials
        else float(betaincinv(successes + 1, trials - successes, 1 - alpha / 2))
    )
    return ProportionEstimate(
        successes=successes,
        trials=trials,
        proportion=successes / trials,
        low=low,
        high=high,
        method=METHOD_CLOPPER_PEARSON,
        confidence=conf,
    )


def wilson(k: int, n: int, confidence: float = 0.95) -> ProportionEstimate:
    """Wilson score interval, no continuity correction, for ``k`` of ``n``.

    Same limits as R's ``prop.test(k, n, correct = FALSE)$conf.int``. Example: 81/263
    gives 0.2553 to 0.3662 (Newcombe 1998, Table I, method 3).

    Raises ValueError for k < 0, k > n, n <= 0, non-integer counts, or a confidence
    outside (0, 1).
    """
    successes, trials, conf = _check_binomial(k, n, confidence)
    z = float(ndtri(1 - (1 - conf) / 2))
    p = successes / trials
    z2n = z * z / trials
    centre = (p + z2n / 2) / (1 + z2n)
    half = z / (1 + z2n) * math.sqrt(p * (1 - p) / trials + z2n / (4 * trials))
    # At k = 0 or k = n the limit is exactly 0 or 1; rounding must not move it off.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return ProportionEstimate(
        successes=successes,
        trials=trials,
        proportion=p,
        low=low,
        high=high,
        method=METHOD_WILSON,
        confidence=conf,
    )


def zero_event_upper_bound(
    n: float, method: Literal["exact", "rule_of_three"] = "exact"
) -> ZeroEventBound:
    """95% upper bound on the event rate per unit of exposure after 0 events in ``n``.

    - ``"exact"``: two-sided 95%, -ln(0.025) / n = 3.689 / n (Garwood 1936; what R's
      ``poisson.test(0, n)`` reports, and what :func:`poisson_rate` uses).
    - ``"rule_of_three"``: one-sided 95%, 3 / n (Hanley & Lippman-Hand 1983).

    Example: 0 significant events in 7,629 treatments (Brady et al. 2014) gives an exact
    bound of 3.689 / 7629 = 0.0484% and a rule-of-three bound of 0.0393%.

    Raises ValueError for n <= 0 or non-finite n, and for an unknown method.
    """
    exposure = _as_exposure("n (exposure)", n)
    if method == "exact":
        multiplier, label, confidence = EXACT_ZERO_MULTIPLIER, METHOD_ZERO_EXACT, 0.95
        sided: Literal["one-sided", "two-sided"] = "two-sided"
    elif method == "rule_of_three":
        multiplier, label, confidence = RULE_OF_THREE_MULTIPLIER, METHOD_ZERO_RULE_OF_THREE, 0.95
        sided = "one-sided"
    else:
        raise ValueError(f"method must be 'exact' or 'rule_of_three', got {method!r}")
    return ZeroEventBound(
        exposure=exposure,
        upper=multiplier / exposure,
        multiplier=multiplier,
        method=label,
        confidence=confidence,
        sided=sided,
    )
