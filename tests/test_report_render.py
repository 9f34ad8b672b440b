"""Report PDFs: HTML and its Plotly charts drawn, laid out and printed to A4 by one Chromium.

Tests that need Chromium skip with the apt-get fix when it is missing, and fail instead
under NEEDLEWATCH_CI=1 (see tests/needs.py).
"""

from __future__ import annotations

import asyncio
import base64
import io
import struct
import zlib

import plotly.graph_objects as go
import pytest
from pypdf import PdfReader

from dashboard.report import pdf
from dashboard.report.page import PRINT_CSS, chart_html
from dashboard.report.pdf import (
    CHROMIUM_MISSING,
    ChromiumMissingError,
    PdfPrinter,
    PdfRenderError,
    html_to_pdf,
)
from ingest.errors import NeedleWatchError
from tests import needs

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: A4 in points; Chromium prints 210 x 297 mm as 794 x 1123 CSS pixels, 0.3 pt short.
A4_POINTS = (595.28, 841.89)


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
    """Every browser start of dashboard.report.pdf, recorded as its keyword arguments."""
    starts: list[dict] = []
    real = pdf._start_browser

    def counted(**kwargs):
        starts.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(pdf, "_start_browser", counted)
    return starts


def charts_document(figures: list[go.Figure], width: int = 600, height: int = 300) -> str:
    tags = "".join(
        f"<h2>Chart {i}</h2>" + chart_html(str(i), figure, width, height)
        for i, figure in enumerate(figures, start=1)
    )
    return f"<!doctype html><html><head><meta charset='utf-8'></head><body>{tags}</body></html>"


def pages_text(document: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(document)).pages]


# -- charts -----------------------------------------------------------------------------


def test_charts_are_drawn_by_plotly_as_vectors_through_one_browser(count_starts):
    needs.need_chromium()
    document = html_to_pdf(charts_document(three_figures()))
    reader = PdfReader(io.BytesIO(document))
    text = "\n".join(page.extract_text() for page in reader.pages)
    for title in ("Bruising per 1,000 treatments", "Trend", "Funnel", "21-60", "outlier"):
        assert title in text, f"{title!r}: chart text is searchable text in the PDF"
    assert sum(len(page.images) for page in reader.pages) == 0, "vectors, not screenshots"
    assert len(count_starts) == 1, "one Chromium for the whole document"
    assert count_starts[0] == {"headless": True, "enable_extensions": False}


class _FakeTab:
    """A DevTools tab whose page answers "is plotly.js there?" from a script of answers."""

    def __init__(self, answers: list[str]):
        self.answers, self.asked = list(answers), 0

    def subscribe(self, name, handler):
        pass

    def subscribe_once(self, name):
        done = asyncio.get_running_loop().create_future()
        done.set_result({})  # the load event: at once, as if the start tab's own
        return done

    async def send_command(self, command, params=None):
        if command != "Runtime.evaluate":
            return {"result": {}}
        self.asked += 1
        return {"result": {"result": {"type": "string", "value": self.answers.pop(0)}}}


class _FakeBrowser:
    def __init__(self, tab: _FakeTab):
        self.tab = tab

    async def open(self):
        pass

    def get_tab(self):
        return self.tab

    async def close(self):
        pass


@pytest.mark.parametrize(
    ("answers", "asked", "fails"),
    [
        (["object"], 1, False),
        (["loading", "loading", "object"], 3, False),  # not loaded yet: asked again
        (["loading", "undefined"], 2, True),  # loaded without plotly.js: at once
    ],
)
def test_the_printer_waits_for_its_page_and_plotly(
    monkeypatch: pytest.MonkeyPatch, answers: list[str], asked: int, fails: bool
):
    """Three `needlewatch report` runs at once failed 5 times in 18 with "plotly.js did not
    load": the printer asked once, on the first load event, before its page had plotly.js.
    It now asks every 50 ms until its own page has loaded (the page says "loading" until
    then), and fails at once only when that page has loaded without plotly.js."""
    tab = _FakeTab(answers)
    monkeypatch.setattr(pdf, "find_chromium", lambda: "/usr/bin/chromium")
    monkeypatch.setattr(pdf, "_start_browser", lambda **kw: _FakeBrowser(tab))
    printer = pdf.PdfPrinter(timeout=10)
    printer.start()
    try:
        if fails:
            with pytest.raises(PdfRenderError, match="plotly.js did not load"):
                printer._tab()
        else:
            assert printer._tab() is tab
    finally:
        printer.close()
    assert tab.asked == asked


def test_chart_html_draws_at_the_size_asked_whatever_the_figure_says():
    scatter = three_figures()[2]  # its own layout asks for 1234 x 999
    tag = chart_html("funnel", scatter, 400, 260)
    assert tag.startswith(
        '<div class="chart" id="chart-funnel" style="width: 400px; height: 260px">'
    )
    assert '"width": 400' in tag and '"height": 260' in tag
    assert "1234" not in tag and "999" not in tag
    assert "staticPlot: true" in tag


def test_a_title_cannot_end_the_chart_script_early():
    needs.need_chromium()
    figure = go.Figure(go.Bar(x=["a"], y=[1]), layout={"title": "C04 </script> & co"})
    tag = chart_html("k", figure, 400, 200)
    assert tag.count("</script>") == 1, "only the script's own end tag"
    (text,) = pages_text(html_to_pdf(charts_document([figure])))
    assert "C04 </script> & co" in text


def test_printer_keeps_one_browser_across_documents(count_starts):
    needs.need_chromium()
    bars, band, scatter = three_figures()
    with PdfPrinter() as printer:
        first = pages_text(printer.print_pdf(charts_document([bars])))
        second = pages_text(printer.print_pdf(charts_document([band, scatter])))
    assert "Bruising per 1,000 treatments" in first[0] and "Trend" not in "".join(first)
    assert "Trend" in "".join(second) and "Bruising" not in "".join(second)
    assert len(count_starts) == 1
    printer.close()  # closing twice is harmless


def test_a_chart_that_fails_is_a_one_line_error():
    needs.need_chromium()
    failing = (
        "<!doctype html><html><head></head><body><p>x</p><script>"
        "(window.__nwCharts = window.__nwCharts || []).push("
        "Promise.reject(new Error('no axis for the funnel')))</script></body></html>"
    )
    with pytest.raises(PdfRenderError) as caught:
        html_to_pdf(failing)
    assert str(caught.value) == (
        "a chart of the PDF could not be drawn by Plotly: Error: no axis for the funnel"
    )


def test_find_chromium_follows_choreographers_search(monkeypatch: pytest.MonkeyPatch):
    # no browser downloaded by choreo_get_chrome; BROWSER_PATH is its own override
    for name in ("get_chrome_download_path", "get_old_chrome_download_path"):
        monkeypatch.setattr(
            f"choreographer.browsers.chromium.{name}", lambda **kw: None, raising=False
        )
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    assert pdf.find_chromium() is None
    monkeypatch.setenv("BROWSER_PATH", "/bin/sh")  # an executable file counts as found
    assert pdf.find_chromium() == "/bin/sh"


def test_missing_chromium_is_a_one_line_error_before_any_start(
    monkeypatch: pytest.MonkeyPatch, count_starts
):
    monkeypatch.setattr(pdf, "find_chromium", lambda: None)
    with pytest.raises(ChromiumMissingError) as caught:
        html_to_pdf("<p>x</p>")
    assert (
        str(caught.value)
        == CHROMIUM_MISSING
        == ("PDF reports need Chromium: apt-get install -y chromium")
    )
    assert isinstance(caught.value, NeedleWatchError)
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert count_starts == []


def test_start_errors_become_named_one_line_errors(monkeypatch: pytest.MonkeyPatch):
    from choreographer.errors import BrowserFailedError, ChromeNotFoundError

    monkeypatch.setattr(pdf, "find_chromium", lambda: "/usr/bin/chromium")
    for raised, expected in [
        (ChromeNotFoundError("Browser not found.\nLong help"), ChromiumMissingError),
        (BrowserFailedError("Chromium exited\nwith code 1"), PdfRenderError),
    ]:

        def fail(exc=raised, **kwargs):
            raise exc

        monkeypatch.setattr(pdf, "_start_browser", fail)
        with pytest.raises(expected) as caught:
            html_to_pdf("<p>x</p>")
        assert "\n" not in str(caught.value) and "apt-get install" in str(caught.value)


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
<figure><img src="data:image/png;base64,{base64.b64encode(tiny_png()).decode()}" style="width: 600px; height: 300px" alt="">
<figcaption>Figure 1. A blue rectangle.</figcaption></figure>
<h2>Clinics</h2>
<table><thead><tr><th>Clinic</th><th class="num">Treatments</th><th class="num">Events</th>
<th class="num">Rate per 1,000</th></tr></thead><tbody>{body}</tbody></table>
</body></html>"""


def test_html_to_pdf_is_a4_with_page_numbers_and_repeated_table_header():
    needs.need_chromium()
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
    assert first.count("NeedleWatch sample report") == 1, "no running header on the title page"
    assert "Footer text 2026Q3" in first and "Footer text 2026Q3" in second, "from .running-footer"
    assert "C40" in second
    assert len(reader.pages[0].images) == 1, "the image is embedded"
    assert reader.outline[0].title == "NeedleWatch sample report", "bookmarks from headings"


def test_stylesheets_style_an_html_without_its_own_css():
    needs.need_chromium()
    bare = "<html><head></head><body><h1>Bare</h1><p>No style element.</p></body></html>"
    with PdfPrinter() as printer:
        plain = PdfReader(io.BytesIO(html_to_pdf(bare, printer=printer)))
        styled = PdfReader(io.BytesIO(html_to_pdf(bare, stylesheets=[PRINT_CSS], printer=printer)))
    assert "Page 1 of 1" not in plain.pages[0].extract_text()
    assert "Page 1 of 1" in styled.pages[0].extract_text()


def test_html_to_pdf_never_fetches_the_network_and_says_so():
    needs.need_chromium()
    html = '<html><body><p>x</p><img src="https://example.invalid/chart.png"></body></html>'
    with pytest.raises(PdfRenderError) as caught:
        html_to_pdf(html)
    assert str(caught.value) == (
        "the report PDF would fetch https://example.invalid/chart.png: embed images as data: URIs"
    )


def test_print_css_has_the_rules_reports_rely_on():
    for rule in [
        "size: A4",
        'content: "Page " counter(page) " of " counter(pages)',
        'content: var(--nw-title, "")',
        'content: var(--nw-footer, "")',
        "display: table-header-group",
        "tr { break-inside: avoid; }",
        "tbody tr:nth-child(even)",
        "font-variant-numeric: tabular-nums",
        "figure { break-inside: avoid;",
        "break-after: avoid",
        '"DejaVu Sans"',
        "font-variant-ligatures: no-common-ligatures",
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
