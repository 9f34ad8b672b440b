"""Exact Poisson intervals against external reference values (R, published papers)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from dashboard.stats import exact_poisson_interval, poisson_rate

# R 4.x: poisson.test(x)$conf.int, printed to 7 significant digits.
R_POISSON_TEST = {
    0: (0.0, 3.688879),
    1: (0.02531781, 5.57164339),
    5: (1.623486, 11.668332),
    10: (4.795389, 18.390356),
}


@pytest.mark.parametrize("events", sorted(R_POISSON_TEST))
def test_exact_interval_matches_r_poisson_test(events: int) -> None:
    """Source: R 4.x ``poisson.test(x)$conf.int`` for x = 0, 1, 5, 10."""
    low, high = exact_poisson_interval(events)
    r_low, r_high = R_POISSON_TEST[events]
    if r_low == 0:
        assert low == 0.0
    else:
        assert low == pytest.approx(r_low, rel=1e-6)
    assert high == pytest.approx(r_high, rel=1e-6)


@pytest.mark.parametrize("events", sorted(R_POISSON_TEST))
def test_rate_per_1000_matches_r_poisson_test_with_exposure(events: int) -> None:
    """Source: R 4.x ``poisson.test(x, T=2500)$conf.int * 1000`` = conf.int(x) / 2.5."""
    est = poisson_rate(events, 2500.0)
    r_low, r_high = R_POISSON_TEST[events]
    assert est.rate == pytest.approx(events / 2.5, rel=1e-12)
    assert est.low == pytest.approx(r_low / 2.5, rel=1e-6)
    assert est.high == pytest.approx(r_high / 2.5, rel=1e-6)
    assert est.events == events
    assert est.exposure == 2500.0
    assert est.per == 1000.0
    assert est.confidence == 0.95


def test_macpherson_bmj_2001_significant_events() -> None:
    """Source: MacPherson et al., BMJ 2001;323:486 (doi:10.1136/bmj.323.7311.486):
    43 significant events in 34,407 treatments, 1.3 per 1,000 (95% CI 0.9 to 1.7)."""
    est = poisson_rate(43, 34_407)
    assert round(est.rate, 4) == 1.2497
    # The paper's 1.3 is 1.2497 rounded half up at the second decimal (1.25 -> 1.3).
    assert math.floor(round(est.rate, 2) * 10 + 0.5) / 10 == 1.3
    assert (round(est.low, 1), round(est.high, 1)) == (0.9, 1.7)
    assert est.method == "exact Poisson (Garwood)"


def test_brady_2014_zero_significant_events_upper_bound() -> None:
    """Source: Brady et al., J Man Manip Ther 2014: 0 significant adverse events in 7,629
    treatments. Exact two-sided upper bound 3.689/7629 = 0.0484% (domain.md "about
    0.04%"; the one-sided rule of three would give 3/7629 = 0.039%)."""
    est = poisson_rate(0, 7_629)
    assert est.rate == 0.0
    assert est.low == 0.0
    assert est.high == pytest.approx(0.48353, rel=1e-4)
    assert est.high / 10 == pytest.approx(0.0484, abs=5e-5)  # percent
    assert est.high != pytest.approx(3 / 7_629 * 1000, rel=1e-3)  # not the rule of three
    assert "3.69/n" in est.method


def test_zero_events_bound_is_minus_log_alpha_over_two() -> None:
    """Source: Garwood, Biometrika 1936: with 0 events the exact two-sided 95% upper bound
    on the count is chi2(0.975; 2) / 2 = -ln(0.025) = 3.68888."""
    low, high = exact_poisson_interval(0)
    assert low == 0.0
    assert high == pytest.approx(-math.log(0.025), rel=1e-12)


def test_zero_events_other_confidence_names_its_own_multiplier() -> None:
    """Source: -ln(0.05) = 2.9957 is the exact two-sided 90% upper bound for 0 events."""
    est = poisson_rate(0, 1000.0, confidence=0.90)
    assert est.high == pytest.approx(-math.log(0.05), rel=1e-12)
    assert est.method == "exact Poisson (Garwood), 0 events: upper = 3/n"


@pytest.mark.parametrize(
    ("events", "exposure", "confidence"),
    [
        (-1, 1000.0, 0.95),
        (1.5, 1000.0, 0.95),
        (0.5, 1000.0, 0.95),
        (float("nan"), 1000.0, 0.95),
        (3, 0, 0.95),
        (3, 0.0, 0.95),
        (3, -10.0, 0.95),
        (3, float("nan"), 0.95),
        (3, float("inf"), 0.95),
        (3, None, 0.95),
        (3, "1000", 0.95),
        (3, 1000.0, 0.0),
        (3, 1000.0, 1.0),
        (3, 1000.0, -0.5),
        (3, 1000.0, 95),
        (3, 1000.0, float("nan")),
    ],
)
def test_impossible_input_raises_value_error(events, exposure, confidence) -> None:
    with pytest.raises(ValueError):
        poisson_rate(events, exposure, confidence=confidence)


@pytest.mark.parametrize("confidence", [0, 1, 0.0, 1.0, 1.5])
def test_interval_rejects_confidence_outside_open_unit_interval(confidence) -> None:
    with pytest.raises(ValueError, match="confidence"):
        exact_poisson_interval(3, confidence)


@pytest.mark.parametrize("events", [-1, 2.5])
def test_interval_rejects_impossible_counts(events) -> None:
    with pytest.raises(ValueError, match="events"):
        exact_poisson_interval(events)


def test_whole_number_float_and_numpy_counts_are_accepted() -> None:
    assert poisson_rate(5.0, 2500.0).high == pytest.approx(11.668332 / 2.5, rel=1e-6)
    assert poisson_rate(np.int64(5), 2500.0).high == pytest.approx(11.668332 / 2.5, rel=1e-6)


def test_numpy_exposure_is_accepted() -> None:
    """Counts read from a DataFrame arrive as numpy scalars: 2500 treatments is a valid
    exposure whatever its Python type."""
    for exposure in (np.float64(2500.0), np.int64(2500), 2500):
        est = poisson_rate(5, exposure)
        assert est.exposure == 2500.0
        assert est.high == pytest.approx(11.668332 / 2.5, rel=1e-6)


@given(
    events=st.integers(min_value=0, max_value=10_000),
    exposure=st.floats(min_value=1.0, max_value=1e7, allow_nan=False, allow_infinity=False),
)
def test_interval_brackets_rate(events: int, exposure: float) -> None:
    est = poisson_rate(events, exposure)
    assert est.low >= 0
    assert est.low <= est.rate <= est.high
    assert est.rate == pytest.approx(events / exposure * 1000, rel=1e-12)
    if events == 0:
        assert est.low == 0.0
    else:
        assert est.low < est.rate < est.high


@given(
    events=st.integers(min_value=0, max_value=10_000),
    exposure=st.floats(min_value=1.0, max_value=1e7, allow_nan=False, allow_infinity=False),
    c1=st.floats(min_value=0.01, max_value=0.999),
    c2=st.floats(min_value=0.01, max_value=0.999),
)
def test_interval_widens_as_confidence_rises(
    events: int, exposure: float, c1: float, c2: float
) -> None:
    assume(c1 < c2)
    narrow = poisson_rate(events, exposure, confidence=c1)
    wide = poisson_rate(events, exposure, confidence=c2)
    assert wide.low <= narrow.low
    assert wide.high >= narrow.high
    assert wide.high - wide.low >= narrow.high - narrow.low
