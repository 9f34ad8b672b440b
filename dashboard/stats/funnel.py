"""Funnel plots for comparing clinics or practitioners (Spiegelhalter, Stat Med 2005;24:1185).

Each unit i has y_i events in n_i treatments. Against a target rate theta (given, or the
overall rate sum(y) / sum(n)) the in-control count is Poisson with mean mu_i = theta * n_i.

Control limits (95% and 99.8%, tail probabilities p = 0.025 and 0.001) are exact Poisson
quantiles with Spiegelhalter's interpolation for discreteness (his Appendix; the same
rule as the ``qbinom.interp`` routine of the 2016 ``funnel4`` R program, Poisson here):

    lower:  r = smallest r with F(r) >= p,      a = (F(r) - p) / f(r),        limit = r - a
    upper:  r = smallest r with F(r) >= 1 - p,  a = (F(r) - (1 - p)) / f(r),  limit = r + 1 - a

with F, f the Poisson(mu) distribution and probability functions; rate limit = limit / n.
At the knots (where F(r) hits p exactly) these are the counts whose one-sided exact tail
probability is p, i.e. the points of the PHE Fingertips rate funnel, which inverts exact
(chi-square, not Byar's) Poisson intervals. A unit is outside a limit only when strictly
beyond it; the lower limits are floored at 0.

Over-dispersion: real clinics differ by more than Poisson chance (case mix, reporting
habits), so exact limits flag most of them. Three treatments, ``overdispersion=``:

* ``"none"``: exact Poisson limits as above.
* ``"additive"`` (the NeedleWatch default; additive random effects, Spiegelhalter,
  Qual Saf Health Care 2005;14:347, as NHS England's FunnelPlotR and the PHE/CQC tools):
  z-scores on the square-root scale, z_i = (sqrt(O_i/E_i) - 1) / s_i = 2(sqrt(O_i) -
  sqrt(E_i)) with O = events, E = mu = theta * n, s_i = 1 / (2 sqrt(E_i)); z winsorised at
  the 10th and 90th percentiles (R quantile type 7, FunnelPlotR ``winsorisation()``);
  phi = mean(z_w^2) (``phi_func()``); between-unit variance (DerSimonian-Laird, FunnelPlotR
  ``tau_func()``) tau2 = max(0, (I phi - (I - 1)) / (sum w - sum w^2 / sum w)), w = 1/s^2.
  Limits on the square-root scale 1 +/- z_p sqrt(s_i^2 + tau2), back on the rate scale
  theta * (1 +/- z_p sqrt(s_i^2 + tau2))^2, the lower one 0 when 1 - z_p sqrt(...) <= 0.
  (FunnelPlotR's CQC method draws 1 +/- z_p sqrt(...) on the ratio scale without
  squaring it back; here the limits are on the scale of the points.)
* ``"multiplicative"`` (Spiegelhalter, Stat Med 2005, section 6.1): Pearson z_i = (O_i -
  E_i) / sqrt(E_i), winsorised as above, phi = mean(z_w^2), limits mu_i +/- z_p *
  sqrt(phi * mu_i) (normal approximation), as counts / n.

Either adjustment is applied only when the spread is more than chance: I * phi above the
95th percentile of chi-square on I - 1 degrees of freedom (I when theta is given); else
the exact limits stand and ``overdispersion_applied`` is False. z_p = 1.959964 (95%) and
3.090232 (99.8%). ``phi`` is reported on the scale of the method asked for (Pearson for
"multiplicative", the square-root scale otherwise); ``tau2`` always on the square-root scale.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .distributions import chi2_ppf, norm_ppf, poisson_cdf, poisson_pmf, poisson_ppf

METHOD = "Spiegelhalter (2005) funnel: exact Poisson limits with interpolation for discreteness"
METHOD_OD = {
    "multiplicative": "; limits widened for overdispersion: multiplicative phi (Spiegelhalter "
    "2005, winsorised 10% Pearson z-scores)",
    "additive": "; limits widened for overdispersion: additive random effects tau2 "
    "(Spiegelhalter 2005, square-root z-scores winsorised at 10%)",
}
ADJUSTMENTS = ("none", "additive", "multiplicative")
LEVELS = {"95": 0.025, "998": 0.001}
OUTSIDE = ("above 99.8%", "above 95%", "below 95%", "below 99.8%")


@dataclass(frozen=True)
class FunnelResult:
    """Funnel plot table, plotting curve and over-dispersion diagnostics.

    ``units``: unit, events, exposure, rate, expected, z, lo95, hi95, lo998, hi998,
    outside. ``curve``: exposure, lo95, hi95, lo998, hi998. Rates and limits are per
    ``per``; ``expected`` is a count; ``z`` is the unadjusted Pearson z-score.
    """

    units: pd.DataFrame
    curve: pd.DataFrame
    outliers: tuple[str, ...]
    target: float
    target_source: str
    per: float
    phi: float
    tau2: float
    dispersion_threshold: float
    overdispersion_applied: bool
    method: str
    adjustment: str = "none"


def _whole(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{what} must be a whole number >= 0, got {value!r}")
    if not math.isfinite(value) or value < 0 or int(value) != value:
        raise ValueError(f"{what} must be a whole number >= 0, got {value!r}")
    return int(value)


def _positive(value: object, what: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{what} must be a positive number, got {value!r}")
    return float(value)


def _interp_limit(mu: np.ndarray, tail: float, side: str) -> np.ndarray:
    if side == "lower":
        r = poisson_ppf(tail, mu)
        return np.maximum(0.0, r - (poisson_cdf(r, mu) - tail) / poisson_pmf(r, mu))
    r = poisson_ppf(1 - tail, mu)
    return r + 1 - (poisson_cdf(r, mu) - (1 - tail)) / poisson_pmf(r, mu)


def poisson_limit(mu: float, tail: float, side: str) -> float:
    """Spiegelhalter's interpolated Poisson control limit, as a count (see module doc).

    ``tail`` is the one-sided tail probability (0.025 for 95%, 0.001 for 99.8% limits).
    """
    if not 0 < tail < 0.5:
        raise ValueError(f"tail must be between 0 and 0.5, got {tail}")
    if not math.isfinite(mu) or mu < 0:
        raise ValueError(f"mu must be a finite number >= 0, got {mu}")
    if side not in ("lower", "upper"):
        raise ValueError(f"side must be 'lower' or 'upper', got {side!r}")
    return float(_interp_limit(np.array([float(mu)]), tail, side)[0])


def funnel_limits(exposure: Sequence[float], target: float, per: float = 1000.0) -> pd.DataFrame:
    """Exact interpolated 95% and 99.8% limits (rates per ``per``) at each exposure."""
    per = _positive(per, "per")
    theta = _positive(target, "target") / per
    n = np.array([_positive(x, "exposure") for x in exposure], dtype=float)
    out = pd.DataFrame({"exposure": n})
    for name, tail in LEVELS.items():
        out[f"lo{name}"] = _interp_limit(theta * n, tail, "lower") / n * per
        out[f"hi{name}"] = _interp_limit(theta * n, tail, "upper") / n * per
    return out[["exposure", "lo95", "hi95", "lo998", "hi998"]]


def _od_limits(exposure: np.ndarray, theta: float, phi: float, per: float) -> dict[str, np.ndarray]:
    """Multiplicative: mu +/- z_p sqrt(phi mu), as rates per ``per``."""
    mu = theta * exposure
    out = {}
    for name, tail in LEVELS.items():
        half = norm_ppf(1 - tail) * np.sqrt(phi * mu)
        out[f"lo{name}"] = np.maximum(mu - half, 0.0) / exposure * per
        out[f"hi{name}"] = (mu + half) / exposure * per
    return out


def _re_limits(
    exposure: np.ndarray, theta: float, tau2: float, per: float
) -> dict[str, np.ndarray]:
    """Additive random effects on the square-root scale: theta (1 +/- z_p sqrt(s^2 + tau2))^2
    with s^2 = 1 / (4 theta n), as rates per ``per``."""
    spread = np.sqrt(1.0 / (4.0 * theta * exposure) + tau2)
    out = {}
    for name, tail in LEVELS.items():
        z = norm_ppf(1 - tail)
        out[f"lo{name}"] = theta * np.maximum(1.0 - z * spread, 0.0) ** 2 * per
        out[f"hi{name}"] = theta * (1.0 + z * spread) ** 2 * per
    return out


def winsorised_phi(z: np.ndarray, trim: float = 0.1) -> float:
    """mean(z_w^2), z clamped at R's quantile(z, trim) and quantile(z, 1 - trim) (type 7):
    FunnelPlotR ``winsorisation()`` then ``phi_func()``."""
    lo_z, hi_z = np.quantile(z, [trim, 1 - trim])
    return float(np.mean(np.clip(z, lo_z, hi_z) ** 2))


def dl_tau2(phi: float, weights: np.ndarray) -> float:
    """DerSimonian-Laird between-unit variance from I * phi (FunnelPlotR ``tau_func()``):
    max(0, (I phi - (I - 1)) / (sum w - sum w^2 / sum w)); 0 when I phi < I - 1."""
    count = len(weights)
    denom = weights.sum() - (weights**2).sum() / weights.sum()
    if count * phi < count - 1 or denom <= 0:
        return 0.0
    return float(max(0.0, (count * phi - (count - 1)) / denom))


def _classify(rate: float, row: dict[str, float]) -> str:
    if rate > row["hi998"]:
        return OUTSIDE[0]
    if rate > row["hi95"]:
        return OUTSIDE[1]
    if rate < row["lo998"]:
        return OUTSIDE[3]
    if rate < row["lo95"]:
        return OUTSIDE[2]
    return ""


def funnel(
    units: Sequence[str],
    events: Sequence[int],
    exposure: Sequence[float],
    target: float | None = None,
    per: float = 1000.0,
    overdispersion: str = "none",
    grid_points: int = 200,
) -> FunnelResult:
    """Funnel plot of event rates per ``per`` treatments against ``target`` (per ``per``).

    ``target=None`` uses the overall rate. ``overdispersion``: "none", "additive" or
    "multiplicative" (see the module doc; applied only when the spread is significant).
    Raises ValueError for empty input, mismatched lengths, duplicate unit names, negative
    or fractional counts, exposure <= 0, a non-positive target, an unknown adjustment, or
    no events at all when the target is the overall rate.
    """
    if overdispersion not in ADJUSTMENTS:
        raise ValueError(
            f"overdispersion must be one of {', '.join(ADJUSTMENTS)}, got {overdispersion!r}"
        )
    names = [str(u) for u in units]
    if not names:
        raise ValueError("funnel needs at least one unit")
    if len(events) != len(names) or len(exposure) != len(names):
        raise ValueError("units, events and exposure must have the same length")
    if len(set(names)) != len(names):
        raise ValueError("unit names must be unique")
    if isinstance(grid_points, bool) or not isinstance(grid_points, int) or grid_points < 2:
        raise ValueError(f"grid_points must be an integer >= 2, got {grid_points!r}")
    per = _positive(per, "per")
    y = np.array([_whole(e, f"events for {u}") for e, u in zip(events, names, strict=True)])
    n = np.array([_positive(x, f"exposure for {u}") for x, u in zip(exposure, names, strict=True)])
    if target is None:
        if y.sum() == 0:
            raise ValueError("no events in any unit: give a target rate for the funnel")
        theta, source = float(y.sum() / n.sum()), "overall"
    else:
        theta, source = _positive(target, "target") / per, "given"

    mu = theta * n
    root = 2 * (np.sqrt(y) - np.sqrt(mu))  # square-root scale: (sqrt(O/E) - 1) / s
    z = (y - mu) / np.sqrt(mu) if overdispersion == "multiplicative" else root
    count = len(z)
    phi = winsorised_phi(z)
    df = count - 1 if source == "overall" else count
    threshold = float(chi2_ppf(0.95, df) / count) if df > 0 else math.inf
    tau2 = dl_tau2(winsorised_phi(root), 4.0 * mu)  # weights 1 / s^2 = 4 E
    applied = overdispersion != "none" and phi > threshold

    def limits_at(exposure: np.ndarray) -> pd.DataFrame:
        if applied and overdispersion == "additive":
            return pd.DataFrame({"exposure": exposure, **_re_limits(exposure, theta, tau2, per)})
        if applied:
            return pd.DataFrame({"exposure": exposure, **_od_limits(exposure, theta, phi, per)})
        return funnel_limits(exposure, theta * per, per)

    limits = limits_at(n)
    rate = y / n * per
    table = pd.DataFrame(
        {"unit": names, "events": y, "exposure": n, "rate": rate, "expected": mu, "z": z}
    )
    for col in ("lo95", "hi95", "lo998", "hi998"):
        table[col] = limits[col].to_numpy()
    table["outside"] = [
        _classify(r, row) for r, row in zip(rate, limits.to_dict("records"), strict=True)
    ]

    curve = limits_at(np.geomspace(n.min() / 2, n.max() * 1.1, grid_points))
    return FunnelResult(
        units=table,
        curve=curve,
        outliers=tuple(table.loc[table["outside"] != "", "unit"]),
        target=theta * per,
        target_source=source,
        per=per,
        phi=phi,
        tau2=float(tau2),
        dispersion_threshold=threshold,
        overdispersion_applied=applied,
        method=METHOD + (METHOD_OD[overdispersion] if applied else ""),
        adjustment=overdispersion,
    )
