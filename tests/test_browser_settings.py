"""Page settings in a real browser (Debian chromium, Playwright), against a running
``needlewatch serve`` on the fixture database: a shared link opens a page with each of its
settings chosen, and a setting survives switching to another page and back.

The browser, the server and the waits are those of ``tests.test_browser``.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from . import test_browser
from .test_browser import CHART, App

# The same module-scoped browser and server fixtures, and a fresh page for each test.
browser, server, app = test_browser.browser, test_browser.server, test_browser.app


def test_a_shared_link_opens_with_its_page_settings_selected(app: App) -> None:
    """A link with a period, a category and the Clinics page's own settings opens with
    each of them chosen, keeps them after a rerun, and names only the outliers."""
    from playwright.sync_api import expect

    link = {"quarter": ["2025Q2"], "category": ["fainting"], "compare": ["practitioners"],
            "within": ["C04"], "limits": ["none"]}  # fmt: skip
    app.open("/clinics?" + urlencode({k: v[0] for k, v in link.items()}))
    app.draw(charts=1, tables=1)
    app.screenshot("shared-link-clinics-fainting-practitioners-C04")
    assert app.problems() == []
    main = app.page.get_by_test_id("stMain")
    for name, value in (
        ("Event category counted", "fainting"),
        ("Funnel limits", "no allowance: exact Poisson limits"),
        ("Clinic", "C04"),
    ):
        expect(main.get_by_role("combobox", name=name, exact=True)).to_have_value(value)
    checked = main.get_by_role("radio", checked=True)
    expect(checked).to_have_accessible_name("practitioners within a clinic")
    sidebar = app.page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_role("combobox", name="Period (quarter)")).to_have_value("2025Q2")
    assert app.params() == link
    app.rerun()
    assert app.params() == link, "a rerun dropped the page's settings"
    names = app.page.locator(f"{CHART} g.textpoint text").all_text_contents()
    heading = main.get_by_role("heading", name=re.compile(r"^Outside the limits")).inner_text()
    outside = int(re.match(r"Outside the limits \((\d+) of \d+ practitioners\)", heading)[1])
    assert len(names) == outside  # only the outliers are named, by keyed code
    assert all(re.fullmatch(r"P-[0-9A-F]{8}", n) for n in names)


def test_page_settings_survive_switching_page(app: App) -> None:
    from playwright.sync_api import expect

    app.open("/incidence?quarter=2025Q2&per=insertions")
    app.draw(charts=2)
    main = app.page.get_by_test_id("stMain")
    expect(main.get_by_role("radio", checked=True)).to_have_accessible_name(
        "per 10,000 needle insertions"
    )
    nav = app.page.get_by_test_id("stSidebarNavLink")
    nav.filter(has_text="Overview").click()
    expect(app.page.locator("h1")).to_contain_text("Overview")
    app.draw(charts=1)
    nav.filter(has_text="Incidence").click()
    expect(app.page.locator("h1")).to_contain_text("Incidence")
    app.draw(charts=2)
    expect(main.get_by_role("radio", checked=True)).to_have_accessible_name(
        "per 10,000 needle insertions"
    )
    expect(app.page).to_have_url(
        re.compile(r"/incidence\?(?=.*quarter=2025Q2)(?=.*per=insertions)")
    )
    app.screenshot("incidence-per-insertions-after-switch")
    assert app.problems() == []
