"""Plotly figures for rate tables, rate ratios and trends (pure: no Streamlit, no database).

Inputs are what the analysis layer returns: ``dashboard.rates.incidence_table``,
``dashboard.analysis.compare_table`` and ``RateModel.table``. Control charts and funnel
plots live in ``dashboard.charts_spc`` and are re-exported here, so every figure can be
imported from ``dashboard.charts``.

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


def _error(table: pd.DataFrame, rate: str, low: str, high: str) -> dict[str, Any]:
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
                error_y={**_error(part, *RATE_COLUMNS[1:]), "color": BLACK, "thickness": 1.2},
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


def _ratio_column(table: pd.DataFrame) -> str:
    for column in ("rate_ratio", "irr"):
        if column in table.columns:
            return column
    raise ValueError("ratio table needs a 'rate_ratio' (compare_table) or 'irr' (RateModel) column")


def _forest_hover(row: dict[str, Any], label: str, ratio: str, status: str) -> list[str]:
    r, lo, hi = (clean(row.get(c)) for c in (ratio, "ci_low", "ci_high"))
    shown = {0.0: "0"}.get(row.get(ratio), num(row.get(ratio)))
    if row.get(ratio) == math.inf:
        shown = "infinite"
    ci = "n/a" if lo is None and hi is None else f"{num(lo)} to {num(hi)}"
    if r is not None and status == "reference":
        ci = "reference (no interval)"
    counts = f"{num(row.get('events'))} / {num(row.get('treatments'))}"
    if "ref_events" in row:
        counts += f" (reference {num(row.get('ref_events'))} / {num(row.get('ref_treatments'))})"
    note = str(row.get("note") or "")
    return [label, status, shown, ci, num(row.get("p_value")), counts, note]


FOREST_TEMPLATE = (
    "<b>%{customdata[0]}</b> (%{customdata[1]})<br>"
    "Rate ratio: %{customdata[2]}<br>95% CI: %{customdata[3]}<br>"
    "p = %{customdata[4]}<br>Events / treatments: %{customdata[5]}<br>"
    "<i>%{customdata[6]}</i><extra></extra>"
)


def _kind_name(kind: str, ratio: str) -> str:
    names = {"reference level": "Reference level (ratio 1)", "estimate": "Rate ratio"}
    names["estimate"] = "Incidence rate ratio (model)" if ratio == "irr" else "Rate ratio"
    return names.get(kind, pretty(kind))


def _unplotted_text(row: dict[str, Any], ratio: str) -> str:
    value = row.get(ratio)
    if value == 0:
        return f"0 (95% CI to {num(row.get('ci_high'))})"
    if value == math.inf:
        return f"infinite (95% CI from {num(row.get('ci_low'))})"
    return "not estimable"


def ratio_forest(table: pd.DataFrame, *, label: str | Sequence[str], title: str) -> go.Figure:
    """Horizontal forest plot of rate ratios (log x axis, vertical line at 1).

    ``table``: ``compare_table`` output (``label="level"``; each ``analysis``, crude or
    adjusted, gets its own colour, marker and legend entry, offset within the row) or
    ``RateModel.table`` (``label=("term", "level")``; reference rows, where level equals
    reference, are drawn at 1 without an interval). Rows are listed top to bottom in table
    order. A ratio that cannot sit on a log axis (None, 0 or infinite) is written as text
    at 1 with the note in hover, never plotted as a point.
    """
    labels_cols = [label] if isinstance(label, str) else list(label)
    ratio = _ratio_column(table)
    require_rows(table, "ratio table", [*labels_cols, ratio, "ci_low", "ci_high"])
    rows = table.reset_index(drop=True).to_dict("records")
    names = [": ".join(str(r[c]) for c in labels_cols) for r in rows]
    slots = list(dict.fromkeys(names))
    analyses = [str(r.get("analysis") or "estimate") for r in rows]
    kinds = list(dict.fromkeys(analyses))
    width = 0.5 / len(kinds)
    y_of = [
        slots.index(n) + (kinds.index(a) - (len(kinds) - 1) / 2) * width
        for n, a in zip(names, analyses, strict=True)
    ]
    is_ref = ["reference" in r and str(r.get("level")) == str(r.get("reference")) for r in rows]
    plotted = [clean(r[ratio]) is not None and clean(r[ratio]) > 0 for r in rows]

    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[1.0, 1.0],
            y=[-0.5, len(slots) - 0.5],
            mode="lines",
            line={"color": BLACK, "dash": "dash", "width": 1},
            name="Rate ratio 1 (no difference)",
            hoverinfo="skip",
        )
    )
    groups = [
        (k, [i for i in range(len(rows)) if analyses[i] == k and not is_ref[i]]) for k in kinds
    ]
    groups.append(("reference level", [i for i in range(len(rows)) if is_ref[i]]))
    for g, (kind, members) in enumerate(groups):
        points = [i for i in members if plotted[i]]
        if not points:
            continue
        part = pd.DataFrame([rows[i] for i in points])
        ref = kind == "reference level"
        colour = BLACK if ref else OKABE_ITO[g % (len(OKABE_ITO) - 1)]
        symbol = "diamond-open" if ref else SYMBOLS[g % len(SYMBOLS)]
        error = None if ref else {**_error(part, ratio, "ci_low", "ci_high"), "color": colour}
        status = "reference" if ref else kind
        fig.add_trace(
            go.Scatter(
                x=clean_list(part[ratio]),
                y=[y_of[i] for i in points],
                mode="markers",
                name=_kind_name(kind, ratio),
                marker={"color": colour, "size": 9, "symbol": symbol},
                error_x=error,
                customdata=[_forest_hover(rows[i], names[i], ratio, status) for i in points],
                hovertemplate=FOREST_TEMPLATE,
            )
        )
    missing = [i for i in range(len(rows)) if not plotted[i]]
    if missing:
        fig.add_trace(
            go.Scatter(
                x=[1.0] * len(missing),
                y=[y_of[i] for i in missing],
                mode="text",
                text=[_unplotted_text(rows[i], ratio) for i in missing],
                textposition="middle right",
                textfont={"color": VERMILLION},
                name="Not plotted on the log axis (hover for why)",
                customdata=[_forest_hover(rows[i], names[i], ratio, analyses[i]) for i in missing],
                hovertemplate=FOREST_TEMPLATE,
            )
        )
    layout(fig, title, RATIO_AXIS, "")
    fig.update_xaxes(type="log")
    fig.update_yaxes(
        tickmode="array",
        tickvals=list(range(len(slots))),
        ticktext=slots,
        range=[len(slots) - 0.5, -0.5],
        showgrid=False,
        zeroline=False,
    )
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
    """Re-export the control-chart and funnel figures lazily (PEP 562, no import cycle)."""
    if name in ("u_chart_figure", "g_chart_figure", "funnel_figure"):
        from . import charts_spc

        return getattr(charts_spc, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
