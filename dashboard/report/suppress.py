"""Small-cell suppression of published counts: primary and secondary cell suppression.

The public edition must not print a count from 1 to ``threshold`` (default 7, as NHS
hospital statistics; US CMS uses 10), nor anything from which such a count can be worked
out, nor a rate or interval computed from a hidden count. Zero is published. Terms and
method follow Hundepool et al., *Statistical Disclosure Control* (Wiley 2012,
doi:10.1002/9781118348239), chapters on tabular data.

The attacker (what a reader of every publication knows):

- every published cell, and every additive relation between cells (``Group``: whole =
  sum of parts) and ordering (``ordered``: a <= b, e.g. pneumothorax <= serious);
- that counts are whole numbers >= 0 and that zero is always printed, so a hidden count
  is at least 1;
- nothing of ``latent`` cells: quantities a relation needs but nobody publishes.

Primary and secondary suppressions are printed alike ("suppressed"), as is usual in
official statistics: telling a reader which hidden cells are the small ones (1..threshold)
and which are the larger ones hidden to protect them would narrow what the reader can
work out (two small parts of a hidden small total would then each be capped below the
threshold). The reasons are kept for the publisher's audit, not printed.

The attacker's problem for a hidden cell is an integer programme: the least and the
greatest value it can take given all of the above (``scipy.optimize.milp``, HiGHS; as
sdcTable's ``attack()`` and tau-Argus's audit, with integrality). The protection standard:
a small (primary) cell must keep at least ``threshold`` possible values (upper - lower + 1
>= threshold) - no hidden count can be worked out exactly, nor confined to fewer values
than the suppression range 1..threshold itself holds. A forced cell (outside the rule, as
sdcTable's ``change_cellstatus``) must only not be pinned to one value.

Heuristic (after sdcTable's SIMPLEHEURISTIC: greedy, then re-solve attacker problems):
while some group has exactly one hidden member and no latent one (that member is plainly
derivable) or the audit finds an under-protected cell, hide one more cell, chosen among the
cells the caller allows (not published before, not latent, not zero) in the groups around
the problem by, in order: (1) not a total, since hiding a total spreads suppression up
the hierarchy; (2) lies in the most groups that have one hidden member, so one cell
repairs a row and a column; (3) smallest value; (4) cell id. Each round hides one more
cell, so it ends; hiding never narrows any bound, so cells found safe stay safe. The
pattern is valid, not minimal: optimal suppression (tau-Argus Modular/Optimal, sdcTable
OPT) solves a larger mixed-integer programme.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

DEFAULT_THRESHOLD = 7


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

    def reason(self, cell: str) -> str:
        """'primary', 'secondary' or '' (published)."""
        return "primary" if cell in self.primary else "secondary" if cell in self.secondary else ""


def _whole(cell: str, v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
        raise ValueError(f"cell {cell!r}: count must be a whole number >= 0, got {v!r}")
    if v < 0 or int(v) != v:
        raise ValueError(f"cell {cell!r}: count must be a whole number >= 0, got {v!r}")
    return int(v)


def _validate(
    values: Mapping[str, int], groups: Sequence[Group], ordered: Sequence[tuple[str, str]]
) -> tuple[dict[str, int], list[Group]]:
    vals = {cell: _whole(cell, v) for cell, v in values.items()}
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
    for small, big in ordered:
        if small not in vals or big not in vals:
            raise ValueError(f"ordering {small!r} <= {big!r} refers to an unknown cell")
        if vals[small] > vals[big]:
            raise ValueError(
                f"ordering {small!r} <= {big!r} does not hold: {vals[small]} > {vals[big]}"
            )
    return vals, sorted(set(checked), key=lambda g: (g.whole, g.parts))


#: Solved attacker programmes: a block's system, the cell and the side -> the bound. The
#: same block recurs while suppression grows and from one quarter's report to the next.
_SOLVED: dict[tuple, float] = {}


class _Attacker:
    """The attacker's integer programmes for one set of unknown cells, per connected block."""

    def __init__(
        self,
        vals: dict[str, int],
        groups: list[Group],
        ordered: Sequence[tuple[str, str]],
        bounds: dict[str, tuple[float, float]],
    ) -> None:
        self.vals, self.bounds = vals, bounds
        unknown = set(bounds)
        parent = {c: c for c in unknown}

        def root(c: str) -> str:
            while parent[c] != c:
                parent[c] = parent[parent[c]]
                c = parent[c]
            return c

        rows: list[tuple[dict[str, float], float, float]] = []  # coef, low, high
        for g in groups:
            coef = {p: 1.0 for p in g.parts if p in unknown}
            rhs = -sum(vals[p] for p in g.parts if p not in unknown)
            if g.whole in unknown:
                coef[g.whole] = coef.get(g.whole, 0.0) - 1.0
            else:
                rhs += vals[g.whole]
            if coef:
                rows.append((coef, float(rhs), float(rhs)))
        for small, big in ordered:  # small - big <= 0
            coef: dict[str, float] = {}
            rhs = 0.0
            for c, sign in ((small, 1.0), (big, -1.0)):
                if c in unknown:
                    coef[c] = coef.get(c, 0.0) + sign
                else:
                    rhs -= sign * vals[c]
            if coef:
                rows.append((coef, -math.inf, rhs))
        for coef, _, _ in rows:
            first, *rest = coef
            for c in rest:
                parent[root(c)] = root(first)
        self.block = {c: root(c) for c in unknown}
        self.systems: dict[str, tuple[list[str], np.ndarray, np.ndarray, np.ndarray]] = {}
        for r in set(self.block.values()):
            cells = sorted(c for c in unknown if self.block[c] == r)
            index = {c: i for i, c in enumerate(cells)}
            mine = [row for row in rows if root(next(iter(row[0]))) == r]
            a = np.zeros((len(mine), len(cells)))
            for i, (coef, _, _) in enumerate(mine):
                for c, x in coef.items():
                    a[i, index[c]] = x
            lo = np.array([row[1] for row in mine])
            hi = np.array([row[2] for row in mine])
            self.systems[r] = (cells, a, lo, hi)

    def bound(self, cell: str, upper: bool) -> float:
        """The least (greatest) whole value of ``cell`` the attacker can prove."""
        cells, a, lo, hi = self.systems[self.block[cell]]
        lb = np.array([self.bounds[x][0] for x in cells])
        ub = np.array([self.bounds[x][1] for x in cells])
        key = (tuple(cells), a.tobytes(), lo.tobytes(), hi.tobytes(), lb.tobytes(),
               ub.tobytes(), cell, upper)  # fmt: skip
        if key not in _SOLVED:
            if len(_SOLVED) > 200_000:  # a long-running dashboard: keep the memory bounded
                _SOLVED.clear()
            _SOLVED[key] = self._solve(cells, a, lo, hi, lb, ub, cell, upper)
        return _SOLVED[key]

    @staticmethod
    def _solve(cells, a, lo, hi, lb, ub, cell: str, upper: bool) -> float:
        from scipy.optimize import Bounds, LinearConstraint, milp  # only when cells are hidden

        c = np.zeros(len(cells))
        c[cells.index(cell)] = -1.0 if upper else 1.0
        constraints = [LinearConstraint(a, lo, hi)] if len(lo) else []
        res = milp(
            c, integrality=np.ones(len(cells)), bounds=Bounds(lb, ub), constraints=constraints
        )
        if res.status == 3 or (res.status != 0 and upper and math.isinf(ub[cells.index(cell)])):
            value = math.inf
        elif res.status != 0:  # the true values are feasible, so this is a solver failure
            raise RuntimeError(f"attacker programme for {cell!r} failed: {res.message}")
        else:
            value = float(round(res.x[cells.index(cell)]))
        return value


def _bounds(
    vals: dict[str, int], hidden: set[str], forced: set[str], latent: set[str]
) -> dict[str, tuple[float, float]]:
    """What the attacker knows of each unknown cell's range: a hidden count is >= 1 (zero
    is printed), a forced or latent one only >= 0."""
    out = {c: (0.0, math.inf) for c in latent | forced}
    for c in hidden - forced - latent:
        out[c] = (1.0 if vals[c] > 0 else 0.0, math.inf)
    return out


def derivable(
    values: Mapping[str, int],
    groups: Sequence[Group],
    hidden: Iterable[str],
    *,
    ordered: Sequence[tuple[str, str]] = (),
    latent: Iterable[str] = (),
    force: Iterable[str] = (),
) -> dict[str, tuple[float, float]]:
    """The audit: for each hidden cell, the tightest [lower, upper] whole-number range an
    attacker can prove (upper inf when nothing limits it) from the published cells, the
    relations, and that a hidden count is at least 1 (see the module doc). ``force``:
    hidden cells outside the rule, of which the attacker knows only that they are >= 0;
    ``latent``: cells nobody publishes."""
    vals, grps = _validate(values, groups, ordered)
    hid, lat, forced = set(hidden), set(latent), set(force)
    if unknown := sorted((hid | lat | forced) - vals.keys()):
        raise ValueError(f"hidden cells not among the values: {unknown}")
    attacker = _Attacker(vals, grps, ordered, _bounds(vals, hid, forced, lat))
    return {c: (attacker.bound(c, False), attacker.bound(c, True)) for c in sorted(hid)}


def _protected(attacker: _Attacker, cell: str, rule: bool, threshold: int) -> bool:
    """A rule-primary cell keeps at least ``threshold`` possible values (as many as the
    suppression range 1..threshold holds); a forced cell at least two."""
    low, high = attacker.bound(cell, False), attacker.bound(cell, True)
    if rule:
        return high - low + 1 >= threshold
    return high - low >= 1


def suppress(
    values: Mapping[str, int],
    groups: Sequence[Group],
    threshold: int = DEFAULT_THRESHOLD,
    *,
    force: Iterable[str] = (),
    ordered: Sequence[tuple[str, str]] = (),
    latent: Iterable[str] = (),
    published: Iterable[str] = (),
    hidden_before: Iterable[str] = (),
) -> Suppression:
    """Primary suppression of counts 1..threshold (and of ``force``d cells), then
    secondary suppression until every hidden cell is protected (see the module doc).

    ``latent``: cells in relations that nobody publishes (never hidden, never chosen);
    ``published``: cells already published elsewhere (they cannot be hidden now);
    ``hidden_before``: cells hidden elsewhere, which stay hidden (primary or secondary
    by their value). Raises ValueError on negative or fractional counts, threshold < 1, a
    group naming an unknown cell or whose parts do not add up to its total, an ordering
    that does not hold, a primary cell already published, and when no allowed cell can
    protect a hidden one (e.g. a cell the relations fix by themselves).
    """
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Integral) or threshold < 1:
        raise ValueError(f"threshold must be a whole number >= 1, got {threshold!r}")
    vals, grps = _validate(values, groups, ordered)
    forced, lat, fixed = set(force), set(latent), set(published)
    before = set(hidden_before)
    if unknown := sorted((forced | lat | fixed | before) - vals.keys()):
        raise ValueError(f"forced cells not among the values: {unknown}")
    rule = {c for c, v in vals.items() if 1 <= v <= threshold and c not in lat}
    if clash := sorted(rule & fixed):
        raise ValueError(f"cell {clash[0]!r} ({vals[clash[0]]}) was published elsewhere already")
    primary = rule | forced
    hidden = primary | before
    members = [(g.whole, *g.parts) for g in grps]
    totals = {g.whole for g in grps}
    allowed = {c for c, v in vals.items() if v > 0 and c not in lat | fixed}
    safe: set[str] = set()
    while True:
        exposed = [
            m for m in members if sum(c in hidden for c in m) == 1 and not lat.intersection(m)
        ]
        candidates: list[str] = []
        if exposed:
            for m in exposed:
                candidates = sorted(set(m) & allowed - hidden)
                if candidates:
                    break
            if not candidates:
                leak = next(c for c in exposed[0] if c in hidden)
                raise ValueError(f"cell {leak!r} is fixed by the groups alone; cannot hide it")
        else:
            attacker = _Attacker(vals, grps, ordered, _bounds(vals, hidden, forced, lat))
            leak = next(
                (
                    c
                    for c in sorted(hidden - safe)
                    if (c in rule or c in forced)
                    and not _protected(attacker, c, c in rule and c not in forced, threshold)
                ),
                None,
            )
            safe |= {c for c in hidden if leak is None or c < leak}
            if leak is None:
                break
            near = {c for m in members if leak in m for c in m}
            candidates = sorted(near & allowed - hidden)
            if not candidates:  # widen to the groups around the leak's whole block
                block = {c for c in attacker.block if attacker.block[c] == attacker.block[leak]}
                candidates = sorted(
                    {c for m in members if block & set(m) for c in m} & allowed - hidden
                )
            if not candidates:
                raise ValueError(f"cell {leak!r} is fixed by the groups alone; cannot hide it")
        hidden.add(
            min((c in totals, -sum(c in m for m in exposed), vals[c], c) for c in candidates)[-1]
        )
    secondary = frozenset(hidden - primary)
    return Suppression(frozenset(primary), secondary, int(threshold))


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
    out["suppressed"] = [result.reason(c) for c in ids]
    return out, result
