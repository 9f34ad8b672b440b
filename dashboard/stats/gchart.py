"""g-chart of gaps between rare events (Benneyan, Health Care Manag Sci 2001;4:305).

g_i = treatments between events, geometric on {0, 1, ...} with p estimated by 1 / (gbar +
1). Centre = gbar. Three-sigma limits gbar +/- 3 * sqrt(gbar * (gbar + 1)) (LCL floored at
0, so always 0) are reported; the probability limits are used for signals: the 0.135% and
99.865% quantiles of the geometric, linearly interpolated between integers as in Minitab's
G chart ("number until" quantile minus 1), with the 50% quantile as the median line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from .spc import METHOD_G, RULE_G_HIGH, RULE_G_LOW, Signal, _whole


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


def _labels(labels: Sequence[object] | None, count: int) -> list[str]:
    if labels is None:
        return [f"event {i + 1}" for i in range(count)]
    if len(labels) != count:
        raise ValueError(f"labels must have one entry per gap ({count}), got {len(labels)}")
    return [str(x) for x in labels]


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
