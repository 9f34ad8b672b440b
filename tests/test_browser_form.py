"""The incident report form in a real browser (issue 14, part 4): a faint filed against a
treatment typed by id, then followed up from the list of the reporter's events, its history
shown; a pneumothorax without outcome and hospitalisation refused with what to add.

Local mode on a private copy of tests/data's small database. Skips (fails under
NEEDLEWATCH_CI=1) without Chromium, as tests/test_browser.py.
"""

# ruff: noqa: F811  (the browser fixture, imported from tests/test_browser.py, is a parameter)

from __future__ import annotations

import os
import sys
from pathlib import Path

import duckdb

from .test_browser import (
    IDLE,
    ROOT,
    STEP_MS,
    App,
    _free_port,
    browser,  # noqa: F401  (a fixture)
    serving,
)

FILE_MS = 120_000


def _text(app: App) -> str:
    return app.page.locator('[data-testid="stApp"]').inner_text()


def _follow_up(app: App, path: str, event_id: str, outcome: str) -> None:
    """File a follow-up of ``event_id`` from the form at ``path``: the event picked from
    the reporter's own, its history shown, an outcome added; version 2 is filed."""
    app.open(path)
    _choose(app, "Event", event_id)
    app.page.get_by_text(f"History of {event_id}").wait_for()
    app.page.wait_for_selector(IDLE)
    _fill(app, "Outcome (resolved, ongoing, referred...)", outcome)
    _file(app)
    assert f"Filed: event {event_id}, version 2." in _text(app)


def _choose(app: App, label: str, option: str) -> None:
    app.page.get_by_label(label, exact=True).click()
    app.page.get_by_role("option", name=option, exact=True).click()
    app.page.wait_for_selector(IDLE, timeout=STEP_MS)


def _fill(app: App, label: str, value: str) -> None:
    box = app.page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter" if box.evaluate("e => e.tagName") == "INPUT" else "Control+Enter")
    app.page.wait_for_selector(IDLE, timeout=STEP_MS)


def _file(app: App) -> None:
    app.page.get_by_role("button", name="File the report").click()
    app.page.get_by_text("Filed: event").or_(app.page.get_by_text("Not filed:")).first.wait_for(
        timeout=FILE_MS
    )
    app.page.wait_for_selector(IDLE, timeout=FILE_MS)


def test_a_faint_is_filed_then_followed_up_and_a_pneumothorax_needs_more(
    browser, base_db: Path, tmp_path: Path
) -> None:
    port = _free_port()
    url = f"http://localhost:{port}"
    command = [sys.executable, "-m", "needlewatch.cli", "serve", "--db", str(base_db),
               "--port", str(port), "--headless"]  # fmt: skip
    env = {**os.environ, "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"}
    with serving(command, ROOT, env, tmp_path / "serve.log", url):
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        context.set_default_timeout(STEP_MS)
        app = App(context.new_page(), url)
        app.page.on("pageerror", lambda exc: app.js_errors.append(str(exc)))
        app.open("/report-event")
        assert app.page.locator("h1").inner_text() == "Report an adverse event"
        _fill(app, "Treatment id", "T1")
        _choose(app, "What happened", "fainting")
        app.page.get_by_text("significant: needed medical attention").click()
        _fill(app, "Outcome (resolved, ongoing, referred...)", "resolved in 10 minutes")
        _file(app)
        text = _text(app)
        assert "Filed: event F-" in text and "version 1." in text, text[-600:]
        event_id = text.split("Filed: event ")[1].split(",")[0]
        # the follow-up: the event picked from the reporter's own, its history shown
        _follow_up(app, "/report-event", event_id, "referred to GP")
        app.screenshot("report-event-follow-up")
        assert app.problems() == []
        # a pneumothorax without hospitalisation: refused, saying what to add
        app.open("/report-event")
        _fill(app, "Treatment id", "T3")
        _choose(app, "What happened", "pneumothorax")
        # (drawn by the rerun the choice starts: waited for, not read at once)
        app.page.get_by_text("A serious event: the report also needs the outcome").wait_for()
        app.page.wait_for_selector(IDLE)
        _file(app)
        assert "Not filed: a serious event needs the outcome and whether hospitalised" in _text(app)
        assert app.js_errors == []
        context.close()
    with duckdb.connect(str(base_db), read_only=True) as con:
        assert con.execute(
            "SELECT version, filed_by, category, severity, outcome FROM event_versions "
            "WHERE event_id = ? ORDER BY version",
            [event_id],
        ).fetchall() == [
            (1, "local", "fainting", "significant", "resolved in 10 minutes"),
            (2, "local", "fainting", "significant", "referred to GP"),
        ]
        assert con.execute(
            "SELECT count(*) FROM adverse_events WHERE category = 'pneumothorax' "
            "AND treatment_id = 'T3'"
        ).fetchone() == (0,)
