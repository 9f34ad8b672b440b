"""Pooled rate versus the spread of per-unit (e.g. per-practitioner) rates.

Two different numbers are both called "the rate" in survey reports:

- the pooled rate, sum(events) / sum(exposure): every treatment counts once, so it is
  the rate a patient meets on a random treatment and the one to compare with other
  studies;
- the mean of unit rates, mean(events_i / exposure_i): every practitioner counts once,
  whatever their workload, so low-volume practitioners (whose ratios are the noisiest)
  weigh as much as busy ones.

They differ whenever rates vary with volume: one dry-needling survey printed a mean of
per-practitioner ratios of 0.53 whose pooled ratio was 0.37. NeedleWatch reports the
pooled rate as "the" rate and describes between-unit variation with the median,
quartiles, minimum and maximum of the unit rates.

Quantiles use numpy's "linear" method, which is type 7 of Hyndman & Fan (1996) and R's
default ``quantile()``: for sorted x_1..x_n and probability p, h = (n - 1) p and
Q(p) = x_floor(h)+1 + (h - floor(h)) (x_floor(h)+2 - x_floor(h)+1).

Worked example (computed by hand; also in the tests). Events (2, 1, 10, 0) in exposures
(4, 5, 100, 0), per = 1: the last unit has no exposure and is excluded and counted. Unit
rates 0.5, 0.2, 0.1; pooled 13 / 109 = 0.11927; mean of unit rates 0.8 / 3 = 0.26667;
median 0.2; with n = 3, Q1 has h = 0.5, so 0.1 + 0.5 (0.2 - 0.1) = 0.15, and Q3 has
h = 1.5, so 0.2 + 0.5 (0.5 - 0.2) = 0.35; min 0.1, max 0.5.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .proportions import _as_count, _as_exposure

QUANTILE_METHOD = "linear"  # Hyndman & Fan type 7, R's default quantile()


@dataclass(frozen=True)
class RateSpread:
    """Pooled rate and the distribution of per-unit rates, all per ``per`` exposure.

    ``units`` counts the units with exposure > 0 (the only ones with a rate);
    ``units_without_exposure`` counts those excluded because their exposure is 0.
    """

    units: int
    pooled_rate: float
    mean_of_unit_rates: float
    median: float
    q1: float
    q3: float
    min: float
    max: float
    units_without_exposure: int
    per: float = 1000.0


def rate_spread(
    events: Sequence[int] | np.ndarray,
    exposures: Sequence[float] | np.ndarray,
    per: float = 1000.0,
) -> RateSpread:
    """Pooled rate and spread of per-unit rates from per-unit events and exposures.

    ``events[i]`` and ``exposures[i]`` belong to unit i (e.g. a practitioner's adverse
    events and treatments). Units with zero exposure have no rate: they are excluded
    from every statistic and counted in ``units_without_exposure``.

    Raises ValueError for arrays of different lengths or no units, negative or
    fractional events, negative or non-finite exposures, events recorded against a
    unit with no exposure, per <= 0, and when no unit has any exposure.
    """
    scale = _as_exposure("per", per)
    event_list = list(events)
    exposure_list = list(exposures)
    if len(event_list) != len(exposure_list):
        raise ValueError(
            f"events and exposures differ in length ({len(event_list)} vs {len(exposure_list)})"
        )
    if not event_list:
        raise ValueError("no units given")
    counts = np.array([_as_count("events", e) for e in event_list], dtype=float)
    times = np.array(
        [_as_exposure("exposure", x, allow_zero=True) for x in exposure_list], dtype=float
    )
    without = times == 0
    if np.any(counts[without] > 0):
        raise ValueError("events recorded against a unit with no exposure")
    if np.all(without):
        raise ValueError("no unit has any exposure: there is no rate to describe")
    counts, times = counts[~without], times[~without]
    rates = counts / times * scale
    q1, median, q3 = np.quantile(rates, [0.25, 0.5, 0.75], method=QUANTILE_METHOD)
    return RateSpread(
        units=int(rates.size),
        pooled_rate=float(counts.sum() / times.sum() * scale),
        mean_of_unit_rates=float(rates.mean()),
        median=float(median),
        q1=float(q1),
        q3=float(q3),
        min=float(rates.min()),
        max=float(rates.max()),
        units_without_exposure=int(without.sum()),
        per=scale,
    )
