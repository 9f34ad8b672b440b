"""Plotly figures for rate tables, rate ratios and trends (pure: no Streamlit, no database).

Inputs are what the analysis layer returns: ``dashboard.rates.incidence_table``,
``dashboard.analysis.compare_table`` and ``RateModel.table``. Control charts and funnel
plots live in ``dashboard.charts_spc``, the rate-ratio forest plot in
``dashboard.charts_ratio``; both are re-exported here, so every figure can be imported
from ``dashboard.charts``.

Conventions shared by every figure: the Okabe-Ito colour-blind safe palette
(:data:`OKABE_ITO`), ``template="plotly_white"``, axis titles that carry the unit and
denominator, trace data as plain lists with ``None`` (never NaN or inf, which would also
hide inside Plotly's base64 arrays), and ValueError for an empty input. Every label a
reader sees is a word from ``dashboard.labels`` (the data keep their codes); a rate axis
starts at zero unless its title says otherwise (the log-scale dot chart of
``dashboard.charts_dots``); rates per needle insertion are per 10,000 insertions.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.graph_objects as go

from .labels import PER, heading, label
from .labels import per_text as denominator

if TYPE_CHECKING:
    from .charts_dots import rate_dots
    from .charts_funnel import label_outliers_only
    from .charts_ratio import ratio_forest
    from .charts_spc import funnel_figure, g_chart_figure, u_chart_figure

__all__ = [
    "OKABE_ITO", "funnel_figure", "g_chart_figure", "label_outliers_only", "rate_bars",
    "rate_dots", "ratio_forest", "trend_figure", "u_chart_figure",
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


def scale(per: str) -> float:
    """What a per-1,000 rate is multiplied by to be shown per ``PER[per]`` (10 for
    insertions: per 10,000)."""
    return PER[per] / 1000


def rate_axis(per: str) -> str:
    """'Events per 1,000 treatments' or 'Events per 10,000 needle insertions'."""
    return f"Events {denominator(per)}"


def zero_based(fig: go.Figure, tops: Sequence[object], axis: str = "y") -> None:
    """Fix a rate axis to start at 0 and end a little above the highest value drawn."""
    highs = [v for v in clean_list(tops) if v is not None]
    top = max(highs, default=0.0)
    update = fig.update_yaxes if axis == "y" else fig.update_xaxes
    update(range=[0, top * 1.08 if top > 0 else 1.0], rangemode="tozero")


def per_unit(per: str) -> str:
    """The exposure noun for ``per`` ("treatments" or "insertions"); ValueError otherwise."""
    if per not in PER_UNITS:
        raise ValueError(f"per must be one of {', '.join(PER_UNITS)}, got {per!r}")
    return PER_UNITS[per]


def _rate_hover(table: pd.DataFrame, labels: list[str], per: str) -> tuple[list[list], str]:
    """customdata rows [label, events, denominator, rate, CI, method] and their template
    (rates as shown: per 10,000 needle insertions when ``per`` is "insertions")."""
    exposure = "insertions" if per == "insertions" else "treatments"
    if exposure not in table.columns:
        raise ValueError(f"table has no {exposure!r} column for per={per!r}")
    factor = scale(per)
    data = []
    for text, row in zip(labels, table.to_dict("records"), strict=True):
        rate, low, high = (clean(row[c]) for c in RATE_COLUMNS[1:])
        ci = "n/a" if low is None else f"{num(low * factor)} to {num(high * factor)}"
        data.append(
            [
                text,
                count(row["events"]),
                count(row[exposure]),
                "n/a" if rate is None else num(rate * factor),
                ci,
                str(row.get("ci_method") or ""),
            ]
        )
    unit = PER_UNITS[per]
    template = (
        "<b>%{customdata[0]}</b><br>"
        f"Events / {unit}: %{{customdata[1]:,}} / %{{customdata[2]:,}}<br>"
        f"Rate: %{{customdata[3]}} {denominator(per)}<br>"
        "95% CI: %{customdata[4]}<br>"
        "<i>%{customdata[5]}</i><extra></extra>"
    )
    return data, template


def scaled_list(values: Sequence[object] | pd.Series, factor: float) -> list[float | None]:
    """:func:`clean_list` times ``factor`` (None stays None)."""
    return [None if v is None else v * factor for v in clean_list(values)]


def error_bars(
    table: pd.DataFrame, rate: str, low: str, high: str, factor: float = 1.0
) -> dict[str, Any]:
    """Asymmetric error bars: array = high - rate, arrayminus = rate - low (None if missing),
    all times ``factor``."""
    plus, minus = [], []
    for r, lo, hi in zip(table[rate], table[low], table[high], strict=True):
        r, lo, hi = clean(r), clean(lo), clean(hi)
        plus.append(None if r is None or hi is None else (hi - r) * factor)
        minus.append(None if r is None or lo is None else (r - lo) * factor)
    return {"type": "data", "symmetric": False, "array": plus, "arrayminus": minus}


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
    fig = go.Figure()
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
    fig = go.Figure()
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


def __getattr__(name: str) -> Any:
    """Re-export the control-chart, funnel and forest figures lazily (PEP 562, no import
    cycle: those modules import this one's conventions)."""
    if name in ("u_chart_figure", "g_chart_figure", "funnel_figure"):
        from . import charts_spc

        return getattr(charts_spc, name)
    if name == "rate_dots":
        from . import charts_dots

        return charts_dots.rate_dots
    if name == "label_outliers_only":
        from . import charts_funnel

        return charts_funnel.label_outliers_only
    if name == "ratio_forest":
        from . import charts_ratio

        return charts_ratio.ratio_forest
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
