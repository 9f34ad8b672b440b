"""The Poisson IRLS fit (``dashboard.stats.poisson_glm``) against Stata and statsmodels."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.genmod.families import Poisson
from statsmodels.genmod.generalized_linear_model import GLM

from dashboard.stats.poisson_glm import fit_poisson

from .test_stats_regression import ships_stata_design


def test_ships_coefficients_match_stata_poisson() -> None:
    """Source: Stata ``poisson accident yr_con op_75_79, exposure(service)`` on the ship
    data (34 obs), as stored in statsmodels' test suite
    (discrete/tests/results/results_count_robust_cluster.py): coefficients."""
    x, y, offset, _ = ships_stata_design()
    fit = fit_poisson(y, x, offset)
    assert fit.converged
    assert fit.params == pytest.approx(
        [0.30633819450439, 0.35592229608495, -6.974712802772], rel=1e-6
    )


def test_ships_fit_equals_statsmodels_glm() -> None:
    """statsmodels' GLM(Poisson, offset).fit(), the fit this replaces: same start and
    stopping rule, so the same coefficients, covariance and fitted means."""
    x, y, offset, _ = ships_stata_design()
    ours = fit_poisson(y, x, offset)
    theirs = GLM(y, x, family=Poisson(), offset=offset).fit()
    assert ours.params == pytest.approx(np.asarray(theirs.params), rel=1e-9)
    assert ours.cov.ravel() == pytest.approx(np.asarray(theirs.cov_params()).ravel(), rel=1e-6)
    assert ours.mu == pytest.approx(np.asarray(theirs.mu), rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.integers(8, 60),
    columns=st.integers(1, 4),
)
def test_random_designs_agree_with_statsmodels(seed: int, rows: int, columns: int) -> None:
    rng = np.random.default_rng(seed)
    x = np.column_stack([np.ones(rows)] + [rng.integers(0, 2, rows) for _ in range(columns)])
    if np.linalg.matrix_rank(x) < x.shape[1]:
        with pytest.raises(ValueError, match="full column rank"):
            fit_poisson(np.ones(rows), x, np.zeros(rows))
        return
    offset = np.log(rng.integers(20, 400, rows).astype(float))
    y = rng.poisson(np.exp(offset - 3)).astype(float)
    y[0] += 1  # at least one event
    ours = fit_poisson(y, x, offset)
    theirs = GLM(y, x, family=Poisson(), offset=offset).fit()
    if not ours.converged:  # separation: both give up, neither is an answer
        return
    # the fitted means agree always; the coefficients where they are identified. A cell
    # with no events drives a coefficient towards -infinity (quasi-separation): both fits
    # stop somewhere near -20 on a flat likelihood, at points 1e-4 apart (rows=8,
    # columns=4, seed=20261121 did), with the same means to 1e-6.
    assert ours.mu == pytest.approx(np.asarray(theirs.mu), rel=1e-6, abs=1e-8)
    if np.max(np.abs(theirs.params)) < 10:
        assert ours.params == pytest.approx(np.asarray(theirs.params), rel=1e-6, abs=1e-6)


@pytest.mark.parametrize(
    ("y", "x", "offset", "message"),
    [
        ([1.0, 2.0], [[1.0], [1.0]], [0.0], "one value per row"),
        ([1.0, -2.0], [[1.0], [1.0]], [0.0, 0.0], "not negative"),
        ([1.0, 2.0], [[1.0], [1.0]], [0.0, -np.inf], "offsets must be finite"),
        ([0.0, 0.0], [[1.0], [1.0]], [0.0, 0.0], "no events"),
        ([1.0, 2.0], [[1.0, 2.0], [1.0, 2.0]], [0.0, 0.0], "full column rank"),
    ],
)
def test_impossible_input_is_refused(y, x, offset, message) -> None:
    with pytest.raises(ValueError, match=message):
        fit_poisson(np.array(y), np.array(x), np.array(offset))
