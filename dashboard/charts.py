"""Plotly figures for rate tables, rate ratios and trends (pure: no Streamlit, no database).

Inputs are what the analysis layer returns: ``dashboard.rates.incidence_table``,
``dashboard.analysis.compare_table`` and ``RateModel.table``. Control charts and funnel
plots live in ``dashboard.charts_spc``, the rate-ratio forest plot in
``dashboard.charts_ratio``; both are re-exported here, so every figure can be imported
from ``dashboard.charts``.

Conventions shared by every figure: the Okabe-Ito colour-blind safe palette
(:data:`OKABE_ITO`), ``template="plotly_white"``, axis titles that carry the unit and
denominator, trace data as plain lists with ``None`` (never NaN or inf, which would also
hide inside Plotly's base64 arrays), and ValueError for an empty input.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.graph_objects as go

if TYPE_CHECKING:
    from .charts_ratio import ratio_forest
    from .charts_spc import funnel_figure, g_chart_figure, u_chart_figure

__all__ = [
    "OKABE_ITO", "funnel_figure", "g_chart_figure", "rate_bars", "ratio_forest",
    "trend_figure", "u_chart_figure",
]  # fmt: skip

#: Okabe & Ito (2008) colour-blind safe palette: blue, orange, green, vermillion,
#: reddish purple, sky blue, yellow, black.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, YELLOW, BLACK = OKABE_ITO
TEMPLATE = "plotly_white"
PER_UNITS = {"treatments": "treatments", "insertions": "needle insertions"}
RATE_COLUMNS = ("events", "rate_per_1000", "ci_low_per_1000", "ci_high_per_1000")
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "cross", "x")
RATIO_AXIS = "Rate ratio (log scale; 1 = same rate as the reference)"


def clean(value: object) -> float | None:
    """A finite float, or None for missing, NaN, infinite or non-numeric values."""
    if value is None or isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def clean_list(values: Sequence[object] | pd.Series) -> list[float | None]:
    """:func:`clean` applied to every value: safe trace data for Plotly."""
    return [clean(v) for v in values]


def count(value: object) -> int | float | None:
    """A count for hover text: int when whole, None when missing."""
    number = clean(value)
    if number is None:
        return None
    return int(number) if number.is_integer() else number


def num(value: object) -> str:
    """Short human number: 3 significant figures, thousands separated; "n/a" if missing."""
    number = clean(value)
    if number is None:
        return "n/a"
    return f"{number:,.0f}" if abs(number) >= 1000 else f"{number:.3g}"


def per_text(per: float) -> str:
    """1000.0 -> "1,000"."""
    return f"{int(per):,}" if float(per).is_integer() else f"{per:,g}"


def require_rows(frame: pd.DataFrame, what: str, columns: Sequence[str] = ()) -> None:
    """Raise ValueError for an empty frame or one missing any of ``columns``."""
    if frame is None or len(frame) == 0:
        raise ValueError(f"{what} is empty: there is nothing to plot (check the filters)")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} is missing column(s): {', '.join(missing)}")


def pretty(name: str) -> str:
    """Column name as an axis or legend title: "body_region" -> "Body region"."""
    text = str(name).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def layout(fig: go.Figure, title: str, x_title: str, y_title: str, **extra: Any) -> go.Figure:
    """Apply the shared template, title and axis titles."""
    fig.update_layout(
        title={"text": title},
        template=TEMPLATE,
        xaxis_title={"text": x_title},
        yaxis_title={"text": y_title},
        hoverlabel={"align": "left"},
        **extra,
    )
    return fig


def per_unit(per: str) -> str:
    """The exposure noun for ``per`` ("treatments" or "insertions"); ValueError otherwise."""
    if per not in PER_UNITS:
        raise ValueError(f"per must be one of {', '.join(PER_UNITS)}, got {per!r}")
    return PER_UNITS[per]


def _rate_hover(table: pd.DataFrame, labels: list[str], per: str) -> tuple[list[list], str]:
    """customdata rows [label, events, denominator, rate, CI, method] and their template."""
    denominator = "insertions" if per == "insertions" else "treatments"
    if denominator not in table.columns:
        raise ValueError(f"table has no {denominator!r} column for per={per!r}")
    data = []
    for label, row in zip(labels, table.to_dict("records"), strict=True):
        low, high = row["ci_low_per_1000"], row["ci_high_per_1000"]
        ci = "n/a" if clean(low) is None else f"{num(low)} to {num(high)}"
        data.append(
            [
                label,
                count(row["events"]),
                count(row[denominator]),
                num(row["rate_per_1000"]),
                ci,
                str(row.get("ci_method") or ""),
            ]
        )
    unit = PER_UNITS[per]
    template = (
        "<b>%{customdata[0]}</b><br>"
        f"Events / {unit}: %{{customdata[1]:,}} / %{{customdata[2]:,}}<br>"
        f"Rate: %{{customdata[3]}} per 1,000 {unit}<br>"
        "95% CI: %{customdata[4]}<br>"
        "<i>%{customdata[5]}</i><extra></extra>"
    )
    return data, template


def error_bars(table: pd.DataFrame, rate: str, low: str, high: str) -> dict[str, Any]:
    """Asymmetric error bars: array = high - rate, arrayminus = rate - low (None if missing)."""
    plus, minus = [], []
    for r, lo, hi in zip(table[rate], table[low], table[high], strict=True):
        r, lo, hi = clean(r), clean(lo), clean(hi)
        plus.append(None if r is None or hi is None else hi - r)
        minus.append(None if r is None or lo is None else r - lo)
    return {"type": "data", "symmetric": False, "array": plus, "arrayminus": minus}


def rate_bars(
    table: pd.DataFrame,
    x: str,
    *,
    colour: str | None = None,
    title: str,
    per: str = "treatments",
) -> go.Figure:
    """Bars of rate_per_1000 by ``x`` (grouped by ``colour``) with exact 95% error bars.

    ``table`` is an ``incidence_table``; rows keep their order (the first appearance of
    each ``x`` level fixes its position). A row without a rate (no exposure) has an empty
    bar, its reason in hover. ``per`` is "treatments" or "insertions" and picks the
    denominator shown in the axis title and hover.
    """
    columns = [x, *RATE_COLUMNS, *([colour] if colour else [])]
    require_rows(table, "rate table", columns)
    unit = per_unit(per)
    table = table.reset_index(drop=True)
    xs = [str(v) for v in table[x]]
    groups = [str(v) for v in table[colour]] if colour else [""] * len(table)
    fig = go.Figure()
    for i, group in enumerate(dict.fromkeys(groups)):
        rows = [j for j, g in enumerate(groups) if g == group]
        part = table.iloc[rows]
        labels = [xs[j] + (f", {pretty(colour)}: {group}" if colour else "") for j in rows]
        customdata, hovertemplate = _rate_hover(part, labels, per)
        fig.add_trace(
            go.Bar(
                x=[xs[j] for j in rows],
                y=clean_list(part["rate_per_1000"]),
                name=group if colour else f"Events per 1,000 {unit}",
                marker_color=OKABE_ITO[i % len(OKABE_ITO)],
                error_y={**error_bars(part, *RATE_COLUMNS[1:]), "color": BLACK, "thickness": 1.2},
                customdata=customdata,
                hovertemplate=hovertemplate,
                showlegend=bool(colour),
            )
        )
    layout(
        fig,
        title,
        pretty(x),
        f"Events per 1,000 {unit}",
        barmode="group",
        legend_title_text=pretty(colour) if colour else None,
    )
    levels = list(dict.fromkeys(xs))
    fig.update_xaxes(
        type="category",
        categoryorder="array",
        categoryarray=levels,
        tickvals=levels,  # data keep their codes; readers see words
        ticktext=[v.replace("_", " ") for v in levels],
    )
    fig.update_yaxes(rangemode="tozero")
    return fig


def trend_figure(
    table: pd.DataFrame, period: str, *, title: str, per: str = "treatments"
) -> go.Figure:
    """Rate per 1,000 by ``period`` (a "month" 'YYYY-MM' or "quarter" 'YYYYQn' column).

    ``table`` is an ``incidence_table`` split by ``period`` alone; it is sorted by period.
    Draws the rate as a line with a shaded exact 95% band; periods without a rate leave
    a gap. Hover shows events / treatments (or insertions with ``per="insertions"``).
    """
    require_rows(table, "trend table", [period, *RATE_COLUMNS])
    if table[period].duplicated().any():
        raise ValueError(f"trend table has more than one row per {period}: split by {period} only")
    unit = per_unit(per)
    table = table.assign(_key=table[period].astype(str)).sort_values("_key", kind="stable")
    xs = table["_key"].tolist()
    customdata, hovertemplate = _rate_hover(table, xs, per)
    band = {"mode": "lines", "line": {"width": 0}, "hoverinfo": "skip", "connectgaps": False}
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=xs, y=clean_list(table["ci_high_per_1000"]), showlegend=False, **band)
    )
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=clean_list(table["ci_low_per_1000"]),
            fill="tonexty",
            fillcolor="rgba(86, 180, 233, 0.3)",  # Okabe-Ito sky blue, translucent
            name="95% interval (exact Poisson)",
            **band,
        )
    )
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=clean_list(table["rate_per_1000"]),
            mode="lines+markers",
            line={"color": BLUE, "width": 2},
            marker={"size": 6},
            name=f"Events per 1,000 {unit}",
            customdata=customdata,
            hovertemplate=hovertemplate,
            connectgaps=False,
        )
    )
    layout(fig, title, pretty(period), f"Events per 1,000 {unit}", hovermode="x unified")
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=xs)
    fig.update_yaxes(rangemode="normal")  # a trend, not a bar: the axis fits the data
    return fig


def __getattr__(name: str) -> Any:
    """Re-export the control-chart, funnel and forest figures lazily (PEP 562, no import
    cycle: those modules import this one's conventions)."""
    if name in ("u_chart_figure", "g_chart_figure", "funnel_figure"):
        from . import charts_spc

        return getattr(charts_spc, name)
    if name == "ratio_forest":
        from . import charts_ratio

        return charts_ratio.ratio_forest
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
