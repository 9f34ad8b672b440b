"""Funnel plots (Spiegelhalter 2005) against external reference values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard.stats.funnel import funnel, funnel_limits, poisson_limit
from dashboard.stats.poisson import exact_poisson_interval

# PHEindicatormethods (UKHSA), tests/testthat/testdata_funnel_rate_outputs.csv: the
# phe_funnels() rate funnel, baseline 116.1720835 per 100,000, 3 years of data. Columns:
# Events, then (population per year, limit per 100,000) for lower 95%, upper 95%,
# lower 99.8%, upper 99.8%. Each limit equals Events / (3 * population) * 1e5, so the
# exposure at which the limit applies is 3 * population.
PHE_BASELINE = 116.1720835
PHE_ROWS = [
    (1, 1598.675694, 20.85059119, 7.264481402, 4588.535848),
    (1, 2649.348525, 12.58170943, 0.287087625, 116108.569),
    (10, 5276.757672, 63.17010446, 1375.943768, 242.2579623),
    (10, 6924.776769, 48.13632908, 849.4639547, 392.4043292),
    (99, 34583.45945, 95.42133877, 23087.10848, 142.9369123),
    (99, 38382.78582, 85.97604186, 20393.92315, 161.8129075),
    (1360, 411529.9259, 110.158048, 369759.5622, 122.6021934),
    (1360, 424043.2424, 106.9073359, 358342.3275, 126.5084525),
]


@pytest.mark.parametrize("row", range(0, len(PHE_ROWS), 2))
def test_95_limits_match_phe_fingertips_rate_funnel(row: int) -> None:
    """Source: PHEindicatormethods testdata_funnel_rate_outputs.csv (2-sigma columns).
    At these exposures the interpolated Spiegelhalter limit passes through PHE's point."""
    events, pop_lo, lim_lo, pop_hi, lim_hi = PHE_ROWS[row]
    lim = funnel_limits([3 * pop_lo, 3 * pop_hi], PHE_BASELINE, per=100_000)
    assert lim["lo95"][0] == pytest.approx(lim_lo, rel=1e-4)
    assert lim["hi95"][1] == pytest.approx(lim_hi, rel=1e-4)
    assert lim_lo == pytest.approx(events / (3 * pop_lo) * 1e5, rel=1e-8)


@pytest.mark.parametrize("row", range(1, len(PHE_ROWS), 2))
def test_998_limits_match_phe_fingertips_rate_funnel(row: int) -> None:
    """Source: PHEindicatormethods testdata_funnel_rate_outputs.csv (3-sigma columns)."""
    events, pop_lo, lim_lo, pop_hi, lim_hi = PHE_ROWS[row]
    lim = funnel_limits([3 * pop_lo, 3 * pop_hi], PHE_BASELINE, per=100_000)
    assert lim["lo998"][0] == pytest.approx(lim_lo, rel=1e-4)
    assert lim["hi998"][1] == pytest.approx(lim_hi, rel=1e-4)


# R 4.x poisson.test(x)$conf.int (the values asserted in test_stats_poisson.py).
R_POISSON_TEST = {5: (1.623486, 11.668332), 10: (4.795389, 18.390356)}


@pytest.mark.parametrize("x", sorted(R_POISSON_TEST))
def test_limits_pass_through_exact_interval_knots(x: int) -> None:
    """Source: R poisson.test(x)$conf.int. With mean = upper bound for x, P(X <= x) =
    0.025, so x is exactly the lower 95% count limit; with mean = lower bound, P(X >= x)
    = 0.025 and x is exactly the upper limit (Spiegelhalter's interpolation at a knot)."""
    low, high = R_POISSON_TEST[x]
    assert poisson_limit(high, 0.025, "lower") == pytest.approx(x, abs=1e-5)
    assert poisson_limit(low, 0.025, "upper") == pytest.approx(x, abs=1e-5)
    g_low, g_high = exact_poisson_interval(x)
    assert poisson_limit(g_high, 0.025, "lower") == pytest.approx(x, abs=1e-9)
    assert poisson_limit(g_low, 0.025, "upper") == pytest.approx(x, abs=1e-9)


def test_limits_match_r_survival_cipoisson_example() -> None:
    """Source: R survival::cipoisson example: cipoisson(4) = 1.089865, 10.24153;
    ppois(4, 10.24153) = 0.02500096 and 1 - ppois(3, 1.08986) = 0.02499961."""
    assert poisson_limit(10.24153, 0.025, "lower") == pytest.approx(4, abs=1e-4)
    assert poisson_limit(1.089865, 0.025, "upper") == pytest.approx(4, abs=1e-4)


def test_unit_table_classifies_each_band() -> None:
    """Target 10 per 1,000, 1,000 treatments each, so mean 10. Exact Poisson: P(X = 0)
    = 4.5e-5 < 0.001 (below 99.8%); P(X <= 3) = 0.0103 (below 95% only);
    P(X >= 19) = 0.0072 (above 95% only); P(X >= 30) = 7e-7 (above 99.8%). z is on the
    square-root scale, 2 (sqrt(O) - sqrt(E)) (Spiegelhalter, QSHC 2005)."""
    res = funnel(["a", "b", "c", "d", "e"], [0, 3, 10, 19, 30], [1000] * 5, target=10.0)
    t = res.units
    assert list(t.columns) == [
        "unit", "events", "exposure", "rate", "expected", "z",
        "lo95", "hi95", "lo998", "hi998", "outside",
    ]  # fmt: skip
    assert list(t["outside"]) == ["below 99.8%", "below 95%", "", "above 95%", "above 99.8%"]
    assert res.outliers == ("a", "b", "d", "e")
    assert res.target == 10.0 and res.target_source == "given"
    assert t["expected"].tolist() == pytest.approx([10.0] * 5)
    assert t["z"].tolist() == pytest.approx(
        [2 * (math.sqrt(y) - math.sqrt(10)) for y in (0, 3, 10, 19, 30)]
    )
    assert "Spiegelhalter" in res.method


def test_overall_target_and_curve() -> None:
    res = funnel(["a", "b", "c"], [5, 10, 30], [2000, 4000, 6000])
    assert res.target == pytest.approx(45 / 12000 * 1000)
    assert res.target_source == "overall"
    assert list(res.curve.columns) == ["exposure", "lo95", "hi95", "lo998", "hi998"]
    assert len(res.curve) == 200
    assert res.curve["exposure"].min() == pytest.approx(1000)
    assert res.curve["exposure"].max() == pytest.approx(6600)


# FunnelPlotR (NHS-R community, R/od_adjustment.R at 9020d49): transformed_zscore(
# data_type = "SR", sr_method = "CQC"), winsorisation(trim_by = 0.1), phi_func(),
# tau_func(), sourced and run in R 4.2.2 on each data set below; the limits are Spiegelhalter's
# (1 +/- z_p sqrt(s^2 + tau2))^2 evaluated in the same R session from those s and tau2.
FPR_SR = {  # FunnelPlotR's own test data (tests/testthat/test-funnel_plot.R): O and E
    "observed": [100, 150, 180, 80, 120, 225],
    "expected": [108, 112, 165, 95, 100, 220],
    "z": [-0.784609690827, 3.32888693932, 1.14235057267, -1.60504486962, 1.90890230021,
          0.335206051617],
    "phi": 2.32717825759412,
    "tau2": 0.00343978015418627,
    "hi998": [1.52379780656, 1.51962837854, 1.48236803179, 1.53955376898, 1.53305030162,
              1.46179112977],
    "lo95": [0.724744038668, 0.726570173509, 0.743105434401, 0.71788629476, 0.720708690957,
             0.752406911249],
}  # fmt: skip
FPR_RATES = {  # ten units, E = overall rate x treatments
    "events": [2, 8, 15, 40, 5, 22, 60, 9, 30, 12],
    "treatments": [1000, 2000, 1500, 3000, 800, 2500, 4000, 1200, 2200, 1800],
    "phi": 3.60478995167678,
    "tau2": 0.0379236307619551,
    "hi998": [3.14314866575, 2.86504952635, 2.95973706461, 2.76804483512, 3.27624688702,
              2.80714353924, 2.71857727839, 3.05236560797, 2.83883563026, 2.8968556984],
    "lo95": [0.259892668368, 0.31437659575, 0.294954518601, 0.335268315438, 0.236425317292,
             0.326723366141, 0.346326355539, 0.27683834854, 0.319920895367, 0.307748030355],
}  # fmt: skip


def test_additive_random_effects_match_funnelplotr_on_its_test_data() -> None:
    """Source: FunnelPlotR functions run in R (FPR_SR above). Indirectly standardised
    ratios O/E against a given target 1: E is the exposure, per = 1."""
    d = FPR_SR
    res = funnel(list("abcdef"), d["observed"], d["expected"], target=1, per=1,
                 overdispersion="additive")  # fmt: skip
    assert res.units["z"].tolist() == pytest.approx(d["z"], rel=1e-10)
    assert res.phi == pytest.approx(d["phi"], rel=1e-12)
    assert res.tau2 == pytest.approx(d["tau2"], rel=1e-12)
    assert res.overdispersion_applied  # 6 x 2.327 = 13.96 > chi2(0.95, 6 df) = 12.59
    assert res.units["hi998"].tolist() == pytest.approx(d["hi998"], rel=1e-6)
    assert res.units["lo95"].tolist() == pytest.approx(d["lo95"], rel=1e-6)
    assert res.outliers == ("b",)  # 150/112 = 1.339: beyond 95% (upper 1.28), not 99.8%
    assert res.units["outside"].tolist() == ["", "above 95%", "", "", "", ""]
    assert "additive random effects" in res.method


def test_additive_random_effects_match_funnelplotr_on_rates() -> None:
    """Source: FunnelPlotR functions run in R (FPR_RATES above); limits as rates per
    1,000 are the ratio limits times the overall rate, 10.15 per 1,000."""
    d = FPR_RATES
    names = [str(i) for i in range(10)]
    res = funnel(names, d["events"], d["treatments"], overdispersion="additive")
    assert res.target == pytest.approx(10.15)
    assert res.phi == pytest.approx(d["phi"], rel=1e-12)
    assert res.tau2 == pytest.approx(d["tau2"], rel=1e-12)
    assert (res.units["hi998"] / res.target).tolist() == pytest.approx(d["hi998"], rel=1e-6)
    assert (res.units["lo95"] / res.target).tolist() == pytest.approx(d["lo95"], rel=1e-6)
    plain = funnel(names, d["events"], d["treatments"])
    assert plain.phi == pytest.approx(d["phi"], rel=1e-12)  # diagnostics reported either way
    assert not plain.overdispersion_applied and plain.adjustment == "none"
    assert len(res.outliers) < len(plain.outliers)


def test_multiplicative_phi_is_mean_square_of_winsorised_pearson_z() -> None:
    """Spiegelhalter 2005 section 6.1: Pearson z clamped at R's quantile(z, 0.1) and
    quantile(z, 0.9), phi = mean(z^2); limits mu +/- z_p sqrt(phi mu)."""
    events = FPR_RATES["events"]
    exposure = FPR_RATES["treatments"]
    res = funnel([str(i) for i in range(10)], events, exposure, overdispersion="multiplicative")
    y, n = np.array(events), np.array(exposure, dtype=float)
    theta = y.sum() / n.sum()
    z = (y - theta * n) / np.sqrt(theta * n)
    lo, hi = np.quantile(z, [0.1, 0.9])
    phi = float(np.mean(np.clip(z, lo, hi) ** 2))
    assert res.phi == pytest.approx(phi, rel=1e-12)
    assert res.dispersion_threshold == pytest.approx(16.918977604620448 / 10)  # chi2 .95, 9 df
    assert res.overdispersion_applied
    mu = res.units["expected"].to_numpy()
    half = 3.090232 * np.sqrt(res.phi * mu)
    expect = (mu + half) / res.units["exposure"].to_numpy() * 1000
    assert res.units["hi998"].to_numpy() == pytest.approx(expect, rel=1e-6)
    assert "multiplicative phi" in res.method


def test_unknown_adjustment_is_refused() -> None:
    with pytest.raises(ValueError, match="overdispersion must be one of none, additive"):
        funnel(["a", "b"], [1, 2], [10, 20], overdispersion=True)


def test_no_adjustment_when_data_fit_poisson() -> None:
    """Every unit exactly on target: z = 0, phi = 0, nothing to adjust."""
    res = funnel(["a", "b", "c"], [1, 2, 3], [1000, 2000, 3000], overdispersion="additive")
    assert res.phi == 0.0 and res.tau2 == 0.0
    assert not res.overdispersion_applied
    assert res.outliers == ()


@pytest.mark.parametrize(
    ("units", "events", "exposure", "kwargs"),
    [
        ([], [], [], {}),
        (["a", "b"], [1], [10, 10], {}),
        (["a", "b"], [1, 2], [10], {}),
        (["a", "a"], [1, 2], [10, 10], {}),
        (["a"], [-1], [10], {}),
        (["a"], [1.5], [10], {}),
        (["a"], [float("nan")], [10], {}),
        (["a"], [True], [10], {}),
        (["a"], [1], [0], {}),
        (["a"], [1], [-5], {}),
        (["a"], [1], [float("nan")], {}),
        (["a"], [1], [float("inf")], {}),
        (["a"], [1], ["10"], {}),
        (["a"], [1], [10], {"target": 0.0}),
        (["a"], [1], [10], {"target": -1.0}),
        (["a", "b"], [0, 0], [10, 10], {}),
        (["a"], [1], [10], {"per": 0}),
        (["a"], [1], [10], {"grid_points": 1}),
    ],
)
def test_impossible_input_raises_value_error(units, events, exposure, kwargs) -> None:
    with pytest.raises(ValueError):
        funnel(units, events, exposure, **kwargs)


def test_zero_exposure_error_names_the_unit() -> None:
    with pytest.raises(ValueError, match="clinic B"):
        funnel(["clinic A", "clinic B"], [1, 0], [100, 0])


@pytest.mark.parametrize(
    ("mu", "tail", "side"),
    [(-1.0, 0.025, "lower"), (float("nan"), 0.025, "lower"), (5.0, 0.0, "lower"),
     (5.0, 0.5, "upper"), (5.0, 0.025, "middle")],
)  # fmt: skip
def test_poisson_limit_rejects_bad_arguments(mu: float, tail: float, side: str) -> None:
    with pytest.raises(ValueError):
        poisson_limit(mu, tail, side)


@given(
    target=st.floats(min_value=0.01, max_value=500.0),
    exposure=st.floats(min_value=1.0, max_value=1e6),
)
def test_limits_are_nested_around_target(target: float, exposure: float) -> None:
    lim = funnel_limits([exposure], target).iloc[0]
    assert 0 <= lim["lo998"] <= lim["lo95"] <= target <= lim["hi95"] <= lim["hi998"]


@given(
    events=st.lists(st.integers(0, 200), min_size=1, max_size=12),
    data=st.data(),
)
def test_units_classification_agrees_with_limits(events: list[int], data) -> None:
    exposure = data.draw(st.lists(st.floats(10.0, 1e5), min_size=len(events), max_size=len(events)))
    target = data.draw(st.floats(0.1, 100.0))
    res = funnel([f"u{i}" for i in range(len(events))], events, exposure, target=target)
    for row in res.units.to_dict("records"):
        assert row["lo998"] <= row["lo95"] <= res.target <= row["hi95"] <= row["hi998"]
        beyond = row["rate"] > row["hi95"] or row["rate"] < row["lo95"]
        assert (row["outside"] != "") == beyond
        assert (row["unit"] in res.outliers) == beyond
