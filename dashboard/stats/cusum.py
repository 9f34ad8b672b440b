"""Bernoulli CUSUM for rare serious events, computed from the gaps between events.

See ``dashboard.stats.spc`` for the method (Reynolds & Stoumbos 1999; odds-ratio form
of Steiner et al. 2000, as in the R ``cusum`` package).
"""

from __future__ import annotations

import bisect
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from .gchart import _labels
from .spc import METHOD_CUSUM, RULE_CUSUM, Signal, _positive, _whole


@dataclass(frozen=True)
class BernoulliCusum:
    """CUSUM path at each event (``before``/``after`` the event, ``restart`` value)."""

    path: pd.DataFrame
    signals: tuple[Signal, ...]
    p0: float
    p1: float
    odds_ratio: float
    h: float
    weight_event: float
    weight_no_event: float
    first_signal_treatment: int | None
    total_treatments: int
    final_value: float
    method: str

    def value_at(self, treatment: int) -> float:
        """CUSUM after treatment number ``treatment`` (1-based), as a 0/1 chart shows it."""
        if isinstance(treatment, bool) or not 1 <= treatment <= self.total_treatments:
            raise ValueError(f"treatment must be between 1 and {self.total_treatments}")
        at = self.path["treatment"].tolist()
        i = bisect.bisect_right(at, treatment) - 1
        if i >= 0 and at[i] == treatment:
            return float(self.path["after"].iloc[i])
        start, base = (0, 0.0) if i < 0 else (at[i], float(self.path["restart"].iloc[i]))
        return max(0.0, base + (treatment - start) * self.weight_no_event)


def gaps_from_outcomes(outcomes: Sequence[int]) -> tuple[list[int], int]:
    """Turn a 0/1 sequence into (event-free treatments before each event, trailing)."""
    gaps, run = [], 0
    for x in outcomes:
        if x not in (0, 1):
            raise ValueError(f"outcomes must be 0 or 1, got {x!r}")
        if x:
            gaps.append(run)
            run = 0
        else:
            run += 1
    return gaps, run


def bernoulli_cusum(
    gaps: Sequence[int],
    p0: float,
    h: float,
    odds_ratio: float = 2.0,
    trailing: int = 0,
    labels: Sequence[object] | None = None,
    reset: bool = True,
) -> BernoulliCusum:
    """Upper Bernoulli CUSUM from the gaps before each event (see module docstring).

    ``gaps[i]`` is the number of event-free treatments before event i (the first counts
    from the start of monitoring); ``trailing`` event-free treatments follow the last
    event. Raises ValueError for p0 outside (0, 1), odds_ratio <= 1, h <= 0, negative or
    fractional gaps, mismatched labels, or no treatments at all.
    """
    if isinstance(p0, bool) or not isinstance(p0, numbers.Real) or not 0 < p0 < 1:
        raise ValueError(f"p0 must be between 0 and 1, got {p0!r}")
    ratio = _positive(odds_ratio, "odds_ratio")
    if ratio <= 1:
        raise ValueError(f"odds_ratio must be > 1 to detect an increase, got {odds_ratio}")
    limit = _positive(h, "h")
    g = [_whole(x, "gap") for x in gaps]
    tail = _whole(trailing, "trailing")
    names = _labels(labels, len(g))
    total = sum(g) + len(g) + tail
    if total == 0:
        raise ValueError("no treatments to monitor")
    odds1 = ratio * p0 / (1 - p0)
    p1 = odds1 / (1 + odds1)
    w1, w0 = math.log(p1 / p0), math.log((1 - p1) / (1 - p0))
    s, t, rows, signals = 0.0, 0, [], []
    for name, gap in zip(names, g, strict=True):
        t += gap + 1
        before = max(0.0, s + gap * w0)
        after = max(0.0, before + w1)
        fired = after >= limit
        s = 0.0 if fired and reset else after
        rows.append((name, gap, t, before, after, fired, s))
        if fired:
            signals.append(Signal(name, RULE_CUSUM, after, None, limit, "high"))
    final = max(0.0, s + tail * w0)
    path = pd.DataFrame(
        rows, columns=["label", "gap", "treatment", "before", "after", "signal", "restart"]
    )
    path.insert(0, "event", range(1, len(rows) + 1))
    first = next((int(r[2]) for r in rows if r[5]), None)
    return BernoulliCusum(
        path=path,
        signals=tuple(signals),
        p0=float(p0),
        p1=p1,
        odds_ratio=ratio,
        h=limit,
        weight_event=w1,
        weight_no_event=w0,
        first_signal_treatment=first,
        total_treatments=total,
        final_value=final,
        method=METHOD_CUSUM + (", restart after signal" if reset else ""),
    )
