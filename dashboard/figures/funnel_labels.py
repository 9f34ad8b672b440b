"""A funnel plot a reader cannot misread: names only on the units outside the limits.

``control_charts.funnel_figure`` writes every unit's name beside its point; with fourteen
clinics (or forty practitioners) the names overlap each other and the edge of the plot.
``label_outliers_only`` keeps the points and their hover (which still names every unit)
but writes names only for the units outside the 95% limits, the ones a reader must find,
each placed where it overlaps no other name and is not cut off by the plot's edge.

Pure (no Streamlit, no database).
"""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go

from dashboard.figures.control_charts import FUNNEL_GROUPS
from dashboard.figures.style import clean_list

#: The plot area Streamlit gives a chart (pixels), for placing labels without overlap.
PLOT_PX = (900.0, 380.0)
CHAR_PX, LINE_PX, GAP_PX = 7.0, 14.0, 8.0
#: Text positions tried in turn: above, below, right, left, then the corners.
POSITIONS = (
    ("top center", 0.0, 1.0),
    ("bottom center", 0.0, -1.0),
    ("middle right", 1.0, 0.0),
    ("middle left", -1.0, 0.0),
    ("top right", 1.0, 1.0),
    ("top left", -1.0, 1.0),
    ("bottom right", 1.0, -1.0),
    ("bottom left", -1.0, -1.0),
)


@dataclass(frozen=True)
class Box:
    left: float
    right: float
    bottom: float
    top: float

    def overlaps(self, other: Box) -> bool:
        return not (
            self.right <= other.left
            or other.right <= self.left
            or self.top <= other.bottom
            or other.top <= self.bottom
        )


def _box(px: float, py: float, text: str, dx: float, dy: float) -> Box:
    """The pixel box of ``text`` placed at direction (dx, dy) from the point (px, py)."""
    width, height = CHAR_PX * len(text) + 4, LINE_PX
    cx = px + dx * (width / 2 + GAP_PX)
    cy = py + dy * (height / 2 + GAP_PX)
    return Box(cx - width / 2, cx + width / 2, cy - height / 2, cy + height / 2)


def _line_samples(fig: go.Figure, pixel) -> list[tuple[float, float]]:
    """Points every few pixels along the limit and target lines (a name should not sit on
    a line)."""
    out: list[tuple[float, float]] = []
    for t in fig.data:
        if t.mode != "lines":
            continue
        pts = [
            pixel(x, y)
            for x, y in zip(clean_list(t.x), clean_list(t.y), strict=True)
            if x is not None and y is not None
        ]
        for (ax, ay), (bx, by) in zip(pts, pts[1:], strict=False):
            steps = max(1, int(max(abs(bx - ax), abs(by - ay)) / 4))
            out += [(ax + (bx - ax) * k / steps, ay + (by - ay) * k / steps) for k in range(steps)]
    return out


def label_outliers_only(fig: go.Figure, plot_px: tuple[float, float] = PLOT_PX) -> go.Figure:
    """Names on the units outside the 95% limits only, placed without overlap or clipping.

    The units within the limits keep their points and hover (``customdata[0]`` names
    them); their text is dropped. Each outside unit's name goes to the first position
    (above, below, right, left, corners) that stays inside the plot and overlaps no other
    name, point or limit line; failing that, the one with the fewest (clipping counts
    most, then names, then points and lines). Text is not
    clipped at the axes either way.
    """
    within = FUNNEL_GROUPS[0][1]
    outside = [t for t in fig.data if t.mode == "markers+text" and t.name != within]
    for t in fig.data:
        if t.mode == "markers+text" and t.name == within:
            t.update(mode="markers", text=None)
    xs = [v for t in fig.data for v in clean_list(t.x or ()) if v is not None]
    ys = [v for t in fig.data for v in clean_list(t.y or ()) if v is not None]
    if not outside or not xs:
        return fig
    x0, x1 = min(xs), max(xs)
    y1 = max(ys) * 1.05 if ys else 1.0
    width, height = plot_px

    def pixel(x: float, y: float) -> tuple[float, float]:
        return (x - x0) / ((x1 - x0) or 1) * width, y / (y1 or 1) * height

    points = [
        pixel(x, y)
        for t in fig.data
        if t.mode in ("markers", "markers+text")
        for x, y in zip(clean_list(t.x), clean_list(t.y), strict=True)
        if x is not None and y is not None
    ]
    lines = _line_samples(fig, pixel)
    placed: list[Box] = []
    for trace in outside:
        positions = []
        for x, y, text in zip(clean_list(trace.x), clean_list(trace.y), trace.text, strict=True):
            if x is None or y is None:
                positions.append("top center")
                continue
            px, py = pixel(x, y)
            best, best_score = POSITIONS[0][0], None
            for name, dx, dy in POSITIONS:
                box = _box(px, py, str(text), dx, dy)
                clipped = box.left < 0 or box.right > width or box.bottom < 0 or box.top > height
                score = 10 * clipped + 3 * sum(box.overlaps(b) for b in placed)
                score += sum(
                    box.overlaps(Box(qx - 5, qx + 5, qy - 5, qy + 5))
                    for qx, qy in points
                    if (qx, qy) != (px, py)
                )
                score += any(box.overlaps(Box(lx - 1, lx + 1, ly - 1, ly + 1)) for lx, ly in lines)
                if best_score is None or score < best_score:
                    best, best_score, chosen = name, score, box
                if score == 0:
                    break
            positions.append(best)
            placed.append(chosen)
        trace.update(textposition=positions, cliponaxis=False)
    return fig
