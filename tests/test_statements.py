"""The answer first: sentences pinned for planted data (a real rise, noise, confounding,
a single pneumothorax), and the pure statement functions on hand-made numbers.

The fixture database plants (ingest/demo.py) a rise at clinic C04 in 2025Q2 (S2), a
high-rate clinic C09 (S1) and ultrasound looking harmful until body region is allowed for
(S3). Exact tests are R's poisson.test (``stats.ratios.exact_rate_ratio``, itself tested
against R); here the sentences must carry its numbers and verdicts.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard.analysis import views
from dashboard.analysis.explain import SignalStatement
from dashboard.analysis.statements import (
    Counts,
    change_statement,
    factor_statement,
    serious_statements,
    trend_statement,
)
from dashboard.store.filters import Filters, parse_quarter


@pytest.fixture(scope="module")
def said(fixture_db) -> dict[str, list[str]]:
    out = {}
    with duckdb.connect(str(fixture_db), read_only=True) as con:
        for key, f in (
            ("rise", Filters(*parse_quarter("2025Q2"))),
            ("noise", Filters(*parse_quarter("2024Q4"))),
            ("all", Filters()),
        ):
            out[key] = [s.text for s in views.overview(con, f).statements]
    return out


def test_a_real_rise_is_named_with_its_series_place_and_rule(said) -> None:
    """S2: C04's adverse events and fainting everywhere rose beyond their limits in
    2025Q2 (the 2025-06 fainting point and C04's April)."""
    assert said["rise"][1] == (
        "Special cause of concern in 2025Q2: a rise in fainting events (beyond its 3-sigma "
        "limit); a rise in all adverse events at C04 (beyond its 3-sigma limit)."
    )
    assert said["rise"][0] == (
        "Adverse events: 226 per 1,000 treatments in 2025Q2 (576 in 2,544): no clear change "
        "from the previous quarter, 2025Q1 (206; rate ratio 1.10, 95% CI 0.97 to 1.24, "
        "p = 0.124); no clear change from the three quarters before, 2024Q3 to 2025Q1 (210; "
        "rate ratio 1.08, 95% CI 0.98 to 1.19, p = 0.128)."
    )


def test_noise_is_no_clear_change(said) -> None:
    assert said["noise"][0].startswith(
        "Adverse events: 202 per 1,000 treatments in 2024Q4 (481 in 2,382): no clear change "
        "from the previous quarter, 2024Q3 (223; rate ratio 0.90, 95% CI 0.80 to 1.03"
    )
    assert said["noise"][2] == "No serious event and no never event in 2024Q4."


def test_confounding_is_explained_by_body_region(said) -> None:
    """S3: crude 1.18 (more events with ultrasound), adjusted 0.94: the adjusted ratio
    leads and the crude difference is put down to where needling was done."""
    ultrasound = next(s for s in said["all"] if s.startswith("Ultrasound guidance"))
    assert ultrasound == (
        "Ultrasound guidance: no clear difference once body region is allowed for (against "
        "not ultrasound-guided: ultrasound-guided 0.94, 95% CI 0.80 to 1.10). The crude "
        "figures show more events for ultrasound-guided (1.18); that difference comes from "
        "where needling was done (body region), not from the guidance."
    )


def test_a_single_pneumothorax_is_named_first(base_db, tmp_path) -> None:
    """tests/data: one pneumothorax (PTX, serious by rule) in treatment T1 at C01, with its
    onset on 2025-03-02 (the listing dates an event by its onset)."""
    with duckdb.connect(str(base_db), read_only=True) as con:
        overview = views.overview(con, Filters(*parse_quarter("2025Q1")))
    serious = [s for s in overview.statements if s.key == "serious"]
    assert [s.text for s in serious] == [
        "Serious: pneumothorax on 2 Mar 2025 at C01 (upper trapezius, ultrasound-guided)."
    ]
    assert serious[0].tone == "concern"


# ---------------------------------------------------------------- pure functions
def test_change_statement_verdicts_follow_the_exact_interval() -> None:
    """Source: R 4.2.2, poisson.test(c(60, 30), c(1000, 1000)): rate ratio 2, 95% CI
    1.269893 to 3.211725, p = 0.002060266."""
    now, before = Counts("2026Q3", 60, 1000), Counts("2026Q2", 30, 1000)
    made = change_statement("adverse events", now, before, None)
    assert made.text == (
        "Adverse events: 60.0 per 1,000 treatments in 2026Q3 (60 in 1,000): higher than the "
        "previous quarter, 2026Q2 (30.0; rate ratio 2.00, 95% CI 1.27 to 3.21, p = 0.002)."
    )
    assert made.tone == "concern"
    fell = change_statement("adverse events", before, now, None)
    assert fell.tone == "improvement" and "lower than the previous quarter" in fell.text
    same = change_statement("adverse events", now, Counts("q", 58, 1000), None)
    assert same.tone == "neutral" and "no clear change from the previous quarter" in same.text


def test_trend_statement_groups_by_place_and_direction() -> None:
    def s(what: str, unit: str, rule: str, direction: str) -> SignalStatement:
        return SignalStatement(unit, "2025-04", "2025-06", rule, direction, "", what)

    made = trend_statement(
        [
            s("adverse events", "C04", "beyond 3-sigma limit", "high"),
            s("fainting events", "C04", "beyond 3-sigma limit", "high"),
            s("dizziness events", "C04", "beyond 3-sigma limit", "high"),
            s("headache events", "all", "run of 7 below centre", "low"),
        ],
        "2025Q2",
        True,
    )
    assert made.text == (
        "Special cause of concern in 2025Q2: a rise in all adverse events and in fainting and "
        "dizziness events at C04 (each beyond its 3-sigma limit) and of improvement: a fall "
        "in headache events (run of 7 below centre)."
    )
    assert trend_statement([], "2025Q2", True).text == (
        "No special cause in 2025Q2 on the monthly control charts (all events, each category "
        "with enough events, each clinic): the variation is what chance gives."
    )
    # one clinic in scope: no clinic had a chart of its own, so none is claimed
    assert trend_statement([], "2025Q2", True, each_unit=False).text == (
        "No special cause in 2025Q2 on the monthly control charts (all events, each category "
        "with enough events): the variation is what chance gives."
    )
    assert trend_statement([], "2025Q2", False).text.startswith("Too few events")


def test_serious_statements_name_or_count() -> None:
    listing = pd.DataFrame(
        {
            "event_date": pd.to_datetime(["2026-09-18", "2026-07-22"]),
            "clinic": ["C06", "C02"],
            "category": ["pneumothorax", "forgotten_needle"],
            "severity": ["serious", "mild"],
            "body_region": ["upper_trapezius", "cervical_paraspinals"],
            "ultrasound": ["no", "yes"],
        }
    )
    assert [s.text for s in serious_statements(listing, {}, "2026Q3")] == [
        "Serious: pneumothorax on 18 Sep 2026 at C06 (upper trapezius, not ultrasound-guided).",
        "Never event: forgotten needle on 22 Jul 2026 at C02 (cervical paraspinals, "
        "ultrasound-guided).",
    ]
    counted = serious_statements(None, {"serious": None, "forgotten_needle": 0}, "2026Q3")
    assert [s.text for s in counted] == ["Serious events in 2026Q3: suppressed (1 to 7)."]
    none = serious_statements(None, {"serious": 0, "forgotten_needle": 0}, "2026Q3")
    assert [s.text for s in none] == ["No serious event and no never event in 2026Q3."]


def test_factor_statement_leads_with_the_adjusted_ratio() -> None:
    table = pd.DataFrame(
        {
            "analysis": ["crude", "adjusted for body_region (Mantel-Haenszel)"] * 2,
            "level": ["0-20", "0-20", ">200", ">200"],
            "reference": ["21-60"] * 4,
            "rate_ratio": [1.5, 1.45, 0.7, 0.62],
            "ci_low": [1.2, 1.1, 0.5, 0.45],
            "ci_high": [1.9, 1.9, 0.98, 0.86],
        }
    )
    made = factor_statement("training_band", table)
    assert made.text == (
        "Training hours, once body region is allowed for: practitioners with 0-20 h of "
        "training have more events than those with 21-60 h (1.45, 95% CI 1.10 to 1.90); "
        "practitioners with >200 h of training have fewer events than those with 21-60 h "
        "(0.62, 95% CI 0.45 to 0.86)."
    )
    assert made.tone == "concern"
    bound = table.assign(ci_high=[1.9, 1.9, 0.98, 0.9996])
    assert "(0.62, 95% CI 0.45 to 1.000)" in factor_statement("training_band", bound).text


@given(
    now=st.tuples(st.integers(0, 400), st.integers(1, 5000)),
    before=st.tuples(st.integers(0, 400), st.integers(1, 5000)),
)
def test_change_verdict_is_the_exact_intervals_for_any_counts(now, before) -> None:
    """For any counts (zero events included) the sentence never fails, says "higher" or
    "lower" exactly when the exact 95% interval (R poisson.test) excludes 1, prints the
    counts it rests on, and its tone follows the verdict."""
    from dashboard.stats.ratios import exact_rate_ratio

    made = change_statement(
        "adverse events", Counts("2026Q3", *now), Counts("2026Q2", *before), None
    )
    rr = exact_rate_ratio(now[0], now[1], before[0], before[1])
    higher = rr.low is not None and rr.low > 1
    lower = rr.high is not None and rr.high < 1
    assert ("higher than the previous quarter" in made.text) == higher
    assert ("lower than the previous quarter" in made.text) == lower
    assert ("no clear change from the previous quarter" in made.text) == (not higher and not lower)
    assert made.tone == ("concern" if higher else "improvement" if lower else "neutral")
    assert f"({now[0]:,} in {now[1]:,})" in made.text


_RATIO = st.floats(0.05, 20, allow_nan=False)


@given(
    rows=st.lists(st.tuples(_RATIO, _RATIO, _RATIO, _RATIO, _RATIO, _RATIO), min_size=1,
                  max_size=4),
)  # fmt: skip
def test_factor_statement_says_a_difference_only_when_an_adjusted_interval_excludes_1(
    rows,
) -> None:
    """For any crude and adjusted ratios with intervals: "no clear difference" exactly when
    every adjusted interval contains 1; the crude difference is put down to body region
    only when the crude interval excludes 1 and the adjusted ratio is on the other side."""
    levels = [f"L{i}" for i in range(len(rows))]
    records = []
    for level, (c, c1, c2, a, a1, a2) in zip(levels, rows, strict=True):
        (c_lo, c_hi), (a_lo, a_hi) = sorted((c1, c2)), sorted((a1, a2))
        c, a = min(max(c, c_lo), c_hi), min(max(a, a_lo), a_hi)  # the ratio in its interval
        records += [
            {"analysis": "crude", "level": level, "reference": "ref", "rate_ratio": c,
             "ci_low": c_lo, "ci_high": c_hi},
            {"analysis": "adjusted for body_region (Mantel-Haenszel)", "level": level,
             "reference": "ref", "rate_ratio": a, "ci_low": a_lo, "ci_high": a_hi},
        ]  # fmt: skip
    table = pd.DataFrame(records)
    made = factor_statement("technique", table)
    adjusted = table[table["analysis"] != "crude"]
    clear = ((adjusted["ci_low"] > 1) | (adjusted["ci_high"] < 1)).any()
    assert ("no clear difference" in made.text) == (not clear)
    crude = table[table["analysis"] == "crude"].set_index("level")
    reversed_ = [
        lv
        for lv, a in zip(adjusted["level"], adjusted["rate_ratio"], strict=True)
        if (crude.loc[lv, "ci_low"] > 1 or crude.loc[lv, "ci_high"] < 1)
        and (crude.loc[lv, "rate_ratio"] > 1) != (a > 1)
    ]
    assert made.text.count("comes from where needling was done") == len(reversed_)
