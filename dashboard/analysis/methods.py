"""One method per question: the analysis configuration every surface reads.

The dashboard, ``needlewatch signals/compare/model`` and the quarterly reports answer
"which clinics stand out?", "does training matter?" and "did anything change?" through the
same functions with one ``Methods`` value, so they name the same outliers, the same signals
and the same ratios with the same intervals. Defaults come from ``needlewatch.settings``
and are printed in the report's methods appendix and the data dictionary:

    funnel_overdispersion  "additive" random effects (default), "multiplicative", "none"
    ratio_intervals        "auto": practitioner-clustered when overdispersed, else exact/MH
    references             ultrasound "no", training_band "21-60", experience_band "2-4"
    trend_months           24 months to the end of a chosen period on every u-chart
    trend_min_events       a series needs 1 event per period on average to be charted
    spc_rules              the NHS Making Data Count rules of ``dashboard.stats.spc``
    threshold, rounding    public edition: suppress 1..7; no rounding unless asked

A user who overrides a method (a CLI flag, a dashboard toggle) gets ``overrides()``: one
sentence per setting that differs from the defaults, which the surface prints beside its
result.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from dashboard.stats.rules import ORDER as SPC_RULES
from needlewatch import settings

FUNNEL_ADJUSTMENTS = ("additive", "multiplicative", "none")
RATIO_INTERVALS = ("auto", "exact", "clustered")
FUNNEL_WORDS = {
    "additive": "widened for overdispersion by additive random effects (Spiegelhalter 2005, "
    "as NHS England's FunnelPlotR): a unit is flagged only if it stands out beyond the "
    "spread real clinics show",
    "multiplicative": "widened for overdispersion by a multiplicative factor phi "
    "(Spiegelhalter 2005)",
    "none": "exact Poisson limits with no allowance for overdispersion, so more units are "
    "flagged than chance and case mix would explain",
}
RATIO_WORDS = {
    "auto": "practitioner-clustered (Poisson regression, sandwich errors) when counts are "
    "overdispersed across practitioners, else exact conditional (crude) and "
    "Mantel-Haenszel (adjusted)",
    "exact": "exact conditional (crude) and Mantel-Haenszel with Greenland-Robins intervals "
    "(adjusted), which do not allow for overdispersion across practitioners",
    "clustered": "practitioner-clustered Poisson regression for every ratio",
}


@dataclass(frozen=True)
class Methods:
    """The methods in force. Raises ValueError for an unknown choice."""

    funnel_overdispersion: str = settings.FUNNEL_OVERDISPERSION
    ratio_intervals: str = settings.RATIO_INTERVALS
    references: tuple[tuple[str, str], ...] = field(
        default_factory=lambda: tuple(settings.REFERENCE_LEVELS.items())
    )
    trend_months: int = settings.REPORT_TREND_MONTHS
    trend_min_events: float = settings.TREND_MIN_EVENTS_PER_PERIOD
    spc_rules: tuple[str, ...] = SPC_RULES
    threshold: int = settings.SUPPRESSION_THRESHOLD
    rounding: int | None = None
    baseline: tuple[str, str] | None = None  # first and last period setting the centre line
    rebase: tuple[str, ...] = ()  # periods from which a u-chart starts again

    def __post_init__(self) -> None:
        if self.funnel_overdispersion not in FUNNEL_ADJUSTMENTS:
            raise ValueError(
                f"unknown overdispersion method {self.funnel_overdispersion!r}; use one of "
                + ", ".join(FUNNEL_ADJUSTMENTS)
            )
        if self.ratio_intervals not in RATIO_INTERVALS:
            raise ValueError(
                f"unknown ratio interval method {self.ratio_intervals!r}; use one of "
                + ", ".join(RATIO_INTERVALS)
            )
        if self.trend_months < 2:
            raise ValueError(f"a trend needs at least 2 months, got {self.trend_months}")
        if isinstance(self.threshold, bool) or self.threshold < 1:
            raise ValueError(f"the suppression threshold must be at least 1, got {self.threshold}")
        if self.rounding is not None and (isinstance(self.rounding, bool) or self.rounding < 2):
            raise ValueError(f"rounding must be a whole number of at least 2, got {self.rounding}")
        if self.baseline is not None and (
            len(self.baseline) != 2 or str(self.baseline[0]) > str(self.baseline[1])
        ):
            raise ValueError(
                f"a baseline is a first and a last period, in order, got {self.baseline!r}"
            )

    def in_baseline(self, period: str) -> bool:
        """Whether ``period`` (a month '2025-05' or quarter '2025Q2') may set the centre
        line: always, unless a baseline was fixed (compared by the periods' first month)."""
        if self.baseline is None:
            return True
        first, last = (_start(p) for p in self.baseline)
        return first <= _start(period) <= _end(last, self.baseline[1])

    def reference(self, factor: str) -> str | None:
        """The configured reference level of ``factor`` (None: most treatments)."""
        return dict(self.references).get(factor)

    def overrides(self) -> tuple[str, ...]:
        """One sentence per setting that differs from the defaults, for the output."""
        default = Methods()
        out = []
        if self.funnel_overdispersion != default.funnel_overdispersion:
            out.append(
                f"Funnel limits: {FUNNEL_WORDS[self.funnel_overdispersion]} (chosen here; the "
                f"default everywhere else is {default.funnel_overdispersion})."
            )
        if self.ratio_intervals != default.ratio_intervals:
            out.append(
                f"Rate-ratio intervals: {RATIO_WORDS[self.ratio_intervals]} (chosen here; the "
                f"default is {default.ratio_intervals})."
            )
        if self.threshold != default.threshold:
            out.append(
                f"Suppression: counts 1 to {self.threshold} hidden (chosen here; the default "
                f"is 1 to {default.threshold})."
            )
        if self.rounding is not None:
            out.append(
                f"Rounding: printed event counts rounded to the nearest {self.rounding} (chosen "
                "here; by default counts are not rounded)."
            )
        if self.baseline is not None:
            out.append(
                f"Control limits from the baseline {self.baseline[0]} to {self.baseline[1]} "
                "(chosen here; by default every complete period of the window)."
            )
        if self.rebase:
            out.append(
                f"Control limits start again at {', '.join(self.rebase)} (chosen here, after "
                "a sustained shift; by default they are not rebased)."
            )
        said = ("funnel_overdispersion", "ratio_intervals", "threshold", "rounding", "baseline",
                "rebase")  # fmt: skip
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(default, f.name)
            if f.name not in said and mine != theirs:
                out.append(f"{f.name.replace('_', ' ')}: {mine} (chosen here; default {theirs}).")
        return tuple(out)

    def describe(self) -> tuple[tuple[str, str], ...]:
        """(topic, method) pairs for the methods appendix and ``--help`` texts."""
        refs = ", ".join(f"{f.replace('_', ' ')} {r}" for f, r in self.references)
        return (
            ("Funnel limits", FUNNEL_WORDS[self.funnel_overdispersion] + "."),
            ("Rate-ratio intervals", RATIO_WORDS[self.ratio_intervals] + "."),
            (
                "Reference levels",
                f"{refs}; any other factor, or a reference with no treatments in scope, "
                "uses the level with the most treatments, and the output names it.",
            ),
            (
                "Trend window",
                f"with a period chosen, its u-chart covers the {self.trend_months} months to "
                "the end of the period, and the signals listed are those that touch the period.",
            ),
            (
                "Series charted",
                f"all events, each event category, each severity tier and each clinic in scope, when it has at "
                f"least {self.trend_min_events:g} event per period on average.",
            ),
            ("SPC rules", "; ".join(self.spc_rules) + "."),
            (
                "Control limits",
                "the centre line is the rate of the baseline periods (every complete period "
                "of the window unless a baseline is fixed), leaving out any point beyond the "
                "3-sigma limits so that a signal does not set its own limits; a period the "
                "data do not cover in full is never used; limits start again only where the "
                "user rebases the chart after a sustained shift. Fewer events is better: a "
                "signal above is a special cause of concern (orange), below an improvement "
                "(blue); common cause is grey.",
            ),
        )


def _start(period: str) -> str:
    """The first month of a period label: '2025Q2' -> '2025-04', '2025-05' -> '2025-05'."""
    period = str(period)
    if "Q" in period:
        return f"{period[:4]}-{3 * int(period[-1]) - 2:02d}"
    return period[:7]


def _end(start: str, period: str) -> str:
    """The last month of a period label given its first month."""
    if "Q" in str(period):
        return f"{start[:4]}-{int(start[5:7]) + 2:02d}"
    return start


DEFAULT = Methods()
