"""Estimators behind ``regression.fit_rate_model``: cluster-robust covariance of Poisson
estimates, the NB2 fit, and the columns of a singular design (pure numpy/statsmodels)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd


def cluster_covariance(
    exog: np.ndarray, endog: np.ndarray, mu: np.ndarray, groups: np.ndarray
) -> np.ndarray:
    """Cluster-robust covariance of Poisson estimates, Stata's G/(G-1) correction."""
    codes, uniques = pd.factorize(groups)
    n_groups = len(uniques)
    if n_groups < 2:
        raise ValueError("cluster-robust errors need at least 2 clusters")
    bread = np.linalg.inv(exog.T @ (exog * mu[:, None]))
    scores = np.zeros((n_groups, exog.shape[1]))
    np.add.at(scores, codes, exog * (endog - mu)[:, None])
    return n_groups / (n_groups - 1) * bread @ (scores.T @ scores) @ bread


def fit_negbin(
    endog: np.ndarray, exog: np.ndarray, offset: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float, bool]:
    """NB2 by maximum likelihood: (beta, cov(beta), alpha, converged).

    Newton steps from the Poisson fit (as Stata's ``nbreg``), then BFGS on log(alpha) if
    Newton fails, e.g. when the maximum is at the alpha = 0 boundary."""
    # statsmodels takes ~2 s to import: only the NB2 fit (never a clustered model) needs it
    from statsmodels.discrete.discrete_model import NegativeBinomial

    model = NegativeBinomial(endog, exog, loglike_method="nb2", offset=offset)
    k = exog.shape[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for how, maxiter in (("newton", 100), ("bfgs", 2000)):
            res = model.fit(method=how, maxiter=maxiter, disp=0)
            params = np.asarray(res.params)
            try:
                cov = np.asarray(res.cov_params())
            except (ValueError, np.linalg.LinAlgError):  # no usable Hessian
                cov = np.full((k + 1, k + 1), np.nan)
            ok = np.isfinite(params).all() and np.isfinite(cov).all()
            if ok and res.mle_retvals.get("converged", False):
                return params[:k], cov[:k, :k], float(params[k]), True
    return params[:k], cov[:k, :k], float(params[k]), False


def aliased_columns(exog: np.ndarray, names: list[str]) -> list[str]:
    """Columns involved in exact linear dependencies (empty if full rank). With fewer rows
    than columns every column is in the null space's support somewhere: all are named."""
    scale = np.sqrt((exog**2).sum(axis=0))
    scale[scale == 0] = 1.0
    # the full V only when rows < columns (then small): it holds the null space's basis
    _, sv, vt = np.linalg.svd(exog / scale, full_matrices=exog.shape[0] < exog.shape[1])
    sv = np.concatenate([sv, np.zeros(vt.shape[0] - len(sv))])
    null = vt[sv <= max(sv.max(), 1.0) * max(exog.shape) * np.finfo(float).eps * 100]
    return [names[j] for j in np.flatnonzero((np.abs(null) > 1e-8).any(axis=0))]
