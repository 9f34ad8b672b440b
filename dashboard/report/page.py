"""What a printed report page is made of, apart from the printer (``dashboard.report.pdf``):
the base stylesheet for A4 report templates (:data:`PRINT_CSS`) and a Plotly chart as the
tag and inline script the printer's page draws (:func:`chart_html`)."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["PRINT_CSS", "chart_html"]

PRINT_CSS = """
@page {
  size: A4;
  margin: 22mm 18mm 20mm 18mm;
  @top-left {
    content: var(--nw-title, "");
    font-size: 7.5pt; color: #666; vertical-align: bottom; padding-bottom: 3mm;
  }
  @bottom-left {
    content: var(--nw-footer, "");
    font-size: 7.5pt; color: #666; vertical-align: top; padding-top: 3mm;
  }
  @bottom-right {
    content: "Page " counter(page) " of " counter(pages);
    font-size: 7.5pt; color: #666; vertical-align: top; padding-top: 3mm;
    font-variant-numeric: tabular-nums;
  }
}
/* The title page carries the title itself: no running header above it. */
@page :first {
  @top-left { content: none; }
}

html {
  font-family: "DejaVu Sans", "Liberation Sans", "Helvetica Neue", Arial, sans-serif;
  font-size: 9.5pt;
  line-height: 1.4;
  color: #1b1b1b;
  /* "fi" as two letters, not the ligature: copied or searched text reads "significant" */
  font-variant-ligatures: no-common-ligatures;
}
body { margin: 0; }

h1, h2, h3 { line-height: 1.2; color: #111; break-after: avoid; }
h1 {
  font-size: 18pt; margin: 0 0 2mm;
}
h2 {
  font-size: 13pt; margin: 7mm 0 2.5mm; padding-bottom: 1mm;
  border-bottom: 0.6pt solid #9aa4ad;
}
h3 { font-size: 10.5pt; margin: 5mm 0 1.5mm; }
/* A page break before a section: <h2 class="new-page"> or <div class="page-break">. */
.new-page, .page-break { break-before: page; }
/* Text for the footer's left slot, e.g. <p class="running-footer">NeedleWatch 2026Q3</p>
   (the printer copies it, and the h1, into --nw-footer and --nw-title). */
.running-footer { display: none; }
p { margin: 0 0 2.5mm; orphans: 3; widows: 3; }
.muted, .note { color: #555; font-size: 8.5pt; }

table {
  width: 100%;
  border-collapse: collapse;
  margin: 2mm 0 5mm;
  font-size: 8.5pt;
  line-height: 1.3;
}
caption {
  caption-side: top; text-align: left;
  font-weight: bold; font-size: 9pt; padding-bottom: 1.5mm;
}
/* Repeated at the top (and bottom) of every page the table runs over. */
thead { display: table-header-group; }
tfoot { display: table-footer-group; }
tr { break-inside: avoid; }
th {
  text-align: left; vertical-align: bottom; font-weight: bold;
  padding: 1.2mm 2mm; border-bottom: 0.9pt solid #333; background: #fff;
}
td { padding: 0.9mm 2mm; vertical-align: top; border-bottom: 0.3pt solid #dde1e5; }
tbody tr:nth-child(even) { background: #f2f4f6; }  /* on the row: no seams between cells */
tfoot td { border-top: 0.9pt solid #333; border-bottom: none; font-weight: bold; }
/* Numbers: right-aligned, every digit the same width, never wrapped. */
.num, th.num, td.num {
  text-align: right;
  font-variant-numeric: tabular-nums;
  white-space: nowrap;
}

figure { break-inside: avoid; margin: 3mm 0 5mm; }
figure img, img.chart { display: block; max-width: 100%; height: auto; margin: 0 auto; }
div.chart { break-inside: avoid; margin: 0 auto; }  /* a Plotly chart, drawn at its own size */
figcaption { font-size: 8pt; color: #444; margin-top: 1.5mm; }
"""


def chart_html(key: str, figure: Any, width: int, height: int) -> str:
    """A Plotly figure as a ``div`` and the inline script that draws it at ``width`` x
    ``height`` CSS pixels, static (no hover, no mode bar), for :meth:`PdfPrinter.print_pdf`
    (which waits for it). ``key`` names the chart (``id="chart-<key>"``)."""
    spec = figure.to_plotly_json() if hasattr(figure, "to_plotly_json") else dict(figure)
    layout = {**spec.get("layout", {}), "width": int(width), "height": int(height)}
    from plotly.utils import PlotlyJSONEncoder

    data = json.dumps({"data": spec.get("data", []), "layout": layout}, cls=PlotlyJSONEncoder)
    data = data.replace("</", "<\\/")  # never ends the script element early
    div_id = json.dumps(f"chart-{key}")
    return (
        f'<div class="chart" id="chart-{key}" style="width: {int(width)}px; '
        f'height: {int(height)}px"></div>\n<script>(function () {{ var f = {data}; '
        "var charts = (window.__nwCharts = window.__nwCharts || []); "
        f"try {{ charts.push(Plotly.newPlot({div_id}, f.data, f.layout, "
        "{staticPlot: true})); } catch (e) { charts.push(Promise.reject(e)); } })();</script>"
    )
