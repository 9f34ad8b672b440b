"""Forest plot of rate ratios: crude and adjusted (compare_table) or model IRRs
(pure: no Streamlit, no database; the conventions of ``dashboard.figures.style``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from dashboard.analysis.labels import heading, p_text
from dashboard.analysis.labels import label as word
from dashboard.figures.style import (
    BLACK,
    OKABE_ITO,
    RATIO_AXIS,
    SYMBOLS,
    VERMILLION,
    clean,
    clean_list,
    error_bars,
    layout,
    new_figure,
    num,
    pretty,
    require_rows,
)


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
    return [label, status, shown, ci, p_text(row.get("p_value")) or "n/a", counts, note]


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
    reference, are drawn at 1 without an interval; rows named in words, "Body region:
    upper trapezius"). Rows are listed top to bottom in table order. A ratio that cannot sit on a log axis (None, 0 or infinite) is written as text
    at 1 with the note in hover, never plotted as a point.
    """
    labels_cols = [label] if isinstance(label, str) else list(label)
    ratio = _ratio_column(table)
    require_rows(table, "ratio table", [*labels_cols, ratio, "ci_low", "ci_high"])
    rows = table.reset_index(drop=True).to_dict("records")
    if labels_cols == ["term", "level"]:  # a RateModel table: "Body region: upper trapezius"
        names = [f"{heading(str(r['term']))}: {word(str(r['term']), r['level'])}" for r in rows]
    else:
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

    fig = new_figure()
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
        error = None if ref else {**error_bars(part, ratio, "ci_low", "ci_high"), "color": colour}
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
