"""dashboard.stats.distributions gives scipy.stats' floats, bit for bit, edges included.

The statistics call these functions instead of scipy.stats (a second of every command's
start-up); a published value checked elsewhere stays the same only if every float does.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from dashboard.stats import distributions as dist

RNG = np.random.default_rng(20261121)
QUANTILES = np.concatenate(
    [RNG.uniform(0, 1, 200), [1e-12, 0.001, 0.025, 0.5, 0.975, 0.999, 1 - 1e-12]]
)
MEANS = np.concatenate(
    [[0.0, 1e-6, 0.01, 0.5, 1.0, 2.5, 10.0, 100.0, 1234.5, 1e5, 3e6], RNG.uniform(0, 500, 300)]
)


def _identical(ours: object, theirs: object) -> None:
    assert type(ours) is type(theirs)
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs), strict=True)


def test_normal_quantiles_and_tails() -> None:
    x = np.concatenate([RNG.normal(0, 4, 200), [0.0, 40.0, -40.0, np.inf, -np.inf]])
    _identical(dist.norm_ppf(QUANTILES), stats.norm.ppf(QUANTILES))
    _identical(dist.norm_sf(x), stats.norm.sf(x))
    _identical(dist.norm_ppf(0.975), stats.norm.ppf(0.975))
    _identical(dist.norm_sf(2.5), stats.norm.sf(2.5))
    assert float(dist.norm_ppf(0.975)) == 1.959963984540054


@pytest.mark.parametrize("df", [1, 2, 3, 7, 30, 199, 5000])
def test_chi_square_tails_and_quantiles(df: int) -> None:
    x = np.concatenate([RNG.uniform(0, 3 * df, 100), [0.0, 1e-9, 1e6]])
    _identical(dist.chi2_sf(x, df), stats.chi2.sf(x, df))
    _identical(dist.chi2_sf(1.5 * df, df), stats.chi2.sf(1.5 * df, df))
    for q in (0.001, 0.5, 0.95):
        _identical(dist.chi2_ppf(q, df), stats.chi2.ppf(q, df))


def test_chi_square_quantile_refuses_the_ends() -> None:
    for q in (0.0, 1.0):
        with pytest.raises(ValueError, match="between 0 and 1"):
            dist.chi2_ppf(q, 3)


@pytest.mark.parametrize("q", [0.001, 0.025, 0.3, 0.975, 0.999])
def test_poisson_quantiles_cdf_and_pmf_at_them(q: float) -> None:
    r = stats.poisson.ppf(q, MEANS)
    _identical(dist.poisson_ppf(q, MEANS), r)
    _identical(dist.poisson_cdf(r, MEANS), stats.poisson.cdf(r, MEANS))
    _identical(dist.poisson_pmf(r, MEANS), stats.poisson.pmf(r, MEANS))


@pytest.mark.parametrize("mu", [0.0, 0.7, 3.0, 40.0])
def test_poisson_off_the_support(mu: float) -> None:
    k = np.array([-2.0, -1.0, 0.0, 1.0, 2.5, 3.0, 10.0, 50.0, 1000.0])
    _identical(dist.poisson_cdf(k, mu), stats.poisson.cdf(k, mu))
    _identical(dist.poisson_pmf(k, mu), stats.poisson.pmf(k, mu))


@pytest.mark.parametrize("n", [1, 2, 5, 17, 1000, 123457, 2_000_000])
@pytest.mark.parametrize("p", [0.0, 1e-6, 0.3, 0.5, 0.999, 1.0])
def test_binomial_pmf_cdf_sf(n: int, p: float) -> None:
    k = np.unique(np.concatenate([[-2, -1, 0, 1, n - 1, n, n + 1], RNG.integers(0, n + 1, 50)]))
    for name in ("pmf", "cdf", "sf"):
        ours, theirs = getattr(dist, f"binom_{name}"), getattr(stats.binom, name)
        _identical(ours(k, n, p), theirs(k, n, p))
        for one in (-1, 0, int(k[len(k) // 2]), n):
            _identical(ours(one, n, p), theirs(one, n, p))
