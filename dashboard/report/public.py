"""The public edition: small-cell suppression over the whole publication, then rounding.

A public report prints many counts that add up (``dashboard.report.cells`` names each
and lists the relations). A body publishes a report every quarter, and each repeats
numbers of the last (the previous quarter, the months of the u-chart, the four quarters to
date), so suppression is decided over the *series*: the public editions of every quarter
from the first with data up to the one asked for, in order, each keeping what the earlier
ones printed and hid. A clinic's own public edition also keeps the all-clinic editions'
decisions (a clinic's quarter total is printed in both).

    systems [CellSystem(q0), ..., CellSystem(Q)]   -> decide() -> Decisions
      each quarter: cells printed before stay printed, cells hidden before stay hidden,
      new cells: 1..threshold primary, then secondary until the attacker's integer
      programme over everything printed so far narrows no small count below the
      threshold's number of values (``dashboard.report.suppress``)
    report(Q) -> public_edition() -> rows of hidden cells lose events, rate, interval,
      ratio and funnel flag; with ``rounding`` N every printed count is rounded to the
      nearest N (OpenSAFELY: ehrql ``apply_sdc``) and every statistic recomputed from it.

Limits: the check covers the publications above; it cannot cover two clinics' own public
editions combined, nor revisions (a later ingest changing an earlier quarter's counts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from dashboard.stats import poisson_rate
from dashboard.stats.proportions import clopper_pearson

from .cells import CellSystem
from .model import CELL_COLUMNS, RATE, Report, Section
from .suppress import Group, Suppression, derivable, suppress

HIDE_COLUMNS = ("events", "value", "ci_low", "ci_high")


@dataclass
class Decisions:
    """What a publication series has printed and hidden so far."""

    values: dict[str, int] = field(default_factory=dict)
    groups: list[Group] = field(default_factory=list)
    ordered: list[tuple[str, str]] = field(default_factory=list)
    printed: set[str] = field(default_factory=set)
    published: set[str] = field(default_factory=set)
    primary: set[str] = field(default_factory=set)
    secondary: set[str] = field(default_factory=set)
    reports: int = 0

    @property
    def hidden(self) -> set[str]:
        return self.primary | self.secondary

    @property
    def latent(self) -> set[str]:
        return set(self.values) - self.printed

    def take(self, system: CellSystem, threshold: int) -> Suppression:
        """Decide one more report of the series; returns its suppression."""
        for cell_id, value in system.values.items():
            if self.values.get(cell_id, value) != value:
                raise ValueError(
                    f"{cell_id} is {value} in one report and {self.values[cell_id]} in another"
                )
            self.values[cell_id] = value
        self.groups.extend(g for g in system.groups if g not in set(self.groups))
        self.ordered.extend(o for o in system.ordered if o not in set(self.ordered))
        self.printed |= system.printed
        result = suppress(
            self.values, self.groups, threshold, ordered=self.ordered, latent=self.latent,
            published=self.published, hidden_before=self.hidden,
        )  # fmt: skip
        self.primary |= set(result.primary)
        self.secondary |= set(result.secondary) - self.primary
        self.published |= system.printed - result.cells
        self.reports += 1
        return Suppression(
            frozenset(result.primary & system.printed),
            frozenset(result.secondary & system.printed),
            threshold,
        )

    def audit(self, cells: set[str]) -> dict[str, tuple[float, float]]:
        """The attacker's range for each of ``cells`` (hidden) from everything printed."""
        ranges = derivable(
            self.values, self.groups, self.hidden, ordered=self.ordered, latent=self.latent
        )
        return {c: ranges[c] for c in sorted(cells)}


def decide(
    systems: Sequence[CellSystem], threshold: int, start: Decisions | None = None
) -> tuple[Decisions, Suppression]:
    """Suppression of each report of the series in order; the last one's is returned."""
    decisions = start or Decisions()
    last = Suppression(frozenset(), frozenset(), threshold)
    for system in systems:
        last = decisions.take(system, threshold)
    return decisions, last


# ---------------------------------------------------------------- applying it
def _mask(frame: pd.DataFrame, column: str, hidden: set[str]) -> np.ndarray:
    if column not in frame:
        return np.zeros(len(frame), dtype=bool)
    return np.array([isinstance(c, str) and c in hidden for c in frame[column]], dtype=bool)


def _hide(section: Section, hidden: set[str]) -> Section:
    if "cell" not in section.frame:
        return section
    frame = section.frame.copy()
    mask = _mask(frame, "cell", hidden)
    if section.kind == "ratios":
        ref = _mask(frame, "ref_cell", hidden)
        frame["ref_events"] = frame["ref_events"].astype("Int64")
        frame.loc[ref, "ref_events"] = pd.NA
        mask = mask | ref
    frame["events"] = frame["events"].astype("Int64")
    frame.loc[mask, "events"] = pd.NA
    for col in ("value", "ci_low", "ci_high"):
        frame.loc[mask, col] = np.nan
    if "signal" in frame and section.kind == "units":
        frame.loc[mask, "signal"] = ""
    frame.loc[mask, "suppressed"] = True
    return replace(section, frame=frame)


def round_count(value: int, base: int) -> int:
    """OpenSAFELY's rounding (ehrql ``apply_sdc``): to the nearest multiple of ``base``."""
    return int(base * round(value / base))


def _round_section(section: Section, base: int) -> Section:
    """Rounded counts, and every rate, interval and ratio recomputed from them."""
    f = section.frame.copy()
    if "cell" not in f:
        return section
    shown = ~f["suppressed"] & f["events"].notna() & f["cell"].notna()
    for i in f.index[shown]:
        events = round_count(int(f.at[i, "events"]), base)
        f.at[i, "events"] = events
        n = f.at[i, "treatments"]
        if section.kind == "ratios":
            if not pd.isna(f.at[i, "ref_events"]):
                f.at[i, "ref_events"] = round_count(int(f.at[i, "ref_events"]), base)
            f.at[i, "value"] = f.at[i, "ci_low"] = f.at[i, "ci_high"] = np.nan
            f.at[i, "method"] = (
                "not shown in a rounded edition: a ratio and its interval come from counts "
                "by body region and practitioner, which are not rounded"
            )
        elif str(f.at[i, "measure"]).startswith("%"):
            cp = clopper_pearson(events, int(n))
            f.at[i, "value"], f.at[i, "ci_low"], f.at[i, "ci_high"] = (
                100 * cp.proportion,
                100 * cp.low,
                100 * cp.high,
            )
        elif f.at[i, "measure"] == RATE and not pd.isna(n) and n > 0:
            r = poisson_rate(events, float(n))
            f.at[i, "value"], f.at[i, "ci_low"], f.at[i, "ci_high"] = r.rate, r.low, r.high
            f.at[i, "method"] = f"{r.method}, from the count rounded to the nearest {base}"
    return replace(section, frame=f)


def _rounded_charts(report: Report, sections, points, funnel):
    """The u-chart's centre and limits and the funnel from the rounded counts: from the
    exact ones, centre x treatments would give the exact total back."""
    from dashboard.analysis.signals import funnel_verdict
    from dashboard.analysis.trends import series_uchart

    from .tables import trend_signal

    out = list(sections)
    keys = [s.key for s in out]
    if "trend" in keys and points is not None:
        i = keys.index("trend")
        f = out[i].frame.copy()
        shown = f["events"].notna()
        partial = f["signal"].astype(str).str.startswith("incomplete")
        chart = None
        if int((shown & ~partial).sum()) >= 2:
            chart, _ = series_uchart(
                f.loc[shown, "level"].astype(str).tolist(),
                f.loc[shown, "events"].astype(int).tolist(),
                f.loc[shown, "treatments"].astype(float).tolist(),
                partial[shown].tolist(), report.request.methods,
            )  # fmt: skip
        if chart is not None:
            p = chart.points.set_index("period")
            at = f["level"].astype(str)
            f["expected"] = at.map(p["centre"])
            f["limit_low"] = at.map(p["lcl3"])
            f["limit_high"] = at.map(p["ucl3"])
            f["signal"] = [
                trend_signal(bool(p.at[m, "incomplete"]), bool(p.at[m, "baseline"]),
                             str(p.at[m, "signal"])) if m in p.index else sig
                for m, sig in zip(at, f["signal"], strict=True)
            ]  # fmt: skip
            rounded = p.reindex(points["period"])
            points = points.assign(
                rate=rounded["rate"].to_numpy(), centre=rounded["centre"].to_numpy(),
                **{c: rounded[c].to_numpy() for c in ("lcl3", "ucl3", "lcl2", "ucl2", "lcl1", "ucl1")},
            )  # fmt: skip
            points["events"] = rounded["events"].astype("Int64").to_numpy()
            for col in ("point_type", "signal", "baseline", "segment"):
                if col in rounded:
                    points[col] = rounded[col].to_numpy()
        out[i] = replace(out[i], frame=f)
    if "units" in keys and funnel is not None:
        i = keys.index("units")
        f = out[i].frame.copy()
        shown = f[f["events"].notna() & (f["treatments"] > 0)]
        counts = pd.DataFrame(
            {"unit": shown["level"], "events": shown["events"].astype(int),
             "treatments": shown["treatments"].astype(float)}
        )  # fmt: skip
        funnel = funnel_verdict(counts, "unit", report.request.methods)
        if funnel is not None:
            u = funnel.units.set_index("unit")
            f["expected"] = funnel.target
            f["limit_low"] = f["level"].map(u["lo998"])
            f["limit_high"] = f["level"].map(u["hi998"])
            flag = f["level"].map(u["outside"]).fillna("")
            f["signal"] = np.where(
                f["suppressed"] | (f["treatments"] == 0), f["signal"],
                flag.replace("", "within 95% limits"),
            )  # fmt: skip
        out[i] = replace(out[i], frame=f)
    return tuple(out), points, funnel


def public_edition(
    report: Report,
    systems: Sequence[CellSystem],
    start: Decisions | None = None,
) -> tuple[Report, Suppression, dict[str, tuple[float, float]]]:
    """Suppress (and, with ``report.request.rounding``, round) ``report``, the last of the
    series ``systems``; returns the public report, its suppression and the attacker's
    range for each hidden cell of it (for the audit the report prints)."""
    threshold = report.request.threshold
    context = start.reports if start is not None else 0
    decisions, hidden = decide(systems, threshold, start)
    ranges = decisions.audit(set(hidden.cells))
    sections = tuple(_hide(s, set(hidden.cells)) for s in report.sections)
    points, funnel = report.trend_points, report.funnel
    if points is not None:  # the chart shows no rate for a hidden month
        trend = report.section("trend").frame.set_index("level")["cell"]
        mask = np.array([trend.get(p) in hidden.cells for p in points["period"]], dtype=bool)
        points = points.assign(rate=np.where(mask, np.nan, points["rate"]))
        points["events"] = points["events"].astype("Int64").mask(mask)
    if funnel is not None:
        units = report.section("units").frame.set_index("level")["cell"]
        mask = np.array([units.get(u) in hidden.cells for u in funnel.units["unit"]], dtype=bool)
        table = funnel.units.assign(rate=np.where(mask, np.nan, funnel.units["rate"]))
        table["events"] = table["events"].astype("Int64").mask(mask)
        table["outside"] = table["outside"].where(~mask, "")
        funnel = replace(funnel, units=table)
    base = report.request.rounding
    if base:
        sections = tuple(_round_section(s, base) for s in sections)
        sections, points, funnel = _rounded_charts(report, sections, points, funnel)
    sections = tuple(  # cell ids name clinics by id: never in a public report's frames
        replace(s, frame=s.frame.drop(columns=[c for c in CELL_COLUMNS if c in s.frame]))
        for s in sections
    )
    public = replace(
        report,
        sections=sections,
        listing=None,
        trend_points=points,
        funnel=funnel,
        disclosure=disclosure_text(report, hidden, ranges, len(systems) - 1, context),
    )
    return public, hidden, ranges


def disclosure_text(
    report: Report,
    hidden: Suppression,
    ranges: dict[str, tuple[float, float]],
    earlier: int,
    context: int = 0,
) -> tuple[tuple[str, str], ...]:
    """What was suppressed, why, and what an attacker can still work out, in words."""
    t = report.request.threshold
    labels = []
    for s in report.sections:
        if "cell" not in s.frame:
            continue
        for level, c in zip(s.frame["level"], s.frame["cell"], strict=True):
            if isinstance(c, str) and c in hidden.cells:
                labels.append(f"{s.title}: {str(level).replace('_', ' ')}")
    labels = list(dict.fromkeys(labels))
    small = [c for c in hidden.primary]
    if not labels:
        what = "No count of this report is suppressed."
    else:
        what = "Suppressed here: " + "; ".join(labels) + "."
    if small:
        widths = [ranges[c][1] - ranges[c][0] + 1 for c in small if c in ranges]
        narrowest = min(small, key=lambda c: (ranges[c][1] - ranges[c][0], c))
        lo, hi = ranges[narrowest]
        top = "no upper limit" if hi == float("inf") else f"{int(hi):,}"
        others = f" and the {context} all-clinic public editions" if context else ""
        fewest = (
            "an unlimited number of" if min(widths) == float("inf") else f"{int(min(widths)):,}"
        )
        attack = (
            f"An attacker's integer programme over every number printed by this report, the "
            f"public editions of the {earlier} earlier quarters{others}, with all their sums, "
            f"leaves every small suppressed count at least {fewest} possible values (the "
            f"narrowest: {int(lo)} to {top}); the rule needs at least {t}."
        )
    else:
        attack = "No count of this report is small enough to need suppression."
    text = [("Suppressed cells", what), ("Attacker test", attack)]
    if report.request.rounding:
        text.append(
            (
                "Rounding",
                f"Every event count printed is rounded to the nearest {report.request.rounding} "
                "after suppression (as OpenSAFELY releases counts), and every rate and interval "
                "is computed from the rounded count, so rows may not add up to their totals; "
                "treatments are not rounded. Rate ratios are not shown in a rounded edition.",
            )
        )
    return tuple(text)
