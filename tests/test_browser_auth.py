"""Sign-in and clinic scoping in a real browser (issue 14, parts 1, 2 and 5).

A mock OpenID Connect provider (the ``oidc-provider-mock`` package, on localhost, offline)
signs in predefined users; ``needlewatch serve`` runs with an ``[auth]`` secrets table
pointing at it and a roles file; Chromium, driven by Playwright, signs in as:

- a clinic safety officer (``clinic:C04``): every page and a download hold C04 alone, also
  after a hand-edited link asks for another clinic and after page switches;
- an identity with no role: an explanation, no data, no filters;
- a body analyst (by group claim): every clinic.

Skips (fails under NEEDLEWATCH_CI=1) without Chromium, as tests/test_browser.py.
"""

# ruff: noqa: F811  (the browser fixture, imported from tests/test_browser.py, is a parameter)

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from dashboard.store.audit import audit_path, downloads

from .test_browser import (
    IDLE,
    ROOT,
    SCREENS,
    STEP_MS,
    App,
    _free_port,
    browser,  # noqa: F401  (a fixture)
    cli_rates,
    serving,
)
from .test_browser_form import _choose, _file, _fill, _follow_up

OFFICER = "safety@harbour.example"
ROLES = """
[users]
"safety@harbour.example" = ["clinic:C04"]
"ana@harbour.example" = ["practitioner:P017"]
[groups]
"body-analysts" = ["body"]
"""


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """Issuer URL of a mock OIDC provider with three predefined users."""
    from oidc_provider_mock import User, run_server_in_thread

    users = [
        User(sub="officer", claims={"email": OFFICER, "email_verified": True}),
        User(sub="stranger", claims={"email": "who@else.example", "email_verified": True}),
        User(sub="practitioner", claims={"email": "ana@harbour.example", "email_verified": True}),
        User(sub="analyst", claims={"email": "a@body.example", "email_verified": True,
                         "groups": ["body-analysts"]}),
    ]  # fmt: skip
    with run_server_in_thread(port=0, user_claims=users) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def signed_server(browser, provider: str, fixture_db: Path, tmp_path_factory) -> Iterator[str]:
    """``needlewatch serve`` with sign-in through ``provider`` and the roles above."""
    with signed_serving(provider, fixture_db, tmp_path_factory.mktemp("deployment")) as url:
        yield url


@contextlib.contextmanager
def signed_serving(provider: str, db: Path, home: Path) -> Iterator[str]:
    """``needlewatch serve --db DB`` from ``home``, sign-in through ``provider``."""
    port = _free_port()
    url = f"http://localhost:{port}"
    (home / ".streamlit").mkdir()
    (home / ".streamlit" / "secrets.toml").write_text(
        "[auth]\n"
        f'redirect_uri = "{url}/oauth2callback"\n'
        'cookie_secret = "a-test-secret-of-enough-length-0123456789"\n'
        'client_id = "needlewatch"\n'
        'client_secret = "mock-provider-accepts-any"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n'
        'client_kwargs = { scope = "openid email profile groups" }\n'
    )
    (home / ".streamlit" / "roles.toml").write_text(ROLES)
    log = home / "serve.log"
    command = [sys.executable, "-m", "needlewatch.cli", "serve", "--db", str(db),
               "--port", str(port), "--headless"]  # fmt: skip
    env = {
        **os.environ,
        "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none",
        "PYTHONPATH": str(ROOT),  # the deployment's folder is not the repository
    }
    with serving(command, home, env, log, url):
        yield url


def _sign_in(browser: Any, base: str, who: str) -> App:
    """A fresh browser context, signed in as the predefined user ``who``."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    page = context.new_page()
    app = App(page, base)
    page.on("pageerror", lambda exc: app.js_errors.append(str(exc)))
    page.goto(base + "/")
    page.wait_for_selector(IDLE, timeout=90_000)
    app.screenshot("sign-in")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("text=Authorize Client", timeout=STEP_MS)
    page.locator(f'button[name="sub"][value="{who}"]').click()
    page.wait_for_url(re.compile(re.escape(base) + r"/(\?.*)?$"), timeout=STEP_MS)
    page.wait_for_selector(IDLE, timeout=90_000)
    page.wait_for_selector("h1", timeout=90_000)
    return app


def _clinic_codes(fixture_db: Path) -> list[str]:
    with duckdb.connect(str(fixture_db), read_only=True) as con:
        return [r[0] for r in con.execute("SELECT clinic_id FROM clinics ORDER BY 1").fetchall()]


def _text(app: App) -> str:
    return app.page.locator('[data-testid="stApp"]').inner_text()


def _clinic_choices(app: App) -> list[str]:
    """The clinics the sidebar's Clinics filter offers (tables draw on a canvas, so the
    page's text cannot tell which clinics they hold; the filter's options can). The list
    is virtualised: up to ten are in the page at once."""
    app.page.wait_for_selector('[data-testid="stMultiSelect"]', timeout=STEP_MS)
    app.page.get_by_label("Clinics").click()
    app.page.wait_for_selector('[role="option"]', timeout=STEP_MS)
    options = app.page.locator('[role="option"]').all_inner_texts()
    app.page.keyboard.press("Escape")
    return sorted(o.strip() for o in options if o.strip() != "Select all")


def test_a_clinic_officer_sees_only_their_clinic_everywhere(
    browser,
    signed_server: str,
    fixture_db: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    others = [c for c in _clinic_codes(fixture_db) if c != "C04"]
    app = _sign_in(browser, signed_server, "officer")
    assert "Signed in as safety@harbour.example · C04" in _text(app)
    app.draw(charts=1)
    app.screenshot("signed-in-clinic-officer-overview")
    assert _clinic_choices(app) == ["C04"]
    own = cli_rates(fixture_db, capsys, "--clinic", "C04")
    shown = app.metrics()  # the Overview at all dates: C04's treatments and events alone
    assert (shown["Treatments"], shown["Adverse events"]) == (
        f"{own['treatments']:,}", f"{own['events']:,}",
    )  # fmt: skip
    for screen in SCREENS:
        app.open(screen.path)
        app.draw(charts=min(screen.charts, 1), tables=min(screen.tables, 1))
        text = _text(app)
        seen = sorted(c for c in others if re.search(rf"\b{c}\b", text))
        assert seen == [], f"{screen.slug}: other clinics on the page: {seen}"
        assert app.problems() == [], screen.slug
    # a hand-edited link asking for another clinic: ignored with a notice, C04 still alone
    app.open(f"/clinics?clinic={others[0]}")
    app.draw(charts=1)
    # (said as for a clinic not in the database: whether it exists is not the reader's)
    assert f"ignored clinic '{others[0]}': not in the database" in _text(app)
    assert not re.search(rf"\b{others[0]}\b", _text(app).replace(f"'{others[0]}'", ""))
    # a download holds C04 alone
    app.open("/serious")
    app.draw(tables=1)
    with app.page.expect_download() as caught:
        app.page.get_by_role("button", name=re.compile("Download the listing")).click()
    rows = list(csv.DictReader(io.StringIO(Path(caught.value.path()).read_text())))
    assert rows and {r["clinic"] for r in rows} == {"C04"}
    # ... and is in the audit table: who, the clinics they could see, the file
    # (the row is written by the click's rerun, which can land just after the download)
    deadline = time.monotonic() + 15
    while True:
        logged = downloads(audit_path(fixture_db))
        mine = logged[logged["user_name"] == OFFICER]
        if len(mine) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert mine[["scope", "page", "file_kind", "file_name"]].values.tolist()[0] == [
        "C04",
        "serious",
        "csv",
        caught.value.suggested_filename,
    ]
    # a safety officer may upload (their clinics' rows only: tests/test_guard.py)
    nav = app.page.get_by_test_id("stSidebarNavLink").all_inner_texts()
    assert [n.strip() for n in nav][-2:] == ["Report an event", "Upload"]
    app.open("/upload")
    assert app.page.locator("h1").inner_text() == "Upload an export"
    app.page.context.close()


def test_an_identity_without_a_role_sees_an_explanation_only(
    browser,
    signed_server: str,
) -> None:
    app = _sign_in(browser, signed_server, "stranger")
    app.screenshot("signed-in-no-role")
    text = _text(app)
    assert "no role is given to this account, so there is nothing to show" in text
    assert app.page.locator('[data-testid="stSidebar"]').count() == 0
    assert app.page.locator('[data-testid="stMetric"]').count() == 0
    app.open("/clinics?clinic=C04")  # a link to a page: still the explanation
    assert "nothing to show" in _text(app)
    assert app.page.locator('[data-testid="stPlotlyChart"]').count() == 0
    app.page.context.close()


def test_a_body_analyst_sees_every_clinic(
    browser,
    signed_server: str,
    fixture_db: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = _sign_in(browser, signed_server, "analyst")
    assert "Signed in as a@body.example · every clinic" in _text(app)
    app.draw(charts=1)
    assert _clinic_choices(app) == _clinic_codes(fixture_db)[:10]  # the first ten shown
    everything = cli_rates(fixture_db, capsys)
    assert app.metrics()["Treatments"] == f"{everything['treatments']:,}"
    app.page.context.close()


def test_a_practitioner_files_and_follows_up_an_event_on_their_own_treatment(
    browser, provider: str, fixture_db: Path, tmp_path: Path
) -> None:
    """ana@harbour.example (practitioner:P017) on a copy of the fixture database: the form
    alone, her own treatments alone; the event filed, then followed up, in the listing."""
    db = tmp_path / "copy.duckdb"
    shutil.copy(fixture_db, db)
    with duckdb.connect(str(db), read_only=True) as con:
        own, other = (
            con.execute(
                "SELECT min(treatment_id) FROM treatments WHERE practitioner_id " + op + " 'P017'"
            ).fetchone()[0]
            for op in ("=", "<>")
        )
    home = tmp_path / "deployment"
    home.mkdir()
    with signed_serving(provider, db, home) as url:
        app = _sign_in(browser, url, "practitioner")
        assert app.page.locator("h1").inner_text() == "Report an adverse event"
        assert app.page.get_by_test_id("stSidebarNavLink").count() == 0  # the form alone
        app.open("/upload")  # not an uploader: the form again
        assert app.page.locator("h1").inner_text() == "Report an adverse event"
        app.open("/")
        assert "Signed in as ana@harbour.example · practitioner P017" in _text(app)
        started = time.monotonic()
        _fill(app, "Treatment id", own)
        _choose(app, "What happened", "fainting")
        app.page.get_by_text("mild: short-lived").click()
        _fill(app, "Outcome (resolved, ongoing, referred...)", "resolved")
        _file(app)
        filed_in = time.monotonic() - started
        text = _text(app)
        assert "Filed: event F-" in text, text[-500:]
        event_id = text.split("Filed: event ")[1].split(",")[0]
        assert filed_in < 60  # "a practitioner files an event in under a minute"
        # the form is her app's only page, at its root; her events are listed there
        _follow_up(app, "/", event_id, "resolved after a day")
        app.screenshot("practitioner-follow-up")
        # another practitioner's treatment: refused, nothing written
        app.open("/")
        _fill(app, "Treatment id", other)
        _file(app)
        assert "Not filed: that treatment is not one of yours" in _text(app)
        app.open("/clinics")  # a dashboard page's link: not found, the form, nothing else
        assert app.page.locator("h1").inner_text() == "Report an adverse event"
        assert app.page.locator('[data-testid="stPlotlyChart"]').count() == 0
        app.page.context.close()
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute(
            "SELECT v.version, v.filed_by, v.treatment_id, v.outcome FROM event_versions v "
            "WHERE event_id = ? ORDER BY version",
            [event_id],
        ).fetchall() == [
            (1, "ana@harbour.example", own, "resolved"),
            (2, "ana@harbour.example", own, "resolved after a day"),
        ]
        assert con.execute(
            "SELECT count(*) FROM event_versions WHERE treatment_id = ?", [other]
        ).fetchone() == (0,)
