"""The normal, chi-square, Poisson and binomial functions the statistics use, without
importing scipy.stats.

scipy.stats takes a second or more to import (scipy.special a fraction of it), which made
up most of ``needlewatch compare`` and ``signals``' start-up. Each function here calls
the scipy.special ufunc that scipy.stats itself calls for the same value (scipy 1.17,
``scipy/stats/_continuous_distns.py`` and ``_discrete_distns.py``) and treats the edges
of the support as scipy.stats' ``rv_discrete`` does, so the floats are the same:

    norm.ppf(q) = ndtri(q)              norm.sf(x) = ndtr(-x)
    chi2.sf(x, df) = chdtrc(df, x)      chi2.ppf(q, df) = 2 gammaincinv(df / 2, q)
    poisson: pmf exp(xlogy(k, mu) - gammaln(k + 1) - mu), cdf pdtr(floor(k), mu),
             ppf from pdtrik, stepped down where pdtr already reaches q
    binom:   Boost's pmf, cdf and sf (scipy.special._ufuncs._binom_*, private names
             scipy.stats.binom calls; they exist in the scipy version uv.lock pins)

``tests/test_stats_distributions.py`` compares every function with scipy.stats, exactly,
over grids that include the edges, so a scipy upgrade that changes either side fails there.
"""

from __future__ import annotations

import numpy as np
import scipy.special._ufuncs as _boost  # the binomial ufuncs scipy.stats.binom calls
from numpy.typing import ArrayLike
from scipy.special import chdtrc, gammaincinv, gammaln, ndtr, ndtri, pdtr, pdtrik, xlogy


def _value(out: np.ndarray) -> np.ndarray | np.float64:
    """An array for array input, a numpy scalar for scalar input (as scipy.stats)."""
    return out[()]


def norm_ppf(q: ArrayLike) -> np.ndarray | np.float64:
    """Standard normal quantile, ``scipy.stats.norm.ppf``."""
    return _value(np.asarray(ndtri(q)))


def norm_sf(x: ArrayLike) -> np.ndarray | np.float64:
    """Standard normal upper tail P(Z > x), ``scipy.stats.norm.sf``."""
    return _value(np.asarray(ndtr(-np.asarray(x, dtype=float))))


def chi2_sf(x: ArrayLike, df: ArrayLike) -> np.ndarray | np.float64:
    """Chi-square upper tail P(X > x) on ``df`` degrees of freedom, ``scipy.stats.chi2.sf``."""
    return _value(np.asarray(chdtrc(df, x)))


def chi2_ppf(q: float, df: int) -> np.float64:
    """Chi-square quantile for 0 < q < 1, ``scipy.stats.chi2.ppf``."""
    if not 0 < q < 1:
        raise ValueError(f"q must be between 0 and 1, got {q}")
    return _value(np.asarray(2 * gammaincinv(np.asarray(df) / 2, q)))


def poisson_pmf(k: ArrayLike, mu: ArrayLike) -> np.ndarray | np.float64:
    """P(K = k) for K ~ Poisson(mu), mu >= 0; 0 off the support (k < 0 or not whole)."""
    k, mu = np.broadcast_arrays(np.asarray(k, dtype=float), np.asarray(mu, dtype=float))
    inside = (k >= 0) & (np.floor(k) == k)
    safe = np.where(inside, k, 0.0)
    pmf = np.clip(np.exp(xlogy(safe, mu) - gammaln(safe + 1) - mu), 0, 1)
    return _value(np.where(inside, pmf, 0.0))


def poisson_cdf(k: ArrayLike, mu: ArrayLike) -> np.ndarray | np.float64:
    """P(K <= k) for K ~ Poisson(mu), mu >= 0; 0 for k < 0."""
    k, mu = np.broadcast_arrays(np.asarray(k, dtype=float), np.asarray(mu, dtype=float))
    inside = k >= 0
    cdf = np.clip(pdtr(np.floor(np.where(inside, k, 0.0)), mu), 0, 1)
    return _value(np.where(inside, cdf, 0.0))


def poisson_ppf(q: float, mu: ArrayLike) -> np.ndarray | np.float64:
    """Smallest k with P(K <= k) >= q for K ~ Poisson(mu), 0 < q < 1, mu >= 0."""
    if not 0 < q < 1:
        raise ValueError(f"q must be between 0 and 1, got {q}")
    mu = np.asarray(mu, dtype=float)
    above = np.ceil(pdtrik(q, mu))
    below = np.maximum(above - 1, 0)
    return _value(np.where(pdtr(below, mu) >= q, below, above))


def binom_pmf(k: ArrayLike, n: int, p: float) -> np.ndarray | np.float64:
    """P(X = k) for X ~ Binomial(n, p); 0 off the support (k < 0, k > n, not whole)."""
    k = np.asarray(k, dtype=float)
    inside = (k >= 0) & (k <= n) & (np.floor(k) == k)
    pmf = np.clip(_boost._binom_pmf(np.where(inside, k, 0.0), n, p), 0, 1)
    return _value(np.where(inside, pmf, 0.0))


def binom_cdf(k: ArrayLike, n: int, p: float) -> np.ndarray | np.float64:
    """P(X <= k) for X ~ Binomial(n, p): 0 below the support, 1 from n on."""
    k = np.asarray(k, dtype=float)
    inside = (k >= 0) & (k < n)
    cdf = np.clip(_boost._binom_cdf(np.floor(np.where(inside, k, 0.0)), n, p), 0, 1)
    return _value(np.where(inside, cdf, np.where(k >= n, 1.0, 0.0)))


def binom_sf(k: ArrayLike, n: int, p: float) -> np.ndarray | np.float64:
    """P(X > k) for X ~ Binomial(n, p): 1 below the support, 0 from n on."""
    k = np.asarray(k, dtype=float)
    inside = (k >= 0) & (k < n)
    sf = np.clip(_boost._binom_sf(np.floor(np.where(inside, k, 0.0)), n, p), 0, 1)
    return _value(np.where(inside, sf, np.where(k < 0, 1.0, 0.0)))
