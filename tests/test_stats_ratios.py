"""Rate ratios (exact conditional, Mantel-Haenszel) against external reference values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import binomtest, chi2

from dashboard.stats.compare import compare_levels
from dashboard.stats.ratios import (
    METHOD_EXACT_RR,
    Stratum,
    exact_rate_ratio,
    mantel_haenszel_rate_ratio,
)

# Doll & Hill (1966) British doctors, coronary deaths by age and smoking; Breslow & Day
# (1987) vol. II; Stata's dollhill3.dta. (age, smokers' deaths, smokers' person-years,
# non-smokers' deaths, non-smokers' person-years).
DOLL_HILL = [
    ("35-44", 32, 52407, 2, 18790),
    ("45-54", 104, 43248, 12, 10673),
    ("55-64", 206, 28612, 28, 5710),
    ("65-74", 186, 12663, 28, 2585),
    ("75-84", 102, 5317, 31, 1462),
]


def doll_hill_strata() -> list[Stratum]:
    return [Stratum(a, t1, b, t0, age) for age, a, t1, b, t0 in DOLL_HILL]


# --- exact conditional rate ratio ---------------------------------------------------


def test_exact_rate_ratio_matches_r_poisson_test_documentation_example() -> None:
    """Source: R ``?poisson.test`` example (Breslow & Day 1987 p. 94, Fredericia vs the
    other three cities, ages 55-59): ``poisson.test(c(11, 6+8+7), c(800, 1083+1050+878))``
    prints p-value = 0.07967, 95 percent CI 0.8584264 4.2772659, rate ratio 1.971488."""
    rr = exact_rate_ratio(11, 800, 6 + 8 + 7, 1083 + 1050 + 878)
    assert rr.ratio == pytest.approx(1.971488, rel=1e-6)
    assert rr.low == pytest.approx(0.8584264, rel=1e-6)
    assert rr.high == pytest.approx(4.2772659, rel=1e-6)
    assert rr.p_value == pytest.approx(0.07967, abs=5e-6)
    assert rr.ratio == pytest.approx((11 / 800) / (21 / 3011), rel=1e-12)
    assert rr.method == METHOD_EXACT_RR
    assert rr.note is None


def test_exact_rate_ratio_matches_r_output_quoted_on_cross_validated() -> None:
    """Source: stats.stackexchange.com/questions/547389, R output of
    ``poisson.test(c(2, 13), c(5, 5))``: p-value = 0.007385, 95 percent CI
    0.01685531 0.67955077, rate ratio 0.1538462."""
    rr = exact_rate_ratio(2, 5, 13, 5)
    assert rr.ratio == pytest.approx(0.1538462, rel=1e-6)
    assert rr.low == pytest.approx(0.01685531, rel=1e-6)
    assert rr.high == pytest.approx(0.67955077, rel=1e-7)
    assert rr.p_value == pytest.approx(0.007385, abs=5e-7)


def test_exact_rate_ratio_matches_doll_hill_crude_and_yumpu_printed_ratios() -> None:
    """Sources: crude and stratum rate ratios printed in the Doll & Hill table (McNeil
    1996, as reproduced in 'Statistik for MPH', slide 26): 5.74, 2.14, 1.47, 1.36, 0.90,
    crude 1.72; Stata ``ir deaths smokes pyears`` on dollhill3 prints the crude IRR
    1.719823 with exact CI 1.391992 to 2.14353."""
    printed = [5.74, 2.14, 1.47, 1.36, 0.90]
    for (_, a, t1, b, t0), value in zip(DOLL_HILL, printed, strict=True):
        rr = exact_rate_ratio(a, t1, b, t0)
        assert rr.ratio is not None and round(rr.ratio, 2) == value
    crude = exact_rate_ratio(630, 142247, 101, 39220)
    assert crude.ratio == pytest.approx(1.719823, rel=1e-6)
    assert crude.low == pytest.approx(1.391992, rel=1e-6)
    assert crude.high == pytest.approx(2.14353, rel=1e-5)


def test_zero_events_in_compared_group_gives_ratio_zero_with_finite_upper() -> None:
    """Source: Clopper-Pearson with 0 of 13 has upper 1 - 0.025^(1/13); R
    ``poisson.test(c(0, 13), c(5, 5))`` maps it to odds times T2/T1."""
    rr = exact_rate_ratio(0, 5, 13, 5)
    pi_upper = 1 - 0.025 ** (1 / 13)
    assert rr.ratio == 0.0
    assert rr.low == 0.0
    assert rr.high == pytest.approx(pi_upper / (1 - pi_upper), rel=1e-12)
    assert rr.p_value == pytest.approx(0.5**13 * 2, rel=1e-12)
    assert rr.note is not None and "no events in this group" in rr.note


def test_zero_events_in_reference_gives_infinite_ratio_with_finite_lower() -> None:
    rr = exact_rate_ratio(3, 5, 0, 5)
    pi_lower = 0.025 ** (1 / 3)
    assert rr.ratio == math.inf
    assert rr.high == math.inf
    assert rr.low == pytest.approx(pi_lower / (1 - pi_lower), rel=1e-12)
    assert rr.note is not None and "reference" in rr.note


def test_zero_events_in_both_groups_is_no_estimate_never_nan() -> None:
    rr = exact_rate_ratio(0, 1000, 0, 2000)
    assert (rr.ratio, rr.low, rr.high, rr.p_value) == (None, None, None, None)
    assert rr.note is not None and "undefined" in rr.note
    assert (rr.events, rr.exposure, rr.ref_events, rr.ref_exposure) == (0, 1000.0, 0, 2000.0)


@pytest.mark.parametrize(
    "args",
    [
        (-1, 100, 1, 100),
        (1, 100, -1, 100),
        (1.5, 100, 1, 100),
        (1, 0, 1, 100),
        (1, 100, 1, 0),
        (1, -100, 1, 100),
        (1, float("nan"), 1, 100),
        (1, 100, 1, float("inf")),
        (None, 100, 1, 100),
        (1, "100", 1, 100),
    ],
)
def test_exact_rate_ratio_rejects_impossible_input(args) -> None:
    with pytest.raises(ValueError):
        exact_rate_ratio(*args)


@pytest.mark.parametrize("confidence", [0, 1, 95, -0.5])
def test_exact_rate_ratio_rejects_bad_confidence(confidence) -> None:
    with pytest.raises(ValueError, match="confidence"):
        exact_rate_ratio(1, 100, 2, 100, confidence)


@given(
    x1=st.integers(0, 400),
    x2=st.integers(0, 400),
    t1=st.floats(1.0, 1e6),
    t2=st.floats(1.0, 1e6),
)
def test_exact_interval_brackets_ratio_and_p_value_is_scipys(
    x1: int, x2: int, t1: float, t2: float
) -> None:
    rr = exact_rate_ratio(x1, t1, x2, t2)
    if x1 + x2 == 0:
        assert rr.ratio is None and rr.note
        return
    assert rr.low is not None and rr.high is not None and rr.ratio is not None
    assert 0.0 <= rr.low <= rr.ratio <= rr.high
    # SciPy's binomtest uses R's two-sided rule (relative tolerance 1 + 1e-7).
    expected_p = binomtest(x1, x1 + x2, t1 / (t1 + t2)).pvalue
    assert rr.p_value == pytest.approx(expected_p, rel=1e-9, abs=1e-300)


# --- Mantel-Haenszel -----------------------------------------------------------------


def test_mantel_haenszel_matches_stata_ir_on_doll_hill() -> None:
    """Source: Stata [R] epitab, ``ir deaths smokes pyears, by(age)`` on dollhill3:
    M-H combined IRR 1.424682, 95% CI 1.154703 to 1.757784; M-H weights 1.472169,
    9.624747, 23.34176, 23.25315, 24.31435. Formulae as in Stata's ir.ado (v3.4.9)."""
    mh = mantel_haenszel_rate_ratio(doll_hill_strata())
    assert mh.ratio == pytest.approx(1.424682, rel=1e-6)
    assert mh.low == pytest.approx(1.154703, rel=1e-6)
    assert mh.high == pytest.approx(1.757784, rel=1e-6)
    # Our own computation to more digits (self-consistency, rel 1e-9).
    assert mh.ratio == pytest.approx(1.424682016751439, rel=1e-9)
    assert (mh.strata_used, mh.strata_dropped, mh.note) == (5, 0, None)
    weights = [b * t1 / (t1 + t0) for _, _, t1, b, t0 in DOLL_HILL]
    assert weights == pytest.approx([1.472169, 9.624747, 23.34176, 23.25315, 24.31435], rel=1e-6)


def test_homogeneity_is_the_score_statistic_and_differs_from_statas_woolf_type() -> None:
    """Our homogeneity test is sum((a - E)^2 / V) at RR_MH (computed here by hand):
    11.151098 on 4 df. Stata's 'Test of homogeneity (M-H)' for the same data is the
    Woolf-type sum((ln IRR_i - ln IRR_MH)^2 / (1/a_i + 1/b_i)) = 10.41, Pr>chi2 = 0.0340;
    we recompute it from our RR_MH to show the two tests, not the estimate, differ."""
    mh = mantel_haenszel_rate_ratio(doll_hill_strata())
    a, t1, b, t0 = (np.array(c, dtype=float) for c in zip(*[r[1:] for r in DOLL_HILL], strict=True))
    m = a + b
    e = m * mh.ratio * t1 / (mh.ratio * t1 + t0)
    score = float(np.sum((a - e) ** 2 / (e * (m - e) / m)))
    assert mh.homogeneity_chi2 == pytest.approx(score, rel=1e-12)
    assert mh.homogeneity_chi2 == pytest.approx(11.151098, rel=1e-6)
    assert mh.homogeneity_df == 4
    assert mh.homogeneity_p == pytest.approx(chi2.sf(score, 4), rel=1e-12)
    woolf = float(np.sum((np.log(a / t1 / (b / t0)) - math.log(mh.ratio)) ** 2 / (1 / a + 1 / b)))
    assert round(woolf, 2) == 10.41
    assert round(float(chi2.sf(woolf, 4)), 4) == 0.0340


def test_mantel_haenszel_accepts_a_dataframe() -> None:
    frame = pd.DataFrame(
        DOLL_HILL, columns=["stratum", "events", "exposure", "ref_events", "ref_exposure"]
    )
    assert mantel_haenszel_rate_ratio(frame) == mantel_haenszel_rate_ratio(doll_hill_strata())


def test_strata_without_treatments_in_a_group_are_dropped_and_counted() -> None:
    strata = [*doll_hill_strata(), Stratum(0, 0, 5, 300, "85+"), Stratum(0, 10, 0, 0, "?")]
    mh = mantel_haenszel_rate_ratio(strata)
    assert (mh.strata_used, mh.strata_dropped) == (5, 2)
    assert mh.ratio == pytest.approx(1.424682016751439, rel=1e-12)
    assert mh.note is not None and "2 stratum(s) dropped" in mh.note


def test_strata_without_events_are_kept_but_not_in_homogeneity_df() -> None:
    strata = [*doll_hill_strata(), Stratum(0, 500, 0, 500, "empty")]
    mh = mantel_haenszel_rate_ratio(strata)
    assert mh.strata_used == 6
    assert mh.ratio == pytest.approx(1.424682016751439, rel=1e-12)
    assert mh.homogeneity_df == 4


def test_all_events_in_reference_gives_zero_ratio_without_interval() -> None:
    mh = mantel_haenszel_rate_ratio([Stratum(0, 100, 3, 100), Stratum(0, 50, 1, 200)])
    assert mh.ratio == 0.0
    assert (mh.low, mh.high, mh.homogeneity_chi2, mh.homogeneity_p) == (None,) * 4
    assert mh.note is not None and "interval undefined" in mh.note


def test_one_stratum_with_events_has_no_homogeneity_test() -> None:
    mh = mantel_haenszel_rate_ratio([Stratum(2, 100, 3, 100), Stratum(0, 50, 0, 200)])
    assert mh.ratio == pytest.approx(exact_rate_ratio(2, 100, 3, 100).ratio, rel=1e-12)
    assert mh.homogeneity_df is None
    assert mh.note is not None and "homogeneity" in mh.note


@pytest.mark.parametrize(
    "strata",
    [
        [],
        [Stratum(1, 10, 1, 10)],
        [Stratum(1, 10, 1, 10), Stratum(0, 0, 0, 10)],
    ],
)
def test_fewer_than_two_informative_strata_raises(strata) -> None:
    with pytest.raises(ValueError, match="Mantel-Haenszel needs at least two strata"):
        mantel_haenszel_rate_ratio(strata)


@pytest.mark.parametrize(
    "bad",
    [
        Stratum(-1, 10, 1, 10),
        Stratum(1, -10, 1, 10),
        Stratum(1.5, 10, 1, 10),
        Stratum(1, float("nan"), 1, 10),
        Stratum(3, 0, 1, 10),  # events without treatments
    ],
)
def test_mantel_haenszel_rejects_impossible_strata(bad: Stratum) -> None:
    with pytest.raises(ValueError):
        mantel_haenszel_rate_ratio([Stratum(1, 10, 1, 10), bad])


def test_mantel_haenszel_rejects_no_events_missing_columns_and_bad_items() -> None:
    with pytest.raises(ValueError, match="needs events"):
        mantel_haenszel_rate_ratio([Stratum(0, 10, 0, 10), Stratum(0, 5, 0, 5)])
    with pytest.raises(ValueError, match="missing columns"):
        mantel_haenszel_rate_ratio(pd.DataFrame({"stratum": ["a"], "events": [1]}))
    with pytest.raises(ValueError, match="Stratum"):
        mantel_haenszel_rate_ratio([(1, 10, 1, 10), (1, 10, 1, 10)])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="confidence"):
        mantel_haenszel_rate_ratio(doll_hill_strata(), confidence=1.0)


@given(
    a=st.integers(0, 300),
    b=st.integers(0, 300),
    t1=st.integers(1, 100_000),
    t0=st.integers(1, 100_000),
    copies=st.integers(2, 6),
)
def test_identical_strata_give_the_crude_ratio(
    a: int, b: int, t1: int, t0: int, copies: int
) -> None:
    if a + b == 0:
        return
    mh = mantel_haenszel_rate_ratio([Stratum(a, t1, b, t0)] * copies)
    crude = exact_rate_ratio(a * copies, t1 * copies, b * copies, t0 * copies)
    assert crude.ratio is not None
    if b == 0:
        assert mh.ratio == math.inf
        return
    assert mh.ratio == pytest.approx(crude.ratio, rel=1e-9)
    if a > 0:
        assert mh.low is not None and mh.high is not None
        assert mh.low <= mh.ratio <= mh.high
        assert mh.homogeneity_chi2 == pytest.approx(0.0, abs=1e-9)


@given(
    st.lists(
        st.tuples(
            st.integers(0, 50), st.integers(1, 5000), st.integers(0, 50), st.integers(1, 5000)
        ),
        min_size=2,
        max_size=8,
    )
)
def test_mh_interval_brackets_the_estimate(rows: list[tuple[int, int, int, int]]) -> None:
    if sum(a for a, *_ in rows) == 0 or sum(r[2] for r in rows) == 0:
        return
    mh = mantel_haenszel_rate_ratio([Stratum(*r) for r in rows])
    assert mh.low is not None and mh.high is not None
    assert 0 < mh.low <= mh.ratio <= mh.high < math.inf
    if mh.homogeneity_p is not None:
        assert 0.0 <= mh.homogeneity_p <= 1.0 and mh.homogeneity_chi2 >= 0.0


# --- compare_levels -----------------------------------------------------------------


def doll_hill_counts() -> pd.DataFrame:
    rows = []
    for age, a, t1, b, t0 in DOLL_HILL:
        rows.append({"smoking": "smoker", "age": age, "events": a, "treatments": t1})
        rows.append({"smoking": "non-smoker", "age": age, "events": b, "treatments": t0})
    return pd.DataFrame(rows)


def test_compare_levels_crude_and_adjusted_rows_match_the_functions() -> None:
    out = compare_levels(doll_hill_counts(), "smoking", reference="non-smoker", stratum="age")
    assert list(out["analysis"]) == ["crude", "adjusted for age (Mantel-Haenszel)"]
    assert list(out["level"]) == ["smoker", "smoker"]
    crude, adjusted = out.iloc[0], out.iloc[1]
    assert (crude["events"], crude["treatments"]) == (630, 142247)
    assert (crude["ref_events"], crude["ref_treatments"]) == (101, 39220)
    assert crude["rate_ratio"] == pytest.approx(1.719823, rel=1e-6)
    assert crude["ci_low"] == pytest.approx(1.391992, rel=1e-6)
    assert adjusted["rate_ratio"] == pytest.approx(1.424682, rel=1e-6)
    assert adjusted["ci_high"] == pytest.approx(1.757784, rel=1e-6)
    assert adjusted["strata_used"] == 5 and adjusted["p_value"] is None


def test_default_reference_is_level_with_most_treatments_and_order_is_kept() -> None:
    counts = pd.DataFrame(
        {
            "technique": ["static", "pistoning", "electro", "none"],
            "events": [3, 40, 2, 0],
            "treatments": [200, 900, 100, 50],
        }
    )
    out = compare_levels(counts, "technique")
    assert list(out["level"]) == ["static", "electro", "none"]
    assert set(out["reference"]) == {"pistoning"}
    assert list(out["analysis"]) == ["crude"] * 3
    static = exact_rate_ratio(3, 200, 40, 900)
    assert out.iloc[0]["rate_ratio"] == pytest.approx(static.ratio, rel=1e-12)
    assert out.iloc[0]["p_value"] == pytest.approx(static.p_value, rel=1e-12)
    none_row = out.iloc[2]
    assert none_row["rate_ratio"] == 0.0 and "no events" in none_row["note"]


def test_level_with_no_events_anywhere_still_gets_a_row_with_a_note_and_no_nan() -> None:
    counts = pd.DataFrame(
        {
            "region": ["neck", "neck", "chest", "chest"],
            "guided": ["us", "palp", "us", "palp"],
            "events": [0, 0, 0, 0],
            "treatments": [10, 40, 0, 30],
        }
    )
    out = compare_levels(counts, "guided", stratum="region")
    assert len(out) == 2
    crude, adjusted = out.iloc[0], out.iloc[1]
    assert crude["rate_ratio"] is None and "undefined" in crude["note"]
    assert adjusted["rate_ratio"] is None
    assert "Mantel-Haenszel needs at least two strata" in adjusted["note"]
    result_cols = ["rate_ratio", "ci_low", "ci_high", "p_value", "strata_used", "homogeneity_p"]
    values = [v for col in result_cols for v in out[col]]
    assert all(v is None or not (isinstance(v, float) and math.isnan(v)) for v in values)


def test_level_without_treatments_gets_a_note() -> None:
    counts = pd.DataFrame({"g": ["a", "b"], "events": [0, 4], "treatments": [0, 100]})
    out = compare_levels(counts, "g")
    assert out.iloc[0]["rate_ratio"] is None
    assert "no treatments recorded for 'a'" in out.iloc[0]["note"]


def test_single_level_gives_an_empty_frame_with_the_columns() -> None:
    out = compare_levels(pd.DataFrame({"g": ["a"], "events": [1], "treatments": [9]}), "g")
    assert out.empty and "rate_ratio" in out.columns and "note" in out.columns


@pytest.mark.parametrize(
    ("changes", "kwargs", "match"),
    [
        ({"g": ["a", None]}, {}, "missing values"),
        ({"g": ["a", np.nan]}, {}, "missing values"),
        ({"treatments": None}, {}, "missing columns: treatments"),
        ({"g": ["a", "a"]}, {}, "more than one row"),
        ({"events": [-1, 2]}, {}, "events"),
        ({"events": [1.5, 2]}, {}, "events"),
        ({"treatments": [5, float("nan")]}, {}, "treatments"),
        ({}, {"reference": "z"}, "reference"),
        ({"s": ["x", None]}, {"stratum": "s"}, "missing values"),
        ({}, {"stratum": "s"}, "missing columns: s"),
    ],
)
def test_compare_levels_rejects_bad_input(changes: dict, kwargs: dict, match: str) -> None:
    columns: dict = {"g": ["a", "b"], "events": [1, 2], "treatments": [5, 5], **changes}
    counts = pd.DataFrame({k: v for k, v in columns.items() if v is not None})
    with pytest.raises(ValueError, match=match):
        compare_levels(counts, "g", **kwargs)
