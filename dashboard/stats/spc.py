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

g-chart: ``dashboard.stats.gchart``.

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

from .rules import (
    ORDER,
    RULE_BEYOND,
    RULE_RUN_ABOVE,
    RULE_RUN_BELOW,
    RULE_TREND_DOWN,
    RULE_TREND_UP,
    RULE_TWO_OF_THREE,
)

RULE_G_LOW = "gap below probability LCL"
RULE_G_HIGH = "gap above probability UCL"
RULE_CUSUM = "Bernoulli CUSUM above h"

METHOD_U = "u-chart (Poisson 1/2/3-sigma limits per period), NHS MDC rules (NHSRplotthedots)"
METHOD_G = "g-chart (Benneyan 2001), geometric probability limits at 0.135%/99.865%"
METHOD_CUSUM = "Bernoulli CUSUM (Reynolds & Stoumbos 1999), odds-ratio form"
RUN = 7


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


LIMIT_COLUMNS = ("lcl3", "ucl3", "lcl2", "ucl2")


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
    hit = np.asarray(signs, dtype=int) == sign
    ends = np.zeros(len(hit), dtype=bool)
    if len(hit) >= width:
        run = np.concatenate([[0], np.cumsum(hit)])  # hits among the last `width` entries
        ends[width - 1 :] = run[width:] - run[:-width] == width
    return ends.tolist()


def _mdc_flags(
    points: dict[str, np.ndarray], side: list[int], step: list[int]
) -> dict[str, list[bool]]:
    """Points flagged by each Making Data Count rule (NHSRplotthedots semantics);
    ``points``: the tested points' rate and limits, as arrays."""
    r = points["rate"]
    beyond = (r > points["ucl3"]) | (r < points["lcl3"])
    near = (r > points["ucl2"]) | (r < points["lcl2"])
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


def _segment_flags(
    points: dict[str, np.ndarray], y: list[int], n: list[float], total_y: float, total_n: float
) -> dict[str, list[bool]]:
    """MDC rule flags of one segment's tested points (sides and steps from exact counts:
    ``total_y`` events over ``total_n`` exposure set the segment's centre line)."""
    side = [int(np.sign(yi * total_n - total_y * ni)) for yi, ni in zip(y, n, strict=True)]
    step = [0] + [int(np.sign(y[i] * n[i - 1] - y[i - 1] * n[i])) for i in range(1, len(y))]
    flags = _mdc_flags(points, side, step)
    flags["_side"] = [s > 0 for s in side]  # for directions
    return flags


def _counts(
    names: list[str], events: Sequence[int], exposure: Sequence[float]
) -> tuple[list[int], list[float]]:
    """Events as whole numbers >= 0 and exposures as positive numbers, or ValueError naming
    the period. Whole arrays are checked at once (a body charts a thousand clinics); a
    value that fails is found again one by one for its message."""
    ys, ns = np.asarray(events), np.asarray(exposure)
    arrays = ys.dtype.kind in "iu" and ns.dtype.kind in "iuf" and ys.ndim == ns.ndim == 1
    if arrays and (ys >= 0).all() and np.isfinite(ns).all() and (ns > 0).all():
        return ys.tolist(), ns.astype(float).tolist()
    y = [_whole(e, f"events in period {p}") for e, p in zip(events, names, strict=True)]
    n = []
    for x, p in zip(exposure, names, strict=True):
        if isinstance(x, numbers.Real) and not isinstance(x, bool) and x == 0:
            raise ValueError(f"period {p} has zero exposure: drop it or merge it")
        n.append(_positive(x, f"exposure in period {p}"))
    return y, n


def u_chart(
    periods: Sequence[str],
    events: Sequence[int],
    exposure: Sequence[float],
    per: float = 1000.0,
    incomplete: Sequence[bool] | None = None,
    baseline: Sequence[bool] | None = None,
    rebase: Sequence[str] = (),
    improvement: str = "decrease",
) -> UChart:
    """u-chart of events per ``per`` treatments with NHS "Making Data Count" rules.

    ``incomplete`` marks periods the data do not yet cover in full (a month still running,
    data stopping mid-month): they are drawn, with limits, but left out of the centre line
    and of every rule (Making Data Count: never let a part-filled period set or trip the
    limits). ``baseline`` marks the periods whose counts set the centre line (default: every
    complete period); ``rebase`` names periods from which the chart starts again, with a
    centre line of its own (a sustained shift acknowledged on request: NHSRplotthedots'
    ``rebase``); rules never run across a rebase. ``improvement`` is the direction that is
    better ("decrease" for adverse events): a signal on that side is an improvement, on the
    other a concern (``point_type``). Raises ValueError for fewer than 2 complete periods
    (in any segment), a segment without baseline periods, mismatched lengths, duplicate or
    unknown periods, negative or fractional counts, or a period whose exposure is not
    positive (named, so the caller can drop or merge it).
    """
    names = [str(p) for p in periods]
    if len(events) != len(names) or len(exposure) != len(names):
        raise ValueError("periods, events and exposure must have the same length")
    partial = [False] * len(names) if incomplete is None else [bool(x) for x in incomplete]
    if len(partial) != len(names):
        raise ValueError("incomplete must have one entry per period")
    base = [not p for p in partial] if baseline is None else [bool(b) for b in baseline]
    if len(base) != len(names):
        raise ValueError("baseline must have one entry per period")
    if len(names) - sum(partial) < 2:
        raise ValueError("a u-chart needs at least 2 complete periods")
    if len(set(names)) != len(names):
        raise ValueError("periods must be unique")
    if improvement not in ("decrease", "increase"):
        raise ValueError(f"improvement must be decrease or increase, got {improvement!r}")
    if unknown := [r for r in rebase if r not in names]:
        raise ValueError(f"rebase period(s) not on the chart: {', '.join(map(str, unknown))}")
    per = _positive(per, "per")
    y, n = _counts(names, events, exposure)
    starts = sorted({0, *(names.index(r) for r in rebase)})
    segment = [0] * len(names)
    for k, first in enumerate(starts):
        for i in range(first, len(names)):
            segment[i] = k
    cols: dict[str, object] = {"period": names, "events": y, "exposure": n}
    cols["rate"] = np.array(y) / np.array(n) * per
    centre = np.zeros(len(names))
    base_y, base_n = np.zeros(len(names)), np.zeros(len(names))
    for k in range(len(starts)):
        idx = [i for i in range(len(names)) if segment[i] == k]
        used = [i for i in idx if base[i] and not partial[i]]
        if not used:
            raise ValueError(
                f"the segment from {names[idx[0]]} has no complete baseline period to set its "
                "centre line: choose a baseline that covers it"
            )
        if sum(not partial[i] for i in idx) < 2:
            raise ValueError(f"the segment from {names[idx[0]]} needs at least 2 complete periods")
        ty, tn = sum(y[i] for i in used), sum(n[i] for i in used)
        for i in idx:
            centre[i], base_y[i], base_n[i] = ty / tn, ty, tn
    sd = np.sqrt(centre / np.array(n))
    cols["centre"] = centre * per
    for k in (3, 2, 1):
        cols[f"lcl{k}"] = np.maximum(centre - k * sd, 0.0) * per
        cols[f"ucl{k}"] = (centre + k * sd) * per
    cols["incomplete"] = partial
    cols["baseline"] = [b and not p for b, p in zip(base, partial, strict=True)]
    cols["segment"] = segment
    signals = []
    first_rule = [""] * len(names)
    for k in range(len(starts)):
        keep = [i for i in range(len(names)) if segment[i] == k and not partial[i]]
        tested = {c: np.asarray(cols[c])[keep] for c in ("rate", "centre", *LIMIT_COLUMNS)}
        flags = _segment_flags(
            tested, [y[i] for i in keep], [n[i] for i in keep], base_y[keep[0]], base_n[keep[0]]
        )
        fired = np.zeros(len(keep), dtype=bool)
        for rule in ORDER:
            fired |= np.asarray(flags[rule], dtype=bool)
        for j in np.flatnonzero(fired).tolist():  # in period order, as the rules fired
            row = {c: float(v[j]) for c, v in tested.items()} | {"period": names[keep[j]]}
            high = flags["_side"][j]
            limits = {
                RULE_BEYOND: row["ucl3"] if row["rate"] > row["ucl3"] else row["lcl3"],
                RULE_TWO_OF_THREE: row["ucl2"] if high else row["lcl2"],
                RULE_RUN_ABOVE: row["centre"],
                RULE_RUN_BELOW: row["centre"],
            }
            for rule in ORDER:
                if flags[rule][j]:
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
                    if not first_rule[keep[j]]:
                        first_rule[keep[j]] = rule
    cols["signal"] = first_rule
    concern = "high" if improvement == "decrease" else "low"
    kind = {}
    for s in signals:  # the first rule's direction names the point
        kind.setdefault(s.period, "concern" if s.direction == concern else "improvement")
    cols["point_type"] = [
        f"special cause: {kind[p]}" if p in kind else "common cause" for p in names
    ]
    points = pd.DataFrame(cols)  # built once: a column added after costs as much again
    return UChart(
        points=points,
        signals=tuple(signals),
        centre=float(centre[-1] * per),
        per=per,
        method=METHOD_U,
    )
