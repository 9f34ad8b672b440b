"""A clinic against its network: standardised ratios and where it sits among its peers.

The clinic feedback report a professional body sends each member (``dashboard.report.
feedback``) asks, for each kind of event, "do we have more than the network would, given
the body regions we needle?" The answer is the standardised ratio O / E
(``dashboard.stats.standardised``), the network's rates by body region applied to the
clinic's treatments by body region:

    treatments (clinic, body_region, treatments)
    events     (clinic, body_region, level, events)      level: a category, a severity,
                                                          or "all events"
      -> one row per level: treatments, events (O), expected (E), network events and
         treatments, network rate, ratio with its exact interval, verdict, method

The network is every clinic, the one compared included (a national reference, as in SMR
and SHMI practice); its rates are pooled over clinics.
"""

from __future__ import annotations

import pandas as pd

from dashboard.stats.funnel import FunnelResult
from dashboard.stats.standardised import expected_events, standardised_ratio

STRATUM = "body_region"
VERDICTS = {
    "higher": "higher than the network",
    "lower": "lower than the network",
    "as expected": "no evidence of a difference",
}
NO_NETWORK_EVENTS = "no such events in the network: no ratio"
PEER_COLUMNS = (
    "level", "treatments", "events", "expected", "network_events", "network_treatments",
    "network_rate", "ratio", "ci_low", "ci_high", "verdict", "method",
)  # fmt: skip


def peer_ratios(
    treatments: pd.DataFrame,
    events: pd.DataFrame,
    clinic: str,
    levels: list[str],
    drop_absent: bool = False,
) -> pd.DataFrame:
    """``clinic``'s standardised ratio for each of ``levels`` (see the module docstring);
    with ``drop_absent``, levels without an event anywhere in the network are left out.

    Raises ValueError when the clinic has no treatments (nothing to compare).
    """
    strata = (
        treatments.groupby(STRATUM, dropna=False, sort=True)["treatments"].sum().rename("network")
    )
    own = treatments[treatments["clinic"] == clinic]
    own = own.groupby(STRATUM, dropna=False)["treatments"].sum().reindex(strata.index, fill_value=0)
    if own.sum() <= 0:
        raise ValueError(f"clinic {clinic} has no treatments in the period: nothing to compare")
    rows = []
    for level in levels:
        part = events[events["level"] == level]
        if drop_absent and int(part["events"].sum()) == 0:
            continue
        net = (
            part.groupby(STRATUM, dropna=False)["events"].sum().reindex(strata.index, fill_value=0)
        )
        observed = int(part.loc[part["clinic"] == clinic, "events"].sum())
        expected = expected_events(own.tolist(), net.astype(int).tolist(), strata.tolist())
        row = {
            "level": level,
            "treatments": int(own.sum()),
            "events": observed,
            "expected": expected,
            "network_events": int(net.sum()),
            "network_treatments": int(strata.sum()),
            "network_rate": 1000 * float(net.sum()) / float(strata.sum()),
            "ratio": None, "ci_low": None, "ci_high": None,
            "verdict": "", "method": NO_NETWORK_EVENTS,
        }  # fmt: skip
        if expected > 0:
            sir = standardised_ratio(observed, expected)
            row |= {"ratio": sir.ratio, "ci_low": sir.low, "ci_high": sir.high,
                    "verdict": VERDICTS[sir.verdict], "method": sir.method}  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows, columns=list(PEER_COLUMNS))


def funnel_position(result: FunnelResult, clinic: str) -> tuple[str, dict[str, int]]:
    """Where ``clinic`` sits on the funnel, and how many peers sit where.

    Returns (the clinic's verdict, {"within 95% limits": n, "above ...": n, ...}) for the
    other clinics, so a peer is counted, never named.
    """
    units = result.units
    verdicts = units["outside"].replace("", "within 95% limits").astype(str)
    mine = verdicts[units["unit"].astype(str) == clinic]
    if mine.empty:
        raise ValueError(f"clinic {clinic} is not on the funnel")
    peers = verdicts[units["unit"].astype(str) != clinic].value_counts()
    return str(mine.iloc[0]), {str(k): int(v) for k, v in peers.sort_index().items()}
