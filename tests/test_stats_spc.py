"""u-chart, MDC rules, g-chart and Bernoulli CUSUM against external reference values."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard.stats.cusum import bernoulli_cusum, gaps_from_outcomes
from dashboard.stats.gchart import g_chart, geometric_quantile
from dashboard.stats.spc import (
    RULE_BEYOND,
    RULE_CUSUM,
    RULE_G_HIGH,
    RULE_G_LOW,
    RULE_RUN_ABOVE,
    RULE_RUN_BELOW,
    RULE_TREND_DOWN,
    RULE_TREND_UP,
    RULE_TWO_OF_THREE,
    u_chart,
)


def _periods(k: int) -> list[str]:
    return [f"2024-{i + 1:02d}" for i in range(k)]


def _flagged(chart, rule: str) -> list[int]:
    names = list(chart.points["period"])
    return sorted(names.index(s.period) for s in chart.signals if s.rule == rule)


# ---------------------------------------------------------------- u-chart limits
def test_u_chart_matches_qcc_pcmanufact() -> None:
    """Source: qcc vignette "A quick tour of qcc", qcc(x, sizes=size, type="u") on data
    pcmanufact (Montgomery): Center 1.93, LCL 0.06613305, UCL 3.793867."""
    x = [10, 12, 8, 14, 10, 16, 11, 7, 10, 15, 9, 5, 7, 11, 12, 6, 8, 10, 7, 5]
    chart = u_chart(_periods(20), x, [5] * 20, per=1)
    assert chart.centre == pytest.approx(1.93, abs=5e-13)
    assert chart.points["lcl3"].tolist() == pytest.approx([0.06613305] * 20, abs=5e-9)
    assert chart.points["ucl3"].tolist() == pytest.approx([3.793867] * 20, abs=5e-7)


def test_u_chart_matches_qcc_circuit_without_samples_6_and_20() -> None:
    """Source: qcc vignette, qcc(x[inc], sizes=size[inc], type="u") on circuit trial
    samples without 6 and 20: Center 0.1966667, LCL 0.06362532, UCL 0.329708."""
    x = [21, 24, 16, 12, 15, 5, 28, 20, 31, 25, 20, 24, 16, 19, 10, 17, 13, 22, 18, 39]
    x += [30, 24, 16, 19, 17, 15]
    keep = [v for i, v in enumerate(x, start=1) if i not in (6, 20)]
    chart = u_chart(_periods(24), keep, [100] * 24, per=1)
    assert chart.centre == pytest.approx(0.1966667, abs=5e-8)
    assert chart.points["lcl3"][0] == pytest.approx(0.06362532, abs=5e-9)
    assert chart.points["ucl3"][0] == pytest.approx(0.329708, abs=5e-7)


def test_u_chart_matches_sas_shewhart_fabric_example() -> None:
    """Source: SAS/QC SHEWHART documentation, UCHART "Saving Control Limits", data set
    Fabric (20 rolls of 30 m^2): _U_ 0.30333, _LCLU_ .001671271, _UCLU_ 0.60500."""
    defects = [12, 11, 9, 15, 7, 6, 5, 10, 8, 8, 14, 5, 9, 13, 7, 5, 8, 11, 7, 12]
    chart = u_chart(_periods(20), defects, [30] * 20, per=1)
    assert chart.centre == pytest.approx(0.30333, abs=5e-6)
    assert chart.points["lcl3"][0] == pytest.approx(0.001671271, abs=5e-10)
    assert chart.points["ucl3"][0] == pytest.approx(0.60500, abs=5e-6)


def test_u_chart_variable_size_dyed_cloth() -> None:
    """Source: qcc data dyedcloth (Montgomery 1991 pp. 183-184, ubar printed as 1.42);
    per-roll limits as qcc limits.u: center +/- k * sqrt(center / size)."""
    x = [14, 12, 20, 11, 7, 10, 21, 16, 19, 23]
    size = [10, 8, 13, 10, 9.5, 10, 12, 10.5, 12, 12.5]
    chart = u_chart(_periods(10), x, size, per=1)
    assert chart.centre == pytest.approx(153 / 107.5, rel=1e-12)
    assert round(chart.centre, 2) == 1.42
    for row, n in zip(chart.points.to_dict("records"), size, strict=True):
        for k in (1, 2, 3):
            assert row[f"ucl{k}"] == pytest.approx(153 / 107.5 + k * math.sqrt(153 / 107.5 / n))
            assert row[f"lcl{k}"] == pytest.approx(
                max(0, 153 / 107.5 - k * math.sqrt(153 / 107.5 / n))
            )
    assert chart.signals == ()
    assert set(chart.points["signal"]) == {""}


def test_points_table_columns_and_per() -> None:
    chart = u_chart(["Jan", "Feb"], [3, 5], [2000, 2500])
    assert list(chart.points.columns) == [
        "period", "events", "exposure", "rate", "centre",
        "lcl3", "ucl3", "lcl2", "ucl2", "lcl1", "ucl1", "incomplete", "baseline", "segment",
        "signal", "point_type",
    ]  # fmt: skip
    assert chart.centre == pytest.approx(8 / 4500 * 1000)
    assert chart.points["rate"].tolist() == pytest.approx([1.5, 2.0])
    assert "u-chart" in chart.method and chart.per == 1000.0


def test_incomplete_period_is_drawn_but_sets_no_limit_and_trips_no_rule() -> None:
    """A part-filled last month (data stop on the 9th: 4 events in 300 treatments, a
    rate of 13.33 against a centre of 2) would be beyond 3 sigma. Marked incomplete, it
    keeps its point and limits, the centre is the complete months' 12 / 6,000, and no rule
    fires on it; the same data without the mark do signal (centre 16 / 6,300 = 2.54, upper
    limit for 300 treatments 2.54 + 3 sqrt(2.54 / 300,000) x 1,000 = 11.27 < 13.33)."""
    periods = ["2026-01", "2026-02", "2026-03", "2026-04"]
    events, exposure = [4, 4, 4, 4], [2000, 2000, 2000, 300]
    marked = u_chart(periods, events, exposure, incomplete=[False, False, False, True])
    assert marked.centre == pytest.approx(12 / 6000 * 1000)
    assert marked.points["incomplete"].tolist() == [False, False, False, True]
    assert marked.points["rate"].tolist() == pytest.approx([2.0, 2.0, 2.0, 4 / 300 * 1000])
    assert marked.points["ucl3"].iloc[3] == pytest.approx(2 + 3 * math.sqrt(0.002 / 300) * 1000)
    assert marked.signals == ()
    assert marked.points["signal"].tolist() == ["", "", "", ""]
    plain = u_chart(periods, events, exposure)
    assert [s.period for s in plain.signals] == ["2026-04"]
    with pytest.raises(ValueError, match="at least 2 complete periods"):
        u_chart(periods[:2], events[:2], exposure[:2], incomplete=[False, True])


# ---------------------------------------------------------------- MDC rules
def test_beyond_3_sigma_names_rule_limit_and_direction() -> None:
    chart = u_chart(_periods(6), [10, 10, 10, 10, 10, 40], [1000] * 6)
    (sig,) = [s for s in chart.signals if s.rule == RULE_BEYOND]
    row = chart.points.iloc[5]
    assert (sig.period, sig.direction) == ("2024-06", "high")
    assert sig.value == pytest.approx(40.0) and sig.limit == pytest.approx(row["ucl3"])
    assert sig.expected == pytest.approx(15.0)
    assert chart.points["signal"][5] == RULE_BEYOND


def test_each_point_uses_its_own_limits() -> None:
    """16 per 1,000 is beyond 3 sigma at 100,000 treatments but not at 1,000."""
    chart = u_chart(_periods(3), [1600, 16, 1000], [100_000, 1_000, 100_000])
    assert _flagged(chart, RULE_BEYOND) == [0, 2]


def test_run_of_seven_above_flags_every_point() -> None:
    """NHSRplotthedots test: ptd_seven_point_one_side_mean(c(rep(1, 8), -1)) marks run ends
    7 and 8, so ptd_part_of_seven_trend flags points 1-8; point 9 is not flagged."""
    chart = u_chart(_periods(9), [12] * 8 + [3], [1000] * 9)
    assert chart.centre == pytest.approx(11.0)
    assert _flagged(chart, RULE_RUN_ABOVE) == list(range(8))
    assert {s.rule for s in chart.signals} == {RULE_RUN_ABOVE}
    assert all(s.direction == "high" and s.limit == pytest.approx(11.0) for s in chart.signals)


def test_run_below_centre() -> None:
    chart = u_chart(_periods(9), [10] * 8 + [19], [1000] * 9)
    assert _flagged(chart, RULE_RUN_BELOW) == list(range(8))
    assert all(s.direction == "low" for s in chart.signals if s.rule == RULE_RUN_BELOW)


def test_point_on_centre_line_breaks_run() -> None:
    """NHSRplotthedots relative_to_mean = sign(y - mean): a point on the line is 0 and
    no run passes through it. Centre 11 exactly; point 4 has rate 11."""
    chart = u_chart(_periods(9), [12, 12, 12, 11, 12, 12, 12, 12, 4], [1000] * 9)
    assert chart.centre == pytest.approx(11.0)
    assert _flagged(chart, RULE_RUN_ABOVE) == []


def test_trend_of_seven_rising_and_falling() -> None:
    """NHSRplotthedots tests: ptd_seven_point_trend(1:7) ends a rising trend at 7,
    ptd_seven_point_trend(7:1) a falling one; every point of the trend is flagged."""
    up = u_chart(_periods(7), [1, 2, 3, 4, 5, 6, 7], [1000] * 7)
    assert _flagged(up, RULE_TREND_UP) == list(range(7))
    assert all(s.direction == "high" for s in up.signals)
    down = u_chart(_periods(7), [7, 6, 5, 4, 3, 2, 1], [1000] * 7)
    assert _flagged(down, RULE_TREND_DOWN) == list(range(7))
    assert all(s.direction == "low" and s.limit is None for s in down.signals)


def test_tie_breaks_trend() -> None:
    """NHSRplotthedots test: ptd_seven_point_trend(c(1:3, 3:6)) is all 0 (a tie)."""
    chart = u_chart(_periods(7), [1, 2, 3, 3, 4, 5, 6], [1000] * 7)
    assert chart.signals == ()


def test_trend_inside_longer_series() -> None:
    """NHSRplotthedots test: ptd_seven_point_trend(c(2, 1:7, 3)) ends a trend at point 8;
    points 2-8 are part of it. Rates compared exactly across different exposures."""
    events = [2, 1, 2, 3, 4, 5, 6, 7, 3]
    chart = u_chart(_periods(9), [e * 3 for e in events], [3000] * 9)
    assert _flagged(chart, RULE_TREND_UP) == list(range(1, 8))
    varied = u_chart(_periods(9), [e * (i + 1) for i, e in enumerate(events)],
                     [1000 * (i + 1) for i in range(9)])  # fmt: skip
    assert _flagged(varied, RULE_TREND_UP) == list(range(1, 8))


def test_two_of_three_flags_only_points_beyond_2_sigma() -> None:
    """NHSRplotthedots test: ptd_part_of_two_in_three on close-to-limit pattern
    c(1, 0, 0, 1, 1) (all on one side) flags c(0, 0, 0, 1, 1). Centre 20 per 1,000:
    30 lies between the 2- and 3-sigma limits (28.9, 33.4); 22 does not."""
    events = [30, 22, 22, 30, 30, 14, 13, 13, 13, 13]
    chart = u_chart(_periods(10), events, [1000] * 10)
    assert chart.centre == pytest.approx(20.0)
    assert _flagged(chart, RULE_TWO_OF_THREE) == [3, 4]
    sig = [s for s in chart.signals if s.rule == RULE_TWO_OF_THREE][0]
    assert sig.limit == pytest.approx(chart.points["ucl2"][3]) and sig.direction == "high"
    assert {s.rule for s in chart.signals} == {RULE_TWO_OF_THREE}


def test_point_beyond_3_sigma_does_not_count_towards_two_of_three() -> None:
    """NHSRplotthedots ptd_spc_standard: close_to_limits = !outside_limits & ..."""
    events = [40, 30, 22, 14, 13, 13, 13, 13, 16, 16]
    chart = u_chart(_periods(10), events, [1000] * 10)
    assert chart.centre == pytest.approx(19.0)
    assert _flagged(chart, RULE_BEYOND) == [0]
    assert _flagged(chart, RULE_TWO_OF_THREE) == []


@pytest.mark.parametrize(
    ("periods", "events", "exposure", "per"),
    [
        (["a"], [1], [10], 1000.0),
        ([], [], [], 1000.0),
        (["a", "b"], [1], [10, 10], 1000.0),
        (["a", "b"], [1, 2], [10], 1000.0),
        (["a", "a"], [1, 2], [10, 10], 1000.0),
        (["a", "b"], [-1, 2], [10, 10], 1000.0),
        (["a", "b"], [1.5, 2], [10, 10], 1000.0),
        (["a", "b"], [None, 2], [10, 10], 1000.0),
        (["a", "b"], [1, 2], [-10, 10], 1000.0),
        (["a", "b"], [1, 2], [float("nan"), 10], 1000.0),
        (["a", "b"], [1, 2], [10, 10], 0.0),
    ],
)
def test_u_chart_impossible_input(periods, events, exposure, per) -> None:
    with pytest.raises(ValueError):
        u_chart(periods, events, exposure, per=per)


def test_zero_exposure_names_the_period() -> None:
    with pytest.raises(ValueError, match="2024-02.*drop it or merge it"):
        u_chart(["2024-01", "2024-02", "2024-03"], [1, 0, 2], [100, 0, 100])


@given(data=st.lists(st.tuples(st.integers(0, 60), st.floats(1.0, 1e5)), min_size=2, max_size=30))
def test_limits_nested_and_signal_column_consistent(data) -> None:
    events, exposure = zip(*data, strict=True)
    chart = u_chart(_periods(len(data)), list(events), list(exposure))
    for row in chart.points.to_dict("records"):
        assert 0 <= row["lcl3"] <= row["lcl2"] <= row["lcl1"] <= row["centre"]
        assert row["centre"] <= row["ucl1"] <= row["ucl2"] <= row["ucl3"]
    flagged = {s.period for s in chart.signals}
    for row in chart.points.to_dict("records"):
        assert (row["signal"] != "") == (row["period"] in flagged)
    for rule in (RULE_RUN_ABOVE, RULE_RUN_BELOW, RULE_TREND_UP, RULE_TREND_DOWN):
        count = len(_flagged(chart, rule))
        assert count == 0 or count >= 7


# ---------------------------------------------------------------- g-chart
@pytest.mark.parametrize("p", [0.0985, 0.0995])
def test_geometric_probability_limits_bracket_minitab_example(p: float) -> None:
    """Source: Minitab help, "Example of G Chart" (INFECTIONS.MTW): LCL 0, UCL 62.10,
    centre line (median) 5.63, event probability 0.099. Limits fall as p rises; every p
    that prints as 0.099 (0.0985 to 0.0995) must bracket the printed limits."""
    ucl, med = geometric_quantile(0.99865, p), geometric_quantile(0.5, p)
    if p == 0.0985:
        assert ucl > 62.10 and med > 5.63
    else:
        assert ucl < 62.10 and med < 5.63
    assert max(0.0, geometric_quantile(0.00135, p)) == 0.0


def test_g_chart_fields_benneyan_formulas() -> None:
    """Benneyan 2001: p = 1/(gbar + 1), 3-sigma UCL = gbar + 3 sqrt(gbar (gbar + 1)) (the
    qicharts2 qic.g formula, Montgomery p. 319); gbar = 9: UCL = 9 + 3 sqrt(90)."""
    chart = g_chart([9, 4, 14, 9], labels=["2024-01-03", "2024-02-11", "2024-03-20", "x"])
    assert chart.centre == 9.0 and chart.p_hat == pytest.approx(0.1)
    assert chart.ucl3 == pytest.approx(9 + 3 * math.sqrt(90)) and chart.lcl3 == 0.0
    assert chart.limits_used == "probability"
    assert chart.lcl_prob == 0.0 < chart.median_prob < chart.centre < chart.ucl_prob
    assert list(chart.points["label"])[0] == "2024-01-03"
    assert chart.signals == ()


def test_g_chart_signals_short_and_long_gaps() -> None:
    gaps = [1000] * 20 + [0, 20_000]
    chart = g_chart(gaps)
    lows = [s for s in chart.signals if s.rule == RULE_G_LOW]
    highs = [s for s in chart.signals if s.rule == RULE_G_HIGH]
    assert [s.period for s in lows] == ["event 21"] and lows[0].direction == "high"
    assert [s.period for s in highs] == ["event 22"] and highs[0].direction == "low"
    assert lows[0].limit == pytest.approx(chart.lcl_prob) and chart.lcl_prob > 0


@given(p=st.floats(1e-7, 1.0), k=st.integers(1, 200))
def test_geometric_quantile_exact_at_integers(p: float, k: int) -> None:
    """At q = P(trials until event <= k) the interpolated quantile is exactly k - 1."""
    q = -math.expm1(k * math.log1p(-p)) if p < 1 else 1.0
    if 0 < q < 1 and q > -math.expm1((k - 1) * math.log1p(-p)):
        assert geometric_quantile(q, p) == pytest.approx(k - 1, abs=1e-6)


@pytest.mark.parametrize(
    ("gaps", "kwargs"),
    [([5], {}), ([], {}), ([5, -1], {}), ([5, 1.5], {}), ([5, 6], {"tail": 0.0}),
     ([5, 6], {"tail": 0.5}), ([5, 6], {"labels": ["a"]})],
)  # fmt: skip
def test_g_chart_impossible_input(gaps, kwargs) -> None:
    with pytest.raises(ValueError):
        g_chart(gaps, **kwargs)


@pytest.mark.parametrize(("q", "p"), [(0.0, 0.1), (1.0, 0.1), (0.5, 0.0), (0.5, 1.5)])
def test_geometric_quantile_rejects_bad_arguments(q: float, p: float) -> None:
    with pytest.raises(ValueError):
        geometric_quantile(q, p)


# ---------------------------------------------------------------- Bernoulli CUSUM
def test_cusum_matches_r_cusum_package_test() -> None:
    """Source: R package cusum (Hubig), tests/testthat/test-cusum.R: failure_probability
    0.05, odds_multiplier 2, limit 2.96, reset TRUE; round(ct, 2) = 0.00 0.64 0.60 0.55
    0.50 0.45 0.40 1.04 1.00 0.95. The 0/1 outcomes come from R's rbinom; only an event
    raises the CUSUM, so the printed path fixes them: events at cases 2 and 8."""
    gaps, trailing = gaps_from_outcomes([0, 1, 0, 0, 0, 0, 0, 1, 0, 0])
    assert (gaps, trailing) == ([1, 5], 2)
    chart = bernoulli_cusum(gaps, p0=0.05, h=2.96, trailing=trailing)
    path = [round(chart.value_at(t), 2) for t in range(1, 11)]
    assert path == [0.00, 0.64, 0.60, 0.55, 0.50, 0.45, 0.40, 1.04, 1.00, 0.95]
    assert chart.signals == () and chart.first_signal_treatment is None
    assert round(chart.final_value, 2) == 0.95
    odds = 2 * 0.05 / 0.95
    assert chart.p1 == pytest.approx(odds / (1 + odds))
    assert chart.weight_event == pytest.approx(math.log(chart.p1 / 0.05))
    assert chart.weight_no_event == pytest.approx(math.log((1 - chart.p1) / 0.95))


def _brute_force(outcomes: list[int], p0: float, h: float, ratio: float):
    """The R cusum() loop, one treatment at a time."""
    odds = ratio * p0 / (1 - p0)
    p1 = odds / (1 + odds)
    wf, ws = math.log(p1 / p0), math.log((1 - p1) / (1 - p0))
    ct, path, hits = 0.0, [], []
    for t, y in enumerate(outcomes, start=1):
        ct = max(0.0, ct + (wf if y else ws))
        path.append(ct)
        if ct >= h:
            hits.append(t)
            ct = 0.0
    return path, hits


@given(
    outcomes=st.lists(st.integers(0, 1), min_size=1, max_size=300),
    p0=st.floats(0.001, 0.3),
    h=st.floats(0.5, 5.0),
    ratio=st.floats(1.1, 4.0),
)
def test_gap_form_equals_treatment_by_treatment_cusum(outcomes, p0, h, ratio) -> None:
    gaps, trailing = gaps_from_outcomes(outcomes)
    chart = bernoulli_cusum(gaps, p0=p0, h=h, odds_ratio=ratio, trailing=trailing)
    path, hits = _brute_force(outcomes, p0, h, ratio)
    assert chart.total_treatments == len(outcomes)
    assert [chart.value_at(t) for t in range(1, len(outcomes) + 1)] == pytest.approx(path)
    assert [int(t) for t in chart.path.loc[chart.path["signal"], "treatment"]] == hits
    assert chart.first_signal_treatment == (hits[0] if hits else None)
    assert len(chart.signals) == len(hits)


def test_cusum_signals_and_restarts() -> None:
    """p0 1%, OR 2: an event adds ln(1.98) = 0.683, an event-free treatment -0.00995;
    events at treatments 101, 105, 108 take S to 3 * 0.683 - 5 * 0.00995 = 2.000 >= 1.9."""
    chart = bernoulli_cusum([100, 3, 2, 1, 400], p0=0.01, h=1.9, labels=list("abcde"))
    assert chart.first_signal_treatment == 108
    (sig,) = chart.signals
    assert (sig.period, sig.rule, sig.limit, sig.direction) == ("c", RULE_CUSUM, 1.9, "high")
    assert sig.value == pytest.approx(2.000, abs=1e-3)
    assert chart.path["restart"][2] == 0.0
    assert "restart after signal" in chart.method
    kept = bernoulli_cusum([100, 3, 2, 1, 400], p0=0.01, h=1.9, reset=False)
    assert kept.path["restart"][2] == kept.path["after"][2]


def test_cusum_scales_to_millions_of_treatments() -> None:
    chart = bernoulli_cusum([2_000_000, 1_500_000, 10], p0=1e-6, h=3.0)
    assert chart.total_treatments == 3_500_013
    assert chart.value_at(3_500_013) == pytest.approx(chart.path["after"][2])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"gaps": [1], "p0": 0.0, "h": 1.0},
        {"gaps": [1], "p0": 1.0, "h": 1.0},
        {"gaps": [1], "p0": True, "h": 1.0},
        {"gaps": [1], "p0": 0.1, "h": 0.0},
        {"gaps": [1], "p0": 0.1, "h": 1.0, "odds_ratio": 1.0},
        {"gaps": [1], "p0": 0.1, "h": 1.0, "odds_ratio": 0.5},
        {"gaps": [-1], "p0": 0.1, "h": 1.0},
        {"gaps": [1.5], "p0": 0.1, "h": 1.0},
        {"gaps": [1], "p0": 0.1, "h": 1.0, "trailing": -2},
        {"gaps": [1], "p0": 0.1, "h": 1.0, "labels": ["a", "b"]},
        {"gaps": [], "p0": 0.1, "h": 1.0},
    ],
)
def test_cusum_impossible_input(kwargs) -> None:
    with pytest.raises(ValueError):
        bernoulli_cusum(**kwargs)


def test_outcomes_must_be_binary_and_value_at_in_range() -> None:
    with pytest.raises(ValueError, match="0 or 1"):
        gaps_from_outcomes([0, 2, 1])
    chart = bernoulli_cusum([3], p0=0.1, h=1.0, trailing=2)
    for t in (0, 7, True):
        with pytest.raises(ValueError):
            chart.value_at(t)


def test_a_fixed_baseline_sets_the_centre_and_a_later_point_is_judged_against_it() -> None:
    """Hand-worked: six months of 10 events in 1,000 treatments set the centre (10 per
    1,000); the seventh, 40, lies beyond (0.01 + 3 sqrt(0.01 / 1,000)) x 1,000 = 19.49: a signal,
    and since fewer events is better, a special cause of concern (Making Data Count)."""
    periods = _periods(7)
    chart = u_chart(periods, [10] * 6 + [40], [1000] * 7, baseline=[True] * 6 + [False])
    assert chart.points["centre"].tolist() == pytest.approx([10.0] * 7)
    assert chart.points["ucl3"].iloc[6] == pytest.approx((0.01 + 3 * math.sqrt(0.01 / 1000)) * 1000)
    assert chart.points["baseline"].tolist() == [True] * 6 + [False]
    assert [(s.period, s.rule, s.direction) for s in chart.signals] == [
        ("2024-07", RULE_BEYOND, "high")
    ]
    assert chart.points["point_type"].tolist() == ["common cause"] * 6 + ["special cause: concern"]
    whole = u_chart(periods, [10] * 6 + [40], [1000] * 7)  # the spike in its own baseline
    assert whole.centre == pytest.approx(100 / 7)


def test_a_low_signal_is_an_improvement_unless_higher_is_better() -> None:
    periods = _periods(8)
    events = [30] * 7 + [0]
    chart = u_chart(periods, events, [1000] * 8, baseline=[True] * 7 + [False])
    assert chart.points["point_type"].iloc[7] == "special cause: improvement"
    higher = u_chart(
        periods, events, [1000] * 8, baseline=[True] * 7 + [False], improvement="increase"
    )
    assert higher.points["point_type"].iloc[7] == "special cause: concern"


def test_a_rebase_starts_new_limits_and_rules_do_not_cross_it() -> None:
    """Hand-worked: four months at 10 per 1,000 then four at 20 (1,000 treatments each).
    One centre line (15) puts the first four below and the last four above (no run of 7);
    rebased at the fifth month, each half has its own centre (10, then 20) and no signal."""
    periods = _periods(8)
    events = [10] * 4 + [20] * 4
    plain = u_chart(periods, events, [1000] * 8)
    assert plain.points["centre"].tolist() == pytest.approx([15.0] * 8)
    rebased = u_chart(periods, events, [1000] * 8, rebase=["2024-05"])
    assert rebased.points["centre"].tolist() == pytest.approx([10.0] * 4 + [20.0] * 4)
    assert rebased.points["segment"].tolist() == [0] * 4 + [1] * 4
    assert rebased.signals == ()
    with pytest.raises(ValueError, match="rebase period\\(s\\) not on the chart: 2030-01"):
        u_chart(periods, events, [1000] * 8, rebase=["2030-01"])
    with pytest.raises(ValueError, match="has no complete baseline period"):
        u_chart(periods, events, [1000] * 8, rebase=["2024-05"], baseline=[True] * 4 + [False] * 4)


def test_series_uchart_a_fixed_baseline_reaches_only_the_segments_it_overlaps() -> None:
    """Baseline Jan-Apr fixed, rebase at May: January to April set the first centre line
    (10 in 1,000 each: 10 per 1,000), and the new segment, which the baseline does not
    reach, takes its own complete months (30 each: 30 per 1,000). A rebase leaving one
    complete month gives no chart, with the reason."""
    from dashboard.analysis.methods import DEFAULT
    from dashboard.analysis.trends import centre_baselines, series_uchart

    periods = [f"2024-{m:02d}" for m in range(1, 9)]
    events = [10, 10, 10, 10, 30, 30, 30, 30]
    methods = replace(DEFAULT, baseline=("2024-01", "2024-04"), rebase=("2024-05",))
    chart, why = series_uchart(periods, events, [1000] * 8, [False] * 8, methods)
    assert why == ""
    assert chart.points["centre"].tolist() == [10.0] * 4 + [30.0] * 4
    assert centre_baselines(chart) == [periods[:4], periods[4:]]
    late = replace(methods, rebase=("2024-08",))
    assert series_uchart(periods, events, [1000] * 8, [False] * 8, late) == (
        None,
        "no u-chart with these limits: the segment from 2024-08 needs at least 2 complete periods",
    )
