"""Plotly figures for rate tables, rate ratios and trends (pure: no Streamlit, no database).

Inputs are what the analysis layer returns: ``dashboard.analysis.rates.incidence_table``,
``dashboard.analysis.comparisons.compare_table`` and ``RateModel.table``. Control charts and funnel
plots live in ``dashboard.figures.control_charts``, the rate-ratio forest plot in
``dashboard.figures.forest``; both are re-exported here, so every figure can be imported
from ``dashboard.figures.charts``. The conventions they share live in ``dashboard.figures.style``.

Conventions shared by every figure: the Okabe-Ito colour-blind safe palette
(:data:`OKABE_ITO`), ``template="plotly_white"``, axis titles that carry the unit and
denominator, trace data as plain lists with ``None`` (never NaN or inf, which would also
hide inside Plotly's base64 arrays), and ValueError for an empty input. Every label a
reader sees is a word from ``dashboard.analysis.labels`` (the data keep their codes); a rate axis
starts at zero unless its title says otherwise (the log-scale dot chart of
``dashboard.figures.dots``); rates per needle insertion are per 10,000 insertions.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.analysis.labels import heading, label
from dashboard.figures.control_charts import funnel_figure, g_chart_figure, u_chart_figure
from dashboard.figures.dots import rate_dots
from dashboard.figures.forest import ratio_forest
from dashboard.figures.funnel_labels import label_outliers_only
from dashboard.figures.style import (
    BLACK,
    BLUE,
    OKABE_ITO,
    RATE_COLUMNS,
    RATIO_AXIS,
    _rate_hover,
    error_bars,
    layout,
    new_figure,
    per_unit,
    rate_axis,
    require_rows,
    scale,
    scaled_list,
    zero_based,
)

__all__ = [
    "OKABE_ITO", "RATIO_AXIS", "funnel_figure", "g_chart_figure", "label_outliers_only",
    "rate_bars", "rate_dots", "ratio_forest", "trend_figure", "u_chart_figure",
]  # fmt: skip


def rate_bars(
    table: pd.DataFrame,
    x: str,
    *,
    colour: str | None = None,
    title: str,
    per: str = "treatments",
) -> go.Figure:
    """Bars of the rate by ``x`` (grouped by ``colour``) with exact 95% error bars.

    ``table`` is an ``incidence_table``; rows keep their order (the first appearance of
    each ``x`` level fixes its position). A row without a rate (no exposure) has an empty
    bar, its reason in hover. ``per`` is "treatments" (per 1,000) or "insertions" (per
    10,000 needle insertions) and picks the denominator shown in the axis title and
    hover. The data keep their codes; ticks and legend show words (``labels.label``). The
    rate axis runs from 0 to just above the highest interval.
    """
    columns = [x, *RATE_COLUMNS, *([colour] if colour else [])]
    require_rows(table, "rate table", columns)
    per_unit(per)
    factor = scale(per)
    table = table.reset_index(drop=True)
    xs = [str(v) for v in table[x]]
    groups = [str(v) for v in table[colour]] if colour else [""] * len(table)
    fig = new_figure()
    for i, group in enumerate(dict.fromkeys(groups)):
        rows = [j for j, g in enumerate(groups) if g == group]
        part = table.iloc[rows]
        names = [label(x, xs[j]) + (f", {label(colour, group)}" if colour else "") for j in rows]
        customdata, hovertemplate = _rate_hover(part, names, per)
        fig.add_trace(
            go.Bar(
                x=[xs[j] for j in rows],
                y=scaled_list(part["rate_per_1000"], factor),
                name=label(colour, group) if colour else rate_axis(per),
                marker_color=OKABE_ITO[i % len(OKABE_ITO)],
                error_y={
                    **error_bars(part, *RATE_COLUMNS[1:], factor=factor),
                    "color": BLACK,
                    "thickness": 1.2,
                },
                customdata=customdata,
                hovertemplate=hovertemplate,
                showlegend=bool(colour),
            )
        )
    layout(
        fig,
        title,
        heading(x),
        rate_axis(per),
        barmode="group",
        legend_title_text=heading(colour) if colour else None,
    )
    levels = list(dict.fromkeys(xs))
    fig.update_xaxes(
        type="category",
        categoryorder="array",
        categoryarray=levels,
        tickvals=levels,  # data keep their codes; readers see words
        ticktext=[label(x, v) for v in levels],
    )
    zero_based(fig, scaled_list(table["ci_high_per_1000"], factor))
    return fig


def trend_figure(
    table: pd.DataFrame, period: str, *, title: str, per: str = "treatments"
) -> go.Figure:
    """The rate by ``period`` (a "month" 'YYYY-MM' or "quarter" 'YYYYQn' column).

    ``table`` is an ``incidence_table`` split by ``period`` alone; it is sorted by period.
    Draws the rate as a line with a shaded exact 95% band; periods without a rate leave
    a gap. Hover shows events / treatments (or insertions with ``per="insertions"``, the
    rate then per 10,000). The rate axis starts at 0, so a change looks as big as it is.
    """
    require_rows(table, "trend table", [period, *RATE_COLUMNS])
    if table[period].duplicated().any():
        raise ValueError(f"trend table has more than one row per {period}: split by {period} only")
    per_unit(per)
    factor = scale(per)
    table = table.assign(_key=table[period].astype(str)).sort_values("_key", kind="stable")
    xs = table["_key"].tolist()
    customdata, hovertemplate = _rate_hover(table, xs, per)
    band = {"mode": "lines", "line": {"width": 0}, "hoverinfo": "skip", "connectgaps": False}
    fig = new_figure()
    fig.add_trace(
        go.Scatter(x=xs, y=scaled_list(table["ci_high_per_1000"], factor), showlegend=False, **band)
    )
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=scaled_list(table["ci_low_per_1000"], factor),
            fill="tonexty",
            fillcolor="rgba(86, 180, 233, 0.3)",  # Okabe-Ito sky blue, translucent
            name="95% interval (exact Poisson)",
            **band,
        )
    )
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=scaled_list(table["rate_per_1000"], factor),
            mode="lines+markers",
            line={"color": BLUE, "width": 2},
            marker={"size": 6},
            name=rate_axis(per),
            customdata=customdata,
            hovertemplate=hovertemplate,
            connectgaps=False,
        )
    )
    layout(fig, title, heading(period), rate_axis(per), hovermode="x unified")
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=xs)
    zero_based(fig, scaled_list(table["ci_high_per_1000"], factor))
    return fig
