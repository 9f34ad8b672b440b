"""HTML to an A4 PDF with WeasyPrint, and the print stylesheet reports share.

WeasyPrint loads Pango, HarfBuzz and fontconfig through ctypes when it is imported and
raises OSError when one is missing, so it is imported inside :func:`html_to_pdf` only:
the rest of NeedleWatch (and ``import dashboard.report``) works without them, and a
missing library becomes :class:`PdfEngineMissingError` with the apt-get line that fixes it.

:data:`PRINT_CSS` is the base stylesheet for report templates: A4 pages with "Page N of
M" in the footer, the report title (the ``h1``) and the current section (the last ``h2``)
in a running header, tables whose header row repeats on every page, zebra rows,
right-aligned tabular numbers (``class="num"``), and headings and figures that never end
a page alone. Include it in the template's ``<style>`` (or pass it in ``stylesheets``).
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Sequence

from ingest.errors import NeedleWatchError

__all__ = ["PRINT_CSS", "PdfEngineMissingError", "PdfRenderError", "html_to_pdf"]

PANGO_MISSING = (
    "PDF reports need Pango: apt-get install -y libpango-1.0-0 libpangoft2-1.0-0 "
    "libharfbuzz-subset0"
)
WEASYPRINT_MISSING = "PDF reports need the weasyprint package: python3 -m uv sync --locked"
RESOURCE_FAILED = "the report PDF could not load a resource ({detail}): embed images as data: URIs"

#: Only these URL schemes are fetched: a report is self-contained and never waits on
#: the network (images come as ``data:`` URIs, see ``dashboard.report.images.data_uri``).
ALLOWED_PROTOCOLS = ("data", "file")

PRINT_CSS = """
@page {
  size: A4;
  margin: 22mm 18mm 20mm 18mm;
  @top-left {
    content: string(report-title);
    font-size: 7.5pt; color: #666; vertical-align: bottom; padding-bottom: 3mm;
  }
  @top-right {
    content: string(section-title, start);  /* the section the page opens in */
    font-size: 7.5pt; color: #666; vertical-align: bottom; padding-bottom: 3mm;
  }
  @bottom-left {
    content: string(report-footer);
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
  @top-right { content: none; }
}

html {
  font-family: "DejaVu Sans", "Liberation Sans", "Helvetica Neue", Arial, sans-serif;
  font-size: 9.5pt;
  line-height: 1.4;
  color: #1b1b1b;
}
body { margin: 0; }

h1, h2, h3 { line-height: 1.2; color: #111; break-after: avoid; }
h1 {
  string-set: report-title content();
  font-size: 18pt; margin: 0 0 2mm;
}
h2 {
  string-set: section-title content();
  font-size: 13pt; margin: 7mm 0 2.5mm; padding-bottom: 1mm;
  border-bottom: 0.6pt solid #9aa4ad;
}
h3 { font-size: 10.5pt; margin: 5mm 0 1.5mm; }
/* A page break before a section: <h2 class="new-page"> or <div class="page-break">. */
.new-page, .page-break { break-before: page; }
/* Text for the footer's left slot, e.g. <p class="running-footer">NeedleWatch 2026Q3</p>. */
.running-footer {  /* not display: none, which would drop its string-set */
  string-set: report-footer content();
  height: 0; margin: 0; overflow: hidden; visibility: hidden;
}
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
figcaption { font-size: 8pt; color: #444; margin-top: 1.5mm; }
"""

_PDF_LOGGER = "weasyprint"


class PdfEngineMissingError(NeedleWatchError):
    """WeasyPrint or the system libraries it loads (Pango, HarfBuzz) are missing."""


class PdfRenderError(NeedleWatchError):
    """WeasyPrint could not load something the report's HTML refers to."""


class _ErrorCollector(logging.Handler):
    """Keep WeasyPrint's error records (unreachable or unreadable images, stylesheets)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(" ".join(record.getMessage().split()))


def _import_weasyprint():
    """Import WeasyPrint (raises OSError when Pango or HarfBuzz cannot be loaded).

    On that failure WeasyPrint prints a multi-line banner to stdout first; it is swallowed
    here so the user sees only the one-line fix.
    """
    with contextlib.redirect_stdout(io.StringIO()):
        import weasyprint

    return weasyprint


def _weasyprint():
    try:
        return _import_weasyprint()
    except OSError:
        raise PdfEngineMissingError(PANGO_MISSING) from None
    except ImportError:
        raise PdfEngineMissingError(WEASYPRINT_MISSING) from None


def html_to_pdf(
    html: str,
    *,
    stylesheets: Sequence[str] = (),
    base_url: str | None = None,
) -> bytes:
    """The PDF bytes of ``html`` (a complete document), laid out by WeasyPrint.

    ``stylesheets`` are CSS strings applied as user stylesheets: defaults that the
    document's own ``<style>`` overrides, e.g. ``[PRINT_CSS]`` for an HTML without styles
    (a report template includes :data:`PRINT_CSS` itself and passes nothing here).
    ``base_url`` resolves relative ``file:`` links; only ``data:`` and ``file:`` URLs are
    fetched, never the network.

    Raises :class:`PdfEngineMissingError` when Pango or WeasyPrint is missing, and
    :class:`PdfRenderError` when an image or stylesheet the HTML names cannot be loaded
    (WeasyPrint alone would leave a hole in the page and carry on).
    """
    weasyprint = _weasyprint()
    fetcher = weasyprint.URLFetcher(allowed_protocols=ALLOWED_PROTOCOLS)
    collector = _ErrorCollector()
    logger = logging.getLogger(_PDF_LOGGER)
    logger.addHandler(collector)
    try:
        document = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher)
        css = [weasyprint.CSS(string=s, url_fetcher=fetcher) for s in stylesheets]
        pdf = document.write_pdf(stylesheets=css)
    finally:
        logger.removeHandler(collector)
    if collector.messages:
        raise PdfRenderError(RESOURCE_FAILED.format(detail=collector.messages[0][:200]))
    return pdf
