"""An attacker of public reports, written from the CSV files alone (not from the code
that suppresses them), to test that suppression holds.

It reads every public CSV it is given (several quarters, all-clinic and clinic editions),
names each printed count by what it counts, writes down every relation a reader knows
(a breakdown adds up to the quarter, months add up to quarters and to the four quarters,
the u-chart's centre line times its baseline months' treatments gives their total,
clinics add up to all clinics, the four quarters' serious count is the sum of the quarters',
pneumothorax <= serious, treatments with an event <= events) and then, for each
suppressed count, solves two integer programmes (scipy ``milp``): its least and greatest
possible value given everything printed, every relation, that counts are whole and >= 0,
and that a suppressed count is >= 1 (zero is printed).

    csvs -> Publication.add(csv) ... -> ranges() -> {key: (low, high)}
"""

from __future__ import annotations

import io
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp

BREAKDOWNS = ("category", "severity", "training_band", "experience_band", "ultrasound")
HEADLINE = re.compile(r"^(\d{4}Q\d)(?: \(previous quarter\))?$")
FOUR = re.compile(r"^(\d{4}Q\d) to (\d{4}Q\d) \(four quarters\)$")


def quarter_months(q: str) -> list[str]:
    year, n = int(q[:4]), int(q[-1])
    return [f"{year}-{3 * (n - 1) + i:02d}" for i in (1, 2, 3)]


def shift(q: str, by: int) -> str:
    i = int(q[:4]) * 4 + int(q[-1]) - 1 + by
    return f"{i // 4}Q{i % 4 + 1}"


def span(first: str, last: str) -> list[str]:
    out, q = [], first
    while q <= last:
        out.append(q)
        q = shift(q, 1)
    return out


@dataclass
class Publication:
    """Everything a reader of a set of public CSVs knows."""

    known: dict[tuple, int] = field(default_factory=dict)
    hidden: set[tuple] = field(default_factory=set)
    equal: list[tuple[tuple, list[tuple]]] = field(default_factory=list)  # whole = sum(parts)
    at_most: list[tuple[tuple, tuple]] = field(default_factory=list)  # a <= b
    where: dict[tuple, str] = field(default_factory=dict)  # key -> "file: section row"

    def _print(self, key: tuple, value: object, suppressed: bool, label: str) -> None:
        if suppressed:
            if key in self.known:
                raise AssertionError(f"{key} is printed in one report and hidden in another")
            self.hidden.add(key)
        else:
            v = int(value)
            if self.known.get(key, v) != v:
                raise AssertionError(f"{key} is printed as {self.known[key]} and as {v}")
            if key in self.hidden:
                raise AssertionError(f"{key} is hidden in one report and printed in another")
            self.known[key] = v
        self.where.setdefault(key, label)

    def add(self, csv: bytes, name: str = "") -> None:
        table = pd.read_csv(
            io.BytesIO(csv), encoding="utf-8-sig", dtype={"level": str, "reference": str}
        )
        quarter = str(table["quarter"].iloc[0])
        scope_text = str(table["scope"].iloc[0])
        scope = scope_text.split()[-1] if scope_text.startswith("Clinic ") else "all"
        monthly: dict[str, int | None] = {}
        rows = table.to_dict("records")
        heads: list[str] = []
        for r in rows:
            sec, dim, level = r["section"], r["dimension"], str(r["level"])
            hidden = bool(r["suppressed"])
            label = f"{name}: {sec} {level}"
            if sec in ("headline", "serious", "affected"):
                m = HEADLINE.match(level)
                period = m.group(1) if m else "-".join(FOUR.match(level).groups())
                if sec == "headline":
                    heads.append(period)
                key = {
                    "headline": (scope, "events", period),
                    "serious": (scope, "events", period, "severity", "serious"),
                    "affected": (scope, "affected", period),
                }[sec]
                self._print(key, r["events"], hidden, label)
            elif sec in BREAKDOWNS:
                self._print((scope, "events", quarter, dim, level), r["events"], hidden, label)
            elif sec == "trend":
                self._print((scope, "events", level), r["events"], hidden, label)
                monthly[level] = None if hidden else int(r["events"])
            elif sec == "units" and dim == "clinic":
                self._print((level, "events", quarter), r["events"], hidden, label)
            elif sec == "ratios":  # a ratio row repeats its level's and its reference's count
                for lv, count in ((level, r["events"]), (str(r["reference"]), r["ref_events"])):
                    if not pd.isna(count):
                        self._print((scope, "events", quarter, dim, lv), count, False, label)
        head = (scope, "events", quarter)
        for dim in BREAKDOWNS:
            parts = [
                (scope, "events", quarter, dim, str(r["level"]))
                for r in rows
                if r["section"] == dim
            ]
            if parts:
                self.equal.append((head, parts))
        clinics = [
            (str(r["level"]), "events", quarter)
            for r in rows
            if r["section"] == "units" and r["dimension"] == "clinic"
        ]
        if clinics:
            self.equal.append((head, clinics))
        for period in heads:
            quarters = period.split("-")
            months = [m for q in span(quarters[0], quarters[-1]) for m in quarter_months(q)]
            self.equal.append(
                ((scope, "events", period), [(scope, "events", m) for m in months if m in monthly])
            )
            self.at_most.append(((scope, "affected", period), (scope, "events", period)))
            if len(quarters) == 2:
                for measure in (("events", "severity", "serious"), ("affected",)):
                    whole = (scope, measure[0], period, *measure[1:])
                    self.equal.append(
                        (whole, [(scope, measure[0], q, *measure[1:]) for q in span(*quarters)])
                    )
        self.at_most.append(
            (
                (scope, "events", quarter, "category", "pneumothorax"),
                (scope, "events", quarter, "severity", "serious"),
            )
        )
        trend = [r for r in rows if r["section"] == "trend" and not pd.isna(r["expected"])]
        baseline = [
            r for r in trend
            if not str(r["signal"]).startswith("incomplete")
            and "left out of the baseline" not in str(r["signal"])
        ]  # fmt: skip
        segments = defaultdict(list)  # a rebased chart: one centre line per segment
        for r in baseline:
            segments[r["expected"]].append(r)
        for k, (centre, used) in enumerate(segments.items()):
            if len(used) < 2:
                continue
            # centre x the baseline months' treatments = their events
            total = round(centre * sum(r["treatments"] for r in used) / 1000)
            key = (scope, "events", f"window:{quarter}" + (f":{k}" if k else ""))
            self._print(key, total, False, f"{name}: u-chart centre line")
            self.equal.append((key, [(scope, "events", str(r["level"])) for r in used]))

    def ranges(self, keys: list[tuple]) -> dict[tuple, tuple[float, float]]:
        """The attacker's least and greatest value for each of ``keys`` (hidden)."""
        unknown = sorted(
            (self.hidden | {k for whole, parts in self.equal for k in (whole, *parts)}
             | {k for pair in self.at_most for k in pair}) - set(self.known)
        )  # fmt: skip
        index = {k: i for i, k in enumerate(unknown)}
        rows, lo, hi = [], [], []

        def constraint(terms, equal: bool) -> None:
            """sum(sign * cell) == 0 (or <= 0): unknown cells left, printed ones moved right."""
            coef = defaultdict(float)
            rhs = 0.0
            for k, sign in terms:
                if k in index:
                    coef[index[k]] += sign
                else:
                    rhs -= sign * self.known[k]
            if coef:
                rows.append(coef)
                lo.append(rhs if equal else -math.inf)
                hi.append(rhs)

        for whole, parts in self.equal:
            constraint([(whole, -1.0), *((p, 1.0) for p in parts)], equal=True)
        for small, big in self.at_most:
            constraint([(small, 1.0), (big, -1.0)], equal=False)
        a = np.zeros((len(rows), len(unknown)))
        for i, coef in enumerate(rows):
            for j, x in coef.items():
                a[i, j] = x
        lower = np.array([1.0 if k in self.hidden else 0.0 for k in unknown])
        bounds = Bounds(lower, np.full(len(unknown), np.inf))
        constraints = [LinearConstraint(a, np.array(lo), np.array(hi))] if rows else []
        out = {}
        for key in keys:
            c = np.zeros(len(unknown))
            found = []
            for sign in (1.0, -1.0):
                c[index[key]] = sign
                res = milp(
                    c, integrality=np.ones(len(unknown)), bounds=bounds, constraints=constraints
                )
                if res.status == 3 or (res.status != 0 and sign < 0):
                    found.append(math.inf)
                else:
                    assert res.status == 0, res.message
                    found.append(float(round(res.x[index[key]])))
            out[key] = (found[0], found[1])
        return out
