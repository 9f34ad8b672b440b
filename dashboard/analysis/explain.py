"""Signals in words, for the Trends page and the quarterly report (pure: no Streamlit).

A u-chart signal is a (period, rule, value, centre, limit) record; a safety officer
needs a sentence: "Rise in fainting at C04 in May 2025: 0.93 per 1,000 treatments,
beyond the 3-sigma limit of 0.71 (centre 0.24)". Consecutive periods flagged by the same
rule (a run of 7 flags seven points) become one sentence with a period range.

    [Signal(2025-04, beyond), Signal(2025-05, beyond), Signal(2025-06, beyond)]
      -> ["Rise in all events overall in Apr 2025 to Jun 2025: ... beyond the 3-sigma limit"]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from dashboard.analysis.labels import label
from dashboard.stats.spc import (
    RULE_BEYOND,
    RULE_RUN_ABOVE,
    RULE_RUN_BELOW,
    RULE_TREND_DOWN,
    RULE_TREND_UP,
    RULE_TWO_OF_THREE,
    Signal,
)

#: What each Making Data Count rule means, for a reader who has never seen an SPC chart.
RULE_MEANING = {
    RULE_BEYOND: "a point outside the 3-sigma limits: very unlikely to be chance alone",
    RULE_RUN_ABOVE: "7 or more periods in a row above the centre line: a sustained shift up",
    RULE_RUN_BELOW: "7 or more periods in a row below the centre line: a sustained shift down",
    RULE_TREND_UP: "7 or more periods each higher than the one before: a steady rise",
    RULE_TREND_DOWN: "7 or more periods each lower than the one before: a steady fall",
    RULE_TWO_OF_THREE: "2 of 3 periods in a row beyond the 2-sigma limit on one side: an early warning",
}


def events_noun(category: str | None, severity: str | None) -> str:
    """What a rate counts, for titles and sentences: 'serious fainting events', 'adverse
    events', 'pain during needling events' (words from ``dashboard.analysis.labels``)."""
    kind = f"{label('category', category)} events" if category else "adverse events"
    if severity == "unspecified":
        return f"{kind} with no severity given"
    return f"{severity} {kind}" if severity else kind


@dataclass(frozen=True)
class SignalStatement:
    """One explained signal: the periods it covers, its rule and a sentence."""

    unit: str
    first: str
    last: str
    rule: str
    direction: str
    sentence: str
    what: str = "adverse events"
    value: float | None = None  # the highest (rise) or lowest (fall) rate of the run
    expected: float | None = None  # the centre line
    limit: float | None = None  # the limit crossed, for "beyond 3-sigma limit"

    @property
    def span(self) -> str:
        """'2025-04' or '2025-04 to 2025-06'."""
        return self.first if self.first == self.last else f"{self.first} to {self.last}"


def period_name(period: str) -> str:
    """'2025-05' -> 'May 2025'; '2025Q2' and anything else are returned as they are."""
    if len(period) == 7 and period[4] == "-":
        try:
            return date(int(period[:4]), int(period[5:]), 1).strftime("%b %Y")
        except ValueError:
            return period
    return period


def _grouped(signals: Sequence[Signal], periods: Sequence[str]) -> list[list[Signal]]:
    """Signals of one rule on consecutive periods of the chart, grouped together."""
    index = {p: i for i, p in enumerate(periods)}
    groups: list[list[Signal]] = []
    for rule in dict.fromkeys(s.rule for s in signals):
        chain: list[Signal] = []
        for s in sorted((s for s in signals if s.rule == rule), key=lambda s: index[s.period]):
            if chain and (
                index[s.period] != index[chain[-1].period] + 1 or s.direction != chain[-1].direction
            ):
                groups.append(chain)
                chain = []
            chain.append(s)
        if chain:
            groups.append(chain)
    return sorted(groups, key=lambda g: (index[g[0].period], g[0].rule))


def explain_signals(
    signals: Sequence[Signal],
    periods: Sequence[str],
    *,
    what: str = "adverse events",
    unit: str = "all",
    per: str = "treatments",
    values: bool = True,
) -> list[SignalStatement]:
    """One sentence per run of signals, in period order.

    ``periods`` is the chart's period labels in order (to join consecutive signals),
    ``what`` names the events counted, ``unit`` is 'all' or a clinic/practitioner code.
    ``values=False`` leaves out rates and limits (the public report: a rate next to a
    published number of treatments would give away a suppressed count).
    """
    where = "overall" if unit == "all" else f"at {unit}"
    out = []
    for group in _grouped(signals, periods):
        head, tail = group[0], group[-1]
        span = period_name(head.period)
        if tail.period != head.period:
            span = f"{span} to {period_name(tail.period)}"
        change = "Rise" if head.direction == "high" else "Fall"
        peak = (
            max(group, key=lambda s: s.value)
            if head.direction == "high"
            else min(group, key=lambda s: s.value)
        )
        detail = f"{peak.value:.2f} per 1,000 {per} at its {'highest' if head.direction == 'high' else 'lowest'}"
        if len(group) == 1:
            detail = f"{peak.value:.2f} per 1,000 {per}"
        centre = f"centre line {head.expected:.2f}" if head.expected is not None else ""
        if head.rule == RULE_BEYOND and peak.limit is not None:
            reason = f"beyond the 3-sigma limit of {peak.limit:.2f} ({centre})"
        else:
            reason = f"{head.rule} ({centre})" if centre else head.rule
        out.append(
            SignalStatement(
                unit=unit,
                first=head.period,
                last=tail.period,
                rule=head.rule,
                direction=head.direction,
                what=what,
                value=peak.value,
                expected=head.expected,
                limit=peak.limit if head.rule == RULE_BEYOND else None,
                sentence=(
                    f"{change} in {what} {where} in {span}: {detail}, {reason}."
                    if values
                    else f"{change} in {what} {where} in {span}: {head.rule}."
                ),
            )
        )
    return out
