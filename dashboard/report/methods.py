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
            "Rate ratios compare each level with a reference level (ultrasound: no; training: "
            "21-60 hours; experience: 2-4 years; else the level with the most treatments, as "
            "each row says). Adjusted ratios allow for body region, because ultrasound "
            "guidance and risk both concentrate on chest-wall regions; a crude and an adjusted "
            "ratio on opposite sides of 1 point to confounding by region. When practitioners "
            "differ more than chance (overdispersion: Pearson chi-square test on practitioner "
            "cells), each ratio is a Poisson regression on practitioner cells with "
            "practitioner-clustered errors, so its interval is not too narrow; otherwise crude "
            "ratios carry the exact conditional interval (as R poisson.test) and adjusted ones "
            "Mantel-Haenszel with Greenland-Robins intervals. Each row's method says which.",
        ),
        (
            "Trends and signals",
            f"The monthly trend covers {settings.REPORT_TREND_MONTHS} months to the end of the "
            "quarter as a u-chart: centre line = overall rate of the complete months, limits = "
            "centre +/- 3 sigma with sigma = sqrt(centre / treatments) for each month; a month "
            "the data do not yet cover in full is drawn but not used for the limits or the "
            "rules. Signals follow NHS "
            "England's Making Data Count rules: a point beyond the 3-sigma limits, a run of 7 "
            "points on one side of the centre, a trend of 7 rising or falling points, or 2 of "
            "3 points beyond the 2-sigma limit on one side. Signals are listed for all events, "
            "for each event category with at least one event a month on average and, in "
            "reports covering several clinics, for each clinic, when they touch the quarter: "
            "the same as needlewatch signals and the dashboard's Trends page.",
        ),
        (
            "Clinics and practitioners",
            "Funnel plots (Spiegelhalter, Stat Med 2005) compare each unit's rate with the "
            "overall rate, with 95% and 99.8% limits for its number of treatments. Real "
            "clinics differ by more than chance (case mix, reporting habits), so when that "
            "extra spread is significant the limits are widened by additive random effects "
            "(Spiegelhalter, Qual Saf Health Care 2005; as NHS England's FunnelPlotR: "
            "square-root z-scores winsorised at 10%, DerSimonian-Laird tau-squared): outside "
            "95% is worth a look, outside 99.8% is unlikely to be chance or ordinary "
            "variation between clinics. The dashboard and needlewatch signals flag the same "
            "units. Practitioners appear by a code keyed with the database's secret, the "
            "same in every report, page and download.",
        ),
    ]
    if request.edition == "public":
        t = request.threshold
        parts.append(
            (
                "Suppression (public edition)",
                f"Counts from 1 to {t} are not printed (shown as 'suppressed'), nor any rate, "
                "interval or ratio computed from them. Further counts are suppressed so that "
                "no hidden count can be worked out, or narrowed to fewer than "
                f"{t} possible values, from any combination of the numbers printed in this "
                "report and in the public editions of every earlier quarter (secondary "
                "suppression, checked by an integer programme over every printed number and "
                "every sum between them). Small and protecting suppressions look alike, as "
                "marking them apart would narrow what a reader can work out. Zero is "
                "printed. Clinics appear under stable keyed codes; no patient, "
                "practitioner or treatment identifier and no narrative is included, and "
                "signal statements give no rates.",
            )
        )
    elif request.edition == "feedback":
        parts.append(
            (
                "Against the network (feedback edition)",
                "The network is every clinic in the body's database with treatments in the "
                "quarter, this one included. Expected events apply the network's rate in "
                "each body region to this clinic's treatments there (indirect "
                "standardisation, Breslow and Day 1987); the ratio is observed over "
                "expected, with the exact Poisson interval of the observed count divided by "
                "the expected (R's poisson.test(O, T = E)). That interval allows for chance "
                "alone; the funnel's limits also allow for differences between clinics "
                "beyond chance when there are any, so a ratio can exclude 1 while the "
                "clinic sits inside the funnel. Other clinics are unlabelled points and "
                "counts of where they sit: never named, and the report needs at least "
                f"{settings.FEEDBACK_MIN_PEERS} of them.",
            )
        )
    else:
        parts.append(
            (
                "Confidentiality (clinic edition)",
                "For internal governance only: it lists serious and significant events with "
                "their narratives and gives practitioners as codes keyed with the database's "
                "secret ('P-' and 8 characters of an HMAC), the same in every report, page "
                "and download. Small counts are not suppressed. Use the public edition for "
                "anything published.",
            )
        )
    overrides = request.methods.overrides()
    if overrides:
        parts.append(("Methods chosen for this report", " ".join(overrides)))
    return tuple(parts)
