"""Statistical process control for adverse-event rates: u-chart, g-chart (CUSUM: cusum.py).

u-chart (Montgomery, Introduction to SQC, u chart with variable sample size; R qcc
``limits.u``): centre u = sum(events) / sum(exposure); for period i with exposure n_i the
k-sigma limits are u +/- k * sqrt(u / n_i), k = 1, 2, 3, lower limits floored at 0.

Special-cause rules as NHS England "Making Data Count" implements them in NHSRplotthedots
(``ptd_calculate_point_type.R``, ``ptd_spc_standard.R``), each point tested against its
own limits because u-chart limits vary with exposure:
  * "beyond 3-sigma limit": strictly above the upper or below the lower 3-sigma limit;
  * "run of 7 above/below centre": 7 or more consecutive points on one side; a point on
    the centre line has sign 0 and breaks the run (``ptd_seven_point_one_side_mean``);
  * "trend of 7 rising/falling": 7 or more consecutive points each strictly above
    (below) the one before; a tie breaks it (their test: 1,2,3,3,4,5,6 is no trend);
  * "2 of 3 beyond 2-sigma": within 3 consecutive points all on one side of the centre,
    at least 2 lie beyond the 2-sigma limit on that side; only those points are flagged.
Every point of a run or trend is flagged. Deviation: NHSRplotthedots uses XmR limits
(mean +/- 2.66 mean moving range), here Poisson u-chart limits. As there, a point beyond
3 sigma does not count towards "2 of 3". Sides and ties use exact counts, not rates.
The ``signal`` column holds the first rule that fired in their precedence (beyond limit,
trend, 2 of 3, run); ``signals`` lists every (point, rule) pair.

g-chart (Benneyan, Health Care Manag Sci 2001;4:305): g_i = treatments between events,
geometric on {0, 1, ...} with p estimated by 1 / (gbar + 1). Centre = gbar. Three-sigma
limits gbar +/- 3 * sqrt(gbar * (gbar + 1)) (LCL floored at 0, so always 0) are reported;
the probability limits are used for signals: the 0.135% and 99.865% quantiles of the
geometric, linearly interpolated between integers as in Minitab's G chart ("number
until" quantile minus 1), with the 50% quantile as the median line.

Bernoulli CUSUM (Reynolds & Stoumbos 1999; odds-ratio form of Steiner et al. 2000, as in
the R ``cusum`` package): in-control p0, out-of-control odds p1/(1-p1) = OR * p0/(1-p0);
S_t = max(0, S_{t-1} + W_t) with W = ln(p1/p0) for an event and ln((1-p1)/(1-p0)) for a
treatment without one; signal when S_t >= h, then S restarts at 0 (``reset=True``).
Computed from the gaps between events: a gap of g event-free treatments moves S to
max(0, S + g * W_0), so millions of treatments cost one step per event.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

RULE_BEYOND = "beyond 3-sigma limit"
RULE_RUN_ABOVE = "run of 7 above centre"
RULE_RUN_BELOW = "run of 7 below centre"
RULE_TREND_UP = "trend of 7 rising"
RULE_TREND_DOWN = "trend of 7 falling"
RULE_TWO_OF_THREE = "2 of 3 beyond 2-sigma"
RULE_G_LOW = "gap below probability LCL"
RULE_G_HIGH = "gap above probability UCL"
RULE_CUSUM = "Bernoulli CUSUM above h"

METHOD_U = "u-chart (Poisson 1/2/3-sigma limits per period), NHS MDC rules (NHSRplotthedots)"
METHOD_G = "g-chart (Benneyan 2001), geometric probability limits at 0.135%/99.865%"
METHOD_CUSUM = "Bernoulli CUSUM (Reynolds & Stoumbos 1999), odds-ratio form"
RUN = 7
ORDER = (RULE_BEYOND, RULE_TREND_UP, RULE_TREND_DOWN, RULE_TWO_OF_THREE)
ORDER += (RULE_RUN_ABOVE, RULE_RUN_BELOW)


@dataclass(frozen=True)
class Signal:
    """One rule firing at one point. ``direction`` is "high" or "low" (rate up/down)."""

    period: str
    rule: str
    value: float
    expected: float | None
    limit: float | None
    direction: str


@dataclass(frozen=True)
class UChart:
    """u-chart points (rates per ``per``), centre and special-cause signals."""

    points: pd.DataFrame
    signals: tuple[Signal, ...]
    centre: float
    per: float
    method: str


@dataclass(frozen=True)
class GChart:
    """g-chart of gaps between events; signals use the probability limits."""

    points: pd.DataFrame
    signals: tuple[Signal, ...]
    centre: float
    p_hat: float
    lcl3: float
    ucl3: float
    lcl_prob: float
    median_prob: float
    ucl_prob: float
    limits_used: str
    method: str


def _check(value: object, what: str, whole: bool) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value >= 0 and int(value) == value if whole else value > 0)
    if not ok:
        kind = "a whole number >= 0" if whole else "a positive number"
        raise ValueError(f"{what} must be {kind}, got {value!r}")
    return float(value)


def _whole(value: object, what: str) -> int:
    return int(_check(value, what, whole=True))


def _positive(value: object, what: str) -> float:
    return _check(value, what, whole=False)


def _labels(labels: Sequence[object] | None, count: int) -> list[str]:
    if labels is None:
        return [f"event {i + 1}" for i in range(count)]
    if len(labels) != count:
        raise ValueError(f"labels must have one entry per gap ({count}), got {len(labels)}")
    return [str(x) for x in labels]


def _part_of(ends: list[bool]) -> list[bool]:
    """Flag the RUN points ending at each marked index (ptd_part_of_seven_trend)."""
    out = [False] * len(ends)
    for i, end in enumerate(ends):
        if end:
            for j in range(i - RUN + 1, i + 1):
                out[j] = True
    return out


def _ends(signs: list[int], sign: int, width: int) -> list[bool]:
    """True where the last ``width`` entries of ``signs`` all equal ``sign``."""
    return [
        i >= width - 1 and all(s == sign for s in signs[i - width + 1 : i + 1])
        for i in range(len(signs))
    ]


def _mdc_flags(points: pd.DataFrame, side: list[int], step: list[int]) -> dict[str, list[bool]]:
    """Points flagged by each Making Data Count rule (NHSRplotthedots semantics)."""
    r = points["rate"].to_numpy()
    beyond = (r > points["ucl3"].to_numpy()) | (r < points["lcl3"].to_numpy())
    near = (r > points["ucl2"].to_numpy()) | (r < points["lcl2"].to_numpy())
    close = [bool(near[i] and not beyond[i]) for i in range(len(r))]
    two = [False] * len(r)
    for j in range(len(r) - 2):
        window = range(j, j + 3)
        if abs(sum(side[i] for i in window)) == 3 and sum(close[i] for i in window) >= 2:
            for i in window:
                two[i] = two[i] or close[i]
    return {
        RULE_BEYOND: [bool(b) for b in beyond],
        RULE_TREND_UP: _part_of(_ends(step, 1, RUN - 1)),
        RULE_TREND_DOWN: _part_of(_ends(step, -1, RUN - 1)),
        RULE_TWO_OF_THREE: two,
        RULE_RUN_ABOVE: _part_of(_ends(side, 1, RUN)),
        RULE_RUN_BELOW: _part_of(_ends(side, -1, RUN)),
    }


def u_chart(
    periods: Sequence[str],
    events: Sequence[int],
    exposure: Sequence[float],
    per: float = 1000.0,
    incomplete: Sequence[bool] | None = None,
) -> UChart:
    """u-chart of events per ``per`` treatments with NHS "Making Data Count" rules.

    ``incomplete`` marks periods the data do not yet cover in full (a month still running,
    data stopping mid-month): they are drawn, with limits, but left out of the centre line
    and of every rule (Making Data Count: never let a part-filled period set or trip the
    limits). Raises ValueError for fewer than 2 complete periods, mismatched lengths,
    duplicate periods, negative or fractional counts, or a period whose exposure is not
    positive (named, so the caller can drop or merge it).
    """
    names = [str(p) for p in periods]
    if len(events) != len(names) or len(exposure) != len(names):
        raise ValueError("periods, events and exposure must have the same length")
    partial = [False] * len(names) if incomplete is None else [bool(x) for x in incomplete]
    if len(partial) != len(names):
        raise ValueError("incomplete must have one entry per period")
    if len(names) - sum(partial) < 2:
        raise ValueError("a u-chart needs at least 2 complete periods")
    if len(set(names)) != len(names):
        raise ValueError("periods must be unique")
    per = _positive(per, "per")
    y = [_whole(e, f"events in period {p}") for e, p in zip(events, names, strict=True)]
    n = []
    for x, p in zip(exposure, names, strict=True):
        if isinstance(x, numbers.Real) and not isinstance(x, bool) and x == 0:
            raise ValueError(f"period {p} has zero exposure: drop it or merge it")
        n.append(_positive(x, f"exposure in period {p}"))
    keep = [i for i in range(len(names)) if not partial[i]]
    total_y, total_n = sum(y[i] for i in keep), sum(n[i] for i in keep)
    ubar = total_y / total_n
    rate = np.array(y) / np.array(n)
    sd = np.sqrt(ubar / np.array(n))
    cols: dict[str, object] = {"period": names, "events": y, "exposure": n}
    cols["rate"] = rate * per
    cols["centre"] = ubar * per
    for k in (3, 2, 1):
        cols[f"lcl{k}"] = np.maximum(ubar - k * sd, 0.0) * per
        cols[f"ucl{k}"] = (ubar + k * sd) * per
    cols["incomplete"] = partial
    points = pd.DataFrame(cols)

    yk, nk = [y[i] for i in keep], [n[i] for i in keep]
    side = [int(np.sign(yi * total_n - total_y * ni)) for yi, ni in zip(yk, nk, strict=True)]
    step = [0] + [int(np.sign(yk[i] * nk[i - 1] - yk[i - 1] * nk[i])) for i in range(1, len(yk))]
    tested = points.iloc[keep].reset_index(drop=True)
    flags = _mdc_flags(tested, side, step)
    signals = []
    for i, row in enumerate(tested.to_dict("records")):
        high = side[i] > 0
        limits = {
            RULE_BEYOND: row["ucl3"] if row["rate"] > row["ucl3"] else row["lcl3"],
            RULE_TWO_OF_THREE: row["ucl2"] if high else row["lcl2"],
            RULE_RUN_ABOVE: row["centre"],
            RULE_RUN_BELOW: row["centre"],
        }
        for rule in ORDER:
            if flags[rule][i]:
                up = rule == RULE_TREND_UP if rule in (RULE_TREND_UP, RULE_TREND_DOWN) else high
                limit = limits.get(rule)
                signals.append(
                    Signal(
                        period=row["period"],
                        rule=rule,
                        value=float(row["rate"]),
                        expected=float(row["centre"]),
                        limit=None if limit is None else float(limit),
                        direction="high" if up else "low",
                    )
                )
    first = {keep[i]: next((r for r in ORDER if flags[r][i]), "") for i in range(len(keep))}
    points["signal"] = [first.get(i, "") for i in range(len(y))]
    return UChart(
        points=points, signals=tuple(signals), centre=ubar * per, per=per, method=METHOD_U
    )


def geometric_quantile(q: float, p: float) -> float:
    """Interpolated q-quantile of the number of non-events before an event (Minitab G)."""
    if not 0 < q < 1 or not 0 < p <= 1:
        raise ValueError(f"need 0 < q < 1 and 0 < p <= 1, got q={q}, p={p}")

    def cdf(k: int) -> float:  # P(trials until event <= k)
        return 0.0 if k <= 0 else -math.expm1(k * math.log1p(-p)) if p < 1 else 1.0

    k = 1 if p == 1 else max(1, math.ceil(math.log1p(-q) / math.log1p(-p)))
    while k > 1 and cdf(k - 1) >= q:
        k -= 1
    while cdf(k) < q:
        k += 1
    low = cdf(k - 1)
    return (k - 1) + (q - low) / (cdf(k) - low) - 1


def g_chart(
    gaps: Sequence[int], labels: Sequence[object] | None = None, tail: float = 0.00135
) -> GChart:
    """g-chart of ``gaps`` (treatments between consecutive events, oldest first).

    ``labels`` (e.g. event dates) name the points. A gap below the probability LCL means
    events came faster than expected (direction "high"); above the UCL, slower ("low").
    Raises ValueError for fewer than 2 gaps, negative or fractional gaps, or a bad tail.
    """
    if len(gaps) < 2:
        raise ValueError("a g-chart needs at least 2 gaps between events")
    if not 0 < tail < 0.5:
        raise ValueError(f"tail must be between 0 and 0.5, got {tail}")
    g = [_whole(x, "gap") for x in gaps]
    names = _labels(labels, len(g))
    gbar = sum(g) / len(g)
    p_hat = 1 / (gbar + 1)
    spread = math.sqrt(gbar * (gbar + 1))
    lcl3, ucl3 = max(0.0, gbar - 3 * spread), gbar + 3 * spread
    lcl = max(0.0, geometric_quantile(tail, p_hat))
    med = max(0.0, geometric_quantile(0.5, p_hat))
    ucl = geometric_quantile(1 - tail, p_hat)
    points = pd.DataFrame({"event": range(1, len(g) + 1), "label": names, "gap": g})
    points = points.assign(centre=gbar, lcl3=lcl3, ucl3=ucl3)
    points = points.assign(lcl_prob=lcl, median_prob=med, ucl_prob=ucl)
    signals = []
    for name, gap in zip(names, g, strict=True):
        if gap < lcl:
            signals.append(Signal(name, RULE_G_LOW, float(gap), gbar, lcl, "high"))
        elif gap > ucl:
            signals.append(Signal(name, RULE_G_HIGH, float(gap), gbar, ucl, "low"))
    return GChart(
        points=points,
        signals=tuple(signals),
        centre=gbar,
        p_hat=p_hat,
        lcl3=lcl3,
        ucl3=ucl3,
        lcl_prob=lcl,
        median_prob=med,
        ucl_prob=ucl,
        limits_used="probability",
        method=METHOD_G,
    )
