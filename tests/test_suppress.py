"""Small-cell suppression: hand-worked tables, sdcTable's reference problem, properties."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.report.suppress import Group, Suppression, derivable, suppress, suppress_table

INF = math.inf


def one_way(counts: dict[str, int], total: str = "T") -> tuple[dict[str, int], list[Group]]:
    """Categories and their published total."""
    return {**counts, total: sum(counts.values())}, [Group(total, tuple(counts))]


def two_way(table: dict[str, list[int]], cols: list[str]) -> tuple[dict[str, int], list[Group]]:
    """Row x column cells "r|c" with row totals "r|All", column totals "All|c" and the
    grand total "All|All", which is the whole of two groups (row totals, column totals)."""
    values = {f"{r}|{c}": v for r, row in table.items() for c, v in zip(cols, row, strict=True)}
    for r, row in table.items():
        values[f"{r}|All"] = sum(row)
    for j, c in enumerate(cols):
        values[f"All|{c}"] = sum(row[j] for row in table.values())
    values["All|All"] = sum(map(sum, table.values()))
    groups = [Group(f"{r}|All", tuple(f"{r}|{c}" for c in cols)) for r in table]
    groups += [Group(f"All|{c}", tuple(f"{r}|{c}" for r in table)) for c in cols]
    groups += [
        Group("All|All", tuple(f"{r}|All" for r in table)),
        Group("All|All", tuple(f"All|{c}" for c in cols)),
    ]
    return values, groups


def assert_protected(values: dict[str, int], groups: list[Group], s: Suppression) -> None:
    """Every small hidden cell keeps at least 7 possible values for the attacker, who knows
    a hidden count is >= 1 (zero is printed); every other hidden cell at least 2."""
    for cell, (low, high) in derivable(values, groups, s.cells).items():
        assert low <= values[cell] <= high
        need = 7 if cell in s.primary else 2
        assert high - low + 1 >= need, f"{cell} = {values[cell]} is narrowed to [{low}, {high}]"


# --- 1-D tables ----------------------------------------------------------------------


def test_one_small_category_and_the_next_smallest_are_hidden() -> None:
    """Hand-worked: bruising 40, bleeding 25, fainting 3, soreness 18, total 86. Hiding
    only fainting gives 3 = 86 - 40 - 25 - 18; the next smallest category (soreness) is
    hidden too. The pair sums to 21 and each is >= 1 (zero is printed), so each lies in
    [1, 20]: 20 possible values, at least the 7 of "suppressed"."""
    values, groups = one_way({"bruising": 40, "bleeding": 25, "fainting": 3, "soreness": 18})
    s = suppress(values, groups)
    assert s == Suppression(frozenset({"fainting"}), frozenset({"soreness"}), 7)
    assert derivable(values, groups, s.cells) == {"fainting": (1, 20), "soreness": (1, 20)}
    assert s.hidden("fainting") and s.hidden("soreness") and not s.hidden("T")
    assert (s.reason("fainting"), s.reason("soreness"), s.reason("T")) == (
        "primary",
        "secondary",
        "",
    )


def test_two_small_cells_that_add_up_to_a_small_number_get_a_complement() -> None:
    """Hand-worked: 5 and 2 are both primary; their sum is 77 - 30 - 40 = 7, so each is
    confined to [1, 6], fewer values than 1..7 holds. The smallest other part (30) is
    hidden: a + b + c = 37, each >= 1, so each lies in [1, 35]."""
    values, groups = one_way({"a": 5, "b": 2, "c": 30, "d": 40})
    assert derivable(values, groups, {"a", "b"}) == {"a": (1, 6), "b": (1, 6)}
    s = suppress(values, groups)
    assert (s.primary, s.secondary) == ({"a", "b"}, {"c"})
    assert derivable(values, groups, s.cells) == {"a": (1, 35), "b": (1, 35), "c": (1, 35)}


def test_two_rare_categories_of_one_each_are_not_pinned() -> None:
    """The demo's 2026Q3 failure, hand-worked: pneumothorax 1 and forgotten needle 1 among
    published categories. Hidden alone, they add up to 2 and each is >= 1: both are
    exactly 1. The smallest other category (nausea, 19) joins them: each lies in [1, 19]."""
    values, groups = one_way({"pneumothorax": 1, "forgotten": 1, "nausea": 19, "bruising": 1657})
    assert derivable(values, groups, {"pneumothorax", "forgotten"}) == {
        "forgotten": (1, 1),
        "pneumothorax": (1, 1),
    }
    s = suppress(values, groups)
    assert s.secondary == {"nausea"}
    assert derivable(values, groups, s.cells)["pneumothorax"] == (1, 19)


def test_a_small_total_is_itself_hidden_and_zero_is_published() -> None:
    """Hand-worked: parts (2, 0, 1), total 3. The total is in 1..7, so it is primary; the
    zero is published; with the total hidden nothing bounds the small parts from above,
    and the total is at least 1 + 1."""
    values, groups = one_way({"a": 2, "b": 0, "c": 1})
    s = suppress(values, groups)
    assert (s.primary, s.secondary) == ({"a", "c", "T"}, frozenset())
    assert not s.hidden("b")
    assert derivable(values, groups, s.cells) == {"T": (2, INF), "a": (1, INF), "c": (1, INF)}


def test_threshold_is_configurable_cms_uses_ten() -> None:
    """domain.md: US CMS suppresses 1-10, NHS 1-7. A 9 is published at 7, hidden at 10,
    with 30 as its complement: each in [1, 38], at least 10 values."""
    values, groups = one_way({"a": 9, "b": 30, "c": 40})
    assert suppress(values, groups).cells == frozenset()
    s = suppress(values, groups, threshold=10)
    assert (s.primary, s.secondary, s.threshold) == ({"a"}, {"b"}, 10)
    assert derivable(values, groups, s.cells) == {"a": (1, 38), "b": (1, 38)}


def test_the_zero_neighbour_is_not_used_for_secondary_suppression() -> None:
    """Hand-worked: cells (3, 0, 120), total 123. Hidden alone, 3 = 123 - 0 - 120. The
    zero is not used as the complement (it is printed as zero, so hiding it would say it
    is not zero, and 3 + b = 3 with b >= 1 is impossible); 120 is hidden, and 3 and 120
    each lie in [1, 122]."""
    values, groups = one_way({"a": 3, "b": 0, "c": 120})
    assert derivable(values, groups, {"a"}) == {"a": (3, 3)}
    s = suppress(values, groups)
    assert (s.primary, s.secondary) == ({"a"}, {"c"})
    assert derivable(values, groups, s.cells) == {"a": (1, 122), "c": (1, 122)}


def test_an_ordering_is_part_of_what_the_attacker_knows() -> None:
    """Hand-worked: serious events (a) and pneumothorax (p, always serious) each hidden in
    their own table. Severity: mild 50 + a 2 + s 20 = 72 with a and s hidden; category:
    p 1 + bruising 30 + n 10 = 41 with p and n hidden. Without the ordering p <= a, p is in
    [1, 10]; with it, also p <= a <= 21: the same. a's lower bound rises to p's: 1."""
    values = {"mild": 50, "a": 2, "s": 20, "S": 72, "p": 1, "bruising": 30, "n": 10, "C": 41}
    groups = [Group("S", ("mild", "a", "s")), Group("C", ("p", "bruising", "n"))]
    s = suppress(values, groups, ordered=[("p", "a")])
    assert (s.primary, s.secondary) == ({"a", "p"}, {"n", "s"})
    assert derivable(values, groups, s.cells, ordered=[("p", "a")]) == {
        "a": (1, 21), "n": (1, 10), "p": (1, 10), "s": (1, 21),
    }  # fmt: skip
    with pytest.raises(ValueError, match="ordering 'a' <= 'p' does not hold: 2 > 1"):
        suppress(values, groups, ordered=[("a", "p")])


def test_latent_cells_are_unknown_and_published_ones_cannot_be_hidden_again() -> None:
    """Hand-worked series: the four quarters' serious count F = q1 + q2 + q3 + q4 is
    published (12); q3 and q4 were published in earlier reports (0 and 9), q1 (this
    quarter, 3) is small, and q2 is latent (nobody printed it). Then q1 + q2 = 3 with q2
    unknown >= 0: q1 in [1, 3] - too narrow; F is the only cell allowed as complement
    (q3, q4 are already out), so F is hidden: q1 in [1, inf), F >= 1 + 0 + 0 + 9."""
    values = {"F": 12, "q1": 3, "q2": 0, "q3": 0, "q4": 9}
    groups = [Group("F", ("q1", "q2", "q3", "q4"))]
    assert derivable(values, groups, {"q1"}, latent={"q2"}) == {"q1": (1, 3)}
    s = suppress(values, groups, latent={"q2"}, published={"q3", "q4"})
    assert (s.primary, s.secondary) == ({"q1"}, {"F"})
    assert derivable(values, groups, s.cells, latent={"q2"}) == {"F": (10, INF), "q1": (1, INF)}
    with pytest.raises(ValueError, match=r"cell 'q1' \(3\) was published elsewhere already"):
        suppress(values, groups, published={"q1"})


# --- the audit -----------------------------------------------------------------------


def test_audit_two_hidden_parts_of_a_published_total() -> None:
    """Hand-computed: a + b = 10 with a, b hidden (each >= 1): each in [1, 9]; with the
    total also hidden and no other relation, nothing bounds them from above."""
    values, groups = one_way({"a": 4, "b": 6})
    assert derivable(values, groups, {"a", "b"}) == {"a": (1, 9), "b": (1, 9)}
    assert derivable(values, groups, {"a", "b", "T"}) == {
        "T": (2, INF),
        "a": (1, INF),
        "b": (1, INF),
    }
    assert derivable(values, groups, set()) == {}


def test_audit_uses_every_relation_not_just_each_row() -> None:
    """Hand-computed: a 2-D rectangle a b / c d (3 25 / 12 40) inside a table with margins.
    The moves (+t, -t, -t, +t) keep every total; each hidden cell >= 1 gives -2 <= t <=
    min(24, 11): a in [1, 14]."""
    values, groups = two_way(
        {"r1": [3, 25, 5], "r2": [12, 40, 9], "r3": [8, 8, 8]}, ["p", "q", "s"]
    )
    rect = {"r1|p", "r1|q", "r2|p", "r2|q"}
    assert derivable(values, groups, rect) == {
        "r1|p": (1, 14),
        "r1|q": (14, 27),
        "r2|p": (1, 14),
        "r2|q": (38, 51),
    }


# sdcTable tests/testthat/test-simpleheuristic.R (sdcTools/sdcTable): a 4 x 4 table with
# margins (rows w-z, columns a-d) and nine cells set primary ("u") by hand. The test's
# margins tot|a = 1021 and tot|c = 770 are transposed typos; sdcTable recomputes margins
# from the inner cells (makeProblem on dt_inner), giving 1012 and 779, as here.
SDC_TABLE = {
    "w": [30, 47, 64, 89],
    "x": [90, 124, 5, 31],
    "y": [92, 100, 59, 85],
    "z": [800, 991, 651, 685],
}
SDC_PRIMARY = ["w|a", "w|b", "w|c", "x|a", "x|c", "y|b", "y|d", "z|b", "z|d"]


def test_audit_matches_sdctable_attack_on_its_simpleheuristic_problem() -> None:
    """Source: sdcTable test-simpleheuristic.R. Every row and column holds >= 2 of the
    nine suppressions, yet w|b is derivable ("we can compute w|b": 236 - 189 = 47). With
    x|b also suppressed, sdcTable's attack() gives w|b val 47, low 0, up 141. sdcTable's
    attacker knows only that counts are >= 0, as ours does of forced cells."""
    values, groups = two_way(SDC_TABLE, ["a", "b", "c", "d"])
    assert (values["All|a"], values["All|c"], values["All|All"]) == (1012, 779, 3943)
    assert derivable(values, groups, SDC_PRIMARY, force=SDC_PRIMARY)["w|b"] == (47, 47)
    both = [*SDC_PRIMARY, "x|b"]
    assert derivable(values, groups, both, force=both)["w|b"] == (0, 141)


def test_heuristic_repairs_the_sdctable_problem_with_one_cell() -> None:
    """Source: sdcTable test-simpleheuristic.R expects SIMPLEHEURISTIC with attacker
    problems to add exactly one secondary suppression (x|b, 124, in its run). Ours also
    adds one: the smallest published member of the groups holding w|b, which is w|d (89)
    in row w (x|b, 124, is the candidate in column b)."""
    values, groups = two_way(SDC_TABLE, ["a", "b", "c", "d"])
    s = suppress(values, groups, threshold=1, force=SDC_PRIMARY)
    assert (s.primary, s.secondary) == (set(SDC_PRIMARY), {"w|d"})
    assert derivable(values, groups, s.cells, force=SDC_PRIMARY)["w|b"] == (0, 135)
    for cell, (low, high) in derivable(values, groups, s.cells, force=SDC_PRIMARY).items():
        assert high - low >= 1, cell


# --- 2-D tables ----------------------------------------------------------------------

REGIONS = {"neck": [12, 40], "shoulder": [20, 35], "thorax": [3, 25], "lumbar": [15, 60]}


def test_two_way_table_gets_the_rectangle() -> None:
    """Hand-worked: body region x ultrasound (yes, no) with margins; thorax|yes = 3.
    Groups are visited in sorted order. Column yes has one hidden cell: its smallest part,
    neck|yes (12), is hidden. Row neck now has one: neck|no (40) is its only part. Column
    no has one: thorax|no (25) lies in column no and row thorax, both with one hidden
    cell, so it is preferred to shoulder|no (35). That closes the rectangle; the cheapest
    one too (neck 52 < shoulder 55 < lumbar 75). thorax|yes then lies in [1, 14]."""
    values, groups = two_way(REGIONS, ["yes", "no"])
    s = suppress(values, groups)
    assert s.primary == {"thorax|yes"}
    assert s.secondary == {"neck|yes", "neck|no", "thorax|no"}
    assert derivable(values, groups, s.cells) == {
        "neck|no": (38, 51),
        "neck|yes": (1, 14),
        "thorax|no": (14, 27),
        "thorax|yes": (1, 14),
    }


def test_suppress_table_blanks_counts_rates_and_intervals() -> None:
    """The same table held as the report holds it (tidy, margins labelled "All"): the
    four hidden rows lose events, rate and interval; treatments stay; the pattern equals
    the one above."""
    rows = [
        (r, u, v) for r, pair in REGIONS.items() for u, v in zip(["yes", "no"], pair, strict=True)
    ]
    frame = pd.DataFrame(rows, columns=["body_region", "ultrasound", "events"])
    margins = pd.concat(
        [
            frame.groupby("body_region", as_index=False)["events"].sum().assign(ultrasound="All"),
            frame.groupby("ultrasound", as_index=False)["events"].sum().assign(body_region="All"),
            pd.DataFrame({"body_region": ["All"], "ultrasound": ["All"], "events": [210]}),
        ]
    )
    frame = pd.concat([frame, margins], ignore_index=True)
    frame["treatments"] = 1000
    frame["rate"] = frame["events"] / frame["treatments"] * 1000
    frame["ci_low"] = frame["rate"] / 2
    out, s = suppress_table(
        frame, "events", ["body_region", "ultrasound"], blank=["rate", "ci_low"]
    )
    hidden = out[out["suppressed"] != ""]
    assert set(
        zip(hidden["body_region"], hidden["ultrasound"], hidden["suppressed"], strict=True)
    ) == {
        ("thorax", "yes", "primary"),
        ("thorax", "no", "secondary"),
        ("neck", "yes", "secondary"),
        ("neck", "no", "secondary"),
    }
    assert hidden[["events", "rate", "ci_low"]].isna().all().all()
    assert (hidden["treatments"] == 1000).all()
    shown = out[out["suppressed"] == ""]
    assert shown[["events", "rate", "ci_low"]].notna().all().all()
    assert str(out["events"].dtype) == "Int64"
    assert s.primary == {"body_region=thorax|ultrasound=yes"}
    assert len(s.secondary) == 3


# --- properties ----------------------------------------------------------------------

COUNT = st.one_of(st.integers(1, 7), st.integers(0, 3), st.integers(8, 60))


def check(values: dict[str, int], groups: list[Group]) -> None:
    s = suppress(values, groups)
    assert s.primary == {c for c, v in values.items() if 1 <= v <= 7}
    assert not s.primary & s.secondary
    published = {c for c in values if not s.hidden(c)}
    assert published | s.cells == values.keys() and not published & s.cells
    assert_protected(values, groups, s)
    assert suppress(values, groups) == s
    assert suppress(dict(reversed(values.items())), groups[::-1]) == s


@settings(max_examples=60, deadline=None)
@given(st.lists(COUNT, min_size=1, max_size=8))
def test_property_one_way(counts: list[int]) -> None:
    check(*one_way({f"c{i}": v for i, v in enumerate(counts)}))


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 5).flatmap(
        lambda c: st.lists(st.lists(COUNT, min_size=c, max_size=c), min_size=1, max_size=6)
    )
)
def test_property_two_way(rows: list[list[int]]) -> None:
    check(
        *two_way(
            {f"r{i}": row for i, row in enumerate(rows)}, [f"k{j}" for j in range(len(rows[0]))]
        )
    )


# --- impossible input ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "groups", "kwargs", "message"),
    [
        ({"a": -1}, [], {}, "'a': count must be a whole number >= 0, got -1"),
        ({"a": 2.5}, [], {}, "whole number >= 0, got 2.5"),
        ({"a": float("nan")}, [], {}, "whole number >= 0"),
        ({"a": True}, [], {}, "whole number >= 0, got True"),
        ({"a": 1}, [], {"threshold": 0}, "threshold must be a whole number >= 1, got 0"),
        ({"a": 1}, [], {"threshold": 7.5}, "threshold must be"),
        ({"a": 1, "T": 1}, [Group("T", ("a", "b"))], {}, "refers to unknown cell 'b'"),
        (
            {"a": 1, "b": 2, "T": 4},
            [Group("T", ("a", "b"))],
            {},
            "parts sum to 3, but the total is 4",
        ),
        ({"a": 1, "T": 1}, [Group("T", ())], {}, "parts must be distinct, non-empty"),
        ({"a": 1, "T": 2}, [Group("T", ("a", "a"))], {}, "parts must be distinct"),
        ({"a": 0, "T": 0}, [Group("T", ("a", "T"))], {}, "exclude the total"),
        ({"a": 1}, [], {"force": ["zz"]}, "forced cells not among the values: ['zz']"),
    ],
)
def test_impossible_input_raises(values, groups, kwargs, message) -> None:
    with pytest.raises(ValueError) as err:
        suppress(values, groups, **kwargs)
    assert message in str(err.value)


def test_audit_rejects_unknown_hidden_cells() -> None:
    values, groups = one_way({"a": 4, "b": 6})
    with pytest.raises(ValueError, match=r"hidden cells not among the values: \['q'\]"):
        derivable(values, groups, {"a", "q"})


def test_suppress_table_rejects_duplicate_rows_and_missing_columns() -> None:
    frame = pd.DataFrame({"region": ["neck", "neck"], "events": [3, 4]})
    with pytest.raises(ValueError, match=r"rows are not unique on \['region'\]"):
        suppress_table(frame, "events", ["region"])
    with pytest.raises(ValueError, match=r"columns not in the table: \['rate'\]"):
        suppress_table(frame, "events", ["region"], blank=["rate"])


def test_a_cell_the_groups_fix_by_themselves_cannot_be_hidden() -> None:
    """Hand-worked: W = a + b and a = W + c force b = c = 0 whatever is hidden, so a forced
    suppression of b cannot be protected: an error, not a silent disclosure. (W and a, 5
    each, are small: each is the other's complement, W = a in [1, inf).)"""
    values = {"W": 5, "a": 5, "b": 0, "c": 0}
    groups = [Group("W", ("a", "b")), Group("a", ("W", "c"))]
    assert suppress(values, groups).cells == {"W", "a"}
    with pytest.raises(ValueError, match="cell 'b' is fixed by the groups alone"):
        suppress(values, groups, force=["b"])
