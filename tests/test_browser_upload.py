"""The upload page in a real browser (issue 14, parts 3 and 5): a practice-management
export with its own column names, a title row, day/month dates and "US-guided"/"Palpation",
mapped by the page's proposal, saved as a named profile, checked (nothing written), loaded
through the same ingest library as the CLI, and the next export loaded by ``needlewatch
ingest --mapping NAME`` with the profile the page saved.

Local mode (no sign-in configured) on a private copy of tests/data's small database, so the
shared fixture database is never written. Skips (fails under NEEDLEWATCH_CI=1) without
Chromium, as tests/test_browser.py.
"""

# ruff: noqa: F811  (the browser fixture, imported from tests/test_browser.py, is a parameter)

from __future__ import annotations

import os
import sys
from pathlib import Path

import duckdb

from needlewatch.cli import main

from .test_browser import (
    IDLE,
    ROOT,
    STEP_MS,
    App,
    _free_port,
    browser,  # noqa: F401  (a fixture)
    serving,
)

EXPORT = Path(__file__).parent / "data" / "foreign" / "pms_appointments.csv"
LOAD_MS = 120_000  # a check or a load runs a whole ingest in a process of its own


def _count(db: Path, sql: str) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchone()[0]


def _wait_for_text(app: App, text: str) -> None:
    app.page.get_by_text(text).first.wait_for(timeout=LOAD_MS)
    app.page.wait_for_selector(IDLE, timeout=LOAD_MS)


def _metrics(app: App) -> dict[str, str]:
    """The four counts of a check or a load, once all four are drawn."""
    app.page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=\"stMetric\"]').length >= 4",
        timeout=LOAD_MS,
    )
    app.page.wait_for_selector(IDLE, timeout=LOAD_MS)
    return app.metrics()


def test_an_export_is_mapped_checked_and_loaded_then_loaded_again_by_the_cli(
    browser, base_db: Path, tmp_path: Path, capsys
) -> None:
    port = _free_port()
    url = f"http://localhost:{port}"
    mappings = tmp_path / "mappings"
    command = [sys.executable, "-m", "needlewatch.cli", "serve", "--db", str(base_db),
               "--port", str(port), "--headless"]  # fmt: skip
    env = {**os.environ, "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none",
           "NEEDLEWATCH_MAPPINGS": str(mappings)}  # fmt: skip
    new_rows = "SELECT count(*) FROM treatments WHERE treatment_id LIKE 'A-%'"
    with serving(command, ROOT, env, tmp_path / "serve.log", url):
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        context.set_default_timeout(STEP_MS)
        app = App(context.new_page(), url)
        app.page.on("pageerror", lambda exc: app.js_errors.append(str(exc)))
        app.open("/upload")
        assert app.page.locator("h1").inner_text() == "Upload an export"
        app.page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(EXPORT)
        _wait_for_text(app, "The file's first rows, as they are")
        # the proposal read the header under the title row; its choices are on the page
        _wait_for_text(app, "Save the mapping as")
        page_text = app.page.locator('[data-testid="stApp"]').inner_text()
        assert "The mapping is not complete" not in page_text
        name = app.page.get_by_label("Save the mapping as")
        name.fill("harbour_pms")
        name.press("Enter")
        app.page.wait_for_selector(IDLE, timeout=STEP_MS)
        app.page.get_by_role("button", name="Save mapping").click()
        _wait_for_text(app, "Saved as")
        assert sorted(p.name for p in mappings.iterdir()) == ["harbour_pms.toml"]
        # check: the whole ingest, rolled back
        app.page.get_by_role("button", name="Check").click()
        _wait_for_text(app, "Checked (nothing written yet)")
        assert _metrics(app) == {"Rows read": "6", "New": "4", "Updated": "0", "Rejected": "2"}
        _wait_for_text(app, "Rejected rows (2)")
        shown = app.page.locator('[data-testid="stApp"]').inner_text()
        assert "Checked (nothing written yet): pms_appointments.csv (treatments)" in shown
        assert "read through mapping 'harbour_pms' as treatments" in shown  # as it was saved
        assert "needlewatch-upload-" not in shown  # the session's folder is not the reader's
        assert _count(base_db, new_rows) == 0
        app.screenshot("upload-checked")
        # load: the same ingest, committed
        app.page.get_by_role("button", name="Load into the database").click()
        _wait_for_text(app, "Loaded:")
        assert _metrics(app) == {"Rows read": "6", "New": "4", "Updated": "0", "Rejected": "2"}
        assert app.problems() == []
        context.close()
    assert _count(base_db, new_rows) == 4
    # next quarter, from cron: the saved profile by name
    os.environ["NEEDLEWATCH_MAPPINGS"] = str(mappings)
    try:
        capsys.readouterr()
        code = main(["ingest", "--db", str(base_db), "--mapping", "harbour_pms", str(EXPORT)])
    finally:
        del os.environ["NEEDLEWATCH_MAPPINGS"]
    out = capsys.readouterr().out
    assert code == 3, out  # exit 3: some rows were rejected (the same two)
    assert out.splitlines()[:2] == [
        f"{EXPORT} (treatments): 6 rows read: 0 new, 4 updated (4 unchanged), 2 rejected",
        f"  note: {EXPORT}: read through mapping 'harbour_pms' as treatments",
    ]
    assert _count(base_db, new_rows) == 4  # the same rows again: unchanged, not doubled
