"""What every NeedleWatch figure shares: the palette, the template, clean trace data,
axis titles and hover text for rates (pure: no Streamlit, no database).

The figure modules (``dashboard.figures.charts``, ``dashboard.figures.control_charts``, ``dashboard.figures.dots``,
``dashboard.figures.forest``, ``dashboard.figures.funnel_labels``) import these conventions from here,
so none of them imports another for its style and ``dashboard.figures.charts`` can re-export them
all without an import cycle.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from dashboard.analysis.labels import PER
from dashboard.analysis.labels import per_text as denominator

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


def new_figure() -> go.Figure:
    """An empty figure on the shared template (TEMPLATE).

    The template is made plotly's default just before: plotly gives a new figure its
    default template without validating it (1 ms), where ``update_layout(template=...)``
    validates and deep-copies the whole template (20-40 ms a figure: a fifth of a page's
    rerun). Set at every figure, since importing Streamlit makes its own theme the
    default."""
    if pio.templates.default != TEMPLATE:
        pio.templates.default = TEMPLATE
    return go.Figure()


def layout(fig: go.Figure, title: str, x_title: str, y_title: str, **extra: Any) -> go.Figure:
    """Title and axis titles (the template comes with the figure: ``new_figure``)."""
    fig.update_layout(
        title={"text": title},
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
