"""Static chart speed: N Plotly figures through ONE Chromium against one kaleido call each.

Target (issue 5): a quarter's PDF in under 10 s, its charts rendered through one kaleido
browser, not one browser per chart. Rows:

- ``render_images`` (one browser):  ``dashboard.report.images.render_images``, the report path
- ``kaleido.calc_fig_sync`` per figure: what ``fig.to_image()`` costs without a server,
  a fresh Chromium for every chart
- ``html_to_pdf``: the N PNGs in an A4 document through WeasyPrint (after its import)

    uv run python bench/report_render_speed.py [--figures 8] [--format png|svg]
"""

from __future__ import annotations

import argparse
import os
import time

import plotly.graph_objects as go

from dashboard.report.images import (
    DEFAULT_HEIGHT,
    DEFAULT_SCALE,
    DEFAULT_WIDTH,
    ChartRenderer,
    img_tag,
    render_images,
)


def figures(n: int) -> list[go.Figure]:
    """n bar charts with error bars, like the report's rate charts."""
    bands = ["0-20", "21-60", "61-100", "101-200", ">200"]
    return [
        go.Figure(
            go.Bar(
                x=bands,
                y=[(i + j) % 7 + 2.5 for j in range(len(bands))],
                error_y={"type": "data", "array": [0.6] * len(bands)},
            ),
            layout={"title": f"Chart {i + 1}", "template": "plotly_white"},
        )
        for i in range(n)
    ]


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--figures", type=int, default=8, help="figures per batch (default 8)")
    parser.add_argument("--format", choices=("png", "svg"), default="png")
    args = parser.parse_args()
    import kaleido

    figs = figures(args.figures)
    opts = {"format": args.format, "width": DEFAULT_WIDTH, "height": DEFAULT_HEIGHT}
    opts["scale"] = DEFAULT_SCALE if args.format == "png" else 1

    n = args.figures
    batch_s, images = timed(lambda: render_images(figs, fmt=args.format))
    single_s, _ = timed(lambda: [kaleido.calc_fig_sync(f, opts=opts) for f in figs])
    with ChartRenderer() as renderer:  # where the one-browser time goes
        first_s, _ = timed(lambda: renderer.render(figs[:1], fmt=args.format))
        rest_s, _ = timed(lambda: renderer.render(figs[1:], fmt=args.format))

    import_s, _ = timed(lambda: __import__("weasyprint"))
    from dashboard.report.pdf import PRINT_CSS, html_to_pdf

    body = "".join(f"<figure>{img_tag(i, args.format)}</figure>" for i in images)
    html = f"<html><head><style>{PRINT_CSS}</style></head><body><h1>Bench</h1>{body}</body></html>"
    pdf_s, pdf = timed(lambda: html_to_pdf(html))

    print(f"{n} figures, {args.format}, {DEFAULT_WIDTH}x{DEFAULT_HEIGHT} px, {os.cpu_count()} CPUs")
    print(f"{'method':<36} {'seconds':>8} {'per figure':>11} {'x one browser':>14}")
    for name, seconds in [
        ("render_images (one browser)", batch_s),
        ("kaleido.calc_fig_sync per figure", single_s),
    ]:
        print(f"{name:<36} {seconds:>8.2f} {seconds / n:>11.2f} {seconds / batch_s:>14.1f}")
    print("one browser, split:")
    print(f"{'  Chromium start + first figure':<36} {first_s:>8.2f}")
    if n > 1:
        print(f"{'  each further figure':<36} {rest_s:>8.2f} {rest_s / (n - 1):>11.2f}")
    print("PDF:")
    print(f"{'  import weasyprint (once a process)':<36} {import_s:>8.2f}")
    print(f"{'  html_to_pdf of the images':<36} {pdf_s:>8.2f}   {len(pdf):,} bytes")


if __name__ == "__main__":
    main()
