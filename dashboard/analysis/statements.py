"""The answer first: the analysis results as a few short sentences with their numbers.

A safety officer asks "is it getting safer or riskier here, and is it training or
ultrasound?". The Overview and page 1 of every report open with these statements (pure
functions: numbers in, sentences out; each names the table it comes from):

    change    the period against the previous one and the rest of the four quarters to
              date: rates, the exact rate ratio (as R poisson.test) and its verdict
    trend     whether the u-charts (all events, each category, each clinic) show special
              cause in the period, which, and which way (Making Data Count: fewer events is
              better, so a rise is a concern)
    serious   each serious event and never-event of the period named (clinic edition),
              or counted (public edition, or "suppressed")
    factors   training, experience, ultrasound: the region-adjusted estimate leads; when
              the crude and adjusted ratios point different ways, the crude difference is
              said to come from where needling was done; wide intervals read "no clear
              difference"

Verdicts: "rose" / "fell" only when the 95% interval excludes 1; otherwise "no clear
change" (or "no clear difference"). Numbers print as the tables print them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import pandas as pd

from dashboard.analysis.labels import label
from dashboard.stats.ratios import exact_rate_ratio

#: Categories that are never events (NHS England Never Events: a retained foreign object
#: after a procedure): named on page 1 whatever their severity.
NEVER_EVENTS = ("forgotten_needle",)
FACTOR_NAMES = {
    "ultrasound": "Ultrasound guidance",
    "training_band": "Training hours",
    "experience_band": "Years of experience",
}


@dataclass(frozen=True)
class Statement:
    """One sentence (or two) of the answer, where it comes from, and its tone."""

    key: str
    text: str
    source: str
    tone: str = "neutral"  # concern | improvement | neutral


@dataclass(frozen=True)
class Counts:
    """Events in treatments over a named period."""

    label: str
    events: int
    treatments: int

    @property
    def rate(self) -> float:
        return 1000 * self.events / self.treatments


def rate_text(rate: float) -> str:
    """A rate per 1,000 as tables print it: 210, 21.4, 2.14, 0.21."""
    if rate >= 100:
        return f"{rate:,.0f}"
    if rate >= 10:
        return f"{rate:.1f}"
    return f"{rate:.2f}"


def ratio_text(value: float) -> str:
    """A rate ratio to 2 decimals, or 3 where 2 would print a bound as 1.00."""
    two = f"{value:.2f}"
    return f"{value:.3f}" if two == "1.00" and value != 1 else two


def ci_text(low: float, high: float) -> str:
    return f"95% CI {ratio_text(low)} to {ratio_text(high)}"


def p_text(p: float | None) -> str:
    if p is None:
        return "p not available"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _verdict(
    low: float | None, high: float | None, up: str, down: str, flat: str
) -> tuple[str, str]:
    if low is not None and low > 1:
        return up, "concern"
    if high is not None and high < 1:
        return down, "improvement"
    return flat, "neutral"


def change_statement(
    what: str, current: Counts, previous: Counts | None, rest: Counts | None
) -> Statement:
    """``current`` against the previous period and against ``rest`` (the other quarters of
    the four to date), each by the exact conditional rate ratio (R poisson.test)."""
    if current.treatments == 0:
        return Statement("change", f"No treatments in {current.label}.", "headline")
    head = (
        f"{what.capitalize()}: {rate_text(current.rate)} per 1,000 treatments in "
        f"{current.label} ({current.events:,} in {current.treatments:,})"
    )
    parts, tones = [], []
    for other, name in ((previous, "the previous quarter"), (rest, "the three quarters before")):
        if other is None or other.treatments == 0:
            continue
        rr = exact_rate_ratio(current.events, current.treatments, other.events, other.treatments)
        words, tone = _verdict(rr.low, rr.high, "higher than", "lower than", "no clear change from")
        numbers = (
            f"{rate_text(other.rate)}; rate ratio {rr.ratio:.2f}, "
            f"{ci_text(rr.low, rr.high)}, {p_text(rr.p_value)}"
            if rr.ratio is not None and rr.high is not None
            else rate_text(other.rate)
        )
        parts.append(f"{words} {name}, {other.label} ({numbers})")
        tones.append(tone)
    if not parts:
        return Statement("change", head + ".", "headline")
    tone = (
        "concern" if "concern" in tones else "improvement" if "improvement" in tones else "neutral"
    )
    return Statement("change", f"{head}: " + "; ".join(parts) + ".", "headline", tone)


def trend_statement(
    statements: Sequence, period: str, charted_any: bool, each_unit: bool = True
) -> Statement:
    """Special cause on the u-charts in ``period`` (the signal statements that touch it,
    from ``signals.chart_series``), or common cause; ``each_unit``: each clinic had its own
    chart (several in scope), so the sentence says so."""
    if not charted_any:
        return Statement(
            "trend",
            f"Too few events for a control chart in {period}; serious events are counted below.",
            "trend",
        )
    if not statements:
        return Statement(
            "trend",
            f"No special cause in {period} on the monthly control charts (all events, each "
            f"category with enough events{', each clinic' if each_unit else ''}): the "
            "variation is what chance gives.",
            "trend",
        )
    rises = [s for s in statements if s.direction == "high"]
    falls = [s for s in statements if s.direction == "low"]
    text = []
    if rises:
        text.append(f"Special cause of concern in {period}: {_moves('a rise in', rises)}")
    if falls:
        lead = "and of improvement:" if rises else f"Special cause of improvement in {period}:"
        text.append(f"{lead} {_moves('a fall in', falls)}")
    tone = "concern" if rises else "improvement"
    return Statement("trend", " ".join(text) + ".", "trend", tone)


def _moves(verb: str, group: Sequence) -> str:
    """'a rise in fainting and dizziness events at C04 (each beyond its 3-sigma limit)';
    one phrase per place, what moved named in chart order."""
    places: dict[str, list] = {}
    for s in group:
        places.setdefault(s.unit, []).append(s)
    out = []
    for unit, said in places.items():
        what = _named(list(dict.fromkeys(s.what for s in said)))
        rules = list(dict.fromkeys(s.rule for s in said))
        where = "" if unit == "all" else f" at {unit}"
        if len(rules) == 1 and rules[0] == "beyond 3-sigma limit":
            why = "each beyond its 3-sigma limit" if len(said) > 1 else "beyond its 3-sigma limit"
        else:
            why = "; ".join(rules)
        out.append(f"{verb} {what}{where} ({why})")
    return "; ".join(out)


def _named(nouns: list[str]) -> str:
    """'adverse events', 'bruising events', 'fainting events', 'mild adverse events' ->
    'all adverse events, in bruising and fainting events and in mild events'."""
    overall = [n for n in nouns if n == "adverse events"]
    tiers = [n.split()[0] for n in nouns if n != "adverse events" and n.endswith("adverse events")]
    kinds = [n.removesuffix(" events") for n in nouns if not n.endswith("adverse events")]
    parts = ["all adverse events"] if overall else []
    for group in (kinds, tiers):
        if group:
            joined = ", ".join(group[:-1]) + f" and {group[-1]}" if len(group) > 1 else group[0]
            parts.append(f"{joined} events")
    if len(parts) == 1:
        return parts[0]
    return ", in ".join(parts[:-1]) + f" and in {parts[-1]}"


def serious_statements(
    listing: pd.DataFrame | None,
    counts: dict[str, int | None],
    period: str,
    counted_serious: int | None = None,
) -> list[Statement]:
    """Serious events and never-events of the period: named from the clinic edition's
    ``listing`` (event_date, clinic, category, severity, body_region, ultrasound), else
    counted from ``counts`` ({"serious": n or None if suppressed, "<never category>": ...}).

    ``counted_serious``: the serious events the counts store holds for the same filters.
    The listing has the rows' events only; those the store counts beyond them came in
    clinics' submissions (by month, without a day to name them by) and are said as a
    number, so "no serious event" is never said while the headline counts one."""
    out = []
    if listing is not None:
        listed = int((listing["severity"] == "serious").sum())
        submitted = 0 if counted_serious is None else counted_serious - listed
        if submitted > 0:
            out.append(
                Statement(
                    "serious",
                    f"Serious events from clinics' submissions in {period}: {submitted:,} "
                    "(by month: listed on the Submissions page).",
                    "severity",
                    "concern",
                )
            )
        serious = listing[listing["severity"] == "serious"]
        never = listing[listing["category"].isin(NEVER_EVENTS)]
        for key, frame, what in (("serious", serious, "Serious"), ("never", never, "Never event")):
            if frame.empty:
                continue
            named = [
                f"{label('category', r['category'])} on {_day(r['event_date'])} at {r['clinic']} "
                f"({label('body_region', r['body_region'])}, {label('ultrasound', r['ultrasound'])})"
                for r in frame.sort_values("event_date").to_dict("records")
            ]
            shown = named[:5] + ([f"and {len(named) - 5} more"] if len(named) > 5 else [])
            out.append(Statement(key, f"{what}: " + "; ".join(shown) + ".", "listing", "concern"))
        if not out:
            out.append(
                Statement("serious", f"No serious event and no never event in {period}.", "listing")
            )
        return out
    serious = counts.get("serious")
    if serious is None:
        out.append(
            Statement(
                "serious",
                f"Serious events in {period}: suppressed (1 to 7).",
                "severity",
                "concern",
            )
        )
    elif serious:
        out.append(
            Statement("serious", f"Serious events in {period}: {serious:,}.", "severity", "concern")
        )
    for category in NEVER_EVENTS:
        n = counts.get(category, 0)
        name = label("category", category)
        if n is None:
            out.append(
                Statement(
                    "never",
                    f"Never events ({name}) in {period}: suppressed (1 to 7).",
                    "category",
                    "concern",
                )
            )
        elif n:
            out.append(
                Statement(
                    "never", f"Never events ({name}) in {period}: {n:,}.", "category", "concern"
                )
            )
    if not out:
        out.append(
            Statement("serious", f"No serious event and no never event in {period}.", "severity")
        )
    return out


def _day(value: object) -> str:
    return pd.Timestamp(value).strftime("%d %b %Y").lstrip("0")


def factor_statement(factor: str, table: pd.DataFrame) -> Statement | None:
    """Training, experience or ultrasound in a sentence from its ratio rows (``compare``'s
    columns: analysis, level, reference, rate_ratio, ci_low, ci_high): the region-adjusted
    ratios lead; a crude difference the adjustment reverses is said to come from body
    region. None when there is nothing to compare."""
    if table is None or table.empty:
        return None
    name = FACTOR_NAMES.get(factor, factor)
    ref = label(factor, table["reference"].iloc[0])
    adjusted = table[table["analysis"] != "crude"]
    crude = table[table["analysis"] == "crude"].set_index("level")
    rows = adjusted if len(adjusted) else table
    shown = rows.dropna(subset=["rate_ratio", "ci_low", "ci_high"])
    if shown.empty:
        return Statement(factor, f"{name}: no ratio can be estimated here.", "ratios")
    clear = shown[(shown["ci_low"] > 1) | (shown["ci_high"] < 1)]
    how = "once body region is allowed for" if len(adjusted) else "(crude)"
    if clear.empty:
        widest = shown.loc[(shown["ci_high"] / shown["ci_low"]).idxmax()]
        text = (
            f"{name}: no clear difference {how} (against {ref}: "
            f"{label(factor, widest['level'])} {ratio_text(widest['rate_ratio'])}, "
            f"{ci_text(widest['ci_low'], widest['ci_high'])}"
            + (f"; {len(shown) - 1} other levels likewise" if len(shown) > 1 else "")
            + ")."
        )
        tone = "neutral"
    else:
        said = [
            f"{_level(factor, r['level'])} {'more' if r['rate_ratio'] > 1 else 'fewer'} events "
            f"than {_reference(factor, r['reference'])} ({ratio_text(r['rate_ratio'])}, "
            f"{ci_text(r['ci_low'], r['ci_high'])})"
            for r in clear.to_dict("records")
        ]
        text = f"{name}, {how}: " + "; ".join(said) + "."
        tone = "concern" if (clear["rate_ratio"] > 1).any() else "improvement"
    reversed_ = []
    for r in shown.to_dict("records"):
        if r["level"] not in crude.index or not len(adjusted):
            continue
        c = crude.loc[r["level"]]
        if pd.isna(c["rate_ratio"]) or pd.isna(c["ci_low"]):
            continue
        crude_clear = c["ci_low"] > 1 or c["ci_high"] < 1
        if crude_clear and (c["rate_ratio"] > 1) != (r["rate_ratio"] > 1):
            reversed_.append((r["level"], c["rate_ratio"]))
    for level, ratio in reversed_:
        text += (
            f" The crude figures show {'more' if ratio > 1 else 'fewer'} events for "
            f"{label(factor, level)} ({ratio_text(ratio)}); that difference comes from where needling "
            "was done (body region), not from the "
            + ("guidance" if factor == "ultrasound" else "practitioners")
            + "."
        )
    return Statement(factor, text, "ratios", tone)


def _level(factor: str, level: object) -> str:
    """A level as the subject of a sentence: 'practitioners with >200 h of training have'."""
    text = label(factor, level)
    if str(level) == "unknown":
        kind = {"experience_band": "experience", "training_band": "training"}.get(factor, factor)
        return f"practitioners whose {kind} is not recorded have"
    if factor == "training_band":
        return f"practitioners with {text} of training have"
    if factor == "experience_band":
        return f"practitioners with {text} of experience have"
    return f"{text} treatments have"


def _reference(factor: str, ref: object) -> str:
    """The reference as the object: 'those with 21-60 h', 'treatments without ultrasound'."""
    if factor == "ultrasound":
        return "treatments without ultrasound" if str(ref) == "no" else "ultrasound-guided ones"
    return f"those with {label(factor, ref)}"


def periods_label(first: date, last: date) -> str:
    return f"{first:%d %b %Y} to {last:%d %b %Y}"
