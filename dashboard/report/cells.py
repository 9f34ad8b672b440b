"""Every count a public report prints, named by what it counts, and how the counts relate.

Disclosure control treats a publication as one system of numbers. A count printed in two
places (the serious events of the quarter in the headline and in the severity table; a
month on this quarter's u-chart and on last quarter's; a clinic's total in the all-clinic
funnel and in the clinic's own report) is one quantity, so it gets one id:

    cell(scope, measure, period[, dim, level])
      "all|events|2026Q3"                         the headline
      "all|events|2026Q3|severity=serious"        the serious headline = the severity row
      "all|events|2026Q3|category=pneumothorax"   a breakdown row
      "all|events|2025-05"                        a month of the u-chart
      "all|events|2025Q4-2026Q3"                  the four quarters to date
      "all|affected|2026Q3"                       treatments with at least one event
      "C04|events|2026Q3"                         clinic C04's quarter (its own headline,
                                                  and its row of the all-clinic funnel)

``quarter_system`` lists, for one quarter's report, the value of every cell it prints and
the additive relations (``Group``: whole = sum of parts) and orderings (a <= b) a reader
can know between them:

    quarter = its months = each breakdown (category, severity, bands, ultrasound, clinics)
    previous quarter = its months; four quarters = their 12 months
    serious (four quarters) = the four quarters' serious counts; likewise treatments with
    an event; window total (centre line x treatments) = the baseline months of the window
    (complete months less any beyond the first pass's 3-sigma limits; one per segment)
    pneumothorax <= serious (a pneumothorax is always serious); affected <= events

Cells a relation needs but no report prints (the serious count of a quarter before the
previous one, within one report) are ``latent``: the reader knows nothing of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from dashboard.analysis.methods import DEFAULT, Methods
from dashboard.analysis.trends import centre_baselines, series_uchart
from dashboard.store.cube import Cube, total
from dashboard.store.filters import parse_quarter, shift_quarter

from .suppress import Group

SERIOUS_CATEGORIES = ("pneumothorax",)  # always counted among serious events (domain.md)
QUARTER_DIMS = ("category", "severity", "training_band", "experience_band", "ultrasound")


def cell(
    scope: str, measure: str, period: str, dim: str | None = None, level: object = None
) -> str:
    """The canonical id of a printed count (see the module doc)."""
    base = f"{scope}|{measure}|{period}"
    return base if dim is None else f"{base}|{dim}={level}"


@dataclass(frozen=True)
class Period:
    """A headline period: ``key`` in cell ids, ``label`` as printed, its months."""

    key: str
    label: str
    months: tuple[str, ...]


def months_of_quarter(quarter: str) -> tuple[str, ...]:
    year, q = quarter[:4], int(quarter[-1])
    return tuple(f"{year}-{3 * (q - 1) + i:02d}" for i in (1, 2, 3))


def headline_periods(quarter: str) -> list[Period]:
    """The quarter, the previous quarter and the four quarters to the quarter."""
    previous, first = shift_quarter(quarter, -1), shift_quarter(quarter, -3)
    four = tuple(m for k in range(-3, 1) for m in months_of_quarter(shift_quarter(quarter, k)))
    return [
        Period(quarter, quarter, months_of_quarter(quarter)),
        Period(previous, f"{previous} (previous quarter)", months_of_quarter(previous)),
        Period(f"{first}-{quarter}", f"{first} to {quarter} (four quarters)", four),
    ]


def window_months(quarter: str, months: int) -> tuple[str, ...]:
    """The ``months`` calendar months to the end of ``quarter``, oldest first."""
    end = parse_quarter(quarter)[1]
    last = end.year * 12 + end.month - 1
    return tuple(f"{i // 12}-{i % 12 + 1:02d}" for i in range(last - months + 1, last + 1))


@dataclass
class CellSystem:
    """Cells (id -> true count) a report prints, cells its relations need, the relations."""

    values: dict[str, int] = field(default_factory=dict)
    printed: set[str] = field(default_factory=set)
    groups: list[Group] = field(default_factory=list)
    ordered: list[tuple[str, str]] = field(default_factory=list)

    def add(self, cell_id: str, value: int, printed: bool = True) -> str:
        value = int(value)
        if self.values.get(cell_id, value) != value:
            raise ValueError(f"cell {cell_id!r} has two values: {self.values[cell_id]} and {value}")
        self.values[cell_id] = value
        if printed:
            self.printed.add(cell_id)
        return cell_id

    def relate(self, whole: str, parts: Sequence[str]) -> None:
        parts = tuple(dict.fromkeys(p for p in parts if p != whole))
        if parts:
            self.groups.append(Group(whole, parts))

    @property
    def latent(self) -> set[str]:
        return set(self.values) - self.printed


@dataclass(frozen=True)
class CubeIndex:
    """A cube's counts summed once for every quarter's system (dictionary look-ups then):

    events[month], affected[month], serious[month], clinic[(month, clinic)]
    kinds[(dim, month)] -> {level: events}      category and severity, all levels
    levels[(dim, quarter)] -> [(level, events)] bands and ultrasound, as reported
    """

    events: dict[str, int]
    treatments: dict[str, float]
    affected: dict[str, int]
    serious: dict[str, int]
    clinic: dict[tuple[str, str], int]
    kinds: dict[str, pd.DataFrame]
    levels: dict[tuple[str, str], list[tuple[str, int]]]
    months: tuple[str, ...]

    @classmethod
    def of(cls, cube: Cube) -> CubeIndex:
        m = cube.monthly.groupby("month")[["events", "treatments", "treatments_affected"]].sum()
        k = cube.kinds
        serious = k[k["severity"] == "serious"].groupby("month")["events"].sum()
        clinic = cube.monthly.groupby(["month", "clinic"])["events"].sum()
        kinds = {
            dim: k.groupby(["month", dim])["events"].sum().unstack(fill_value=0)
            .reindex(columns=cube.levels[dim], fill_value=0)
            for dim in ("category", "severity")
        }  # fmt: skip
        levels: dict[tuple[str, str], list[tuple[str, int]]] = {}
        monthly = cube.monthly.assign(
            quarter=[f"{m[:4]}Q{(int(m[5:7]) - 1) // 3 + 1}" for m in cube.monthly["month"]]
        )
        for dim in ("training_band", "experience_band", "ultrasound"):
            sums = total(cube, monthly, ("quarter", dim))
            for q, part in sums.groupby("quarter", sort=False):
                levels[dim, str(q)] = list(
                    zip(part[dim].astype(str), part["events"].astype(int), strict=True)
                )
        return cls(
            events={str(i): int(v) for i, v in m["events"].items()},
            treatments={str(i): float(v) for i, v in m["treatments"].items()},
            affected={str(i): int(v) for i, v in m["treatments_affected"].items()},
            serious={str(i): int(v) for i, v in serious.items()},
            clinic={(str(a), str(b)): int(v) for (a, b), v in clinic.items()},
            kinds=kinds,
            levels=levels,
            months=tuple(str(i) for i in m.index),
        )

    def kind_counts(self, dim: str, months: Sequence[str]) -> list[tuple[str, int]]:
        frame = self.kinds[dim]
        rows = frame.reindex([m for m in months if m in frame.index])
        return [(str(c), int(rows[c].sum())) for c in frame.columns]


def quarter_system(
    cube: Cube | CubeIndex,
    scope: str,
    quarter: str,
    trend_months: int,
    complete: set[str],
    clinics: Sequence[str] = (),
    methods: Methods = DEFAULT,
) -> CellSystem:
    """The cells the public report of ``quarter`` (scope "all" or a clinic id) prints and
    their relations. ``complete``: months the data cover in full (only they set the
    u-chart's centre line); ``clinics``: every clinic listed in an all-clinic report."""
    ix = cube if isinstance(cube, CubeIndex) else CubeIndex.of(cube)
    system = CellSystem()

    def month_events(month: str) -> int:
        return ix.events.get(month, 0)

    def months_sum(table: dict[str, int], months: Sequence[str]) -> int:
        return sum(table.get(m, 0) for m in months)

    periods = headline_periods(quarter)
    for p in periods:
        whole = system.add(cell(scope, "events", p.key), months_sum(ix.events, p.months))
        parts = [
            system.add(cell(scope, "events", m), month_events(m), p.key == quarter)
            for m in p.months
        ]
        system.relate(whole, parts)
        system.add(cell(scope, "affected", p.key), months_sum(ix.affected, p.months))
        system.ordered.append((cell(scope, "affected", p.key), whole))
        system.add(
            cell(scope, "events", p.key, "severity", "serious"), months_sum(ix.serious, p.months)
        )
    four = periods[2]
    quarters = [shift_quarter(quarter, k) for k in range(-3, 1)]
    for measure, dim, level, table in (
        ("events", "severity", "serious", ix.serious),
        ("affected", None, None, ix.affected),
    ):
        parts = [
            system.add(
                cell(scope, measure, q, dim, level),
                months_sum(table, months_of_quarter(q)),
                printed=False,
            )
            for q in quarters
        ]
        system.relate(cell(scope, measure, four.key, dim, level), parts)
    for q in quarters:  # each quarter is its months
        system.relate(
            cell(scope, "events", q), [cell(scope, "events", m) for m in months_of_quarter(q)]
        )
    for q in quarters[:2]:
        system.add(cell(scope, "events", q), months_sum(ix.events, months_of_quarter(q)), False)

    # the quarter's breakdowns: each adds up to the quarter
    head = cell(scope, "events", quarter)
    q_months = list(months_of_quarter(quarter))
    for dim in QUARTER_DIMS:
        if dim in ("category", "severity"):
            counts = ix.kind_counts(dim, q_months)
        else:
            counts = ix.levels.get((dim, quarter), [])
        parts = [system.add(cell(scope, "events", quarter, dim, lv), n) for lv, n in counts]
        system.relate(head, parts)
    for category in SERIOUS_CATEGORIES:
        small = cell(scope, "events", quarter, "category", category)
        if small in system.values:
            system.ordered.append((small, cell(scope, "events", quarter, "severity", "serious")))
    if clinics:  # all-clinic report: clinics' totals (their own headline cells) add up
        system.relate(
            head,
            [
                system.add(
                    cell(c, "events", quarter), sum(ix.clinic.get((m, c), 0) for m in q_months)
                )
                for c in clinics
            ],
        )

    # the u-chart: months of the window, and the total of each segment's baseline months
    # (centre line x their treatments), the months series_uchart sets the centre from
    window = [m for m in window_months(quarter, trend_months) if m in set(ix.months)]
    for m in window:
        system.add(cell(scope, "events", m), month_events(m))
    chart, _ = series_uchart(
        window, [month_events(m) for m in window], [ix.treatments[m] for m in window],
        [m not in complete for m in window], methods,
    )  # fmt: skip
    for k, months in enumerate(centre_baselines(chart)):
        used = [cell(scope, "events", m) for m in months]
        if len(used) >= 2:
            key = f"window:{quarter}" + (f":{k}" if k else "")
            system.relate(
                system.add(cell(scope, "events", key), sum(system.values[c] for c in used)),
                used,
            )
    return system
