"""Static chart images for reports: Plotly figures to PNG or SVG bytes through kaleido.

kaleido 1.x drives a headless Chromium (Debian's ``/usr/bin/chromium`` is found by itself).
Starting that browser and loading plotly.js into its tab costs about 2 s; drawing one
figure in an open tab costs about 0.2 s. So a batch never pays the start more than once:

- :func:`render_images` renders a whole list of figures through ONE browser, started for
  the call and shut down before it returns. A report calls it once with all its charts.
- :class:`ChartRenderer` keeps one browser open across several ``render`` calls inside a
  ``with`` block, and starts it in the background: enter the block, run the database
  queries while Chromium starts, then render. Nothing outlives the block (no per-process
  singleton, no kaleido global server), so a Streamlit rerun or a test never finds a
  stale browser.

Failures are :class:`~ingest.errors.NeedleWatchError` subclasses with a one-line message
that says what to do: :class:`ChromiumMissingError` when no Chromium is installed,
:class:`ChartRenderError` when it will not start or a figure cannot be drawn.

PNG at ``scale=2`` (192 dpi on paper) is the report format, :data:`REPORT_FORMAT`. Both were
compared in WeasyPrint at A4: for bar, line, band, u-chart and funnel figures SVG and PNG
look the same (SVG is sharper when zoomed, 5x smaller, and its text is searchable), but
WeasyPrint's own SVG renderer drops gradient fills, so a colour bar (heatmap, choropleth)
comes out blank. A PNG is drawn by the same Chromium as the dashboard: what the safety
officer sees on screen is what prints. ``fmt="svg"`` stays available.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import contextlib
import html
import os
import threading
from collections.abc import Sequence
from typing import Any, Literal

import plotly.graph_objects as go

from ingest.errors import NeedleWatchError

__all__ = [
    "DEFAULT_HEIGHT",
    "DEFAULT_SCALE",
    "DEFAULT_WIDTH",
    "REPORT_FORMAT",
    "ChartRenderError",
    "ChartRenderer",
    "ChromiumMissingError",
    "data_uri",
    "find_chromium",
    "img_tag",
    "render_images",
]

ImageFormat = Literal["png", "svg"]

#: Width and height in CSS pixels (1/96 inch). 660 px is the text width of an A4 page with
#: the 18 mm side margins of ``dashboard.report.pdf.PRINT_CSS`` (174 mm = 658 px), so a
#: chart is printed at its own size and Plotly's 12 px labels stay 9 pt on paper.
DEFAULT_WIDTH = 660
DEFAULT_HEIGHT = 360
#: Device pixels per CSS pixel for PNG: 2 gives 192 dpi on paper.
DEFAULT_SCALE = 2
#: The format reports embed (see the module docstring for why).
REPORT_FORMAT: ImageFormat = "png"
#: Seconds allowed for Chromium to start, and for any one figure to be drawn.
TIMEOUT_S = 90

CHROMIUM_MISSING = "static charts need Chromium: apt-get install -y chromium"
CHROMIUM_FAILED = (
    "Chromium did not start for static charts ({detail}): reinstall it with "
    "apt-get install -y --reinstall chromium, or run choreo_diagnose"
)
FIGURE_FAILED = "chart {index} of {total} could not be drawn by Chromium: {detail}"

_MIME = {"png": "image/png", "svg": "image/svg+xml"}


class ChromiumMissingError(NeedleWatchError):
    """No Chromium (or Chrome) browser was found to draw static charts."""


class ChartRenderError(NeedleWatchError):
    """Chromium was found but would not start, crashed, or could not draw a figure."""


def find_chromium() -> str | None:
    """The browser kaleido will start (``$BROWSER_PATH``, else chromium or chrome), or None.

    The same search kaleido makes, without starting anything: a report can fail before
    its queries run rather than after.
    """
    from choreographer.browsers.chromium import Chromium

    try:
        path = Chromium.find_browser(skip_local=False)
    except Exception:  # an unreadable PATH entry is "not found"
        return None
    return path if path and os.path.isfile(path) else None


def _start_browser(**kwargs: Any) -> Any:
    """Create the one kaleido browser of a renderer (the hook tests count starts with).

    Runs inside the renderer's event loop; ``await browser.open()`` launches Chromium.
    """
    import kaleido

    return kaleido.Kaleido(**kwargs)


def _one_line(exc: BaseException) -> str:
    # choreographer passes several strings as args; the first one is the sentence
    first = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    text = " ".join(first.split()).rstrip(".")
    return (text[:200] + "...") if len(text) > 200 else (text or type(exc).__name__)


def _translate_start_error(exc: BaseException) -> NeedleWatchError:
    from choreographer.errors import ChromeNotFoundError

    if isinstance(exc, NeedleWatchError):
        return exc
    if isinstance(exc, ChromeNotFoundError):
        return ChromiumMissingError(CHROMIUM_MISSING)
    return ChartRenderError(CHROMIUM_FAILED.format(detail=_one_line(exc)))


class ChartRenderer:
    """One headless Chromium for a batch of figures, open for the life of a ``with`` block.

    ``start()`` (or entering the block) returns at once: Chromium starts in a background
    thread with its own event loop, so this works from Streamlit, a CLI or a running
    asyncio loop alike. ``render()`` waits for the start, then draws the figures one
    after another in the one tab (more tabs start slower than they draw). ``close()``
    (or leaving the block) shuts Chromium down; an unclosed renderer is closed at exit.
    """

    def __init__(self, *, timeout: float = TIMEOUT_S) -> None:
        self._timeout = timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._browser_future: Any = None
        self._lock = threading.Lock()

    def __enter__(self) -> ChartRenderer:
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
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="kaleido-chromium", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        self._browser_future = asyncio.run_coroutine_threadsafe(self._open(), loop)
        atexit.register(self.close)

    async def _open(self) -> Any:
        # mathjax=False: reports have no LaTeX, and the default loads MathJax from a CDN.
        browser = _start_browser(n=1, timeout=self._timeout, mathjax=False)
        await browser.open()
        return browser

    def _browser(self) -> Any:
        try:
            return self._browser_future.result(timeout=self._timeout)
        except Exception as exc:  # every start failure becomes one line
            raise _translate_start_error(exc) from None

    def render(
        self,
        figures: Sequence[go.Figure | dict],
        fmt: ImageFormat = REPORT_FORMAT,
        width: int = DEFAULT_WIDTH,
        height: int = DEFAULT_HEIGHT,
        scale: float = DEFAULT_SCALE,
    ) -> list[bytes]:
        """The image bytes of each figure, in order (see :func:`render_images`)."""
        opts = _options(fmt, width, height, scale)
        figures = list(figures)
        if not figures:
            return []
        with self._lock:
            self.start()
            browser = self._browser()
            assert self._loop is not None
            future = asyncio.run_coroutine_threadsafe(_draw_all(browser, figures, opts), self._loop)
            try:
                return future.result()
            except NeedleWatchError:
                raise
            except Exception as exc:  # a crashed browser, as one line
                raise ChartRenderError(CHROMIUM_FAILED.format(detail=_one_line(exc))) from None

    def close(self) -> None:
        """Shut Chromium down and stop the background thread (safe to call twice)."""
        loop, thread, future = self._loop, self._thread, self._browser_future
        if loop is None or thread is None:
            return
        self._loop = self._thread = self._browser_future = None
        atexit.unregister(self.close)
        try:
            browser = future.result(timeout=self._timeout)
        except Exception:  # never started: nothing to shut down
            browser = None
        if browser is not None:
            with contextlib.suppress(Exception):  # closing is best effort
                asyncio.run_coroutine_threadsafe(browser.close(), loop).result(
                    timeout=self._timeout
                )
        # kaleido's watchdog and any leftover task end here, not as "Task was destroyed"
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(_cancel_other_tasks(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=self._timeout)
        if not thread.is_alive():
            loop.close()


async def _cancel_other_tasks() -> None:
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _draw_all(browser: Any, figures: list[go.Figure | dict], opts: dict) -> list[bytes]:
    images = []
    for index, figure in enumerate(figures, start=1):
        try:
            images.append(await browser.calc_fig(figure, opts=opts))
        except Exception as exc:  # name the figure, in one line
            detail = _one_line(exc)
            raise ChartRenderError(
                FIGURE_FAILED.format(index=index, total=len(figures), detail=detail)
            ) from None
    return images


def _options(fmt: str, width: int, height: int, scale: float) -> dict:
    if fmt not in _MIME:
        raise ValueError(f"image format must be 'png' or 'svg', not {fmt!r}")
    if width <= 0 or height <= 0 or scale <= 0:
        raise ValueError("width, height and scale must be positive")
    # An SVG is vector: kaleido would only multiply its width and height attributes by
    # the scale (keeping the viewBox), which would double its printed size.
    return {"format": fmt, "width": width, "height": height, "scale": 1 if fmt == "svg" else scale}


def render_images(
    figures: Sequence[go.Figure | dict],
    fmt: ImageFormat = REPORT_FORMAT,
    width: int = DEFAULT_WIDTH,
    height: int = DEFAULT_HEIGHT,
    scale: float = DEFAULT_SCALE,
) -> list[bytes]:
    """Render every figure to ``fmt`` bytes through ONE Chromium, started and shut down here.

    ``width`` and ``height`` are CSS pixels and override the figures' own layout sizes; a
    PNG has ``width * scale`` by ``height * scale`` pixels, an SVG says ``width`` by
    ``height`` (``scale`` does not apply). An empty list starts nothing.

    Raises :class:`ChromiumMissingError` or :class:`ChartRenderError` (one-line messages),
    and ValueError for a format other than png or svg.
    """
    _options(fmt, width, height, scale)
    if not figures:
        return []
    with ChartRenderer() as renderer:
        return renderer.render(figures, fmt=fmt, width=width, height=height, scale=scale)


def data_uri(image: bytes, fmt: ImageFormat = REPORT_FORMAT) -> str:
    """A ``data:`` URI for an ``<img src>``: the report stays one self-contained file."""
    if fmt not in _MIME:
        raise ValueError(f"image format must be 'png' or 'svg', not {fmt!r}")
    return f"data:{_MIME[fmt]};base64,{base64.b64encode(image).decode('ascii')}"


def img_tag(
    image: bytes,
    fmt: ImageFormat = REPORT_FORMAT,
    width: int = DEFAULT_WIDTH,
    alt: str = "",
) -> str:
    """An ``<img>`` printed at ``width`` CSS pixels (at most the text width), escaped.

    A PNG rendered at ``scale=2`` has twice as many pixels as CSS pixels; without a CSS
    width WeasyPrint would print it at twice its size.
    """
    return (
        f'<img src="{data_uri(image, fmt)}" alt="{html.escape(alt)}" '
        f'style="width: {int(width)}px; max-width: 100%; height: auto">'
    )
