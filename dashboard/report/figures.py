"""The report's charts, built from its sections with the dashboard's own figure functions.

Pure (no Streamlit, no database): Report in, ``{section key: Figure}`` out, so the HTML
edition draws them interactively and the PDF as static images, with the same data. A
suppressed row's rate is None, so its bar is simply not drawn.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.figures.charts import rate_bars, ratio_forest
from dashboard.figures.control_charts import funnel_figure, u_chart_figure
from dashboard.stats.spc import METHOD_U, UChart

from .model import Report

RATE_TITLE = "events per 1,000 treatments"
BAR_SECTIONS = {
    "category": "Adverse events per 1,000 treatments, by category (95% CI)",
    "severity": "Adverse events per 1,000 treatments, by severity tier (95% CI)",
    "training_band": "Adverse events per 1,000 treatments, by training hours (95% CI)",
    "experience_band": "Adverse events per 1,000 treatments, by years of experience (95% CI)",
    "ultrasound": "Adverse events per 1,000 treatments, by ultrasound guidance (95% CI)",
}


def as_rate_table(frame: pd.DataFrame, dim: str) -> pd.DataFrame:
    """A report section in the shape of ``incidence_table`` (what ``rate_bars`` draws)."""
    return pd.DataFrame(
        {
            dim: [str(v).replace("_", " ") for v in frame["level"]],
            "treatments": frame["treatments"].tolist(),
            "events": [None if pd.isna(e) else int(e) for e in frame["events"]],
            "treatments_affected": [None] * len(frame),
            "rate_per_1000": frame["value"].tolist(),
            "ci_low_per_1000": frame["ci_low"].tolist(),
            "ci_high_per_1000": frame["ci_high"].tolist(),
            "ci_method": frame["method"].tolist(),
        }
    )


def _ratio_table(frame: pd.DataFrame) -> pd.DataFrame:
    label = {
        "ultrasound": "Ultrasound",
        "training_band": "Training",
        "experience_band": "Experience",
    }
    return pd.DataFrame(
        {
            "analysis": [
                "crude" if m.endswith("crude") else "adjusted for body region"
                for m in frame["measure"]
            ],
            "level": [
                f"{label.get(d, d)} {lv} vs {ref}"
                for d, lv, ref in zip(
                    frame["dimension"], frame["level"], frame["reference"], strict=True
                )
            ],
            "rate_ratio": frame["value"].tolist(),
            "ci_low": frame["ci_low"].tolist(),
            "ci_high": frame["ci_high"].tolist(),
            "note": ["suppressed" if s else "" for s in frame["suppressed"]],
        }
    )


def _peer_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The feedback edition's peers section as ``ratio_forest`` draws it."""
    names = {"all": "All adverse events", "severity": "Serious events"}
    return pd.DataFrame(
        {
            "analysis": "standardised for body region",
            "level": [
                names.get(d, str(lv))
                for d, lv in zip(frame["dimension"], frame["level"], strict=True)
            ],
            "rate_ratio": frame["value"].tolist(),
            "ci_low": frame["ci_low"].tolist(),
            "ci_high": frame["ci_high"].tolist(),
            "events": frame["events"].tolist(),
            "treatments": frame["treatments"].tolist(),
            "note": frame["method"].tolist(),
        }
    )


def report_figures(report: Report) -> dict[str, go.Figure]:
    """Every chart of the report, keyed by the section it illustrates, in print order."""
    figures: dict[str, go.Figure] = {}
    for key, title in BAR_SECTIONS.items():
        if report.has(key):
            frame = report.section(key).frame
            if key == "category":
                # categories with no events are listed in the table only
                frame = frame[frame["suppressed"] | frame["events"].fillna(1).ne(0)]
            figures[key] = rate_bars(as_rate_table(frame, key), key, title=title)
    ratios = report.section("ratios").frame if report.has("ratios") else None
    if ratios is not None and len(ratios):
        figures["ratios"] = ratio_forest(
            _ratio_table(ratios),
            label="level",
            title="Rate ratios, crude and adjusted for body region (95% CI, log scale)",
        )
    if report.has("peers"):
        figures["peers"] = ratio_forest(
            _peer_table(report.section("peers").frame),
            label="level",
            title="Observed over expected at the network's rates (95% CI, log scale)",
        )
        figures["peers"].update_layout(
            legend={"orientation": "h", "x": 0, "xanchor": "left", "y": -0.12, "yanchor": "top"}
        )
    points = report.trend_points
    if points is not None:
        chart = UChart(points, (), float(points["centre"].iloc[0]), 1000.0, METHOD_U)
        figures["trend"] = u_chart_figure(
            chart, title="u-chart: adverse events per 1,000 treatments by month"
        )
        # on paper the legend goes under the chart, so the months get the full width
        figures["trend"].update_layout(
            legend={"orientation": "h", "x": 0, "xanchor": "left", "y": -0.3, "yanchor": "top"},
            margin={"b": 40},
        )
        figures["trend"].update_xaxes(title_text=None)  # the month labels say it
    if report.funnel is not None:
        unit = (
            "Practitioner"
            if report.request.edition == "clinic" and report.request.clinic
            else "Clinic"
        )
        figures["units"] = funnel_figure(
            report.funnel,
            title=f"Adverse events per 1,000 treatments by {unit.lower()}: 95% and 99.8% limits",
            unit_label=unit,
        )
    return figures
