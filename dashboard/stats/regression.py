"""Rate ratios from grouped counts: Poisson regression with a log(treatments) offset.

For cell i with k_i events in n_i treatments and categorical factors coded as treatment
(dummy) contrasts against a reference level, the model is

    log E[k_i] = log(n_i) + b0 + sum_j b_j x_ij,     IRR_j = exp(b_j),

with 95% Wald intervals exp(b_j -/+ 1.959964 se_j) and two-sided normal p-values
(McCullagh & Nelder 1989, Generalized Linear Models, 2nd ed., ch. 6).

Overdispersion check: Pearson X2 = sum (k_i - mu_i)^2 / mu_i from the Poisson fit, the
ratio X2 / df (df = cells - parameters; McCullagh & Nelder's phi estimate) and the
upper-tail test P(chi2_df > X2). Counts are called overdispersed when that p < 0.05.
Then, unless a method is forced:

* with ``cluster`` (e.g. practitioner): Poisson estimates with cluster-robust (sandwich)
  errors V = G/(G-1) * B M B, B = (X' diag(mu) X)^-1, M = sum_g s_g s_g',
  s_g = sum_{i in g} x_i (k_i - mu_i). The G/(G-1) factor is Stata's for ML estimators
  (``poisson ..., vce(cluster id)``); statsmodels' default also multiplies by
  (N-1)/(N-K), which depends on how rows were split, so it is not used.
* without: negative binomial NB2, Var k = mu + alpha mu^2, alpha by maximum likelihood
  (statsmodels ``NegativeBinomial``; errors from the observed information of (b, alpha),
  as Stata ``nbreg``; Cameron & Trivedi 2013, Regression Analysis of Count Data, ch. 3).
  When NB2 cannot absorb the overdispersion (alpha at its 0 boundary: alpha * max mu
  < 0.01, or no convergence), quasi-Poisson errors se * sqrt(X2/df) are used instead, as
  McCullagh & Nelder (section 6.3.2) do for their ship-damage data, whose NB2 alpha is 0.

Decisions on impossible or degenerate input:

* rows with zero treatments are dropped and counted; events without treatments, missing
  or negative values, or fractional events raise ValueError naming the column;
* rows sharing factor levels (and cluster unit) are summed first (``aggregate=True``): exact
  for Poisson estimates and clustered errors, and makes results independent of how the
  input was split; the dispersion check and NB then work on these cells;
* a factor with one level is left out of the model, with a note;
* a level with no events has no finite rate ratio (its MLE is -inf). Its rows carry no
  information on the other parameters at the MLE, so they are set aside and the level is
  reported with irr/ci None and a note. The default reference is the level with the most
  treatments among levels with events; a given reference without events is a ValueError;
* a singular design (a level confounded with levels of other factors) is a ValueError
  naming the confounded levels: merge levels or drop a factor;
* a coefficient with se > 10 on the log scale (the interval spans more than e^39) or a fit
  that did not converge gives irr/ci None with a note, never NaN or inf.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from .blas import single_threaded_blas
from .count_models import aliased_columns, cluster_covariance, fit_negbin
from .distributions import chi2_sf, norm_ppf, norm_sf
from .poisson_glm import fit_poisson

Method = Literal["auto", "poisson", "negbin", "cluster"]
Estimator = Literal["poisson", "negbin", "cluster", "quasipoisson"]
OVERDISPERSION_P = 0.05
MAX_LOG_SE = 10.0
MIN_NB_EXTRA_VARIANCE = 0.01
Z95 = float(norm_ppf(0.975))
TABLE_COLUMNS = [
    "term", "level", "reference", "irr", "ci_low", "ci_high", "p_value",
    "events", "treatments", "note",
]  # fmt: skip
NOTE_REFERENCE = "reference level"
NOTE_NO_EVENTS = "no events at this level: rate ratio not estimable"
NOTE_ONE_LEVEL = "only one level: factor left out of the model"
NOTE_SPARSE = "not estimable: standard error too large (sparse or separated data)"
NOTE_NOT_CONVERGED = "model fit did not converge: no estimate"


@dataclass(frozen=True)
class DispersionCheck:
    """Pearson X2 of the Poisson fit, X2/df, and the upper-tail chi2 test on df."""

    pearson_chi2: float
    df: int
    ratio: float | None
    p_value: float | None
    overdispersed: bool
    test: str


@dataclass(frozen=True)
class RateModel:
    """Rate ratios per factor level (``table``) and how they were obtained."""

    table: pd.DataFrame
    method: str
    dispersion: DispersionCheck
    n_cells: int
    n_dropped: int
    converged: bool
    estimator: Estimator = "poisson"
    nb_alpha: float | None = None


def _check_columns(
    cells: pd.DataFrame, factors: Sequence[str], cluster: str | None, events: str, exposure: str
) -> None:
    if isinstance(factors, str) or len(factors) == 0:
        raise ValueError("factors must be a non-empty sequence of column names")
    keys = [*factors, *([cluster] if cluster else [])]
    if len(set(keys) | {events, exposure}) != len(keys) + 2:
        raise ValueError("factors, cluster, events and exposure must be distinct columns")
    for col in [*keys, events, exposure]:
        if col not in cells.columns:
            raise ValueError(f"column {col!r} not found in cells")
    for col in keys:
        if cells[col].isna().any():
            raise ValueError(f"column {col!r} has missing values")
    for col in (events, exposure):
        values = pd.to_numeric(cells[col], errors="coerce")
        if values.isna().any() or not np.isfinite(values.to_numpy(float)).all():
            raise ValueError(f"column {col!r} must hold finite numbers, no missing values")
        if (values < 0).any():
            raise ValueError(f"column {col!r} has negative values")
    k = cells[events].to_numpy(float)
    if (k != np.round(k)).any():
        raise ValueError(f"column {events!r} must hold whole numbers of events")
    if ((cells[exposure].to_numpy(float) == 0) & (k > 0)).any():
        raise ValueError(f"rows with events but zero {exposure!r}: events need treatments")


def _levels(column: pd.Series) -> list[str]:
    """Level order: a Categorical's category order, otherwise sorted."""
    present = {str(v) for v in column.unique()}  # keys have no missing values (checked)
    if isinstance(column.dtype, pd.CategoricalDtype):
        return [str(c) for c in column.cat.categories if str(c) in present]
    return sorted(present)


def _pearson(endog: np.ndarray, mu: np.ndarray, df: int) -> DispersionCheck:
    chi2 = float(((endog - mu) ** 2 / mu).sum())
    if df <= 0:
        return DispersionCheck(chi2, df, None, None, False, "not testable: 0 residual df")
    p = float(chi2_sf(chi2, df))
    test = (
        "Pearson chi2 goodness of fit on residual df, upper tail; "
        f"overdispersed if p < {OVERDISPERSION_P}"
    )
    return DispersionCheck(chi2, df, chi2 / df, p, p < OVERDISPERSION_P, test)


def _p_text(p: float | None) -> str:
    return "p not available" if p is None else "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


@single_threaded_blas
def fit_rate_model(
    cells: pd.DataFrame,
    factors: Sequence[str],
    references: Mapping[str, str] | None = None,
    cluster: str | None = None,
    events: str = "events",
    exposure: str = "treatments",
    *,
    method: Method = "auto",
    aggregate: bool = True,
) -> RateModel:
    """Incidence rate ratios for each factor level, adjusted for the other factors.

    ``cells`` holds one row per combination of factor levels (and per ``cluster`` unit)
    with event and treatment counts. ``references`` maps a factor to its reference level.
    ``method``: "auto" (Poisson, switching to cluster-robust errors or NB2 when
    overdispersed, see the module docstring), or force "poisson", "negbin" or "cluster".
    """
    if method not in ("auto", "poisson", "negbin", "cluster"):
        raise ValueError(f"method must be auto, poisson, negbin or cluster, got {method!r}")
    if method == "cluster" and cluster is None:
        raise ValueError("method='cluster' needs a cluster column")
    references = {f: str(ref) for f, ref in (references or {}).items()}
    unknown = set(references) - set(factors)
    if unknown:
        raise ValueError(f"references given for columns that are not factors: {sorted(unknown)}")
    _check_columns(cells, factors, cluster, events, exposure)
    keys = [*factors, *([cluster] if cluster else [])]
    data = cells[[*keys, events, exposure]].copy()
    data[events] = data[events].astype(float)
    data[exposure] = data[exposure].astype(float)
    n_dropped = int((data[exposure] == 0).sum())
    data = data[data[exposure] > 0]
    if data.empty:
        raise ValueError(f"no rows with {exposure!r} > 0")
    if data[events].sum() == 0:
        raise ValueError("no events in any cell: rate ratios are not estimable")
    order = {f: _levels(data[f]) for f in factors}
    for f in keys:
        data[f] = data[f].astype(str)
    if aggregate:
        data = data.groupby(keys, sort=False, observed=True)[[events, exposure]].sum()
        data = data.reset_index()

    # per factor, the level of each cell as an index into its order: level totals by
    # bincount, design columns by comparing codes (pandas per level cost more than the fit)
    ev = data[events].to_numpy(float)
    ex = data[exposure].to_numpy(float)
    codes = {f: pd.Index(order[f]).get_indexer(data[f].to_numpy(dtype=object)) for f in factors}
    rows: list[dict[str, object]] = []
    columns: list[tuple[str, int]] = []  # (factor, level index) of each non-intercept column
    keep = np.ones(len(data), dtype=bool)
    for f in factors:
        levels = order[f]
        tot_ev = np.bincount(codes[f], weights=ev, minlength=len(levels))
        tot_ex = np.bincount(codes[f], weights=ex, minlength=len(levels))
        ref = references.get(f)
        if ref is not None and ref not in levels:
            raise ValueError(f"reference {ref!r} is not a level of {f!r}")
        if ref is not None and tot_ev[levels.index(ref)] == 0:
            raise ValueError(f"reference {ref!r} of {f!r} has no events; choose another level")
        if ref is None:  # the level with the most treatments among those with events
            with_events = np.flatnonzero(tot_ev > 0)
            ref = levels[int(with_events[np.argmax(tot_ex[with_events])])]
        for level in [ref, *[lv for lv in levels if lv != ref]]:
            i = levels.index(level)
            row: dict[str, object] = {"term": f, "level": level, "reference": ref, "note": ""}
            row.update(irr=None, ci_low=None, ci_high=None, p_value=None)
            row.update(events=int(tot_ev[i]), treatments=float(tot_ex[i]))
            if len(levels) < 2:
                row["note"] = NOTE_ONE_LEVEL
            elif level == ref:
                row.update(irr=1.0, note=NOTE_REFERENCE)
            elif tot_ev[i] == 0:
                row["note"] = NOTE_NO_EVENTS
                keep &= codes[f] != i
            else:
                columns.append((f, i))
            rows.append(row)

    fit = data[keep]
    endog = ev[keep]
    offset = np.log(ex[keep])
    exog = np.column_stack(
        [np.ones(len(fit))] + [(codes[f][keep] == i).astype(float) for f, i in columns]
    )
    names = ["intercept"] + [f"{f}={order[f][i]}" for f, i in columns]
    aliased = aliased_columns(exog, names)
    if aliased:
        raise ValueError(
            "singular design: these levels are confounded with levels of other factors "
            f"(or with zero-event levels set aside): {', '.join(aliased)}; "
            "merge levels or drop a factor"
        )

    pois = fit_poisson(endog, exog, offset)
    mu = pois.mu
    converged = pois.converged
    dispersion = _pearson(endog, mu, len(endog) - exog.shape[1])

    estimator: Estimator = "poisson"
    if method == "auto" and dispersion.overdispersed:
        estimator = "cluster" if cluster else "negbin"
    elif method != "auto":
        estimator = method
    if dispersion.ratio is None:
        disp_text = "dispersion not testable (0 residual df)"
    else:
        state = "overdispersed" if dispersion.overdispersed else "no overdispersion"
        disp_text = (
            f"{state} (Pearson chi2/df = {dispersion.ratio:.2f}, {_p_text(dispersion.p_value)})"
        )
    base = f"Poisson GLM, log({exposure}) offset; {disp_text}"

    params, cov = pois.params, pois.cov
    text = f"{base}; model-based standard errors"
    alpha: float | None = None
    if estimator == "cluster":
        assert cluster is not None
        groups = fit[cluster].to_numpy()
        cov = cluster_covariance(exog, endog, mu, groups)
        text = (
            f"{base}; standard errors clustered by {cluster} "
            f"({len(pd.unique(groups))} clusters, G/(G-1) correction)"
        )
    elif estimator == "negbin":
        nb_params, nb_cov, alpha, nb_ok = fit_negbin(endog, exog, offset)
        nb_ok = nb_ok and alpha * mu.max() >= MIN_NB_EXTRA_VARIANCE
        if nb_ok:
            params, cov = nb_params, nb_cov
            text = (
                f"negative binomial (NB2, alpha = {alpha:.3g} by ML), log({exposure}) offset; "
                f"Poisson fit {disp_text}"
            )
        elif method == "negbin":
            converged, alpha = False, None
            text = f"negative binomial (NB2) requested: alpha at its 0 boundary or no fit; {base}"
        else:  # NB2 cannot absorb this overdispersion: its alpha sits at 0
            assert dispersion.ratio is not None  # auto mode switches only when testable
            estimator, alpha = "quasipoisson", None
            cov = cov * dispersion.ratio
            text = (
                f"{base}; NB2 alpha estimate at its 0 boundary, so quasi-Poisson standard "
                f"errors: model-based x sqrt({dispersion.ratio:.2f})"
            )
    if method != "auto":
        text += "; method chosen by caller"
    if not converged:
        text += "; WARNING: fit did not converge"

    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    estimates = {(f, order[f][i]): (params[j + 1], se[j + 1]) for j, (f, i) in enumerate(columns)}
    for row in rows:
        key = (str(row["term"]), str(row["level"]))
        if key not in estimates:
            continue
        beta, s = estimates[key]
        if not converged:
            row["note"] = NOTE_NOT_CONVERGED
        elif not (np.isfinite(beta) and np.isfinite(s) and 0 < s <= MAX_LOG_SE):
            row["note"] = NOTE_SPARSE
        else:
            row.update(irr=float(np.exp(beta)), ci_low=float(np.exp(beta - Z95 * s)))
            row.update(ci_high=float(np.exp(beta + Z95 * s)))
            row.update(p_value=float(2 * norm_sf(abs(beta / s))))
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    for col in ("irr", "ci_low", "ci_high", "p_value"):
        table[col] = pd.Series([r[col] for r in rows], dtype=object)
    return RateModel(
        table=table,
        method=text,
        dispersion=dispersion,
        n_cells=len(data),
        n_dropped=n_dropped,
        converged=converged,
        estimator=estimator,
        nb_alpha=alpha,
    )
