"""The methods appendix: definitions, denominators, intervals, adjustment, suppression.

Plain text paragraphs (heading, body), shared by every format, so a reader who never
opens the dashboard can tell exactly what each number is.
"""

from __future__ import annotations

from needlewatch import settings

from .model import ReportRequest


def methods_text(request: ReportRequest) -> tuple[tuple[str, str], ...]:
    """(heading, paragraph) pairs for ``request``'s report."""
    bands = ", ".join(
        f"{a}-{b}" if i else f"0-{b}"
        for i, (a, b) in enumerate(
            zip(
                (0, *(u + 1 for u in settings.TRAINING_BAND_UPPER)),
                settings.TRAINING_BAND_UPPER,
                strict=False,
            )
        )
    )
    parts = [
        (
            "Events and treatments",
            "An adverse event is one report of an undesired effect in a dry-needling "
            "treatment, mapped to a category (bruising, bleeding, pain during, soreness, "
            "fainting, ... pneumothorax) and a severity tier: mild (short-lived, reversible), "
            "significant (needed medical attention or interfered with activities) or serious "
            "(hospital admission, persisting disability, life-threatening or death; a "
            "pneumothorax is always serious), after White et al., BMJ 2001. A treatment can "
            "have several events; terms that match no category are counted as 'unmapped'.",
        ),
        (
            "Denominator",
            "Every rate in this report is events per 1,000 treatments (sessions) given in the "
            "period and clinics in scope. The share of treatments with at least one event "
            "counts each treatment once. Training bands are hours of dry-needling training "
            f"({bands}, >{settings.TRAINING_BAND_UPPER[-1]}); experience bands are years of "
            "dry-needling practice.",
        ),
        (
            "Intervals",
            "Rates carry exact Poisson (Garwood) 95% confidence intervals, as R's "
            "poisson.test; with zero events the lower bound is 0 and the upper bound is the "
            "exact one-sided 97.5% limit, 3.69 events per treatments given. Shares carry "
            "exact binomial (Clopper-Pearson) intervals.",
        ),
        (
            "Comparisons and adjustment",
            "Crude rate ratios compare each level with a reference level, with the exact "
            "conditional interval (binomial, as R poisson.test). Adjusted ratios are "
            "Mantel-Haenszel across body regions, with Greenland-Robins intervals, because "
            "ultrasound guidance and risk both concentrate on chest-wall regions; a crude "
            "ratio and an adjusted ratio on opposite sides of 1 point to confounding by region.",
        ),
        (
            "Trends and signals",
            f"The monthly trend covers {settings.REPORT_TREND_MONTHS} months to the end of the "
            "quarter as a u-chart: centre line = overall rate, limits = centre +/- 3 sigma "
            "with sigma = sqrt(centre / treatments) for each month. Signals follow NHS "
            "England's Making Data Count rules: a point beyond the 3-sigma limits, a run of 7 "
            "points on one side of the centre, a trend of 7 rising or falling points, or 2 of "
            "3 points beyond the 2-sigma limit on one side. Signals are listed for all events, "
            "for each event category and, in reports covering several clinics, for each "
            "clinic, when they touch the quarter.",
        ),
        (
            "Clinics and practitioners",
            "Funnel plots (Spiegelhalter, Stat Med 2005) compare each unit's rate with the "
            "overall rate, with exact Poisson 95% and 99.8% limits for its number of "
            "treatments: outside 95% is worth a look, outside 99.8% is unlikely to be chance.",
        ),
    ]
    if request.edition == "public":
        t = request.threshold
        parts.append(
            (
                "Suppression (public edition)",
                f"Counts from 1 to {t} are not printed (shown as 'suppressed'), nor any rate, "
                "interval or ratio computed from them. Further counts are suppressed where a "
                "hidden count could otherwise be worked out from totals printed elsewhere "
                "(secondary suppression, checked by solving for every hidden count). Zero is "
                "printed. Clinics appear under stable anonymous codes; no patient, "
                "practitioner or treatment identifier and no narrative is included, and "
                "signal statements give no rates.",
            )
        )
    else:
        parts.append(
            (
                "Confidentiality (clinic edition)",
                "For internal governance only: it lists serious and significant events with "
                "their narratives and gives practitioners as pseudonymous codes ('P-' and 8 "
                "characters of a one-way hash). Small counts are not suppressed. Use the "
                "public edition for anything published.",
            )
        )
    return tuple(parts)
