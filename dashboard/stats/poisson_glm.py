"""Poisson regression with a log link and an offset, by iteratively reweighted least squares.

For counts y_i, offsets o_i (log exposure) and a design X of full column rank, the
maximum-likelihood b of log E[y_i] = o_i + x_i'b is found by Fisher scoring (McCullagh &
Nelder 1989, Generalized Linear Models, 2nd ed., section 2.5):

    mu = (y + mean(y)) / 2,  eta = log(mu)                      (start, as R and statsmodels)
    repeat:  z = eta - o + (y - mu) / mu,  W = diag(mu)
             b = (X'WX)^-1 X'Wz,  eta = Xb + o,  mu = exp(eta)
    until the deviance D = 2 sum(y log(y/mu) - (y - mu)) changes by at most 1e-8

with the model-based covariance (X' diag(mu) X)^-1 at the fitted mu. The same algorithm,
start and stopping rule as statsmodels' ``GLM(..., family=Poisson(), offset=o).fit()``,
without its model and results objects: 2 ms against 30-120 ms for a few thousand cells,
and the regression runs six times on a page. Tests compare both, and R's ``glm``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TOLERANCE = 1e-8
MAX_ITERATIONS = 100


@dataclass(frozen=True)
class PoissonFit:
    """Coefficients, their model-based covariance, fitted means, and convergence."""

    params: np.ndarray
    cov: np.ndarray
    mu: np.ndarray
    converged: bool
    iterations: int
    method: str = "Poisson GLM, log link, offset; IRLS (Fisher scoring)"


def _deviance(y: np.ndarray, mu: np.ndarray) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(y > 0, y * np.log(y / mu), 0.0)
    return float(2 * np.sum(terms - (y - mu)))


def fit_poisson(endog: np.ndarray, exog: np.ndarray, offset: np.ndarray) -> PoissonFit:
    """Poisson ML fit of ``endog`` on ``exog`` with ``offset`` (module docstring).

    Raises ValueError for mismatched shapes, negative or non-finite counts, non-finite
    offsets, no events at all, or a design that is not of full column rank."""
    y = np.asarray(endog, dtype=float)
    x = np.asarray(exog, dtype=float)
    o = np.asarray(offset, dtype=float)
    if x.ndim != 2 or y.shape != (x.shape[0],) or o.shape != y.shape:
        raise ValueError("endog and offset need one value per row of exog")
    if not (np.isfinite(y).all() and (y >= 0).all()):
        raise ValueError("counts must be finite and not negative")
    if not np.isfinite(o).all():
        raise ValueError("offsets must be finite (exposure > 0)")
    if y.sum() == 0:
        raise ValueError("no events: the Poisson fit has no finite maximum")
    if np.linalg.matrix_rank(x) < x.shape[1]:
        raise ValueError("the design is not of full column rank")
    mu = (y + y.mean()) / 2
    eta = np.log(mu)
    deviance, converged, iterations = np.inf, False, 0
    params = np.zeros(x.shape[1])
    while iterations < MAX_ITERATIONS:
        iterations += 1
        z = eta - o + (y - mu) / mu
        weighted = x * mu[:, None]
        params = np.linalg.solve(x.T @ weighted, weighted.T @ z)
        eta = x @ params + o
        mu = np.exp(eta)
        new = _deviance(y, mu)
        if abs(new - deviance) <= TOLERANCE:
            converged = True
            break
        deviance = new
    cov = np.linalg.inv(x.T @ (x * mu[:, None]))
    return PoissonFit(params, cov, mu, converged, iterations)
