"""Rate ratios of every level of a factor against a reference, from a counts table.

counts (factor[, stratum], events, treatments)
  -> one crude row per level (exact conditional ratio, ratios.exact_rate_ratio)
  -> [one Mantel-Haenszel row per level, ratios.mantel_haenszel_rate_ratio]
"""

from __future__ import annotations

import pandas as pd

from .proportions import _as_count
from .ratios import (
    COMPARE_COLUMNS,
    METHOD_EXACT_RR,
    METHOD_MH,
    Stratum,
    exact_rate_ratio,
    mantel_haenszel_rate_ratio,
)


def compare_levels(
    counts: pd.DataFrame,
    factor: str,
    reference: str | None = None,
    stratum: str | None = None,
) -> pd.DataFrame:
    """Rate ratio of every level of ``factor`` against a reference level.

    ``counts`` has one row per level of ``factor`` (per level and stratum when
    ``stratum`` is given) with whole-number columns ``events`` and ``treatments``.

    The reference defaults to the level with the most treatments (the first such level
    in frame order on a tie): the most precise baseline. Output: one row per
    non-reference level, in the order levels first appear in ``counts``; ``analysis`` is
    "crude" (exact conditional ratio on the level totals, :func:`exact_rate_ratio`) and,
    with ``stratum``, each crude row is followed by an "adjusted for <stratum>
    (Mantel-Haenszel)" row. ``events``/``treatments`` are always the level totals.
    Results that do not exist (no events, no treatments, too few strata) are None with
    the reason in ``note``; the numeric result columns hold floats or None, never NaN.

    Raises ValueError for missing columns, missing (None/NaN) levels or strata, duplicate
    rows, impossible counts, or an unknown ``reference``.
    """
    needed = [factor, "events", "treatments"] + ([stratum] if stratum else [])
    missing = [c for c in needed if c not in counts.columns]
    if missing:
        raise ValueError(f"counts is missing columns: {', '.join(missing)}")
    keys = [factor] + ([stratum] if stratum else [])
    for key in keys:
        if counts[key].isna().any():
            raise ValueError(f"column {key!r} has missing values (None/NaN); label them first")
    if counts.duplicated(subset=keys).any():
        raise ValueError(f"counts has more than one row per {' and '.join(keys)}")
    events = [_as_count("events", v) for v in counts["events"]]
    treatments = [_as_count("treatments", v) for v in counts["treatments"]]
    data = counts[keys].copy()
    data["events"] = events
    data["treatments"] = treatments

    levels = list(dict.fromkeys(data[factor]))
    totals = data.groupby(factor, sort=False)[["events", "treatments"]].sum()
    if reference is None:
        reference = max(levels, key=lambda lv: int(totals.loc[lv, "treatments"]))
    elif reference not in levels:
        raise ValueError(f"reference {reference!r} is not a level of {factor!r}")
    ref_events, ref_treat = (int(v) for v in totals.loc[reference, ["events", "treatments"]])

    rows: list[dict[str, object]] = []
    for level in levels:
        if level == reference:
            continue
        level_events, level_treat = (int(v) for v in totals.loc[level, ["events", "treatments"]])
        base = {"level": level, "reference": reference, "events": level_events,
                "treatments": level_treat, "ref_events": ref_events, "ref_treatments": ref_treat}  # fmt: skip
        crude = _crude(level, reference, level_events, level_treat, ref_events, ref_treat)
        rows.append({"analysis": "crude", **base, **crude})
        if stratum:
            label = f"adjusted for {stratum} (Mantel-Haenszel)"
            adjusted = _adjusted(data, factor, stratum, level, reference)
            rows.append({"analysis": label, **base, **adjusted})
    frame = pd.DataFrame(rows, columns=list(COMPARE_COLUMNS))
    for column in COMPARE_COLUMNS[7:14]:  # results: keep None as None, never NaN
        frame[column] = pd.Series([row[column] for row in rows], dtype=object)
    return frame


def _result(method: str, note: str | None, **values: object) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(COMPARE_COLUMNS[7:14])
    row.update(values, method=method, note=note)
    return row


def _crude(
    level: object, reference: object, events: int, treatments: int, ref_events: int, ref_treat: int
) -> dict[str, object]:
    if treatments == 0 or ref_treat == 0:
        who = level if treatments == 0 else reference
        return _result(METHOD_EXACT_RR, f"no treatments recorded for {who!r}")
    rr = exact_rate_ratio(events, treatments, ref_events, ref_treat)
    return _result(
        rr.method, rr.note, rate_ratio=rr.ratio, ci_low=rr.low, ci_high=rr.high, p_value=rr.p_value
    )


def _adjusted(
    data: pd.DataFrame, factor: str, stratum: str, level: object, reference: object
) -> dict[str, object]:

    def cells(value: object) -> dict[object, tuple[int, int]]:
        """{stratum: (events, treatments)} of one level (one row per stratum at most)."""
        part = data[data[factor] == value]
        return {
            s: (int(e), int(n))
            for s, e, n in zip(part[stratum], part["events"], part["treatments"], strict=True)
        }

    mine, ref = cells(level), cells(reference)
    strata = [
        Stratum(
            events=mine.get(v, (0, 0))[0],
            exposure=mine.get(v, (0, 0))[1],
            ref_events=ref.get(v, (0, 0))[0],
            ref_exposure=ref.get(v, (0, 0))[1],
            stratum=str(v),
        )
        for v in dict.fromkeys(data[stratum])
    ]
    try:
        mh = mantel_haenszel_rate_ratio(strata)
    except ValueError as err:
        return _result(METHOD_MH, str(err))
    return _result(
        mh.method,
        mh.note,
        rate_ratio=mh.ratio,
        ci_low=mh.low,
        ci_high=mh.high,
        strata_used=mh.strata_used,
        strata_dropped=mh.strata_dropped,
        homogeneity_p=mh.homogeneity_p,
    )
