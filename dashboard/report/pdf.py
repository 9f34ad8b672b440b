"""HTML to an A4 PDF through headless Chromium, charts drawn by Plotly in the page itself.

Why Chromium does the whole job. For a 10-million-treatment quarter's 18-page report,
WeasyPrint took 2-4 s to lay out the tables and kaleido 2.6-3.4 s to draw the eight charts
as PNG screenshots (0.3-0.4 s each, through the same Chromium): a cold ``report --out q.pdf``
took 9-10 s. Chromium lays out, draws and prints the same document in about 0.6 s, and its
charts are vectors: sharp at any zoom, their labels searchable text.

How (:class:`PdfPrinter`): Chromium starts in a background thread with its own event loop
(so this works from Streamlit, a CLI or a running asyncio loop), its one tab opened on a
blank page that loads plotly.js from the plotly package. That happens while the report's
queries run. ``print_pdf(html)`` then writes the report into the tab with
``document.open/write`` (the window, and with it ``Plotly``, survives), adds plotly.js's
own stylesheet, waits for every chart (``page.chart_html``) and the fonts, and calls
``Page.printToPDF`` with the page size and margins of the document's ``@page`` rules.

``page.PRINT_CSS`` (``dashboard.report.page``, beside ``chart_html``) is the base
stylesheet for report templates: A4 pages with "Page N of
M" and the report's footer text (``.running-footer``) at the bottom and its title (the
``h1``) at the top of every page but the first, tables whose header row repeats on every
page, zebra rows, right-aligned tabular numbers (``class="num"``), and headings and
figures that never end a page alone. Chromium has no ``string-set``: the printer copies
the h1 and the footer text into the ``--nw-title`` and ``--nw-footer`` custom properties
that the page margins show (so the running header cannot name each page's section).

A report is self-contained: requests for anything but ``data:`` and ``file:`` URLs are
refused, and an ``<img>``, script or stylesheet that would need one is a
:class:`PdfRenderError`. Failures are :class:`~ingest.errors.NeedleWatchError` subclasses
with a one-line message that says what to do.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ingest.errors import NeedleWatchError

__all__ = [
    "ChromiumMissingError",
    "PdfPrinter",
    "PdfRenderError",
    "find_chromium",
    "html_to_pdf",
]

CHROMIUM_MISSING = "PDF reports need Chromium: apt-get install -y chromium"
CHROMIUM_FAILED = (
    "Chromium did not start for the PDF ({detail}): reinstall it with "
    "apt-get install -y --reinstall chromium"
)
PRINT_FAILED = "Chromium could not print the PDF: {detail}"
CHART_FAILED = "a chart of the PDF could not be drawn by Plotly: {detail}"
RESOURCE_FAILED = "the report PDF would fetch {detail}: embed images as data: URIs"
#: Seconds allowed for Chromium to start, and for one document to be drawn and printed.
TIMEOUT_S = 90


class ChromiumMissingError(NeedleWatchError):
    """No Chromium (or Chrome) browser was found to print the PDF."""


class PdfRenderError(NeedleWatchError):
    """Chromium would not start, crashed, could not draw a chart, or the HTML needs the
    network."""


def find_chromium() -> str | None:
    """The browser that will print (``$BROWSER_PATH``, else chromium or chrome), or None:
    choreographer's own search, made without starting anything, so a report fails before
    its queries run rather than after."""
    from choreographer.browsers.chromium import Chromium

    try:
        path = Chromium.find_browser(skip_local=False)
    except Exception:  # an unreadable PATH entry is "not found"
        return None
    return path if path and os.path.isfile(path) else None


#: Run in the tab once plotly.js has loaded: keep the stylesheet it inserted (document.open
#: drops the old document's styles, and Plotly inserts them only once).
_KEEP_PLOTLY_CSS = """
(() => {
  if (location.href !== %s || document.readyState !== "complete") return "loading";
  window.__nwPlotlyCss = Array.from(document.styleSheets)
    .flatMap((sheet) => Array.from(sheet.cssRules).map((rule) => rule.cssText))
    .join("\\n");
  return typeof Plotly;
})()
"""
#: How long the printer's page may take to load plotly.js (asked every 50 ms).
PLOTLY_WAIT_S = 30.0

#: Writes the document into the tab and resolves when every chart and font is ready, with
#: the URLs the document refers to that are neither data: nor file: (never fetched).
_WRITE = """
async (html) => {
  window.__nwCharts = [];
  const style = "<style>" + window.__nwPlotlyCss + "</style>";
  const at = html.indexOf("</head>");
  document.open();
  document.write(at >= 0 ? html.slice(0, at) + style + html.slice(at) : style + html);
  document.close();
  const text = (selector) => {
    const node = document.querySelector(selector);
    return node ? node.textContent.replace(/\\s+/g, " ").trim() : "";
  };
  const root = document.documentElement.style;
  root.setProperty("--nw-title", JSON.stringify(text("h1")));
  root.setProperty("--nw-footer", JSON.stringify(text(".running-footer")));
  await Promise.all(window.__nwCharts);
  await document.fonts.ready;
  const remote = Array.from(document.querySelectorAll("[src], link[href]"))
    .map((node) => node.getAttribute("src") || node.getAttribute("href"))
    .filter((url) => !/^(data:|file:|#)/i.test(url.trim()));
  return {charts: window.__nwCharts.length, remote: remote};
}
"""

_INDEX = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>NeedleWatch printer</title>
<script src="{plotly}"></script></head><body></body></html>
"""


def _plotly_js() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _start_browser(**kwargs: Any) -> Any:
    """Create the printer's browser (the hook tests count starts with); ``await
    browser.open()`` launches Chromium."""
    from choreographer import Browser

    return Browser(**kwargs)


def _one_line(exc: BaseException) -> str:
    first = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    text = " ".join(str(first).split()).rstrip(".")
    return (text[:200] + "...") if len(text) > 200 else (text or type(exc).__name__)


def _translate_start_error(exc: BaseException) -> NeedleWatchError:
    from choreographer.errors import ChromeNotFoundError

    if isinstance(exc, NeedleWatchError):
        return exc
    if isinstance(exc, ChromeNotFoundError):
        return ChromiumMissingError(CHROMIUM_MISSING)
    return PdfRenderError(CHROMIUM_FAILED.format(detail=_one_line(exc)))


def _checked(response: dict) -> dict:
    """A DevTools response's result, or PdfRenderError with its error or JS exception."""
    if "error" in response:
        raise PdfRenderError(PRINT_FAILED.format(detail=_one_line(
            Exception(response["error"].get("message", "unknown error")))))  # fmt: skip
    result = response.get("result", {})
    details = result.get("exceptionDetails")
    if details:
        exception = details.get("exception", {})
        detail = exception.get("description") or details.get("text") or "script error"
        detail = detail.splitlines()[0]  # the message, not the stack
        raise PdfRenderError(CHART_FAILED.format(detail=_one_line(Exception(detail))))
    return result


class PdfPrinter:
    """One headless Chromium that prints documents to PDF, open for a ``with`` block.

    ``start()`` (or entering the block) returns at once: Chromium starts and loads
    plotly.js in the background. ``print_pdf()`` waits for that, then prints; several
    documents go through the one tab, one after another. ``close()`` (or leaving the
    block) shuts Chromium down; an unclosed printer is closed at exit.
    """

    def __init__(self, *, timeout: float = TIMEOUT_S) -> None:
        self._timeout = timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready: Any = None
        self._folder: tempfile.TemporaryDirectory | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> PdfPrinter:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def started(self) -> bool:
        return self._loop is not None

    def start(self) -> None:
        """Begin starting Chromium in the background (a second call does nothing).

        Raises :class:`ChromiumMissingError` at once when no browser is installed.
        """
        if self._loop is not None:
            return
        if find_chromium() is None:
            raise ChromiumMissingError(CHROMIUM_MISSING)
        self._folder = tempfile.TemporaryDirectory(prefix="needlewatch-print-")
        index = Path(self._folder.name) / "index.html"
        index.write_text(_INDEX.format(plotly=_plotly_js().as_uri()), encoding="utf-8")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="pdf-chromium", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        self._ready = asyncio.run_coroutine_threadsafe(self._open(index.as_uri()), loop)
        atexit.register(self.close)

    async def _open(self, index: str) -> tuple[Any, Any]:
        browser = _start_browser(headless=True, enable_extensions=False)
        await browser.open()
        try:  # the tab Chromium opens with (a second one would cost another 0.1-0.2 s)
            tab = browser.get_tab() or await browser.create_tab("", window=True)
            tab.subscribe("Fetch.requestPaused", self._only_local(tab))
            _checked(
                await tab.send_command("Fetch.enable", params={"patterns": [{"urlPattern": "*"}]})
            )
            loaded = tab.subscribe_once("Page.loadEventFired")
            _checked(await tab.send_command("Page.enable"))
            _checked(await tab.send_command("Page.navigate", params={"url": index}))
            await loaded
            # the load event may be the start tab's own blank page (two reports starting
            # at once showed it): ask the page until it is ours, loaded, with plotly.js
            keep = _KEEP_PLOTLY_CSS % json.dumps(index)
            deadline = asyncio.get_running_loop().time() + PLOTLY_WAIT_S
            while True:
                result = _checked(await tab.send_command(
                    "Runtime.evaluate", params={"expression": keep, "returnByValue": True}
                ))  # fmt: skip
                value = result.get("result", {}).get("value")
                if value == "object":
                    break
                if value != "loading" or asyncio.get_running_loop().time() > deadline:
                    raise PdfRenderError(CHROMIUM_FAILED.format(detail="plotly.js did not load"))
                await asyncio.sleep(0.05)
        except BaseException:
            with contextlib.suppress(Exception):
                await browser.close()
            raise
        return browser, tab

    @staticmethod
    def _only_local(tab: Any):
        async def answer(event: dict) -> None:
            params = event.get("params", {})
            url = params.get("request", {}).get("url", "")
            command, extra = (
                ("Fetch.continueRequest", {})
                if url.startswith(("file:", "data:"))
                else ("Fetch.failRequest", {"errorReason": "BlockedByClient"})
            )
            with contextlib.suppress(Exception):  # the tab may be closing
                await tab.send_command(command, params={"requestId": params["requestId"], **extra})

        return answer

    def _tab(self) -> Any:
        try:
            return self._ready.result(timeout=self._timeout)[1]
        except Exception as exc:  # every start failure becomes one line
            raise _translate_start_error(exc) from None

    def print_pdf(self, html: str) -> bytes:
        """The PDF bytes of ``html`` (a complete document, charts by ``page.chart_html``).

        Raises :class:`PdfRenderError` when a chart cannot be drawn, the document refers to
        a URL other than data: or file:, or Chromium fails.
        """
        with self._lock:
            self.start()
            tab = self._tab()
            assert self._loop is not None
            future = asyncio.run_coroutine_threadsafe(_print(tab, html), self._loop)
            try:
                return future.result(timeout=self._timeout)
            except NeedleWatchError:
                raise
            except Exception as exc:  # a crashed browser or a timeout, as one line
                raise PdfRenderError(PRINT_FAILED.format(detail=_one_line(exc))) from None

    def close(self) -> None:
        """Shut Chromium down and stop the background thread (safe to call twice)."""
        loop, thread, ready = self._loop, self._thread, self._ready
        if loop is None or thread is None:
            return
        self._loop = self._thread = self._ready = None
        atexit.unregister(self.close)
        try:
            browser = ready.result(timeout=self._timeout)[0]
        except Exception:  # never started: nothing to shut down
            browser = None
        if browser is not None:
            with contextlib.suppress(Exception):  # closing is best effort
                asyncio.run_coroutine_threadsafe(browser.close(), loop).result(
                    timeout=self._timeout
                )
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(_cancel_other_tasks(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=self._timeout)
        if not thread.is_alive():
            loop.close()
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None


async def _cancel_other_tasks() -> None:
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _print(tab: Any, html: str) -> bytes:
    written = _checked(await tab.send_command("Runtime.evaluate", params={
        "expression": f"({_WRITE})({json.dumps(html)})",
        "awaitPromise": True,
        "returnByValue": True,
    }))  # fmt: skip
    remote = written.get("result", {}).get("value", {}).get("remote", [])
    if remote:
        raise PdfRenderError(RESOURCE_FAILED.format(detail=_one_line(Exception(remote[0]))))
    printed = _checked(await tab.send_command("Page.printToPDF", params={
        "printBackground": True,
        "preferCSSPageSize": True,
        "generateDocumentOutline": True,
    }))  # fmt: skip
    return base64.b64decode(printed["data"])


def html_to_pdf(
    html: str, *, stylesheets: Sequence[str] = (), printer: PdfPrinter | None = None
) -> bytes:
    """The PDF bytes of ``html`` (a complete document), printed by Chromium.

    ``stylesheets``: CSS strings put before the document's own styles (which override
    them), e.g. ``[page.PRINT_CSS]`` for an HTML without styles. ``printer``: a started
    :class:`PdfPrinter`, left open for the caller; one is started and closed here otherwise.
    """
    if stylesheets:
        styles = "".join(f"<style>{css}</style>" for css in stylesheets)
        at = html.find("<head>")
        html = html[: at + 6] + styles + html[at + 6 :] if at >= 0 else styles + html
    if printer is not None:
        return printer.print_pdf(html)
    with PdfPrinter() as own:
        return own.print_pdf(html)
