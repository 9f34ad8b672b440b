"""Pooled rate versus the spread of per-unit rates: hand-worked and R type-7 quantiles."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard.stats.spread import rate_spread


def test_hand_worked_example_from_the_module_docstring() -> None:
    """Source: computed by hand (see spread.py). Events (2, 1, 10, 0) in exposures
    (4, 5, 100, 0): rates 0.5, 0.2, 0.1 (the unit without exposure is excluded);
    pooled 13/109; mean 0.8/3; R ``quantile(c(0.5, 0.2, 0.1))`` (type 7) gives
    25% 0.15, 50% 0.2, 75% 0.35."""
    spread = rate_spread([2, 1, 10, 0], [4, 5, 100, 0], per=1)
    assert spread.units == 3
    assert spread.units_without_exposure == 1
    assert spread.pooled_rate == pytest.approx(13 / 109, rel=1e-12)
    assert round(spread.pooled_rate, 5) == 0.11927
    assert spread.mean_of_unit_rates == pytest.approx(0.8 / 3, rel=1e-12)
    assert spread.median == pytest.approx(0.2, rel=1e-12)
    assert spread.q1 == pytest.approx(0.15, rel=1e-12)
    assert spread.q3 == pytest.approx(0.35, rel=1e-12)
    assert (spread.min, spread.max) == (pytest.approx(0.1), pytest.approx(0.5))
    assert spread.per == 1


def test_r_type_7_quantiles_on_an_even_count() -> None:
    """Source: R ``quantile(c(1, 2, 4, 10))`` (type 7): 25% 1.75, 50% 3, 75% 5.5.
    Units with exposure 1000 and events 1, 2, 4, 10 have these rates per 1,000."""
    spread = rate_spread([10, 1, 4, 2], [1000, 1000, 1000, 1000])
    assert (spread.q1, spread.median, spread.q3) == pytest.approx((1.75, 3.0, 5.5), rel=1e-12)
    assert spread.pooled_rate == pytest.approx(spread.mean_of_unit_rates, rel=1e-12)


def test_mean_of_ratios_exceeds_pooled_when_small_units_have_high_rates() -> None:
    """The survey pattern in domain.md (mean of per-practitioner ratios 0.53, pooled
    0.37): a low-volume unit with a high ratio pulls the unweighted mean up."""
    spread = rate_spread([6, 31], [10, 100], per=1)
    assert spread.mean_of_unit_rates == pytest.approx((0.6 + 0.31) / 2, rel=1e-12)
    assert spread.pooled_rate == pytest.approx(37 / 110, rel=1e-12)
    assert spread.mean_of_unit_rates > spread.pooled_rate


def test_numpy_arrays_and_single_unit() -> None:
    spread = rate_spread(np.array([3]), np.array([1500.0]))
    assert spread.units == 1
    assert spread.pooled_rate == spread.median == spread.q1 == spread.q3 == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("events", "exposures", "per"),
    [
        ([1, 2], [10], 1000),
        ([], [], 1000),
        ([-1], [10], 1000),
        ([1.5], [10], 1000),
        ([1], [-10], 1000),
        ([1], [float("nan")], 1000),
        ([1], [float("inf")], 1000),
        ([2], [0], 1000),  # events against a unit with no exposure
        ([0, 0], [0, 0], 1000),  # nothing to describe
        ([1], [10], 0),
        ([1], [10], -5),
        ([None], [10], 1000),
    ],
)
def test_impossible_input_raises_value_error(events, exposures, per) -> None:
    with pytest.raises(ValueError):
        rate_spread(events, exposures, per=per)


@given(
    st.lists(
        st.tuples(st.integers(0, 200), st.floats(1.0, 1e5)),
        min_size=1,
        max_size=40,
    ),
    st.integers(0, 5),
)
def test_statistics_are_ordered_and_pooled_lies_between_min_and_max(
    units: list[tuple[int, float]], empty: int
) -> None:
    events = [e for e, _ in units] + [0] * empty
    exposures = [x for _, x in units] + [0.0] * empty
    s = rate_spread(events, exposures)
    assert s.units == len(units) and s.units_without_exposure == empty
    tol = 1e-9 * max(1.0, s.max)
    assert s.min - tol <= s.q1 <= s.median <= s.q3 <= s.max + tol
    assert s.min - tol <= s.pooled_rate <= s.max + tol
    assert s.min - tol <= s.mean_of_unit_rates <= s.max + tol
