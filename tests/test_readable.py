"""Words, numbers and file names a reader cannot misread: the label dictionary, p-values,
the log-scale rate chart, funnel labels on outliers only, download names and rounding."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from dashboard.analysis.labels import CATEGORY, heading, headings, label, p_text, per_text
from dashboard.analysis.rates import incidence_table
from dashboard.app.downloads import file_stem, for_download, per_scaled
from dashboard.figures.charts import funnel_figure, label_outliers_only, rate_dots
from dashboard.stats.funnel import funnel
from dashboard.store.filters import Filters, parse_quarter
from ingest.vocab import CATEGORY_CODES, SEVERITY_TIERS, UNMAPPED, UNSPECIFIED

from .test_charts import assert_clean, rate_table


# ---------------------------------------------------------------- labels
def test_every_category_code_has_a_label_of_words() -> None:
    assert set(CATEGORY) == {*CATEGORY_CODES, UNMAPPED}
    assert all("_" not in label("category", c) for c in (*CATEGORY_CODES, UNMAPPED))
    assert [label("category", c) for c in ("pain_during", "soreness", "unmapped")] == [
        "pain during needling",
        "soreness afterwards",
        "unmapped term",
    ]
    assert [label("severity", s) for s in (*SEVERITY_TIERS, UNSPECIFIED)] == [
        "mild",
        "significant",
        "serious",
        "severity not given",
    ]


def test_unknown_codes_get_spaces_and_bands_their_unit() -> None:
    assert label("body_region", "shoulder_rotator_cuff") == "shoulder rotator cuff"
    assert label("category", "altered_emotions") == "altered emotions"
    assert label("technique", "in_and_out") == "in-and-out"
    assert label("ultrasound", "yes") == "ultrasound-guided"
    assert label("training_band", "21-60") == "21-60 h"
    assert label("experience_band", ">=10") == ">=10 years"
    assert label("training_band", "unknown") == "unknown"
    assert label("table", "adverse_events") == "adverse events"
    assert label("category", None) == ""
    assert heading("years_dn_experience") == "Years of dry-needling experience"
    assert heading("missing_percent") == "% blank"
    assert heading("some_new_column") == "Some new column"


def test_headings_read_a_table_as_a_whole() -> None:
    assert headings(["term", "level", "irr"]) == ["Factor", "Level", "Rate ratio"]
    assert headings(["term", "category", "events"]) == ["Reported as", "Category", "Events"]
    assert headings(["insertions", "rate_per_1000"]) == [
        "Needle insertions",
        "Per 1,000 needle insertions",
    ]


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0.015, "0.015"),
        (0.0153, "0.015"),
        (0.23646, "0.236"),
        (0.2367, "0.237"),
        (0.001, "0.001"),
        (0.00099, "<0.001"),
        (1.2e-30, "<0.001"),
        (0.0, "<0.001"),
        (1.0, "1.000"),
        (None, ""),
        (float("nan"), ""),
        ("x", ""),
    ],
)
def test_p_values_print_as_people_read_them(p: object, text: str) -> None:
    assert p_text(p) == text


def test_per_text_names_the_denominator() -> None:
    assert per_text("treatments") == "per 1,000 treatments"
    assert per_text("insertions") == "per 10,000 needle insertions"


# ---------------------------------------------------------------- log-scale rate chart
def test_rate_dots_show_rare_and_zero_categories_on_a_log_axis(fixture_con) -> None:
    filters = Filters(*parse_quarter("2025Q2"), clinics=("C04",))
    table = incidence_table(fixture_con, ("category",), filters)
    fig = rate_dots(table, "category", title="t")
    seen, zero = (t for t in fig.data if t.mode == "markers")
    has = table[table["events"] > 0]
    none = table[table["events"] == 0]
    assert len(none) > 0  # the case that a linear axis hides
    assert list(seen.y) == list(has["category"])
    assert list(seen.x) == list(has["rate_per_1000"])
    assert list(seen.error_x.array) == pytest.approx(
        list(has["ci_high_per_1000"] - has["rate_per_1000"])
    )
    assert list(zero.y) == list(none["category"])
    assert list(zero.x) == list(none["ci_high_per_1000"])  # at the upper bound
    assert zero.name == "No events: open triangle at the 95% upper bound"
    (text,) = (t for t in fig.data if t.mode == "text")
    assert list(text.y) == list(has["category"]) + list(none["category"])
    assert text.text[len(has)] == f"0 events, under {none['ci_high_per_1000'].iloc[0]:.3g}"
    assert fig.layout.xaxis.type == "log"
    assert fig.layout.xaxis.title.text == (
        "Events per 1,000 treatments (log scale: each gridline is 10 times the one before)"
    )
    assert list(fig.layout.yaxis.tickvals) == list(table["category"])
    assert list(fig.layout.yaxis.ticktext) == [CATEGORY[c] for c in table["category"]]
    lowest = min(has["ci_low_per_1000"].min(), none["ci_high_per_1000"].min())
    assert 10 ** fig.layout.xaxis.range[0] <= lowest  # nothing falls off the left
    assert 10 ** fig.layout.xaxis.range[1] >= table["ci_high_per_1000"].max()
    assert "0.1" in fig.layout.xaxis.ticktext and "1e" not in "".join(fig.layout.xaxis.ticktext)
    assert_clean(fig)


def test_rate_dots_per_insertions_are_per_10000() -> None:
    table = rate_table([("bruising", 80, 10_000), ("pneumothorax", 1, 10_000)], "category")
    table = table.assign(insertions=table["treatments"])
    fig = rate_dots(table, "category", title="t", per="insertions")
    (points,) = (t for t in fig.data if t.mode == "markers")
    assert list(points.x) == [80.0, 1.0]  # 8 and 0.1 per 1,000 insertions
    assert fig.layout.xaxis.title.text.startswith("Events per 10,000 needle insertions (log")
    assert points.customdata[1][3] == "1"
    assert "per 10,000 needle insertions" in points.hovertemplate


# ---------------------------------------------------------------- funnel labels
def test_funnel_labels_only_the_units_outside_the_limits() -> None:
    units = [f"C{i:02d}" for i in range(1, 15)]
    events = [10, 12, 40, 8, 11, 9, 10, 12, 11, 10, 9, 13, 1, 10]
    exposure = [2000, 2500, 2200, 1500, 2100, 1900, 2050, 2400, 2300, 1950, 1800, 2600, 2000, 2150]
    result = funnel(units, events, exposure)
    fig = label_outliers_only(funnel_figure(result, title="t"))
    texts = {u for t in fig.data if t.text is not None for u in t.text}
    assert texts == set(result.outliers) == {"C03", "C13"}
    within = next(t for t in fig.data if t.name == "Within 95% limits")
    assert within.mode == "markers" and within.text is None
    assert {c[0] for c in within.customdata} == set(units) - {"C03", "C13"}  # hover names them
    for t in fig.data:
        if t.text is not None:
            assert t.mode == "markers+text" and t.cliponaxis is False
            assert len(t.textposition) == len(t.text)
    low = next(t for t in fig.data if t.text is not None and "C13" in t.text)
    assert low.textposition[list(low.text).index("C13")] != "bottom center"  # not below 0
    assert_clean(fig)


def test_funnel_labels_of_close_outliers_do_not_overlap() -> None:
    from dashboard.figures.funnel_labels import POSITIONS

    units = ["A", "B", "C", "D"]
    result = funnel(units, [60, 61, 10, 11], [2000, 2010, 2000, 2100])
    fig = label_outliers_only(funnel_figure(result, title="t"))
    high = next(t for t in fig.data if t.text is not None and "A" in t.text)
    assert set(high.text) >= {"A", "B"}
    spots = dict(zip(high.text, high.textposition, strict=True))
    assert spots["A"] != spots["B"]  # two points a pixel apart: one name above, one below
    assert set(spots.values()) <= {p[0] for p in POSITIONS}


# ---------------------------------------------------------------- downloads
@pytest.mark.parametrize(
    ("filters", "what", "name"),
    [
        (
            Filters(*parse_quarter("2026Q3"), clinics=("C04",), category="fainting"),
            "rates-by-training-band",
            "c04-2026Q3-fainting-rates-by-training-band",
        ),
        (Filters(), "funnel-clinics", "all-clinics-all-dates-funnel-clinics"),
        (
            Filters(date(2025, 4, 1), date(2025, 5, 31), clinics=("C02", "C03")),
            "incidence-by-category",
            "c02-c03-2025-04-01-to-2025-05-31-incidence-by-category",
        ),
        (
            Filters(date_from=date(2025, 4, 1), clinics=("C1", "C2", "C3"), severity="serious"),
            "u-chart-month",
            "3-clinics-from-2025-04-01-serious-u-chart-month",
        ),
        (
            Filters(
                regions=("upper_trapezius",), techniques=("in_and_out",), category="pain_during"
            ),
            "x",
            "all-clinics-all-dates-upper-trapezius-in-and-out-pain-during-x",
        ),
        (Filters(clinics=("C04';DROP",)), "a b", "c04-drop-all-dates-a-b"),
    ],
)
def test_download_names_carry_scope_and_period(filters: Filters, what: str, name: str) -> None:
    assert file_stem(filters, what) == name


def test_download_rounds_rates_and_keeps_the_exact_estimate() -> None:
    table = pd.DataFrame(
        {
            "category": ["pain_during", "pneumothorax"],
            "treatments": [3000, 3000],
            "insertions": [24000, 24000],
            "events": [7, 0],
            "rate_per_1000": [7 / 24, 0.0],
            "ci_low_per_1000": [0.1172, 0.0],
            "ci_high_per_1000": [0.6011, 0.15375],
            "ci_method": ["exact Poisson (Garwood)", "exact Poisson (Garwood), 0 events"],
        }
    )
    shown = for_download(table, per="insertions")
    assert list(shown.columns) == [
        "category", "treatments", "insertions", "events", "rate_per_10000",
        "rate_per_10000_exact", "ci_low_per_10000", "ci_high_per_10000", "ci_method",
    ]  # fmt: skip
    assert shown["rate_per_10000"].tolist() == [2.92, 0.0]
    assert shown["rate_per_10000_exact"].tolist() == [7 / 24 * 10, 0.0]
    assert shown["ci_low_per_10000"].tolist() == [1.17, 0.0]
    assert shown["ci_high_per_10000"].tolist() == [6.01, 1.54]
    assert shown["category"].tolist() == ["pain_during", "pneumothorax"]  # codes: join keys
    assert per_scaled(table, "treatments") is table
    ratios = pd.DataFrame({"level": ["yes"], "rate_ratio": [1.177243], "ci_low": [1.0586],
                           "ci_high": [1.30917], "p_value": [0.0026041]})  # fmt: skip
    assert for_download(ratios).to_dict("records") == [
        {"level": "yes", "rate_ratio": 1.177, "rate_ratio_exact": 1.177243, "ci_low": 1.059,
         "ci_high": 1.309, "p_value": 0.0026041}
    ]  # fmt: skip
