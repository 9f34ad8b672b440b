"""Binomial proportion intervals against external reference values (Newcombe 1998, R)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

from dashboard.stats.poisson import poisson_rate
from dashboard.stats.proportions import (
    EXACT_ZERO_MULTIPLIER,
    METHOD_CLOPPER_PEARSON,
    METHOD_WILSON,
    clopper_pearson,
    wilson,
    zero_event_upper_bound,
)

# Newcombe RG. Stat Med 1998;17:857-872, Table I, printed to 4 decimals.
# Method 3 = Wilson score without continuity correction; method 5 = exact (Clopper-Pearson).
NEWCOMBE_WILSON = {
    (81, 263): (0.2553, 0.3662),
    (15, 148): (0.0624, 0.1605),
    (0, 20): (0.0000, 0.1611),
    (1, 29): (0.0061, 0.1718),
}
NEWCOMBE_EXACT = {
    (81, 263): (0.2527, 0.3676),
    (15, 148): (0.0578, 0.1617),
    (0, 20): (0.0000, 0.1684),
    (1, 29): (0.0009, 0.1776),
}


@pytest.mark.parametrize(("k", "n"), sorted(NEWCOMBE_WILSON))
def test_wilson_matches_newcombe_1998_table_1(k: int, n: int) -> None:
    """Source: Newcombe, Stat Med 1998;17:857-872, Table I, method 3 (4 decimals)."""
    est = wilson(k, n)
    printed_low, printed_high = NEWCOMBE_WILSON[(k, n)]
    assert est.low == pytest.approx(printed_low, abs=5e-5)
    assert est.high == pytest.approx(printed_high, abs=5e-5)
    assert est.method == METHOD_WILSON


@pytest.mark.parametrize(("k", "n"), sorted(NEWCOMBE_EXACT))
def test_clopper_pearson_matches_newcombe_1998_table_1(k: int, n: int) -> None:
    """Source: Newcombe, Stat Med 1998;17:857-872, Table I, method 5 (4 decimals)."""
    est = clopper_pearson(k, n)
    printed_low, printed_high = NEWCOMBE_EXACT[(k, n)]
    assert est.low == pytest.approx(printed_low, abs=5e-5)
    assert est.high == pytest.approx(printed_high, abs=5e-5)
    assert est.method == METHOD_CLOPPER_PEARSON


@pytest.mark.parametrize(("k", "n"), [*NEWCOMBE_EXACT, (29, 29), (0, 1), (7629, 7629), (3, 7629)])
def test_both_agree_with_statsmodels_to_machine_precision(k: int, n: int) -> None:
    """Self-consistency: statsmodels ``proportion_confint`` (methods 'wilson', 'beta')."""
    for ours, method in ((wilson(k, n), "wilson"), (clopper_pearson(k, n), "beta")):
        low, high = proportion_confint(k, n, alpha=0.05, method=method)
        assert ours.low == pytest.approx(low, rel=1e-9, abs=1e-12)
        assert ours.high == pytest.approx(high, rel=1e-9, abs=1e-12)


def test_clopper_pearson_matches_r_binom_test_conover_example() -> None:
    """Source: R ``binom.test(682, 925, p = 3/4)`` (the Conover 1971 example in
    ``?binom.test``): 95 percent confidence interval 0.7076683 0.7654066,
    estimate 0.7372973."""
    est = clopper_pearson(682, 925)
    assert est.low == pytest.approx(0.7076683, rel=1e-6)
    assert est.high == pytest.approx(0.7654066, rel=1e-6)
    assert est.proportion == pytest.approx(0.7372973, rel=1e-6)


def test_result_fields_brady_2014_share_with_any_mild_ae() -> None:
    """Brady et al. 2014: 1,463 mild AEs in 7,629 treatments = 19.18%."""
    est = clopper_pearson(1463, 7629)
    assert (est.successes, est.trials, est.confidence) == (1463, 7629, 0.95)
    assert round(est.proportion * 100, 2) == 19.18
    assert est.low < est.proportion < est.high


def test_extremes_are_exactly_zero_and_one() -> None:
    for f in (wilson, clopper_pearson):
        assert f(0, 20).low == 0.0
        assert f(29, 29).high == 1.0
        assert f(29, 29).proportion == 1.0


def test_zero_of_twenty_exact_upper_is_one_minus_0025_to_the_1_over_20() -> None:
    """Source: Clopper-Pearson with k = 0 has the closed form 1 - (alpha/2)^(1/n)."""
    assert clopper_pearson(0, 20).high == pytest.approx(1 - 0.025 ** (1 / 20), rel=1e-12)


def test_other_confidence_levels_match_statsmodels() -> None:
    for conf in (0.80, 0.90, 0.99):
        low, high = proportion_confint(15, 148, alpha=1 - conf, method="beta")
        est = clopper_pearson(15, 148, confidence=conf)
        assert (est.low, est.high) == pytest.approx((low, high), rel=1e-9)
        assert est.confidence == conf


def test_zero_event_bound_exact_is_3689_over_n() -> None:
    """Source: Garwood 1936; -ln(0.025) = 3.68888 = R ``poisson.test(0)$conf.int[2]``
    (3.688879). Brady et al. 2014: 0 significant AEs in 7,629 treatments."""
    bound = zero_event_upper_bound(7629, "exact")
    assert bound.multiplier == pytest.approx(3.688879, rel=1e-6)
    assert bound.upper == pytest.approx(3.688879 / 7629, rel=1e-6)
    assert round(bound.upper * 100, 4) == 0.0484  # percent
    assert bound.sided == "two-sided"
    assert "3.69/n" in bound.method
    # Same bound as the Poisson module reports for 0 events.
    assert bound.upper * 1000 == pytest.approx(poisson_rate(0, 7629).high, rel=1e-12)


def test_zero_event_bound_rule_of_three() -> None:
    """Source: Hanley & Lippman-Hand, JAMA 1983;249:1743: one-sided 95% bound 3/n."""
    bound = zero_event_upper_bound(7629, "rule_of_three")
    assert bound.upper == 3 / 7629
    assert round(bound.upper * 100, 4) == 0.0393
    assert bound.sided == "one-sided"
    assert "3/n" in bound.method
    assert bound.upper < zero_event_upper_bound(7629).upper  # the default is "exact"


def test_zero_event_bound_default_and_float_exposure() -> None:
    bound = zero_event_upper_bound(np.float64(2500.5))
    assert bound.exposure == 2500.5
    assert bound.upper == pytest.approx(EXACT_ZERO_MULTIPLIER / 2500.5, rel=1e-15)


@pytest.mark.parametrize(
    ("k", "n", "confidence"),
    [
        (-1, 10, 0.95),
        (11, 10, 0.95),
        (0, 0, 0.95),
        (1, -5, 0.95),
        (1.5, 10, 0.95),
        (1, 10.5, 0.95),
        (float("nan"), 10, 0.95),
        (1, float("inf"), 0.95),
        (None, 10, 0.95),
        ("1", 10, 0.95),
        (True, 10, 0.95),
        (1, 10, 0.0),
        (1, 10, 1.0),
        (1, 10, 95),
        (1, 10, -0.1),
        (1, 10, float("nan")),
        (1, 10, None),
    ],
)
def test_impossible_input_raises_value_error(k, n, confidence) -> None:
    for f in (wilson, clopper_pearson):
        with pytest.raises(ValueError):
            f(k, n, confidence)


@pytest.mark.parametrize("n", [0, -1, 0.0, float("nan"), float("inf"), None, "100", True])
def test_zero_event_bound_rejects_impossible_exposure(n) -> None:
    with pytest.raises(ValueError, match="exposure"):
        zero_event_upper_bound(n)


def test_zero_event_bound_rejects_unknown_method() -> None:
    with pytest.raises(ValueError, match="method"):
        zero_event_upper_bound(100, "wald")  # type: ignore[arg-type]


def test_whole_number_floats_and_numpy_integers_are_counts() -> None:
    assert clopper_pearson(np.int64(15), np.int64(148)) == clopper_pearson(15.0, 148.0)
    assert clopper_pearson(15, 148).successes == 15


@given(
    n=st.integers(min_value=1, max_value=100_000),
    data=st.data(),
    confidence=st.floats(min_value=0.5, max_value=0.999),
)
def test_interval_brackets_the_proportion(n: int, data: st.DataObject, confidence: float) -> None:
    k = data.draw(st.integers(min_value=0, max_value=n))
    for est in (wilson(k, n, confidence), clopper_pearson(k, n, confidence)):
        assert 0.0 <= est.low <= est.proportion <= est.high <= 1.0
        assert est.proportion == k / n
        assert not math.isnan(est.low) and not math.isnan(est.high)
