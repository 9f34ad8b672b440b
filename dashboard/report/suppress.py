"""Small-cell suppression of published counts: primary and secondary cell suppression.

The public edition of the quarterly report must not print a count from 1 to ``threshold``
(default 7, as NHS hospital statistics; US CMS uses 10), nor anything from which such a
count can be worked out (CMS), nor a rate or interval computed from a hidden count. Zero
is published. Terms and method follow Hundepool et al., *Statistical Disclosure Control*
(Wiley 2012, doi:10.1002/9781118348239), chapters on tabular data.

- Primary suppression: every cell with 1 <= value <= threshold, totals included, plus any
  cell the caller forces (``force``, like sdcTable's ``change_cellstatus``).
- Secondary suppression: the tables also publish additive relations, one ``Group`` each
  (``sum(parts) == whole``: a row and its total, a column and its total, ...). The attacker
  knows every published cell, every relation and that every value is a whole number >= 0.
  For each hidden cell the *attacker's problem* is two linear programmes (min and max of
  the cell over that feasible region; ``scipy.optimize.linprog``, HiGHS), as sdcTable's
  ``attack()`` and tau-Argus's audit. LP bounds are rounded inwards to whole numbers. A
  hidden cell is *disclosed* when its bounds meet (upper - lower < 1: one value left).
- Choice of protection standard: a hidden cell only has to be not exactly derivable. Narrow
  intervals are allowed: two hidden cells of 1 and 2 in a published total of 3 each lie in
  [0, 3], which tells a reader both are small, as the suppression symbol itself does. No
  protection levels (tau-Argus's upper/lower protection intervals) are imposed, and the
  attacker is not assumed to know which hidden cells are primary (hence >= 1).

Heuristic (after sdcTable's SIMPLEHEURISTIC: greedy, then re-solve attacker problems):
while some group has exactly one hidden member (that member is then plainly derivable) or
the LP audit finds a disclosed hidden cell, hide one published member of such a group,
chosen by, in order: (1) not a total (the whole of some group), since hiding a total spreads
suppression to the next level up; (2) not zero, since a 0 as the complement pins one of
the primary's bounds to its true value (3 and a hidden 0 in a total of 3: "at most 3"); (3) lies in the most groups that currently have one hidden member,
so one cell repairs a row and a column (the rectangle of a 2-D table); (4) smallest value;
(5) cell id. A group with one hidden member needs no LP to spot; the LP audit runs only
when none is left. Groups are taken in sorted order, so the result does not depend on the order
of the input. Each round hides one more cell, so it ends; hiding never narrows any bound
(a published value becomes a free variable), so cells found safe stay safe. The pattern
is valid, not minimal: optimal suppression (tau-Argus Modular/Optimal, sdcTable OPT)
solves a mixed-integer programme instead.

Limitation: the bounds are LP bounds. For 1-D tables and 2-D tables with margins the
constraint matrix is totally unimodular, so these equal the integer bounds; for linked or
hierarchical tables an integer-programming attacker might prove tighter ones.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

DEFAULT_THRESHOLD = 7
_TOL = 1e-6


@dataclass(frozen=True)
class Group:
    """One published additive relation: ``sum(values[p] for p in parts) == values[whole]``."""

    whole: str
    parts: tuple[str, ...]


@dataclass(frozen=True)
class Suppression:
    """Which cells to hide: ``primary`` (1 <= value <= threshold, or forced) and
    ``secondary`` (hidden so that no hidden cell can be worked out from the rest)."""

    primary: frozenset[str]
    secondary: frozenset[str]
    threshold: int

    def hidden(self, cell: str) -> bool:
        """True when the cell (and any rate or interval computed from it) is not printed."""
        return cell in self.primary or cell in self.secondary

    @property
    def cells(self) -> frozenset[str]:
        """Every hidden cell: primary | secondary."""
        return self.primary | self.secondary


def _validate(values: Mapping[str, int], groups: Sequence[Group]) -> tuple[dict, list[Group]]:
    vals: dict[str, int] = {}
    for cell, v in values.items():
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
            raise ValueError(f"cell {cell!r}: count must be a whole number >= 0, got {v!r}")
        if v < 0 or int(v) != v:
            raise ValueError(f"cell {cell!r}: count must be a whole number >= 0, got {v!r}")
        vals[cell] = int(v)
    checked = []
    for g in groups:
        parts = tuple(g.parts)
        for cell in (g.whole, *parts):
            if cell not in vals:
                raise ValueError(f"group with total {g.whole!r} refers to unknown cell {cell!r}")
        if not parts or len(set(parts)) != len(parts) or g.whole in parts:
            raise ValueError(
                f"group {g.whole!r}: parts must be distinct, non-empty and exclude the total"
            )
        total = sum(vals[p] for p in parts)
        if total != vals[g.whole]:
            raise ValueError(
                f"group {g.whole!r}: parts sum to {total}, but the total is {vals[g.whole]}"
            )
        checked.append(Group(g.whole, parts))
    return vals, sorted(checked, key=lambda g: (g.whole, g.parts))


class _Attacker:
    """The attacker's LPs for one hidden set, solved per connected block of hidden cells."""

    def __init__(self, vals: dict[str, int], groups: list[Group], hidden: set[str]) -> None:
        self.vals = vals
        parent = {c: c for c in hidden}

        def root(c: str) -> str:
            while parent[c] != c:
                parent[c] = parent[parent[c]]
                c = parent[c]
            return c

        rows = []  # (coefficients on hidden cells, right-hand side)
        for g in groups:
            coef = {p: 1.0 for p in g.parts if p in hidden}
            rhs = -sum(vals[p] for p in g.parts if p not in hidden)
            if g.whole in hidden:
                coef[g.whole] = -1.0
            else:
                rhs += vals[g.whole]
            if coef:
                rows.append((coef, float(rhs)))
                first, *rest = coef
                for c in rest:
                    parent[root(c)] = root(first)
        self.block = {c: root(c) for c in hidden}
        self.systems: dict[str, tuple[list[str], np.ndarray, np.ndarray]] = {}
        for r in set(self.block.values()):
            cells = sorted(c for c in hidden if self.block[c] == r)
            index = {c: i for i, c in enumerate(cells)}
            mine = [(coef, rhs) for coef, rhs in rows if root(next(iter(coef))) == r]
            a = np.zeros((len(mine), len(cells)))
            for i, (coef, _) in enumerate(mine):
                for c, x in coef.items():
                    a[i, index[c]] = x
            self.systems[r] = (cells, a, np.array([rhs for _, rhs in mine]))

    def bound(self, cell: str, upper: bool) -> float:
        """Whole-number bound of ``cell`` the attacker can prove (inf if none above)."""
        cells, a, b = self.systems[self.block[cell]]
        if not len(b):
            return math.inf if upper else 0.0
        c = np.zeros(len(cells))
        c[cells.index(cell)] = -1.0 if upper else 1.0
        from scipy.optimize import linprog  # 0.2 s to import: only when a cell is hidden

        res = linprog(c, A_eq=a, b_eq=b, bounds=(0, None), method="highs")
        if res.status == 3:
            return math.inf
        if res.status != 0:  # the true values are feasible, so this is a solver failure
            raise RuntimeError(f"attacker LP for {cell!r} failed: {res.message}")
        x = float(res.x[cells.index(cell)])
        return float(math.floor(x + _TOL) if upper else math.ceil(x - _TOL))

    def disclosed(self, cell: str) -> bool:
        """True when the cell's bounds leave one value (the max alone usually settles it)."""
        v = self.vals[cell]
        return self.bound(cell, upper=True) <= v and self.bound(cell, upper=False) >= v


def derivable(
    values: Mapping[str, int], groups: Sequence[Group], hidden: Iterable[str]
) -> dict[str, tuple[float, float]]:
    """The audit: for each hidden cell, the tightest [lower, upper] an attacker can prove
    from the published cells, the group equations and non-negativity (whole-number LP
    bounds; upper is inf when nothing limits it). A cell is disclosed when lower == upper.
    """
    vals, grps = _validate(values, groups)
    hid = set(hidden)
    if unknown := sorted(hid - vals.keys()):
        raise ValueError(f"hidden cells not among the values: {unknown}")
    attacker = _Attacker(vals, grps, hid)
    return {c: (attacker.bound(c, False), attacker.bound(c, True)) for c in sorted(hid)}


def suppress(
    values: Mapping[str, int],
    groups: Sequence[Group],
    threshold: int = DEFAULT_THRESHOLD,
    *,
    force: Iterable[str] = (),
) -> Suppression:
    """Primary suppression of counts 1..threshold (and of ``force``d cells), then
    secondary suppression until no hidden cell can be worked out (see the module doc).

    Raises ValueError on negative or fractional counts, threshold < 1, a group naming an
    unknown cell or whose parts do not add up to its total, and when the groups force a
    hidden cell to one value whatever else is hidden (e.g. a cell proved to be 0).
    """
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Integral) or threshold < 1:
        raise ValueError(f"threshold must be a whole number >= 1, got {threshold!r}")
    vals, grps = _validate(values, groups)
    forced = set(force)
    if unknown := sorted(forced - vals.keys()):
        raise ValueError(f"forced cells not among the values: {unknown}")
    primary = {c for c, v in vals.items() if 1 <= v <= threshold} | forced
    hidden, safe = set(primary), set()
    totals = {g.whole for g in grps}
    members = [(g.whole, *g.parts) for g in grps]
    while True:
        exposed = [m for m in members if sum(c in hidden for c in m) == 1]
        if exposed:
            candidates = [c for c in exposed[0] if c not in hidden]
        else:
            attacker = _Attacker(vals, grps, hidden)
            leak = next((c for c in sorted(hidden - safe) if attacker.disclosed(c)), None)
            safe |= {c for c in hidden if leak is None or c < leak}
            if leak is None:
                break
            candidates = sorted({c for m in members if leak in m for c in m} - hidden) or sorted(
                {c for m in members if hidden.intersection(m) for c in m} - hidden
            )
            if not candidates:
                raise ValueError(f"cell {leak!r} is fixed by the groups alone; cannot hide it")
        hidden.add(
            min(
                (c in totals, vals[c] == 0, -sum(c in m for m in exposed), vals[c], c)
                for c in candidates
            )[-1]
        )
    return Suppression(frozenset(primary), frozenset(hidden - primary), int(threshold))


def suppress_table(
    frame: pd.DataFrame,
    count_col: str,
    dims: Sequence[str],
    *,
    total: str = "All",
    threshold: int = DEFAULT_THRESHOLD,
    blank: Sequence[str] = (),
) -> tuple[pd.DataFrame, Suppression]:
    """Suppress a tidy table: one row per cell, ``dims`` naming it, margins as rows
    whose value in a dimension is ``total`` (e.g. body_region = "All").

    Each margin row is the whole of a group whose parts are the rows that match it on the
    other dimensions and are not ``total`` in this one, so 1-D tables, 2-D tables with row,
    column and grand totals, and n-way tables all work. Returns a copy in which
    ``count_col`` and the ``blank`` columns (rates, interval bounds) are missing for hidden
    rows, plus a ``suppressed`` column ("primary", "secondary" or ""), and the Suppression
    (cell ids are "dim=value|dim=value").
    """
    if missing := [c for c in (count_col, *dims, *blank) if c not in frame.columns]:
        raise ValueError(f"columns not in the table: {missing}")
    if not dims:
        raise ValueError("dims must name at least one column")
    keys = [tuple(str(v) for v in row) for row in frame[list(dims)].itertuples(index=False)]
    if len(set(keys)) != len(keys):
        raise ValueError(f"rows are not unique on {list(dims)}")
    ids = ["|".join(f"{d}={v}" for d, v in zip(dims, k, strict=True)) for k in keys]
    groups = []
    for i in range(len(dims)):
        parts: dict[tuple, list[str]] = {}
        for k, cell in zip(keys, ids, strict=True):
            if k[i] != total:
                parts.setdefault(k[:i] + k[i + 1 :], []).append(cell)
        for k, cell in zip(keys, ids, strict=True):
            if k[i] == total and parts.get(k[:i] + k[i + 1 :]):
                groups.append(Group(cell, tuple(parts[k[:i] + k[i + 1 :]])))
    result = suppress(dict(zip(ids, frame[count_col].tolist(), strict=True)), groups, threshold)
    out = frame.copy()
    out[count_col] = out[count_col].astype("Int64")
    hide = np.array([result.hidden(c) for c in ids], dtype=bool)
    for col in (count_col, *blank):
        out.loc[hide, col] = pd.NA
    out["suppressed"] = [
        "primary" if c in result.primary else "secondary" if c in result.secondary else ""
        for c in ids
    ]
    return out, result
