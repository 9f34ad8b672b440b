"""Report rendering: Plotly figures to static images through one Chromium, HTML to A4 PDF.

Tests that need Chromium or Pango skip with the apt-get fix when it is missing, and fail
instead under NEEDLEWATCH_CI=1 (see tests/needs.py).
"""

from __future__ import annotations

import base64
import io
import struct
import xml.etree.ElementTree as ET
import zlib

import plotly.graph_objects as go
import pytest
from pypdf import PdfReader

from dashboard.report import images, pdf
from dashboard.report.images import (
    CHROMIUM_MISSING,
    ChartRenderError,
    ChromiumMissingError,
    data_uri,
    img_tag,
    render_images,
)
from dashboard.report.pdf import (
    PANGO_MISSING,
    PRINT_CSS,
    PdfEngineMissingError,
    PdfRenderError,
    html_to_pdf,
)
from ingest.errors import NeedleWatchError
from tests import needs

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
A4_POINTS = (595.28, 841.89)
WIDTH, HEIGHT, SCALE = 400, 260, 2


def three_figures() -> list[go.Figure]:
    """A bar chart with error bars, a line with a filled band, and a scatter with a legend."""
    quarters = ["2025Q4", "2026Q1", "2026Q2", "2026Q3"]
    bars = go.Figure(
        go.Bar(
            x=["0-20", "21-60", "61-100", ">100"],
            y=[6.1, 4.2, 3.3, 2.9],
            error_y={"type": "data", "array": [0.8, 0.5, 0.4, 0.4]},
        ),
        layout={"title": "Bruising per 1,000 treatments", "template": "plotly_white"},
    )
    band = go.Figure(
        [
            go.Scatter(x=quarters, y=[5, 5.5, 4.8, 5.1], mode="lines", line={"width": 0}),
            go.Scatter(x=quarters, y=[3, 3.4, 2.9, 3.2], fill="tonexty", mode="lines"),
            go.Scatter(x=quarters, y=[4, 4.4, 3.8, 4.1], mode="lines+markers", name="rate"),
        ],
        layout={"title": "Trend", "template": "plotly_white"},
    )
    scatter = go.Figure(
        [
            go.Scatter(x=[1e3, 5e3, 2e4], y=[4.0, 3.1, 3.6], mode="markers", name="within"),
            go.Scatter(x=[8e3], y=[9.5], mode="markers", marker_symbol="diamond", name="outlier"),
        ],
        layout={"title": "Funnel", "template": "plotly_white", "width": 1234, "height": 999},
    )
    return [bars, band, scatter]


def png_size(image: bytes) -> tuple[int, int]:
    assert image[:8] == PNG_SIGNATURE, "not a PNG"
    assert image[12:16] == b"IHDR"
    return struct.unpack(">II", image[16:24])


def tiny_png(width: int = 60, height: int = 30) -> bytes:
    """A valid solid-blue RGB PNG, built without Chromium."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x00\x72\xb2" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture()
def count_starts(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Every browser start of dashboard.report.images, recorded as its keyword arguments."""
    starts: list[dict] = []
    real = images._start_browser

    def counted(**kwargs):
        starts.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(images, "_start_browser", counted)
    return starts


# -- images -----------------------------------------------------------------------------


def test_png_batch_renders_every_figure_at_the_requested_size_through_one_browser(count_starts):
    needs.need_chromium()
    figures = three_figures()
    pngs = render_images(figures, fmt="png", width=WIDTH, height=HEIGHT, scale=SCALE)
    assert len(pngs) == 3
    for image in pngs:  # the size asked for wins over a figure's own layout width/height
        assert png_size(image) == (WIDTH * SCALE, HEIGHT * SCALE)
    assert len({bytes(p) for p in pngs}) == 3, "each figure has its own image"
    assert len(count_starts) == 1, "one Chromium for the whole batch"
    assert count_starts[0]["n"] == 1
    assert count_starts[0]["mathjax"] is False, "no MathJax fetched from a CDN"


def test_svg_batch_is_valid_svg_with_the_requested_size(count_starts):
    needs.need_chromium()
    svgs = render_images(three_figures(), fmt="svg", width=WIDTH, height=HEIGHT, scale=SCALE)
    assert len(svgs) == 3 and len(count_starts) == 1
    for image in svgs:
        root = ET.fromstring(image)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert (float(root.get("width")), float(root.get("height"))) == (WIDTH, HEIGHT)


def test_renderer_keeps_one_browser_across_render_calls(count_starts):
    needs.need_chromium()
    bars, band, scatter = three_figures()
    with images.ChartRenderer() as renderer:
        first = renderer.render([bars], width=200, height=100, scale=1)
        second = renderer.render([band, scatter], width=300, height=150, scale=1)
    assert [png_size(p) for p in first + second] == [(200, 100), (300, 150), (300, 150)]
    assert len(count_starts) == 1
    renderer.close()  # closing twice is harmless


def test_empty_batch_starts_no_browser(monkeypatch: pytest.MonkeyPatch):
    def refuse(**kwargs):
        raise AssertionError("no browser should start for no figures")

    monkeypatch.setattr(images, "_start_browser", refuse)
    assert render_images([]) == []


def test_find_chromium_follows_kaleidos_search(monkeypatch: pytest.MonkeyPatch):
    # no browser downloaded by kaleido_get_chrome; BROWSER_PATH is kaleido's own override
    for name in ("get_chrome_download_path", "get_old_chrome_download_path"):
        monkeypatch.setattr(
            f"choreographer.browsers.chromium.{name}", lambda **kw: None, raising=False
        )
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    assert images.find_chromium() is None
    monkeypatch.setenv("BROWSER_PATH", "/bin/sh")  # an executable file counts as found
    assert images.find_chromium() == "/bin/sh"


def test_missing_chromium_is_a_one_line_error_before_any_start(
    monkeypatch: pytest.MonkeyPatch, count_starts
):
    monkeypatch.setattr(images, "find_chromium", lambda: None)
    with pytest.raises(ChromiumMissingError) as caught:
        render_images(three_figures()[:1])
    assert (
        str(caught.value)
        == CHROMIUM_MISSING
        == ("static charts need Chromium: apt-get install -y chromium")
    )
    assert isinstance(caught.value, NeedleWatchError)
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert count_starts == []


def test_kaleido_start_errors_become_named_one_line_errors(monkeypatch: pytest.MonkeyPatch):
    from choreographer.errors import BrowserFailedError, ChromeNotFoundError

    monkeypatch.setattr(images, "find_chromium", lambda: "/usr/bin/chromium")
    for raised, expected in [
        (ChromeNotFoundError("Browser not found.\nLong help"), ChromiumMissingError),
        (BrowserFailedError("Chromium exited\nwith code 1"), ChartRenderError),
    ]:

        def fail(exc=raised, **kwargs):
            raise exc

        monkeypatch.setattr(images, "_start_browser", fail)
        with pytest.raises(expected) as caught:
            render_images(three_figures()[:1])
        assert "\n" not in str(caught.value) and "apt-get install" in str(caught.value)


def test_bad_format_is_a_value_error():
    with pytest.raises(ValueError, match="png"):
        render_images(three_figures(), fmt="jpeg")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        data_uri(b"x", "gif")  # type: ignore[arg-type]


def test_data_uri_and_img_tag_embed_the_bytes():
    image = tiny_png()
    uri = data_uri(image, "png")
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == image
    assert data_uri(b"<svg/>", "svg").startswith("data:image/svg+xml;base64,")
    tag = img_tag(image, "png", width=330, alt='Rates "by" <band>')
    assert 'alt="Rates &quot;by&quot; &lt;band&gt;"' in tag
    assert "width: 330px" in tag and uri in tag


# -- PDF --------------------------------------------------------------------------------


def sample_html(rows: int = 40) -> str:
    """Title, heading, an image and a table long enough to run onto a second page."""
    body = "".join(
        f"<tr><td>C{i:02d}</td><td class='num'>{1000 + 37 * i:,}</td>"
        f"<td class='num'>{i % 9}</td><td class='num'>{(i % 9) / (1 + 0.037 * i):.2f}</td></tr>"
        for i in range(1, rows + 1)
    )
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Sample</title>
<style>{PRINT_CSS}</style></head><body>
<p class="running-footer">Footer text 2026Q3</p>
<h1>NeedleWatch sample report</h1>
<p class="muted">2026Q3, all clinics.</p>
<h2>Chart</h2>
<figure><img src="{data_uri(tiny_png(), "png")}" style="width: 600px; height: 300px" alt="">
<figcaption>Figure 1. A blue rectangle.</figcaption></figure>
<h2>Clinics</h2>
<table><thead><tr><th>Clinic</th><th class="num">Treatments</th><th class="num">Events</th>
<th class="num">Rate per 1,000</th></tr></thead><tbody>{body}</tbody></table>
</body></html>"""


def test_html_to_pdf_is_a4_with_page_numbers_and_repeated_table_header():
    needs.need_pango()
    document = html_to_pdf(sample_html())
    assert document.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(document))
    assert len(reader.pages) == 2
    for page in reader.pages:
        box = page.mediabox
        assert float(box.width) == pytest.approx(A4_POINTS[0], abs=0.5)
        assert float(box.height) == pytest.approx(A4_POINTS[1], abs=0.5)
    first, second = (page.extract_text() for page in reader.pages)
    assert "Page 1 of 2" in first and "Page 2 of 2" in second
    assert "Treatments" in second, "the table header repeats on the second page"
    assert "NeedleWatch sample report" in second, "running header from the h1"
    assert "Clinics" in second, "running header names the section (the body says Clinic)"
    assert "Footer text 2026Q3" in second, "running footer from .running-footer"
    assert "C40" in second
    assert len(reader.pages[0].images) == 1, "the image is embedded"


def test_stylesheets_style_an_html_without_its_own_css():
    needs.need_pango()
    bare = "<html><body><h1>Bare</h1><p>No style element.</p></body></html>"
    plain = PdfReader(io.BytesIO(html_to_pdf(bare)))
    styled = PdfReader(io.BytesIO(html_to_pdf(bare, stylesheets=[PRINT_CSS])))
    assert "Page 1 of 1" not in plain.pages[0].extract_text()
    assert "Page 1 of 1" in styled.pages[0].extract_text()


def test_html_to_pdf_never_fetches_the_network_and_says_so():
    needs.need_pango()
    html = '<html><body><p>x</p><img src="https://example.invalid/chart.png"></body></html>'
    with pytest.raises(PdfRenderError, match="data: URIs"):
        html_to_pdf(html)


def test_missing_pango_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch):
    def no_pango():
        raise OSError("cannot load library 'libpango-1.0-0': libpango-1.0-0: cannot open")

    monkeypatch.setattr(pdf, "_import_weasyprint", no_pango)
    with pytest.raises(PdfEngineMissingError) as caught:
        html_to_pdf("<p>x</p>")
    assert str(caught.value) == PANGO_MISSING
    assert "apt-get install -y libpango-1.0-0" in PANGO_MISSING and "\n" not in PANGO_MISSING
    assert isinstance(caught.value, NeedleWatchError)
    assert caught.value.__suppress_context__


def test_print_css_has_the_rules_reports_rely_on():
    for rule in [
        "size: A4",
        'content: "Page " counter(page) " of " counter(pages)',
        "string-set: report-title content()",
        "display: table-header-group",
        "tr { break-inside: avoid; }",
        "tbody tr:nth-child(even)",
        "font-variant-numeric: tabular-nums",
        "figure { break-inside: avoid;",
        "break-after: avoid",
        '"DejaVu Sans"',
    ]:
        assert rule in PRINT_CSS, rule


# -- skip policy ------------------------------------------------------------------------


def test_need_skips_with_the_fix_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("NEEDLEWATCH_CI", raising=False)
    needs.need(True, "Chromium", needs.CHROMIUM_FIX)  # present: nothing happens
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y chromium"):
        needs.need(False, "Chromium", needs.CHROMIUM_FIX)
    monkeypatch.setenv("NEEDLEWATCH_CI", "1")
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y chromium"):
        needs.need(False, "Chromium", needs.CHROMIUM_FIX)
