"""Rates that span thousands-fold on one chart: points with 95% intervals on a log axis.

Event categories run from bruising (about 75 per 1,000 treatments) to pneumothorax
(about 0.01): on a linear axis the serious categories are bars no one can see. Here every
level is a row with its rate as a point, its exact 95% interval as a whisker and the rate
printed beside it; the axis is logarithmic and says so in its title. A level with no
events has no point on a log axis (log 0 does not exist): it is drawn as an open triangle
at its 95% upper bound, with "0 events, under X" beside it.

Pure (no Streamlit, no database); the conventions of ``dashboard.figures.style``.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from dashboard.analysis.labels import heading, label
from dashboard.figures.style import (
    BLUE,
    RATE_COLUMNS,
    VERMILLION,
    _rate_hover,
    clean,
    layout,
    new_figure,
    num,
    per_unit,
    rate_axis,
    require_rows,
    scale,
)

ROW_PX = 30
ZERO_NAME = "No events: open triangle at the 95% upper bound"
LOG_NOTE = "log scale: each gridline is 10 times the one before"


def _tick(value: float) -> str:
    """0.001 -> '0.001', 1000 -> '1,000': plain numbers, no '1e-3'."""
    return f"{value:,.0f}" if value >= 1 else f"{value:.{-int(math.floor(math.log10(value)))}f}"


def rate_dots(table: pd.DataFrame, dim: str, *, title: str, per: str = "treatments") -> go.Figure:
    """Rates by ``dim`` (rows top to bottom in table order) on a log axis.

    ``table`` is an ``incidence_table``; ``per`` is "treatments" (per 1,000) or
    "insertions" (per 10,000 needle insertions). Row labels are words
    (``labels.label``); the data keep their codes (the y values). A row without a rate (no
    exposure) is named in the axis only.
    """
    require_rows(table, "rate table", [dim, *RATE_COLUMNS])
    per_unit(per)
    factor = scale(per)
    table = table.reset_index(drop=True)
    codes = [str(v) for v in table[dim]]
    rows = table.to_dict("records")
    rates = [clean(r["rate_per_1000"]) for r in rows]
    highs = [clean(r["ci_high_per_1000"]) for r in rows]
    seen = [i for i, r in enumerate(rates) if r is not None and r > 0]
    zero = [i for i, r in enumerate(rates) if r == 0 and highs[i] is not None and highs[i] > 0]
    names = [label(dim, c) for c in codes]
    customdata, hovertemplate = _rate_hover(table, names, per)

    fig = new_figure()
    if seen:
        part = table.iloc[seen]
        fig.add_trace(
            go.Scatter(
                x=[rates[i] * factor for i in seen],
                y=[codes[i] for i in seen],
                mode="markers",
                marker={"color": BLUE, "size": 9},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": [(highs[i] - rates[i]) * factor for i in seen],
                    "arrayminus": [
                        (rates[i] - clean(r)) * factor
                        for i, r in zip(seen, part["ci_low_per_1000"], strict=True)
                    ],
                    "color": BLUE,
                    "thickness": 1.5,
                },
                name=f"{rate_axis(per)} (95% CI)",
                customdata=[customdata[i] for i in seen],
                hovertemplate=hovertemplate,
            )
        )
    if zero:
        fig.add_trace(
            go.Scatter(
                x=[highs[i] * factor for i in zero],
                y=[codes[i] for i in zero],
                mode="markers",
                marker={"color": VERMILLION, "size": 10, "symbol": "triangle-left-open"},
                name=ZERO_NAME,
                customdata=[customdata[i] for i in zero],
                hovertemplate=hovertemplate,
            )
        )
    shown = seen + zero
    if shown:  # the value beside each row, right of its interval
        fig.add_trace(
            go.Scatter(
                x=[highs[i] * factor * 1.25 for i in shown],
                y=[codes[i] for i in shown],
                mode="text",
                text=[
                    num(rates[i] * factor)
                    if i in seen
                    else f"0 events, under {num(highs[i] * factor)}"
                    for i in shown
                ],
                textposition="middle right",
                textfont={"size": 11},
                cliponaxis=False,
                hoverinfo="skip",
                showlegend=False,
            )
        )
    lows = [clean(rows[i]["ci_low_per_1000"]) for i in seen] + [highs[i] for i in zero]
    lows = [v * factor for v in lows if v is not None and v > 0]
    tops = [highs[i] * factor for i in shown]
    low = math.floor(math.log10(min(lows))) if lows else -2
    high = math.ceil(math.log10(max(tops) * 8)) if tops else 2
    layout(
        fig,
        title,
        f"{rate_axis(per)} ({LOG_NOTE})",
        heading(dim),
        height=170 + ROW_PX * len(codes),
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
        margin={"t": 90},
    )
    decades = [10.0**k for k in range(low, high + 1)]
    fig.update_xaxes(
        type="log",
        range=[low, math.log10(max(tops) * 8) if tops else high],
        tickvals=decades,
        ticktext=[_tick(v) for v in decades],
    )
    fig.update_yaxes(
        type="category",
        categoryorder="array",
        categoryarray=codes,
        tickvals=codes,
        ticktext=names,
        autorange="reversed",
    )
    return fig
