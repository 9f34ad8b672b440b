"""Argument types and groups shared by sub-commands, and the analysis sub-parsers.

Kept apart from ``cli.py`` so every command that reads rates takes exactly the same
filters (period, clinics, category, severity, bands) with the same help text.
"""

from __future__ import annotations

import argparse
import re
from datetime import date

from ingest.vocab import SEVERITY_TIERS, UNSPECIFIED
from needlewatch import settings
from needlewatch.output import FORMATS


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date: use YYYY-MM-DD") from None


def parse_bounds(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a comma-separated list of numbers"
        ) from None


def add_db(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        metavar="PATH",
        help=f"database file (default: ${settings.DB_ENV_VAR} or {settings.DEFAULT_DB})",
    )


def add_format(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--format", choices=FORMATS, default="table", help="output format (default table)"
    )


def add_filters(p: argparse.ArgumentParser) -> None:
    """--from/--to/--quarter, --clinic, --category, --severity and the band bounds."""
    p.add_argument(
        "--from", dest="date_from", type=parse_date, metavar="DATE", help="first treatment date"
    )
    p.add_argument(
        "--to", dest="date_to", type=parse_date, metavar="DATE", help="last treatment date"
    )
    p.add_argument("--quarter", help="a calendar quarter, e.g. 2026Q3 (instead of --from/--to)")
    p.add_argument(
        "--clinic", action="append", default=[], metavar="ID", help="only this clinic (repeatable)"
    )
    p.add_argument("--category", help="only events of this category code, e.g. bruising")
    p.add_argument(
        "--severity", choices=[*SEVERITY_TIERS, UNSPECIFIED], help="only events of this tier"
    )
    p.add_argument(
        "--training-bands",
        type=parse_bounds,
        default=settings.TRAINING_BAND_UPPER,
        metavar="H,...",
        help="inclusive upper bounds in hours (default 20,60,100,200)",
    )
    p.add_argument(
        "--experience-bands",
        type=parse_bounds,
        default=settings.EXPERIENCE_BAND_CUTS,
        metavar="Y,...",
        help="band starts in years (default 2,5,10)",
    )


def add_overdispersion(p: argparse.ArgumentParser) -> None:
    from dashboard.analysis.methods import (
        FUNNEL_ADJUSTMENTS,  # scipy: only for the analysis parsers
    )

    p.add_argument(
        "--overdispersion",
        choices=FUNNEL_ADJUSTMENTS,
        default=settings.FUNNEL_OVERDISPERSION,
        help="how funnel limits allow for units differing more than chance: additive random "
        "effects (default, as the dashboard and reports), multiplicative phi, or none "
        "(Spiegelhalter 2005); applied only when the extra spread is significant",
    )


_PERIOD = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])|Q[1-4])$")


def period_label(text: str) -> str:
    """A month (2025-04) or a quarter (2025Q2), as the u-chart labels its periods."""
    if not _PERIOD.match(text):
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a period: use a month (2025-04) or a quarter (2025Q2)"
        )
    return text


def period_range(text: str) -> tuple[str, str]:
    """FROM:TO, two periods of the same kind in order (2024-01:2024-12, 2023Q3:2024Q4)."""
    first, sep, last = text.partition(":")
    if not sep:
        raise argparse.ArgumentTypeError(f"'{text}' is not FROM:TO: use e.g. 2024-01:2024-12")
    first, last = period_label(first), period_label(last)
    if len(first) != len(last) or first > last:
        raise argparse.ArgumentTypeError(
            f"'{text}': give two months or two quarters, the first not after the second"
        )
    return first, last


def add_limits(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--baseline",
        type=period_range,
        metavar="FROM:TO",
        help="fix the control limits on these periods (months with --by month, quarters "
        "with --by quarter); default every complete period of the window",
    )
    p.add_argument(
        "--rebase",
        type=period_label,
        action="append",
        default=[],
        metavar="PERIOD",
        help="start the limits again at this period, after a sustained shift (repeatable); "
        "a fixed baseline sets only the segments it overlaps",
    )


def add_ids(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--practitioner-ids",
        action="store_true",
        help="show practitioner ids instead of their keyed codes (only where you are "
        "entitled to know who they are)",
    )


def _common(p: argparse.ArgumentParser) -> None:
    add_db(p)
    add_filters(p)
    add_format(p)


def add_analysis_parsers(sub: argparse._SubParsersAction) -> None:
    """rates, compare, model and signals: same filters, same output formats."""
    # the read side (pandas, scipy) only for the analysis parsers: --version, --help and
    # ingest never import it
    from dashboard.analysis.methods import RATIO_INTERVALS
    from dashboard.store.filters import ADJUSTERS, COMPARE_FACTORS, DIMS, MODEL_METHODS, PER_UNITS

    p = sub.add_parser(
        "rates",
        help="incidence per 1,000 treatments with exact Poisson 95%% intervals",
        description="Events per 1,000 treatments (or needle insertions) by any dimensions, with "
        "exact Poisson 95%% intervals. Category and severity filters restrict the events, "
        "never the denominator. --spread adds, per group, the pooled rate next to the mean, "
        "median, quartiles and range of per-practitioner rates; --affected prints the share of "
        "treatments with at least one event instead.",
    )
    p.add_argument("--by", default="", metavar="DIM,...", help="any of: " + ", ".join(DIMS))
    p.add_argument("--per", choices=PER_UNITS, default="treatments", help="denominator")
    p.add_argument(
        "--spread",
        action="store_true",
        help="pooled rate and the spread of per-practitioner rates, per group",
    )
    p.add_argument(
        "--affected",
        action="store_true",
        help="share of treatments with at least one event, with Clopper-Pearson and Wilson "
        "95%% intervals",
    )
    add_ids(p)
    _common(p)

    p = sub.add_parser(
        "compare",
        help="rate ratios between levels of a factor, crude and region-adjusted",
        description="Rate ratio of each level of a factor against a reference level, crude and, "
        "with --adjust, adjusted for that dimension. Intervals (--intervals auto, the default "
        "everywhere): when counts are overdispersed across practitioners, Poisson regression "
        "with practitioner-clustered errors; otherwise exact conditional (crude, as R "
        "poisson.test) and Mantel-Haenszel (adjusted, Greenland-Robins interval, test of "
        "homogeneity). Each row names its method and reference.",
    )
    p.add_argument("--factor", required=True, choices=COMPARE_FACTORS)
    p.add_argument("--adjust", choices=ADJUSTERS, help="adjust for this dimension")
    p.add_argument(
        "--reference",
        metavar="LEVEL",
        help="reference level (default: ultrasound no, training 21-60, experience 2-4; "
        "else the level with the most treatments)",
    )
    p.add_argument(
        "--intervals",
        choices=RATIO_INTERVALS,
        default=settings.RATIO_INTERVALS,
        help=f"interval method (default {settings.RATIO_INTERVALS}; see above)",
    )
    _common(p)

    p = sub.add_parser(
        "model",
        help="Poisson regression of events on training, experience, ultrasound and region",
        description="Poisson regression with a log(treatments) offset of events on training "
        "band, experience band, ultrasound and body region: mutually adjusted incidence rate "
        "ratios with 95%% intervals. Overdispersion is checked (Pearson chi2/df); when present, "
        "standard errors are clustered by practitioner (--method auto), and the method used "
        "is printed.",
    )
    p.add_argument("--method", choices=MODEL_METHODS, default="auto", help="default auto")
    _common(p)

    p = sub.add_parser(
        "signals",
        help="trend signals (u-chart, NHS Making Data Count rules), funnel outliers, g-chart",
        description="Every signal, one per row (kind, series, unit, period, value, expected, "
        "limit, rule), as the dashboard and the reports name them: u-chart special causes by "
        "month or quarter for all events, each category and each unit (with --quarter or "
        "--from/--to, over the 24 months to its end, listing the signals that touch it); "
        "clinics or practitioners outside the 95%% or 99.8%% funnel limits; short gaps "
        "between serious events on a g-chart. Rates are events per 1,000 treatments.",
    )
    p.add_argument("--by", choices=("month", "quarter"), default="month", help="period")
    p.add_argument(
        "--units", choices=("clinic", "practitioner"), default="clinic", help="units compared"
    )
    add_overdispersion(p)
    add_limits(p)
    add_ids(p)
    _common(p)
