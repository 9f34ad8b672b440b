"""What a quarterly report holds, independent of its format (PDF, HTML, XLSX, CSV).

Every table is a ``Section`` in one tidy shape, so the four formats print the same numbers
and the CSV is simply every section stacked:

    section, dimension, level, reference, treatments, events, ref_events, measure, value,
    ci_low, ci_high, method, expected, limit_low, limit_high, signal, suppressed

``value`` is a rate per 1,000 treatments (measure "rate per 1,000 treatments"), a rate
ratio ("rate ratio, crude" / "rate ratio, adjusted for body region"), a percentage or a
count, as ``measure`` says. ``expected``/``limit_*``/``signal`` are filled for control-chart
and funnel rows only. ``suppressed`` is True where the public edition hid the count and
everything computed from it (value and interval are then empty).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from dashboard.analysis.methods import Methods
from dashboard.stats.funnel import FunnelResult
from dashboard.store.filters import parse_quarter
from needlewatch import settings

EDITIONS = ("clinic", "public", "feedback")
FORMATS = ("pdf", "html", "xlsx", "csv")
LONG_COLUMNS = (
    "section", "dimension", "level", "reference", "treatments", "events", "ref_events", "measure", "value",
    "ci_low", "ci_high", "method", "expected", "limit_low", "limit_high", "signal", "suppressed",
)  # fmt: skip
#: Columns a section frame carries for the public edition's disclosure control only
#: (canonical cell ids, ``dashboard.report.cells``); never printed.
CELL_COLUMNS = ("cell", "ref_cell")
RATE = "rate per 1,000 treatments"


@dataclass(frozen=True)
class ReportRequest:
    """Which report: a calendar quarter, one clinic or all, the edition, the threshold.

    Raises ValueError for a malformed quarter, an unknown edition or a threshold below 1.
    """

    quarter: str
    clinic: str | None = None
    edition: str = "clinic"
    threshold: int = settings.SUPPRESSION_THRESHOLD
    rounding: int | None = None  # public edition: round printed counts to this multiple
    reveal_ids: bool = False  # clinic edition: practitioner ids instead of their codes
    overdispersion: str = settings.FUNNEL_OVERDISPERSION

    def __post_init__(self) -> None:
        parse_quarter(self.quarter)
        if self.edition not in EDITIONS:
            raise ValueError(f"unknown edition {self.edition!r}: use clinic, public or feedback")
        if self.edition == "feedback" and self.clinic is None:
            raise ValueError("the feedback edition is one clinic's: add --clinic ID")
        if self.rounding is not None and self.edition != "public":
            raise ValueError("rounding applies to the public edition only: add --edition public")
        if self.reveal_ids and self.edition != "clinic":
            raise ValueError(f"the {self.edition} edition never shows practitioner ids")
        self.methods  # noqa: B018 - validates rounding and the overdispersion method
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, int):
            raise ValueError(
                f"the suppression threshold must be a whole number, got {self.threshold!r}"
            )
        if self.threshold < 1:
            raise ValueError(f"the suppression threshold must be at least 1, got {self.threshold}")

    @property
    def period(self) -> tuple[date, date]:
        return parse_quarter(self.quarter)

    @property
    def methods(self) -> Methods:
        """The analysis methods of this report (``dashboard.analysis.methods``)."""
        return Methods(
            funnel_overdispersion=self.overdispersion,
            threshold=self.threshold,
            rounding=self.rounding,
        )

    @property
    def label(self) -> str:
        """'2026Q3' -> '2026 Q3'."""
        return f"{self.quarter[:4]} Q{self.quarter[-1]}"


@dataclass(frozen=True)
class Section:
    """One table of the report: a stable key, a title, the tidy frame and a note."""

    key: str
    title: str
    frame: pd.DataFrame
    note: str = ""
    kind: str = "rates"  # rates | ratios | trend | units | counts | summary

    def __post_init__(self) -> None:
        """Give every frame all the tidy columns (missing ones empty), in LONG_COLUMNS order."""
        columns = list(LONG_COLUMNS[1:])
        extra = [c for c in self.frame.columns if c not in columns and c != "section"]
        frame = self.frame.reindex(columns=columns + extra)
        frame["suppressed"] = [False if pd.isna(v) else bool(v) for v in frame["suppressed"]]
        object.__setattr__(self, "frame", frame)

    @property
    def shown(self) -> pd.DataFrame:
        """The frame without columns that are empty in every row (for printed tables)."""
        keep = [c for c in self.frame.columns if self.frame[c].notna().any() or c == "value"]
        return self.frame[keep]


@dataclass(frozen=True)
class Report:
    """A whole quarterly report, ready for any format."""

    request: ReportRequest
    title: str
    scope: str
    units: tuple[str, ...]  # clinics in scope, as printed (anonymous codes in public)
    previous_quarter: str
    trailing: tuple[date, date]
    data_as_of: str
    sections: tuple[Section, ...]
    signals: tuple[str, ...]
    listing: pd.DataFrame | None  # serious and significant events (clinic edition only)
    methods: tuple[tuple[str, str], ...]
    trend_points: pd.DataFrame | None = None  # u-chart points (period, rate, limits, signal)
    funnel: FunnelResult | None = None  # the units section's funnel (names as printed)
    notices: tuple[str, ...] = field(default=())
    disclosure: tuple[tuple[str, str], ...] = field(default=())  # public: what was hidden
    method_overrides: tuple[str, ...] = field(default=())
    statements: tuple = field(
        default=()
    )  # page 1's answer (dashboard.analysis.statements.Statement)

    def section(self, key: str) -> Section:
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(key)

    def has(self, key: str) -> bool:
        return any(s.key == key for s in self.sections)

    def long_table(self) -> pd.DataFrame:
        """Every section stacked: the CSV edition (columns LONG_COLUMNS)."""
        frames = [s.frame.assign(section=s.key) for s in self.sections if len(s.frame)]
        return pd.concat(frames, ignore_index=True)[list(LONG_COLUMNS)]
