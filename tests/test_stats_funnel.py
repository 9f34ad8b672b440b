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
    P(X >= 19) = 0.0072 (above 95% only); P(X >= 30) = 7e-7 (above 99.8%)."""
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
    assert t["z"].tolist() == pytest.approx([(y - 10) / math.sqrt(10) for y in (0, 3, 10, 19, 30)])
    assert "Spiegelhalter" in res.method


def test_overall_target_and_curve() -> None:
    res = funnel(["a", "b", "c"], [5, 10, 30], [2000, 4000, 6000])
    assert res.target == pytest.approx(45 / 12000 * 1000)
    assert res.target_source == "overall"
    assert list(res.curve.columns) == ["exposure", "lo95", "hi95", "lo998", "hi998"]
    assert len(res.curve) == 200
    assert res.curve["exposure"].min() == pytest.approx(1000)
    assert res.curve["exposure"].max() == pytest.approx(6600)


def test_phi_is_mean_square_of_winsorised_z() -> None:
    """Spiegelhalter 2005 section 6 / FunnelPlotR winsorisation() + phi_func(): clamp z at
    R's quantile(z, 0.1) and quantile(z, 0.9), phi = mean(z^2); tau2 per tau_func()."""
    events = [2, 8, 15, 40, 5, 22, 60, 9, 30, 12]
    exposure = [1000, 2000, 1500, 3000, 800, 2500, 4000, 1200, 2200, 1800]
    res = funnel([str(i) for i in range(10)], events, exposure)
    y, n = np.array(events), np.array(exposure, dtype=float)
    theta = y.sum() / n.sum()
    z = (y - theta * n) / np.sqrt(theta * n)
    lo, hi = np.quantile(z, [0.1, 0.9])
    phi = float(np.mean(np.clip(z, lo, hi) ** 2))
    assert res.phi == pytest.approx(phi, rel=1e-12)
    w = n / theta
    tau2 = (10 * phi - 9) / (w.sum() - (w**2).sum() / w.sum())
    assert res.tau2 == pytest.approx(max(tau2, 0) * 1000**2, rel=1e-12)
    assert res.dispersion_threshold == pytest.approx(16.918977604620448 / 10)  # chi2 .95, 9 df


def test_overdispersion_applied_only_when_asked_and_significant() -> None:
    events = [2, 8, 15, 40, 5, 22, 60, 9, 30, 12]
    exposure = [1000, 2000, 1500, 3000, 800, 2500, 4000, 1200, 2200, 1800]
    names = [str(i) for i in range(10)]
    plain = funnel(names, events, exposure)
    adjusted = funnel(names, events, exposure, overdispersion=True)
    assert plain.phi > plain.dispersion_threshold
    assert not plain.overdispersion_applied
    assert adjusted.overdispersion_applied
    assert "over-dispersion" in adjusted.method
    assert (adjusted.units["hi998"] > plain.units["hi998"]).all()
    assert len(adjusted.outliers) < len(plain.outliers)
    mu = adjusted.units["expected"].to_numpy()
    half = 3.090232 * np.sqrt(adjusted.phi * mu)
    expect = (mu + half) / adjusted.units["exposure"].to_numpy() * 1000
    assert adjusted.units["hi998"].to_numpy() == pytest.approx(expect, rel=1e-6)


def test_no_adjustment_when_data_fit_poisson() -> None:
    """Every unit exactly on target: z = 0, phi = 0, nothing to adjust."""
    res = funnel(["a", "b", "c"], [1, 2, 3], [1000, 2000, 3000], overdispersion=True)
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
