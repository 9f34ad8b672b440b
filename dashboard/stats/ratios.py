"""Rate ratios between groups with person-time (treatment) denominators.

Exact conditional rate ratio (what R's ``poisson.test(c(x1, x2), c(T1, T2))`` reports).
Given the total x1 + x2, the events of group 1 are Binomial(x1 + x2, pi) with
pi = RR T1 / (RR T1 + T2). A Clopper-Pearson interval (pi_L, pi_U) on pi maps to

    RR = pi / (1 - pi) * T2 / T1

and the two-sided p-value for RR = 1 is R's ``binom.test`` one: the sum of the
probabilities of all outcomes no more likely than the observed one (relative tolerance
1 + 1e-7). Reference: R Core Team, ``stats::poisson.test``; Breslow NE, Day NE.
Statistical Methods in Cancer Research II, IARC 1987, p. 94.

Mantel-Haenszel rate ratio across strata i (Rothman & Greenland, Modern Epidemiology):

    RR_MH = sum(a_i T0_i / T_i) / sum(b_i T1_i / T_i),  T_i = T1_i + T0_i

with a_i, T1_i the events and treatments of the compared group and b_i, T0_i those of
the reference group. Variance of ln RR_MH by Greenland & Robins (Biometrics
1985;41:55-68), for person-time data:

    Var = sum(M_i T1_i T0_i / T_i^2) / (sum(a_i T0_i / T_i) * sum(b_i T1_i / T_i))

with M_i = a_i + b_i, and a Wald interval on the log scale. Stata's ``ir ..., by()``
computes the same estimate and interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .distributions import binom_cdf, binom_pmf, binom_sf, chi2_sf, norm_ppf
from .proportions import _as_count, _as_exposure, _check_confidence, clopper_pearson

METHOD_EXACT_RR = "exact conditional (binomial, Clopper-Pearson), as R poisson.test"
METHOD_MH = "Mantel-Haenszel, Greenland-Robins variance"
HOMOGENEITY_TEST = "score chi-square at RR_MH (Breslow-Day analogue for rates)"
MH_STRATUM_COLUMNS = ("stratum", "events", "exposure", "ref_events", "ref_exposure")
R_RELATIVE_TOLERANCE = 1 + 1e-7


@dataclass(frozen=True)
class RateRatio:
    """Rate in one group over the rate in a reference group, with an exact interval.

    ``ratio``, ``low`` and ``high`` are None only when neither group has an event; ``note``
    then says why. With events in one group only the ratio is 0 or inf and the finite
    bound is still given.
    """

    events: int
    exposure: float
    ref_events: int
    ref_exposure: float
    ratio: float | None
    low: float | None
    high: float | None
    p_value: float | None
    method: str
    note: str | None
    confidence: float = 0.95


@dataclass(frozen=True)
class Stratum:
    """One stratum: events and treatments of the compared group and of the reference."""

    events: int
    exposure: float
    ref_events: int
    ref_exposure: float
    stratum: str = ""


@dataclass(frozen=True)
class MantelHaenszelResult:
    """Mantel-Haenszel rate ratio across strata, its interval and a homogeneity test.

    ``low``/``high`` are None when the interval is undefined (every event in one group);
    the ``homogeneity_*`` fields are None when fewer than two strata have events. ``note``
    says which, and how many strata were dropped and why.
    """

    ratio: float
    low: float | None
    high: float | None
    method: str
    strata_used: int
    strata_dropped: int
    homogeneity_chi2: float | None
    homogeneity_df: int | None
    homogeneity_p: float | None
    note: str | None
    confidence: float = 0.95


#: Tails longer than this are counted by bisection instead of evaluating every term.
VECTOR_TAIL = 4096
#: Terms re-evaluated on each side of the bisection's boundary, counted one by one.
BOUNDARY_CHECK = 64


def _count_small(n: int, p: float, lo: int, hi: int, threshold: float, falling: bool) -> int:
    """How many i in [lo, hi] have pmf(i) <= threshold, pmf monotone on that range
    (``falling``: non-increasing, so those i form a suffix; else a prefix).

    Equal to counting every term (``np.sum(binom.pmf(range) <= threshold)``): the
    boundary is found by bisection and the terms around it are counted one by one, so a
    tail of a million terms (rate ratios of millions of events) costs a few dozen.
    """
    if hi - lo < VECTOR_TAIL:
        return int(np.sum(binom_pmf(np.arange(lo, hi + 1), n, p) <= threshold))
    low, high = lo, hi + 1  # first index where "pmf <= threshold" flips
    while low < high:
        mid = (low + high) // 2
        small = float(binom_pmf(mid, n, p)) <= threshold
        if small == falling:
            high = mid
        else:
            low = mid + 1
    start, stop = max(lo, low - BOUNDARY_CHECK), min(hi, low + BOUNDARY_CHECK)
    near = int(np.sum(binom_pmf(np.arange(start, stop + 1), n, p) <= threshold))
    return near + (hi - stop if falling else start - lo)


def _binom_two_sided_p(x: int, n: int, p: float) -> float:
    """Two-sided exact binomial p-value exactly as R's ``binom.test`` computes it.

    R counts the terms on the other side of the mean no more likely than the observed
    one; the binomial pmf falls monotonically away from its mode, so they form one run
    (see ``_count_small``).
    """
    d = float(binom_pmf(x, n, p))
    m = n * p
    if x == m:
        return 1.0
    threshold = d * R_RELATIVE_TOLERANCE
    if x < m:
        y = _count_small(n, p, math.ceil(m), n, threshold, falling=True)
        value = float(binom_cdf(x, n, p) + binom_sf(n - y, n, p))
    else:
        y = _count_small(n, p, 0, math.floor(m), threshold, falling=False)
        value = float(binom_cdf(y - 1, n, p) + binom_sf(x - 1, n, p))
    return min(1.0, value)


def _odds_to_ratio(pi: float, scale: float) -> float:
    return math.inf if pi >= 1.0 else pi / (1.0 - pi) * scale


def exact_rate_ratio(
    events: int,
    exposure: float,
    ref_events: int,
    ref_exposure: float,
    confidence: float = 0.95,
) -> RateRatio:
    """Exact conditional rate ratio of (events / exposure) over (ref_events / ref_exposure).

    Reproduces R's ``poisson.test(c(events, ref_events), c(exposure, ref_exposure))``:
    estimate, ``conf.int`` and two-sided ``p.value``. Example (R documentation, Breslow &
    Day 1987 p. 94): 11 events in 800 vs 21 in 3011 gives RR 1.971488 (0.8584264 to
    4.2772659), p = 0.07967.

    Zero events in one group: ratio 0 (or inf) with the finite bound still given. Zero
    in both: ratio, low, high and p_value are None and ``note`` says why.
    Raises ValueError for negative or fractional counts, for exposure <= 0, and for a
    confidence outside (0, 1).
    """
    x1 = _as_count("events", events)
    x2 = _as_count("ref_events", ref_events)
    t1 = _as_exposure("exposure", exposure)
    t2 = _as_exposure("ref_exposure", ref_exposure)
    conf = _check_confidence(confidence)
    common = {"events": x1, "exposure": t1, "ref_events": x2, "ref_exposure": t2}
    if x1 + x2 == 0:
        note = "no events in either group: the rate ratio is undefined (0/0)"
        return RateRatio(**common, ratio=None, low=None, high=None, p_value=None,
                         method=METHOD_EXACT_RR, note=note, confidence=conf)  # fmt: skip
    pi = clopper_pearson(x1, x1 + x2, conf)
    scale = t2 / t1
    note = None
    if x1 == 0:
        note = "no events in this group: rate ratio 0, only the upper bound is informative"
    elif x2 == 0:
        note = "no events in the reference group: rate ratio infinite, only the lower bound is informative"
    return RateRatio(
        **common,
        ratio=math.inf if x2 == 0 else (x1 / t1) / (x2 / t2),
        low=_odds_to_ratio(pi.low, scale),
        high=_odds_to_ratio(pi.high, scale),
        p_value=_binom_two_sided_p(x1, x1 + x2, t1 / (t1 + t2)),
        method=METHOD_EXACT_RR,
        note=note,
        confidence=conf,
    )


def _strata_from(strata: Sequence[Stratum] | pd.DataFrame) -> list[Stratum]:
    if isinstance(strata, pd.DataFrame):
        missing = [c for c in MH_STRATUM_COLUMNS if c not in strata.columns]
        if missing:
            raise ValueError(f"strata frame is missing columns: {', '.join(missing)}")
        return [
            Stratum(
                events=row.events,
                exposure=row.exposure,
                ref_events=row.ref_events,
                ref_exposure=row.ref_exposure,
                stratum=str(row.stratum),
            )
            for row in strata.itertuples(index=False)
        ]
    items = list(strata)
    for item in items:
        if not isinstance(item, Stratum):
            raise ValueError(f"strata must be Stratum objects or a DataFrame, got {item!r}")
    return items


def _validate_stratum(s: Stratum) -> tuple[int, float, int, float]:
    label = f" (stratum {s.stratum!r})" if s.stratum else ""
    a = _as_count(f"events{label}", s.events)
    t1 = _as_exposure(f"exposure{label}", s.exposure, allow_zero=True)
    b = _as_count(f"ref_events{label}", s.ref_events)
    t0 = _as_exposure(f"ref_exposure{label}", s.ref_exposure, allow_zero=True)
    if (a > 0 and t1 == 0) or (b > 0 and t0 == 0):
        raise ValueError(f"events recorded without any treatments{label}")
    return a, t1, b, t0


def mantel_haenszel_rate_ratio(
    strata: Sequence[Stratum] | pd.DataFrame, confidence: float = 0.95
) -> MantelHaenszelResult:
    """Mantel-Haenszel rate ratio over strata, Greenland-Robins interval, homogeneity test.

    ``strata`` is a sequence of :class:`Stratum` or a DataFrame with columns stratum,
    events, exposure, ref_events, ref_exposure (one row per stratum).

    Strata where either group has zero exposure carry no information on the ratio: they
    are dropped and counted in ``strata_dropped``. Strata with exposure in both groups but
    no events are kept (they add nothing to the sums).

    Homogeneity of the rate ratio: the score chi-square evaluated at RR_MH, the
    person-time analogue of the Breslow-Day test (Breslow & Day 1987, ch. 3),

        X^2 = sum((a_i - E_i)^2 / V_i),  E_i = M_i RR T1_i / (RR T1_i + T0_i),
        V_i = E_i (M_i - E_i) / M_i,

    over strata with at least one event (a stratum without events has no term), with
    df = those strata - 1. Unlike the Woolf-type test Stata prints it needs no events in
    both groups of a stratum, which matters for sparse adverse-event counts.

    Raises ValueError ("Mantel-Haenszel needs at least two strata ...") when fewer than
    two strata have exposure in both groups, for impossible counts, and when no stratum
    has any event.
    """
    conf = _check_confidence(confidence)
    items = _strata_from(strata)
    rows = [_validate_stratum(s) for s in items]
    used = [(a, t1, b, t0) for a, t1, b, t0 in rows if t1 > 0 and t0 > 0]
    dropped = len(rows) - len(used)
    if len(used) < 2:
        raise ValueError(
            "Mantel-Haenszel needs at least two strata with treatments in both groups; "
            f"got {len(used)} of {len(rows)} (strata with no treatments in a group are dropped)"
        )
    a, t1, b, t0 = (np.array(column, dtype=float) for column in zip(*used, strict=True))
    t = t1 + t0
    r = float(np.sum(a * t0 / t))
    s = float(np.sum(b * t1 / t))
    notes: list[str] = []
    if dropped:
        notes.append(f"{dropped} stratum(s) dropped: no treatments in one group")
    if r == 0 and s == 0:
        raise ValueError("Mantel-Haenszel needs events: no stratum used has any event")
    ratio = 0.0 if r == 0 else math.inf
    low: float | None = None
    high: float | None = None
    hom: tuple[float | None, int | None, float | None] = (None, None, None)
    if r == 0 or s == 0:
        group = "this group" if r == 0 else "the reference group"
        notes.append(f"no events in {group} in any stratum: interval undefined")
    else:
        ratio = r / s
        half_width = float(norm_ppf(1 - (1 - conf) / 2)) * math.sqrt(
            float(np.sum((a + b) * t1 * t0 / t**2)) / (r * s)
        )
        low, high = ratio * math.exp(-half_width), ratio * math.exp(half_width)
        hom = _homogeneity(a, t1, b, t0, ratio)
        if hom[1] is None:
            notes.append("homogeneity test needs events in at least two strata")
    return MantelHaenszelResult(
        ratio=ratio,
        low=low,
        high=high,
        method=f"{METHOD_MH}; homogeneity: {HOMOGENEITY_TEST}",
        strata_used=len(used),
        strata_dropped=dropped,
        homogeneity_chi2=hom[0],
        homogeneity_df=hom[1],
        homogeneity_p=hom[2],
        note="; ".join(notes) or None,
        confidence=conf,
    )


def _homogeneity(
    a: np.ndarray, t1: np.ndarray, b: np.ndarray, t0: np.ndarray, ratio: float
) -> tuple[float | None, int | None, float | None]:
    m = a + b
    keep = m > 0
    if int(np.sum(keep)) < 2:
        return None, None, None
    a, t1, t0, m = a[keep], t1[keep], t0[keep], m[keep]
    expected = m * ratio * t1 / (ratio * t1 + t0)
    variance = expected * (m - expected) / m
    statistic = float(np.sum((a - expected) ** 2 / variance))
    df = int(np.sum(keep)) - 1
    return statistic, df, float(chi2_sf(statistic, df))


# --- comparing the levels of a factor -------------------------------------------------

# fmt: off
COMPARE_COLUMNS = (
    "analysis", "level", "reference", "events", "treatments", "ref_events", "ref_treatments",
    "rate_ratio", "ci_low", "ci_high", "p_value", "strata_used", "strata_dropped",
    "homogeneity_p", "method", "note",
)
# fmt: on
