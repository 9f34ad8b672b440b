"""The dashboard in a real browser: Debian's chromium, driven by Playwright, against a
running ``needlewatch serve`` on the fixture database.

Every page draws its charts or tables with no exception, error alert or error dialog; a
shared link reopens the numbers of ``needlewatch rates`` and survives a rerun; a hostile
link is shown with notices. Full-page screenshots go to ``$NEEDLEWATCH_SCREENSHOTS``,
else ``bench/out/screenshots/``, for a person to look at.

Without /usr/bin/chromium the tests skip (``apt-get install -y chromium``), except under
``NEEDLEWATCH_CI=1`` (set by ``.ci/run``), where a missing browser is a failure.
Playwright's own browser download (``playwright install``) is never used.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlparse

import pytest

from dashboard.app.screens import PAGES
from needlewatch.cli import main

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1440, "height": 900}
#: The first page load pays Streamlit's cold start (imports, first queries).
FIRST_LOAD_MS = 90_000
STEP_MS = 30_000
SERVER_START_S = 60

#: Streamlit marks its root element with the connection and script-run state.
IDLE = (
    '[data-testid="stApp"][data-test-connection-state="CONNECTED"]'
    '[data-test-script-state="notRunning"]'
)
CHART = '[data-testid="stPlotlyChart"]'
TABLE = '[data-testid="stDataFrame"]'
#: What a user would read as "something broke" (a toast is not a dialog).
ERRORS = {
    "exception": '[data-testid="stException"]',
    "error alert": '[data-testid="stAlertContentError"]',
    "dialog": '[role="dialog"]',
}
#: True once the page holds the charts and tables asked for, all drawn, or shows an error.
DRAWN = """({charts, tables, errors}) => {
    if (document.querySelector(errors)) return true;
    const cs = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')];
    // tables in a closed expander are not drawn until opened: wait for the visible ones
    const ts = [...document.querySelectorAll('[data-testid="stDataFrame"]')]
        .filter(t => !t.closest('details') || t.closest('details').open);
    return cs.length >= charts && ts.length >= tables
        && cs.every(c => c.querySelector('.js-plotly-plot .main-svg'))
        && ts.every(t => t.querySelector('[role="columnheader"]'))
        && !document.querySelector('[data-testid="stSkeleton"]');
}"""


@dataclass(frozen=True)
class Screen:
    slug: str
    path: str  # the address the app's own navigation links to
    heading: str  # a regular expression the page's h1 must match
    charts: int = 0  # at least this many Plotly charts
    tables: int = 0  # at least this many data tables

    @property
    def nav_label(self) -> str:
        return {p.SLUG: p.TITLE for p in PAGES}[self.slug]


SCREENS = (
    Screen("overview", "/", r"^Overview", charts=1),
    Screen("incidence", "/incidence", r"^Incidence", charts=2),
    Screen("training", "/training", r"^Training", charts=5),
    Screen("trends", "/trends", r"^Trends", charts=1),
    Screen("clinics", "/clinics", r"^Clinics", charts=1, tables=1),
    Screen("serious", "/serious", r"(?i)serious events", tables=1),
    Screen("quality", "/quality", r"^Data quality", tables=4),
    Screen("submissions", "/submissions", r"^Submissions"),  # the fixture has none: a note
    Screen("report", "/report", r"^Quarterly report"),  # the report is built on a click only
)


def test_every_dashboard_page_is_visited() -> None:
    assert {s.slug for s in SCREENS} == {p.SLUG for p in PAGES}


# --- the browser, or a skip that names the fix (a failure under NEEDLEWATCH_CI=1) -------


def _require_browser() -> None:
    problem = None
    if not CHROMIUM.exists():
        problem = f"Chromium ({CHROMIUM}) is not installed: apt-get install -y chromium"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the playwright package is not installed: python3 -m uv sync --locked"
    if problem is None:
        return
    if os.environ.get("NEEDLEWATCH_CI", "").strip() == "1":
        pytest.fail(f"{problem} (NEEDLEWATCH_CI=1, so this fails instead of skipping)")
    pytest.skip(problem)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# --- one `needlewatch serve` for the module ---------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.read().strip() == b"ok"
    except OSError:
        return False


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server's process group (needlewatch and its streamlit child): SIGTERM,
    then SIGKILL whatever is left after 1 s (a test server needs no graceful exit)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 1
    while time.monotonic() < deadline:
        proc.poll()
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def server(browser, fixture_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of ``needlewatch serve --headless`` on the fixture database."""
    port = _free_port()
    url = f"http://localhost:{port}"
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    command = [sys.executable, "-m", "needlewatch.cli", "serve", "--db", str(fixture_db)]
    command += ["--port", str(port), "--headless"]
    # No file watcher: edits elsewhere in the tree must not rerun the app under test.
    env = {**os.environ, "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"}
    with serving(command, ROOT, env, log, url):
        yield url


@contextlib.contextmanager
def serving(command: list[str], cwd: Path, env: dict, log: Path, url: str) -> Iterator[None]:
    """Run ``command`` (a ``needlewatch serve``) until the block ends, once ``url`` answers;
    a server that dies or never answers fails the test with its log."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + SERVER_START_S
        while not _healthy(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"needlewatch serve did not answer {url}:\n{log.read_text()}")
            time.sleep(0.2)
        yield
    finally:
        _stop(proc)


# --- a page in the browser, with waits that know how Streamlit draws ---------------------


def screenshot_dir() -> Path:
    out = Path(os.environ.get("NEEDLEWATCH_SCREENSHOTS") or ROOT / "bench" / "out" / "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    return out


@dataclass
class App:
    page: Any  # playwright.sync_api.Page
    base: str
    js_errors: list[str] = field(default_factory=list)

    def open(self, path: str) -> None:
        self.page.goto(self.base + path)
        self.idle(FIRST_LOAD_MS)

    def idle(self, timeout: float = STEP_MS) -> None:
        """Wait until the script run has finished and the page title is drawn."""
        self.page.wait_for_selector(IDLE, timeout=timeout)
        self.page.wait_for_selector("h1", timeout=timeout)

    def draw(self, charts: int = 0, tables: int = 0) -> None:
        """Wait until at least ``charts`` Plotly charts and ``tables`` data tables are on
        the page and drawn (Streamlit loads both lazily, after the script run has ended),
        or an error is shown."""
        self.idle()
        errors = ", ".join(ERRORS.values())
        try:
            self.page.wait_for_function(
                DRAWN, arg={"charts": charts, "tables": tables, "errors": errors}
            )
        except Exception as exc:  # playwright's TimeoutError: say what is missing
            raise AssertionError(
                f"{self.page.url}: expected >= {charts} chart(s) and >= {tables} table(s), "
                f"found {self.page.locator(CHART).count()} chart(s) "
                f"({self.page.locator(f'{CHART} .js-plotly-plot').count()} drawn) and "
                f"{self.page.locator(TABLE).count()} table(s); errors: {self.problems()}"
            ) from exc
        self.idle()

    def rerun(self) -> None:
        """Rerun the app as the "r" key does, and wait until that run has finished."""
        self.page.evaluate(
            """() => {
                const app = document.querySelector('[data-testid="stApp"]');
                window.__nwStates = [];
                new MutationObserver(() =>
                    window.__nwStates.push(app.getAttribute('data-test-script-state'))
                ).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
            }"""
        )
        self.page.keyboard.press("r")
        self.page.wait_for_function(
            """() => window.__nwStates.some(s => s !== 'notRunning') &&
                document.querySelector('[data-testid="stApp"]')
                    .getAttribute('data-test-script-state') === 'notRunning'"""
        )
        self.idle()

    def problems(self) -> list[str]:
        found = [
            f"{what}: {text.strip()[:400]}"
            for what, selector in ERRORS.items()
            for text in self.page.locator(selector).all_inner_texts()
        ]
        return found + [f"JavaScript error: {e}" for e in self.js_errors]

    def empty_charts(self) -> list[str]:
        """Titles of the charts in which no trace drew anything."""
        return self.page.locator(CHART).evaluate_all(
            """els => els.filter(c => !c.querySelector('g.trace path'))
                .map(c => (c.querySelector('.gtitle') || {}).textContent || '(untitled)')"""
        )

    def metrics(self) -> dict[str, str]:
        return dict(
            self.page.locator('[data-testid="stMetric"]').evaluate_all(
                """els => els.map(m => [
                    m.querySelector('[data-testid="stMetricLabel"]').innerText.trim(),
                    m.querySelector('[data-testid="stMetricValue"]').innerText.trim()])"""
            )
        )

    def params(self) -> dict[str, list[str]]:
        return parse_qs(urlparse(self.page.url).query)

    def screenshot(self, name: str) -> Path:
        """A full-page screenshot. Streamlit scrolls inside its main element, not the
        document, so the viewport is first grown to the content's height."""
        height = self.page.evaluate(
            """() => Math.max(...['stMain', 'stSidebarContent'].map(id =>
                (document.querySelector(`[data-testid="${id}"]`) || {}).scrollHeight || 0))"""
        )
        self.page.set_viewport_size({"width": VIEWPORT["width"], "height": max(height, 600)})
        self.page.evaluate(
            "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
        )
        path = screenshot_dir() / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.page.set_viewport_size(VIEWPORT)
        return path


@pytest.fixture()
def app(browser, server: str) -> Iterator[App]:
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(STEP_MS)
    page = context.new_page()
    opened = App(page, server)
    page.on("pageerror", lambda error: opened.js_errors.append(str(error)))
    yield opened
    context.close()


def cli_rates(db: Path, capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    """The one row of ``needlewatch rates ARGS --format json``."""
    capsys.readouterr()
    assert main(["rates", "--db", str(db), *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)[0]


# --- the tests -----------------------------------------------------------------------------


@pytest.mark.parametrize("screen", SCREENS, ids=[s.slug for s in SCREENS])
def test_page_draws_without_error(app: App, screen: Screen) -> None:
    app.open(screen.path)
    app.draw(screen.charts, screen.tables)
    app.screenshot(f"page-{screen.slug}")  # before asserting: a broken page is worth a look
    assert app.problems() == []
    assert app.empty_charts() == []
    heading = app.page.locator("h1").first.inner_text().strip()
    assert re.search(screen.heading, heading), heading
    active = app.page.locator('[data-testid="stSidebarNavLink"][aria-current="page"]')
    assert active.inner_text().strip() == screen.nav_label


def test_shared_link_reopens_the_numbers_of_needlewatch_rates(
    app: App, fixture_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = cli_rates(fixture_db, capsys, "--quarter", "2025Q2", "--clinic", "C04")
    link = {"quarter": ["2025Q2"], "clinic": ["C04"]}
    app.open("/?quarter=2025Q2&clinic=C04")
    app.draw(charts=1)
    app.screenshot("shared-link-overview-2025Q2-C04")
    first_view = app.problems()
    shown = app.metrics()
    assert shown["Treatments"] == f"{expected['treatments']:,}"
    assert shown["Adverse events"] == f"{expected['events']:,}"
    assert shown["Per 1,000 treatments"] == f"{expected['rate_per_1000']:.1f}"
    assert app.params() == link
    app.rerun()
    assert app.params() == link, "a rerun dropped the link's parameters"
    assert app.metrics() == shown
    assert app.problems() == []
    assert first_view == [], "the link's first view showed an error"


def test_hostile_link_is_shown_with_notices(
    app: App, fixture_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from playwright.sync_api import expect

    everything = cli_rates(fixture_db, capsys)
    hostile = {"clinic": "C04';DROP TABLE treatments;--", "severity": "<script>"}
    app.page.goto(app.base + "/?" + urlencode(hostile, quote_via=quote))
    # The notices stay in the sidebar (the toasts that also show them fade after seconds,
    # too soon to be sure of on a loaded machine).
    notes = app.page.locator('[data-testid="stSidebar"] [data-testid="stAlert"]')
    expect(notes.filter(has_text="ignored clinic")).to_contain_text(
        "DROP TABLE treatments", timeout=FIRST_LOAD_MS
    )
    expect(notes.filter(has_text="ignored severity")).to_contain_text("'<script>'")
    assert notes.locator("script").count() == 0  # shown as text, not inserted as markup
    app.draw(charts=1)
    app.screenshot("hostile-link")
    assert app.problems() == []
    # Ignored, not applied: every clinic and severity counted, the table intact.
    shown = app.metrics()
    assert shown["Treatments"] == f"{everything['treatments']:,}"
    assert shown["Adverse events"] == f"{everything['events']:,}"
    assert app.params() == {}


def test_a_link_naming_two_clinics_shows_both(
    app: App, fixture_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """?clinic=C02&clinic=C03 (the key repeated, as many tools write lists) means both
    clinics, as ?clinic=C02,C03 does: the first round showed C03 alone, silently."""
    expected = cli_rates(fixture_db, capsys, "--clinic", "C02", "--clinic", "C03")
    app.open("/?clinic=C02&clinic=C03")
    app.draw(charts=1)
    shown = app.metrics()
    assert shown["Treatments"] == f"{expected['treatments']:,}"
    assert shown["Adverse events"] == f"{expected['events']:,}"
    assert app.params() == {"clinic": ["C02,C03"]}
    assert app.problems() == []


def test_filters_survive_switching_page(app: App) -> None:
    from playwright.sync_api import expect

    app.open("/?quarter=2025Q2&clinic=C04")
    app.draw(charts=1)
    shown = app.metrics()
    nav = app.page.get_by_test_id("stSidebarNavLink")
    for label in ("Incidence", "Overview"):
        nav.filter(has_text=label).click()
        expect(app.page.locator("h1")).to_contain_text(label)
        app.draw(charts=1)
    assert app.metrics() == shown
    expect(app.page).to_have_url(re.compile(r"/\?(?=.*quarter=2025Q2)(?=.*clinic=C04)"))
