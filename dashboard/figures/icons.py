"""Making Data Count variation icons, drawn here (small SVG, no external files).

NHS England's Making Data Count puts one icon beside each measure of a board's summary
table: what its latest point says about variation. Fewer adverse events is better, so:

    common cause                  grey circle, a level line         "common cause"
    special cause of concern      orange circle, "H" (higher)        "special cause: concern"
    special cause of improvement  blue circle, "L" (lower)           "special cause: improvement"
    not charted                   hollow grey circle                 too few events

Assurance icons (will a target be met?) need a target rate; NeedleWatch sets none, so the
summary says "no target set" instead of drawing one.
"""

from __future__ import annotations

import base64

COLOURS = {
    "special cause: concern": "#e46c0a",
    "special cause: improvement": "#00b0f0",
    "common cause": "#a6a6a6",
    "not charted": "#ffffff",
}
LETTERS = {"special cause: concern": "H", "special cause: improvement": "L"}
WORDS = {
    "special cause: concern": "special cause of concern (higher)",
    "special cause: improvement": "special cause of improvement (lower)",
    "common cause": "common cause",
    "not charted": "too few events to chart",
}


def variation_svg(kind: str, size: int = 22) -> str:
    """The icon as an inline SVG element (for HTML and PDF)."""
    fill = COLOURS.get(kind, "#ffffff")
    stroke = "#a6a6a6" if kind in ("common cause", "not charted") else fill
    mark = ""
    if kind in LETTERS:
        mark = (
            f'<text x="12" y="16.5" font-size="12" font-family="DejaVu Sans, Arial" '
            f'font-weight="bold" text-anchor="middle" fill="#ffffff">{LETTERS[kind]}</text>'
        )
    elif kind == "common cause":
        mark = '<path d="M6 12 Q9 8 12 12 T18 12" stroke="#ffffff" stroke-width="2" fill="none"/>'
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'viewBox="0 0 24 24" role="img" aria-label="{WORDS.get(kind, kind)}">'
        f"<title>{WORDS.get(kind, kind)}</title>"
        f'<circle cx="12" cy="12" r="10.5" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>'
        f"{mark}</svg>"
    )


def variation_uri(kind: str) -> str:
    """The icon as a data URI (for the dashboard's table image column)."""
    return "data:image/svg+xml;base64," + base64.b64encode(variation_svg(kind).encode()).decode()
