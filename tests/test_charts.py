"""Figures built from real analysis-layer output: exact trace data, axes, no NaN."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboard.analysis.rates import NO_EXPOSURE, incidence_table
from dashboard.figures.charts import (
    OKABE_ITO,
    RATIO_AXIS,
    funnel_figure,
    g_chart_figure,
    rate_bars,
    ratio_forest,
    trend_figure,
    u_chart_figure,
)
from dashboard.figures.control_charts import MDC_CAPTION
from dashboard.stats import poisson_rate
from dashboard.stats.compare import compare_levels
from dashboard.stats.funnel import funnel
from dashboard.stats.gchart import g_chart
from dashboard.stats.regression import NOTE_NO_EVENTS, NOTE_REFERENCE, fit_rate_model
from dashboard.stats.spc import RULE_BEYOND, RULE_G_LOW, u_chart

PER_1000 = "Events per 1,000 treatments"


def assert_clean(fig: go.Figure) -> None:
    """No NaN/inf in the JSON, and no base64 arrays that could hide them."""
    text = fig.to_json()
    assert "NaN" not in text and "Infinity" not in text and "bdata" not in text
    assert json.loads(text)["layout"]["template"]["layout"]  # plotly_white is embedded
    assert fig.layout.template.layout.plot_bgcolor == "white"


def trace(fig: go.Figure, name: str) -> go.Scatter:
    found = [t for t in fig.data if t.name == name]
    assert len(found) == 1, [t.name for t in fig.data]
    return found[0]


def rate_table(rows: list[tuple[str, int, int]], dim: str = "level") -> pd.DataFrame:
    """An incidence_table-shaped frame (same columns, same Poisson intervals)."""
    out = []
    for level, events, treatments in rows:
        e = poisson_rate(events, treatments) if treatments > 0 else None
        out.append(
            {dim: level, "treatments": treatments, "events": events, "treatments_affected": events,
             "rate_per_1000": e.rate if e else None, "ci_low_per_1000": e.low if e else None,
             "ci_high_per_1000": e.high if e else None, "ci_method": e.method if e else NO_EXPOSURE}
        )  # fmt: skip
    return pd.DataFrame(out)


def errors_match(t: go.Bar | go.Scatter, rate, low, high, axis: str = "error_y") -> None:
    err = getattr(t, axis)
    assert list(err.array) == pytest.approx([h - r for r, h in zip(rate, high, strict=True)])
    assert list(err.arrayminus) == pytest.approx([r - lo for r, lo in zip(rate, low, strict=True)])


# ---------------------------------------------------------------- rate_bars
def test_rate_bars_grouped_from_real_incidence_table(fixture_con) -> None:
    table = incidence_table(fixture_con, ("body_region", "ultrasound"))
    fig = rate_bars(
        table, "body_region", colour="ultrasound", title="Events per 1,000 treatments by region"
    )
    assert list(dict.fromkeys(table["ultrasound"])) == ["no", "yes"]
    assert [t.name for t in fig.data] == ["not ultrasound-guided", "ultrasound-guided"]
    for t, code in zip(fig.data, ["no", "yes"], strict=True):
        part = table[table["ultrasound"] == code]
        assert list(t.x) == list(part["body_region"])
        assert list(t.y) == list(part["rate_per_1000"])
        errors_match(t, part["rate_per_1000"], part["ci_low_per_1000"], part["ci_high_per_1000"])
        assert [c[1] for c in t.customdata] == list(part["events"])
        assert [c[2] for c in t.customdata] == list(part["treatments"])
        assert "Events / treatments" in t.hovertemplate and "95% CI" in t.hovertemplate
    assert {t.marker.color for t in fig.data} <= set(OKABE_ITO)
    assert list(fig.layout.xaxis.categoryarray) == list(dict.fromkeys(table["body_region"]))
    assert fig.layout.yaxis.title.text == PER_1000
    assert fig.layout.xaxis.title.text == "Body region"
    assert fig.layout.barmode == "group"
    assert fig.layout.legend.title.text == "Ultrasound guidance"
    regions = list(dict.fromkeys(table["body_region"]))
    assert list(fig.layout.xaxis.tickvals) == regions
    assert list(fig.layout.xaxis.ticktext) == [r.replace("_", " ") for r in regions]
    assert "shoulder rotator cuff" in fig.layout.xaxis.ticktext
    assert fig.layout.yaxis.range[0] == 0
    assert fig.layout.yaxis.range[1] == pytest.approx(table["ci_high_per_1000"].max() * 1.08)
    assert t.customdata[0][0] == f"{regions[0].replace('_', ' ')}, ultrasound-guided"
    assert_clean(fig)


def test_rate_bars_keeps_row_order_and_leaves_undefined_rates_empty() -> None:
    table = rate_table([("lumbar", 3, 900), ("cervical", 0, 400), ("neck", 0, 0), ("arm", 7, 2100)])
    table = table.rename(columns={"treatments": "insertions"}).assign(treatments=[90, 40, 5, 210])
    fig = rate_bars(table, "level", title="Events per 10,000 needle insertions", per="insertions")
    (bar,) = fig.data
    assert list(bar.x) == ["lumbar", "cervical", "neck", "arm"]
    assert list(fig.layout.xaxis.categoryarray) == ["lumbar", "cervical", "neck", "arm"]
    assert bar.y[2] is None and bar.error_y.array[2] is None and bar.error_y.arrayminus[2] is None
    assert bar.y[1] == 0.0 and bar.error_y.arrayminus[1] == 0.0
    # per 10,000 insertions: ten times the per-1,000 rate of the table
    assert list(bar.y) == [
        10 * table["rate_per_1000"][0],
        0.0,
        None,
        10 * table["rate_per_1000"][3],
    ]
    assert bar.error_y.array[1] == pytest.approx(10 * table["ci_high_per_1000"][1])
    assert [c[1:3] for c in bar.customdata] == [[3, 900], [0, 400], [0, 0], [7, 2100]]
    assert bar.customdata[0][3] == f"{10 * table['rate_per_1000'][0]:.3g}"
    assert bar.customdata[2][5] == NO_EXPOSURE
    assert "Events / needle insertions" in bar.hovertemplate
    assert "per 10,000 needle insertions" in bar.hovertemplate
    assert fig.layout.yaxis.title.text == "Events per 10,000 needle insertions"
    assert fig.layout.yaxis.range[0] == 0
    assert_clean(fig)


def test_rate_bars_rejects_empty_and_bad_input() -> None:
    table = rate_table([("a", 1, 100)])
    with pytest.raises(ValueError, match="empty"):
        rate_bars(table.iloc[0:0], "level", title="t")
    with pytest.raises(ValueError, match="missing column"):
        rate_bars(table, "clinic", title="t")
    with pytest.raises(ValueError, match="per must be"):
        rate_bars(table, "level", title="t", per="needles")
    with pytest.raises(ValueError, match="insertions"):
        rate_bars(table, "level", title="t", per="insertions")


# ---------------------------------------------------------------- ratio_forest
def compare_counts() -> pd.DataFrame:
    rows = []
    for level, ev, tr in (("A", (6, 4), (600, 400)), ("B", (9, 3), (300, 200)),
                          ("C", (0, 0), (150, 150)), ("D", (2, 1), (80, 20))):  # fmt: skip
        for stratum, e, t in zip(("yes", "no"), ev, tr, strict=True):
            rows.append({"clinic": level, "ultrasound": stratum, "events": e, "treatments": t})
    return pd.DataFrame(rows)


def test_ratio_forest_crude_and_adjusted_from_compare_levels() -> None:
    table = compare_levels(compare_counts(), "clinic", stratum="ultrasound")
    fig = ratio_forest(table, label="level", title="Rate ratio vs clinic A, per 1,000 treatments")
    assert fig.layout.xaxis.type == "log" and fig.layout.xaxis.title.text == RATIO_AXIS
    line = trace(fig, "Rate ratio 1 (no difference)")
    assert list(line.x) == [1.0, 1.0]
    assert list(fig.layout.yaxis.ticktext) == ["B", "C", "D"]
    for name, analysis in (("Crude", "crude"), ("Adjusted for ultrasound (Mantel-Haenszel)", None)):
        rows = table[table["analysis"] == analysis] if analysis else table.iloc[1::2]
        rows = rows[rows["level"] != "C"]  # C has no events: ratio 0, not on a log axis
        t = trace(fig, name)
        assert list(t.x) == list(rows["rate_ratio"])
        errors_match(t, rows["rate_ratio"], rows["ci_low"], rows["ci_high"], "error_x")
        assert [c[5] for c in t.customdata] == [
            f"{e} / {n} (reference 10 / 1,000)"
            for e, n in zip(rows["events"], rows["treatments"], strict=True)
        ]
    crude, adjusted = trace(fig, "Crude"), trace(fig, "Adjusted for ultrasound (Mantel-Haenszel)")
    assert crude.marker.color != adjusted.marker.color
    assert all(c < a for c, a in zip(crude.y, adjusted.y, strict=True))  # offset within a row
    text = trace(fig, "Not plotted on the log axis (hover for why)")
    assert len(text.x) == 2 and all(x == 1.0 for x in text.x)
    notes = table[table["level"] == "C"]["note"].tolist()
    assert [c[6] for c in text.customdata] == notes and all(notes)
    assert text.text[0].startswith("0 (95% CI to")
    assert_clean(fig)


def test_ratio_forest_none_ratio_is_a_label_not_a_point() -> None:
    counts = pd.DataFrame(
        {"clinic": ["A", "B", "C"], "events": [0, 0, 4], "treatments": [900, 100, 50]}
    )
    table = compare_levels(counts, "clinic")  # B vs A: 0/0, None; C vs A: infinite
    assert table["rate_ratio"].iloc[0] is None
    fig = ratio_forest(table, label="level", title="t")
    text = trace(fig, "Not plotted on the log axis (hover for why)")
    assert list(text.text) == ["not estimable", f"infinite (95% CI from {table.ci_low[1]:.3g})"]
    assert [c[6] for c in text.customdata] == list(table["note"])
    assert [t.name for t in fig.data if t.mode == "markers"] == []
    assert_clean(fig)


def test_ratio_forest_rate_model_reference_and_zero_event_level() -> None:
    cells = pd.DataFrame(
        {"region": ["neck", "neck", "back", "back", "arm", "arm"],
         "ultrasound": ["yes", "no"] * 3, "events": [8, 12, 5, 9, 0, 0],
         "treatments": [900, 1100, 1000, 1300, 400, 500]}
    )  # fmt: skip
    model = fit_rate_model(cells, ["region", "ultrasound"], method="poisson")
    fig = ratio_forest(model.table, label=("term", "level"), title="Adjusted rate ratios")
    tab = model.table
    est = tab[(tab["note"] == "") & tab["irr"].notna()]
    t = trace(fig, "Incidence rate ratio (model)")
    assert list(t.x) == list(est["irr"])
    errors_match(t, est["irr"], est["ci_low"], est["ci_high"], "error_x")
    ref = trace(fig, "Reference level (ratio 1)")
    refs = tab[tab["note"] == NOTE_REFERENCE]
    assert list(ref.x) == [1.0] * len(refs) and ref.error_x.array is None
    assert [c[0] for c in ref.customdata] == [
        "Region: back",
        "Ultrasound guidance: not ultrasound-guided",
    ]
    assert list(zip(refs.term, refs.level, strict=True)) == [
        ("region", "back"),
        ("ultrasound", "no"),
    ]
    assert ref.marker.color == "#000000"
    text = trace(fig, "Not plotted on the log axis (hover for why)")
    assert [c[0] for c in text.customdata] == ["Region: arm"]
    assert text.customdata[0][6] == NOTE_NO_EVENTS
    assert fig.layout.xaxis.type == "log"
    words = {"yes": "ultrasound-guided", "no": "not ultrasound-guided"}
    assert list(fig.layout.yaxis.ticktext) == [
        "Ultrasound guidance: " + words[b] if a == "ultrasound" else f"Region: {b}"
        for a, b in zip(tab.term, tab.level, strict=True)
    ]
    assert_clean(fig)


def test_ratio_forest_rejects_empty_or_ratio_less_tables() -> None:
    table = compare_levels(compare_counts(), "clinic", stratum="ultrasound")
    with pytest.raises(ValueError, match="empty"):
        ratio_forest(table.iloc[0:0], label="level", title="t")
    with pytest.raises(ValueError, match="rate_ratio"):
        ratio_forest(table.drop(columns="rate_ratio"), label="level", title="t")


# ---------------------------------------------------------------- trend_figure
@pytest.mark.parametrize(
    ("period", "labels"),
    [("month", ["2026-03", "2026-01", "2026-02"]), ("quarter", ["2026Q2", "2025Q4", "2026Q1"])],
)
def test_trend_figure_sorted_line_and_band(period: str, labels: list[str]) -> None:
    table = rate_table(list(zip(labels, [4, 0, 9], [800, 700, 1500], strict=True)), period)
    fig = trend_figure(table, period, title=f"Events per 1,000 treatments by {period}")
    ordered = table.sort_values(period)
    line = trace(fig, "Events per 1,000 treatments")
    assert list(line.x) == sorted(labels) and line.mode == "lines+markers"
    assert list(line.y) == list(ordered["rate_per_1000"])
    assert [c[1:3] for c in line.customdata] == ordered[["events", "treatments"]].values.tolist()
    band = trace(fig, "95% interval (exact Poisson)")
    assert band.fill == "tonexty" and list(band.y) == list(ordered["ci_low_per_1000"])
    assert list(fig.data[0].y) == list(ordered["ci_high_per_1000"])
    assert fig.layout.xaxis.type == "category"
    assert fig.layout.yaxis.title.text == PER_1000
    assert fig.layout.xaxis.title.text == period.capitalize()
    assert fig.layout.yaxis.range[0] == 0  # a trend's axis starts at zero too
    assert fig.layout.yaxis.range[1] == pytest.approx(table["ci_high_per_1000"].max() * 1.08)
    assert_clean(fig)


def test_trend_figure_gap_for_undefined_rate_and_errors() -> None:
    table = rate_table([("2026-01", 2, 500), ("2026-02", 0, 0)], "month")
    table = table.rename(columns={"treatments": "insertions"}).assign(treatments=[50, 3])
    fig = trend_figure(table, "month", title="t", per="insertions")
    assert fig.data[2].y[1] is None and fig.data[0].y[1] is None
    assert list(fig.data[2].y)[0] == 10 * table["rate_per_1000"][0]
    assert fig.layout.yaxis.title.text == "Events per 10,000 needle insertions"
    assert fig.layout.yaxis.range[0] == 0
    assert_clean(fig)
    with pytest.raises(ValueError, match="empty"):
        trend_figure(table.iloc[0:0], "month", title="t")
    with pytest.raises(ValueError, match="more than one row"):
        trend_figure(pd.concat([table, table]), "month", title="t")


# ---------------------------------------------------------------- u-chart
def test_u_chart_figure_limits_and_signals_in_making_data_count_colours() -> None:
    """NHS Making Data Count (NHSRplotthedots' colours): fewer events is better, so the
    August spike (left out of its own baseline, as the analysis does) is a special cause
    of concern, orange #e46c0a; other points common cause, grey #a6a6a6; the legend says
    what each colour means in words (a printed chart has no hover); the rate axis starts
    at zero."""
    periods = [f"2025-{m:02d}" for m in range(1, 13)]
    events = [5, 6, 4, 5, 7, 5, 6, 25, 5, 4, 6, 5]
    exposure = [1000, 1100, 900, 1000, 1200, 950, 1000, 1000, 1050, 980, 1000, 1020]
    chart = u_chart(periods, events, exposure, baseline=[p != "2025-08" for p in periods])
    pts = chart.points
    fig = u_chart_figure(chart, title="Events per 1,000 treatments, u-chart by month")
    line = trace(fig, "Events per 1,000 treatments")
    assert list(line.x) == periods and list(line.y) == list(pts["rate"])
    upper, lower = (t for t in fig.data if t.name == "Process limits (3-sigma)")
    assert list(upper.y) == list(pts["ucl3"]) and list(lower.y) == list(pts["lcl3"])
    assert upper.line.shape == "hvh" and upper.showlegend and not lower.showlegend
    centre = next(t for t in fig.data if t.name.startswith("Centre line"))
    assert list(centre.y) == list(pts["centre"])
    concern = next(t for t in fig.data if t.name.startswith("Special cause of concern"))
    common = next(t for t in fig.data if t.name.startswith("Common cause"))
    assert list(concern.x) == ["2025-08"] and concern.marker.color == "#e46c0a"
    assert list(common.x) == [p for p in periods if p != "2025-08"]
    assert common.marker.color == "#a6a6a6"
    assert RULE_BEYOND in concern.customdata[0][6]
    assert [c[1:3] for c in common.customdata][:2] == [[5, 1000], [6, 1100]]
    assert concern.name == "Special cause of concern (higher)"
    assert "7 in a row above the centre line" in MDC_CAPTION
    assert not any("hover" in (t.name or "") for t in fig.data)
    assert fig.layout.yaxis.rangemode == "tozero"
    assert fig.layout.yaxis.title.text == PER_1000 and fig.layout.xaxis.title.text == "Period"
    assert_clean(fig)


def test_u_chart_figure_common_cause_only_and_an_incomplete_month() -> None:
    chart = u_chart(
        ["2025Q1", "2025Q2", "2025Q3", "2025Q4"], [5, 6, 5, 1], [1000, 1000, 1000, 200],
        incomplete=[False, False, False, True],
    )  # fmt: skip
    fig = u_chart_figure(chart, title="t")
    names = [t.name for t in fig.data]
    assert not any(n.startswith("Special cause") for n in names)
    hollow = next(t for t in fig.data if t.name.startswith("Incomplete period"))
    assert list(hollow.x) == ["2025Q4"] and hollow.marker.color == "white"
    assert list(next(t for t in fig.data if t.name.startswith("Common cause")).x) == [
        "2025Q1", "2025Q2", "2025Q3",
    ]  # fmt: skip
    assert_clean(fig)
    with pytest.raises(ValueError, match="empty"):
        u_chart_figure(dataclasses.replace(chart, points=chart.points.iloc[0:0]), title="t")


# ---------------------------------------------------------------- g-chart
def test_g_chart_figure_gaps_limits_and_signal() -> None:
    gaps = [3000, 3500, 2800, 0, 4000, 3100, 3300, 2900]  # LCL > 0 needs mean gap > ~740
    chart = g_chart(gaps, labels=[f"2025-0{i + 1}-15" for i in range(8)])
    fig = g_chart_figure(
        chart, title="Treatments between serious events", events_label="serious events"
    )
    line = trace(fig, "Treatments between serious events")
    assert list(line.y) == gaps and list(line.x) == list(range(1, 9))
    assert [c[2] for c in line.customdata] == gaps and line.customdata[0][1] == "2025-01-15"
    upper, lower = (t for t in fig.data if t.name.startswith("Probability limits"))
    assert set(upper.y) == {chart.ucl_prob} and set(lower.y) == {chart.lcl_prob}
    assert set(next(t for t in fig.data if t.name.startswith("Centre")).y) == {chart.centre}
    signals = trace(fig, "Signal: gap beyond a probability limit")
    assert len(signals.x) == len(chart.signals) == 1 and list(signals.x) == [4]
    assert signals.customdata[0][3] == RULE_G_LOW
    assert fig.layout.yaxis.title.text == "Treatments between serious events (gap)"
    assert_clean(fig)
    with pytest.raises(ValueError, match="empty"):
        g_chart_figure(dataclasses.replace(chart, points=chart.points.iloc[0:0]), title="t")


# ---------------------------------------------------------------- funnel
def test_funnel_figure_limits_points_and_outliers() -> None:
    units = ["C01", "C02", "C03", "C04", "C05"]
    result = funnel(units, [10, 12, 40, 8, 11], [2000, 2500, 2200, 1500, 2100])
    fig = funnel_figure(result, title="Events per 1,000 treatments by clinic (funnel)")
    curve = result.curve
    for level, name in (("95", "95% limits"), ("998", "99.8% limits")):
        upper, lower = (t for t in fig.data if t.name == name)
        assert list(upper.x) == list(curve["exposure"])
        assert list(upper.y) == list(curve[f"hi{level}"])
        assert list(lower.y) == list(curve[f"lo{level}"])
    target = next(t for t in fig.data if t.name.startswith("Target"))
    assert set(target.y) == {result.target}
    points = [t for t in fig.data if t.mode == "markers+text"]
    shown = {u: (x, y) for t in points for u, x, y in zip(t.text, t.x, t.y, strict=True)}
    table = result.units.set_index("unit")
    assert shown == {u: (table.exposure[u], table.rate[u]) for u in units}
    assert result.outliers == ("C03",)
    outlier = next(t for t in points if t.name.startswith("Outside"))
    assert list(outlier.text) == ["C03"] and outlier.marker.color == "#D55E00"
    assert outlier.customdata[0][1:3] == [40, 2200] and "Clinic" in outlier.hovertemplate
    assert fig.layout.xaxis.title.text == "Treatments per clinic (exposure)"
    assert fig.layout.yaxis.title.text == PER_1000
    assert_clean(fig)
    with pytest.raises(ValueError, match="empty"):
        funnel_figure(dataclasses.replace(result, units=result.units.iloc[0:0]), title="t")
