"""The Streamlit dashboard, run in-process with AppTest on the fixture database.

Every page renders without an exception; the Overview shows exactly the numbers of
`needlewatch rates` for the same filters; URL parameters set the filters and hostile
ones are ignored with a notice.
"""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from needlewatch.cli import main

SLUGS = ("overview", "incidence", "training", "trends", "clinics", "serious", "quality")


def page_script(slug: str) -> None:
    """One page as dashboard/app/main.py runs it; ``st.session_state["test-page"]`` switches page."""
    import streamlit as st

    from dashboard.app import sidebar
    from dashboard.app.screens import PAGES
    from dashboard.app.screens._common import draw_page

    slug = st.session_state.get("test-page", slug)
    ctx = sidebar.context(page=slug)
    if ctx is not None:
        draw_page({p.SLUG: p for p in PAGES}[slug], ctx)


def switch_page(at: AppTest, slug: str) -> AppTest:
    """What the navigation does: another page, the query string dropped."""
    at.session_state["test-page"] = slug
    at.query_params.clear()
    return at.run()


def run_page(slug: str, params: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_function(page_script, args=(slug,), default_timeout=60)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    return at.run()


@pytest.fixture(autouse=True)
def _db(fixture_db, monkeypatch) -> None:
    monkeypatch.setenv("NEEDLEWATCH_DB", str(fixture_db))


@pytest.mark.parametrize("slug", SLUGS)
def test_every_page_renders_without_error(slug: str) -> None:
    at = run_page(slug)
    assert not at.exception
    assert at.title[0].value


def test_overview_numbers_equal_needlewatch_rates_for_the_same_quarter(capsys) -> None:
    at = run_page("overview", {"quarter": "2025Q2", "clinic": "C04"})
    assert not at.exception
    main(["rates", "--quarter", "2025Q2", "--clinic", "C04", "--format", "json"])
    expected = json.loads(capsys.readouterr().out)[0]
    shown = {m.label: m.value for m in at.metric}
    assert shown["Treatments"] == f"{expected['treatments']:,}"
    assert shown["Adverse events"] == f"{expected['events']:,}"
    assert shown["Per 1,000 treatments"] == f"{expected['rate_per_1000']:.1f}"
    interval = f"{expected['ci_low_per_1000']:.1f} to {expected['ci_high_per_1000']:.1f}"
    assert any(interval in c.value for c in at.caption), [c.value for c in at.caption]


def test_overview_opens_with_the_statements_each_marked_by_its_tone(fixture_db) -> None:
    """C04 in 2025Q2 (the planted rise): the page's first lines are the statements of
    ``views.overview`` in order, each after a dot in its Making Data Count colour (a text
    glyph, not an emoji a browser without an emoji font draws as a box)."""
    import duckdb

    from dashboard.analysis import views
    from dashboard.app.screens._common import escape
    from dashboard.store.filters import Filters, parse_quarter

    at = run_page("overview", {"quarter": "2025Q2", "clinic": "C04"})
    con = duckdb.connect(str(fixture_db), read_only=True)
    try:
        said = views.overview(con, Filters(*parse_quarter("2025Q2"), clinics=("C04",)))
    finally:
        con.close()
    assert [s.tone for s in said.statements] == [
        "concern", "concern", "neutral", "concern", "improvement",
    ]  # fmt: skip
    dots = {"concern": ":orange[●]", "improvement": ":blue[●]", "neutral": ":gray[●]"}
    assert at.markdown[0].value.splitlines() == [
        f"- {dots[s.tone]} {escape(s.text)}" for s in said.statements
    ]
    assert said.statements[1].text.startswith(
        "Special cause of concern in 2025Q2: a rise in all adverse events, in bruising events"
    )


def test_training_page_opens_with_the_ratios_in_words() -> None:
    """Over all dates ultrasound-guided treatments have more events crude (1.18) and not
    once body region is allowed for (0.94): the page says so first, as the Overview."""
    at = run_page("training")
    assert not at.exception
    lines = at.markdown[0].value.splitlines()
    assert [line.split(" ", 2)[1] for line in lines] == [":gray[●]", ":orange[●]", ":blue[●]"]
    assert lines[0].replace("\\", "") == (
        "- :gray[●] Ultrasound guidance: no clear difference once body region is allowed for "
        "(against not ultrasound-guided: ultrasound-guided 0.94, 95% CI 0.80 to 1.10). The "
        "crude figures show more events for ultrasound-guided (1.18); that difference comes "
        "from where needling was done (body region), not from the guidance."
    )


def test_hostile_url_parameters_are_ignored_with_a_notice() -> None:
    at = run_page(
        "overview",
        {"clinic": "C04';DROP TABLE treatments;--", "severity": "x", "quarter": "2025Q9"},
    )
    assert not at.exception
    notices = [t.value for t in at.toast]
    assert any("ignored clinic" in n for n in notices)
    assert any("ignored severity" in n for n in notices)
    assert any("ignored quarter" in n for n in notices)
    assert dict(at.query_params) == {}


def test_empty_database_shows_what_to_do(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NEEDLEWATCH_DB", str(tmp_path / "none.duckdb"))
    at = run_page("overview")
    assert not at.exception
    assert "needlewatch demo" in at.info[0].value


def test_an_ingest_while_the_dashboard_is_open_shows_on_the_next_rerun(
    base_db, tmp_path, monkeypatch
) -> None:
    """The ingest swaps in a new file (ingest.store); the open session's next rerun reads
    it (the cache key is the file's modification time) and nothing fails in between."""
    from ingest.api import IngestOptions, ingest_files

    from .conftest import TODAY

    monkeypatch.setenv("NEEDLEWATCH_DB", str(base_db))
    at = run_page("overview")
    assert {m.label: m.value for m in at.metric}["Treatments"] == "5"
    more = tmp_path / "treatments.csv"
    more.write_text(
        "treatment_id,treatment_date,practitioner_id,body_region,ultrasound_guided\n"
        "T6,2025-07-01,P1,gluteals,no\nT7,2025-07-02,P2,gluteals,no\n"
    )
    assert ingest_files(base_db, [more], IngestOptions(today=TODAY)).rows_rejected == 0
    at.run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Treatments"] == "7"
