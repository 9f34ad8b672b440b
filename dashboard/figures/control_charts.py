"""Plotly figures for control charts (u-chart, g-chart) and funnel plots.

Pure functions on the results of ``dashboard.stats.spc`` and ``dashboard.stats.funnel``;
they share palette, template and data cleaning (``dashboard.figures.style``) with
``dashboard.figures.charts``, which re-exports them.
"""

from __future__ import annotations

import plotly.graph_objects as go

from dashboard.figures.style import (
    BLACK,
    BLUE,
    GREEN,
    ORANGE,
    PURPLE,
    VERMILLION,
    clean_list,
    count,
    layout,
    new_figure,
    num,
    per_text,
    per_unit,
    require_rows,
)
from dashboard.stats.funnel import OUTSIDE, FunnelResult
from dashboard.stats.gchart import GChart
from dashboard.stats.spc import RULE_G_HIGH, RULE_G_LOW, UChart

SIGNAL_MARKER = {"color": VERMILLION, "size": 14, "symbol": "diamond", "line": {"width": 1}}


def _limit_pair(
    fig: go.Figure,
    x: list,
    upper: list,
    lower: list,
    name: str,
    line: dict,
    shape: str = "linear",
) -> None:
    """Upper and lower limit lines sharing one legend entry (click hides both)."""
    for values, side in ((upper, "upper"), (lower, "lower")):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=values,
                mode="lines",
                line={**line, "shape": shape},
                name=name,
                legendgroup=name,
                showlegend=side == "upper",
                hovertemplate=f"{name}, {side}: %{{y:.3g}}<extra></extra>",
            )
        )


#: NHS England Making Data Count colours (NHSRplotthedots' defaults): fewer adverse events
#: is better, so a special cause above is a concern and below an improvement.
MDC = {
    "special cause: concern": "#e46c0a",
    "special cause: improvement": "#00b0f0",
    "common cause": "#a6a6a6",
}
MDC_LEGEND = {
    "special cause: concern": "Special cause of concern (higher)",
    "special cause: improvement": "Special cause of improvement (lower)",
    "common cause": "Common cause",
}
INCOMPLETE_LEGEND = "Incomplete period (not used)"
#: What the colours and rules mean, in words, for a caption under a printed chart.
MDC_CAPTION = (
    "Orange: a special cause of concern, a rate higher than chance explains (a point beyond "
    "the 3-sigma limit, 7 in a row above the centre line, 7 rising, or 2 of 3 beyond the "
    "2-sigma limit). Blue: a special cause of improvement, the same rules on the low side. "
    "Grey: common cause, the variation chance gives. Hollow: a period the data do not yet "
    "cover in full, not used for the limits. The centre line is the baseline's rate, leaving "
    "out any point beyond the limits."
)


def u_chart_figure(chart: UChart, *, title: str, unit: str = "treatments") -> go.Figure:
    """u-chart in Making Data Count style: the rate per period as a grey line, each point
    coloured by what it is (special cause of concern orange, of improvement blue, common
    cause grey), the centre line (per segment, after a rebase) and the 3-sigma process
    limits, which vary with each period's exposure and are drawn as steps. The legend names
    each colour; ``MDC_CAPTION`` says what the rules are, for a caption beside a printed
    chart (which has no hover). An incomplete period is drawn hollow. The rate axis starts
    at zero.
    """
    points = chart.points
    require_rows(points, "u-chart", ["period", "events", "exposure", "rate", "centre"])
    noun = per_unit(unit)
    x = [str(p) for p in points["period"]]
    rules: dict[str, list[str]] = {p: [] for p in x}
    for signal in chart.signals:
        if signal.period in rules and signal.rule not in rules[signal.period]:
            rules[signal.period].append(signal.rule)
    per = per_text(chart.per)
    kinds = points["point_type"] if "point_type" in points else ["common cause"] * len(x)
    partial = points["incomplete"] if "incomplete" in points else [False] * len(x)
    customdata = [
        [
            x[i],
            count(row["events"]),
            count(row["exposure"]),
            num(row["rate"]),
            num(row["centre"]),
            f"{num(row['lcl3'])} to {num(row['ucl3'])}",
            "; ".join(rules[x[i]]) or ("incomplete period" if partial[i] else "none"),
        ]
        for i, row in enumerate(points.to_dict("records"))
    ]
    hover = (
        "<b>%{customdata[0]}</b><br>"
        f"Events / {noun}: %{{customdata[1]:,}} / %{{customdata[2]:,}}<br>"
        f"Rate: %{{customdata[3]}} per {per} {noun}<br>"
        "Centre: %{customdata[4]}; 3-sigma limits %{customdata[5]}<br>"
        "Signal: %{customdata[6]}<extra></extra>"
    )
    fig = new_figure()
    _limit_pair(
        fig, x, clean_list(points["ucl3"]), clean_list(points["lcl3"]),
        "Process limits (3-sigma)", {"color": "#a6a6a6", "dash": "dash", "width": 1.5},
        shape="hvh",
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=x,
            y=clean_list(points["centre"]),
            mode="lines",
            line={"color": BLACK, "width": 1.5, "shape": "hvh"},
            name=f"Centre line (baseline rate, {num(chart.centre)})",
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=clean_list(points["rate"]),
            mode="lines",
            line={"color": "#a6a6a6", "width": 1.5},
            name=f"Events per {per} {noun}",
            hoverinfo="skip",
        )
    )
    for kind, colour in MDC.items():
        idx = [i for i in range(len(x)) if kinds[i] == kind and not partial[i]]
        if not idx and kind != "common cause":
            continue
        fig.add_trace(
            go.Scatter(
                x=[x[i] for i in idx],
                y=clean_list(points["rate"].iloc[idx]),
                mode="markers",
                marker={"size": 9 if kind == "common cause" else 11, "color": colour,
                        "line": {"width": 1, "color": "white"}},
                name=MDC_LEGEND[kind],
                customdata=[customdata[i] for i in idx],
                hovertemplate=hover,
            )
        )  # fmt: skip
    late = [i for i in range(len(x)) if partial[i]]
    if late:
        fig.add_trace(
            go.Scatter(
                x=[x[i] for i in late],
                y=clean_list(points["rate"].iloc[late]),
                mode="markers",
                marker={"size": 10, "color": "white", "line": {"width": 2, "color": "#a6a6a6"}},
                name=INCOMPLETE_LEGEND,
                customdata=[customdata[i] for i in late],
                hovertemplate=hover,
            )
        )
    layout(fig, title, "Period", f"Events per {per} {noun}")
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=x, tickangle=-45)
    fig.update_yaxes(rangemode="tozero")  # from zero: a narrow axis would dramatise noise
    return fig


def g_chart_figure(chart: GChart, *, title: str, events_label: str = "events") -> go.Figure:
    """g-chart: treatments between consecutive events, mean, median and probability limits.

    x is the event number (oldest first; labels such as dates are in hover, as they
    need not be unique). A gap below the lower probability limit (events coming faster
    than expected) or above the upper one is overlaid with a vermillion diamond.
    ``events_label`` names the events counted, e.g. "serious events".
    """
    points = chart.points
    require_rows(points, "g-chart", ["event", "label", "gap"])
    x = [int(e) for e in points["event"]]
    gaps = clean_list(points["gap"])
    rule = [
        RULE_G_LOW if g < chart.lcl_prob else RULE_G_HIGH if g > chart.ucl_prob else ""
        for g in points["gap"]
    ]
    customdata = [
        [x[i], str(label), count(points["gap"].iloc[i]), rule[i] or "none"]
        for i, label in enumerate(points["label"])
    ]
    hover = (
        "<b>Event %{customdata[0]}</b> (%{customdata[1]})<br>"
        "%{customdata[2]:,} treatments since the previous event<br>"
        "Signal: %{customdata[3]}<extra></extra>"
    )
    flat = {"mode": "lines", "hoverinfo": "skip"}
    fig = new_figure()
    _limit_pair(
        fig,
        x,
        [chart.ucl_prob] * len(x),
        [chart.lcl_prob] * len(x),
        "Probability limits (0.135% / 99.865%)",
        {"color": BLACK, "dash": "dash", "width": 1.5},
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[chart.centre] * len(x),
            line={"color": GREEN, "width": 2},
            name=f"Centre line (mean gap, {num(chart.centre)})",
            **flat,
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=[chart.median_prob] * len(x),
            line={"color": PURPLE, "dash": "dot", "width": 1.2},
            name=f"Median of the geometric ({num(chart.median_prob)})",
            **flat,
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=gaps,
            mode="lines+markers",
            line={"color": BLUE, "width": 2},
            marker={"size": 7, "color": BLUE},
            name=f"Treatments between {events_label}",
            customdata=customdata,
            hovertemplate=hover,
        )
    )
    flagged = [i for i, r in enumerate(rule) if r]
    fig.add_trace(
        go.Scatter(
            x=[x[i] for i in flagged],
            y=[gaps[i] for i in flagged],
            mode="markers",
            marker=SIGNAL_MARKER,
            name="Signal: gap beyond a probability limit",
            customdata=[customdata[i] for i in flagged],
            hovertemplate=hover,
        )
    )
    x_title = f"{events_label.capitalize()} in order (oldest first)"
    layout(fig, title, x_title, f"Treatments between {events_label} (gap)")
    fig.update_yaxes(rangemode="tozero")
    return fig


FUNNEL_GROUPS = (
    ("", "Within 95% limits", {"color": BLUE, "size": 9, "symbol": "circle"}),
    ("95", "Outside 95% limits", {"color": ORANGE, "size": 11, "symbol": "square"}),
    ("998", "Outside 99.8% limits", {"color": VERMILLION, "size": 13, "symbol": "diamond"}),
)


def _funnel_group(outside: str) -> str:
    if outside in (OUTSIDE[0], OUTSIDE[3]):
        return "998"
    return "95" if outside else ""


def funnel_figure(
    result: FunnelResult, *, title: str, unit_label: str = "Clinic", unit: str = "treatments"
) -> go.Figure:
    """Funnel plot: rate per ``result.per`` against treatments, with 95% and 99.8% limits.

    Units are labelled points: blue within the 95% limits, orange squares outside them,
    vermillion diamonds outside 99.8%. The target line and the limit curves come from
    ``result`` (over-dispersion adjusted when ``result.overdispersion_applied``).
    """
    units, curve = result.units, result.curve
    require_rows(units, "funnel", ["unit", "events", "exposure", "rate", "outside"])
    require_rows(curve, "funnel curve", ["exposure", "lo95", "hi95", "lo998", "hi998"])
    noun = per_unit(unit)
    per = per_text(result.per)
    adjusted = ", over-dispersion adjusted" if result.overdispersion_applied else ""
    fig = new_figure()
    cx = clean_list(curve["exposure"])
    fig.add_trace(
        go.Scatter(
            x=[cx[0], cx[-1]],
            y=[result.target, result.target],
            mode="lines",
            line={"color": GREEN, "width": 2},
            name=f"Target ({result.target_source} rate, {num(result.target)} per {per})",
            hoverinfo="skip",
        )
    )
    for level, name, dash in (("95", "95%", "dash"), ("998", "99.8%", "solid")):
        _limit_pair(
            fig,
            cx,
            clean_list(curve[f"hi{level}"]),
            clean_list(curve[f"lo{level}"]),
            f"{name} limits{adjusted}",
            {"color": BLACK, "dash": dash, "width": 1.2},
        )
    hover = (
        f"<b>{unit_label} %{{customdata[0]}}</b><br>"
        f"Events / {noun}: %{{customdata[1]:,}} / %{{customdata[2]:,}}<br>"
        f"Rate: %{{customdata[3]}} per {per} {noun}<br>"
        "Expected events at target: %{customdata[4]}<br>"
        "%{customdata[5]}<extra></extra>"
    )
    rows = units.to_dict("records")
    groups = [_funnel_group(str(r["outside"])) for r in rows]
    for key, name, marker in FUNNEL_GROUPS:
        members = [r for r, g in zip(rows, groups, strict=True) if g == key]
        if not members:
            continue
        fig.add_trace(
            go.Scatter(
                x=clean_list([r["exposure"] for r in members]),
                y=clean_list([r["rate"] for r in members]),
                mode="markers+text",
                text=[str(r["unit"]) for r in members],
                textposition="top center",
                marker={**marker, "line": {"width": 1, "color": "white"}},
                name=name,
                customdata=[
                    [
                        str(r["unit"]),
                        count(r["events"]),
                        count(r["exposure"]),
                        num(r["rate"]),
                        num(r.get("expected")),
                        str(r["outside"] or "within 95% limits"),
                    ]
                    for r in members
                ],
                hovertemplate=hover,
            )
        )
    x_title = f"{noun.capitalize()} per {unit_label.lower()} (exposure)"
    layout(fig, title, x_title, f"Events per {per} {noun}")
    fig.update_yaxes(rangemode="tozero")
    return fig
