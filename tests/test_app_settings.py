"""Page settings in the URL: validated (state.py), reopened from a link, written back when
changed, remembered across a page switch, and another page's or a bad value ignored with
a notice."""

from __future__ import annotations

import pytest

from dashboard.app.state import (
    KEYS,
    PAGE_KEYS,
    PAGE_SETTINGS,
    Choices,
    filters_from_params,
    page_params,
    setting_from_params,
)

from .test_app import run_page, switch_page

Q = "2025Q2"


@pytest.fixture(autouse=True)
def _db(fixture_db, monkeypatch) -> None:
    """Every page here reads the shared fixture database (never a developer's own)."""
    monkeypatch.setenv("NEEDLEWATCH_DB", str(fixture_db))


# ---------------------------------------------------------------- state.py, no Streamlit
def test_every_page_names_its_settings_and_none_clash_with_a_filter() -> None:
    from dashboard.app.screens import ADMIN_PAGES, FORM_PAGES, PAGES

    assert set(PAGE_SETTINGS) == {p.SLUG for p in (*PAGES, *FORM_PAGES, *ADMIN_PAGES)}
    assert PAGE_SETTINGS["upload"] == ()  # nothing of the upload page goes in a link
    assert not PAGE_KEYS & set(KEYS)
    assert PAGE_SETTINGS["trends"] == ("category", "by", "base_from", "base_to", "rebase")
    assert PAGE_SETTINGS["clinics"] == ("category", "compare", "within", "limits")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"by": "quarter"}, ("quarter", None)),
        ({"by": "month"}, ("month", None)),
        ({}, (None, None)),
        ({"by": ""}, (None, None)),
        ({"by": "week"}, (None, "ignored by 'week': use month, quarter (default month)")),
        (
            {"by": "quarter;DROP"},
            (None, "ignored by 'quarter;DROP': use month, quarter (default month)"),
        ),
        ({"by": "<script>"}, (None, "ignored by '<script>': use month, quarter (default month)")),
    ],
)
def test_setting_from_params_keeps_only_offered_values(raw: dict, expected: tuple) -> None:
    assert setting_from_params(raw, "by", ("month", "quarter"), "month") == expected


def test_page_params_keep_the_pages_own_and_drop_anothers_with_a_notice() -> None:
    params = {"clinic": "C04", "category": "fainting", "by": "quarter", "per": "insertions"}
    assert page_params(params, "trends") == (
        {"category": "fainting", "by": "quarter"},
        ["ignored per: this page has no such setting"],
    )
    assert page_params(params, "overview") == (
        {},
        [
            "ignored by: this page has no such setting",
            "ignored category: this page has no such setting",
            "ignored per: this page has no such setting",
        ],
    )
    assert page_params(params, None) == (
        {"category": "fainting", "by": "quarter", "per": "insertions"},
        [],
    )


def test_page_settings_are_not_unknown_parameters_to_the_filters() -> None:
    state, notices = filters_from_params(
        {"clinic": "C04", "category": "fainting", "by": "quarter", "bogus": "1"},
        Choices(clinics=("C04",)),
    )
    assert state.filters.clinics == ("C04",)
    assert notices == ["ignored unknown parameter(s): bogus"]


# ---------------------------------------------------------------- the pages, in-process
def test_a_clinics_link_opens_with_every_setting_chosen() -> None:
    at = run_page(
        "clinics",
        {"quarter": Q, "category": "fainting", "compare": "practitioners", "within": "C04",
         "limits": "none"},
    )  # fmt: skip
    assert not at.exception
    assert at.selectbox(key="clinics-category").value == "fainting"
    assert at.radio(key="clinics-compare").value == "practitioners"
    assert at.selectbox(key="clinics-within").value == "C04"
    assert at.selectbox(key="clinics-funnel-limits").value == "none"
    assert dict(at.query_params) == {
        "quarter": Q, "category": "fainting", "compare": "practitioners", "within": "C04",
        "limits": "none",
    }  # fmt: skip
    assert at.get("download_button")[0].label == (
        "Data behind this chart (CSV): c04-2025Q2-fainting-funnel-practitioners.csv"
    )


def test_a_setting_chosen_on_a_page_is_in_the_url_and_survives_a_page_switch() -> None:
    at = run_page("clinics", {"quarter": Q, "clinic": "C04"})
    at.selectbox(key="clinics-category").set_value("bruising").run()
    at.radio(key="clinics-compare").set_value("practitioners").run()
    at.selectbox(key="clinics-funnel-limits").set_value("multiplicative").run()
    assert not at.exception
    link = {"quarter": Q, "clinic": "C04", "category": "bruising", "compare": "practitioners",
            "within": "C04", "limits": "multiplicative"}  # fmt: skip
    assert dict(at.query_params) == {k: v for k, v in link.items() if k != "within"}
    switch_page(at, "incidence")
    assert not at.exception
    assert at.title[0].value.startswith("Incidence")
    assert dict(at.query_params) == {
        "quarter": Q,
        "clinic": "C04",
    }  # filters kept, no clinics settings
    at.radio(key="incidence-per").set_value("insertions").run()
    assert at.query_params["per"] == "insertions"
    switch_page(at, "clinics")
    assert not at.exception
    assert at.selectbox(key="clinics-category").value == "bruising"
    assert at.radio(key="clinics-compare").value == "practitioners"
    assert at.selectbox(key="clinics-funnel-limits").value == "multiplicative"
    assert dict(at.query_params) == {k: v for k, v in link.items() if k != "within"}
    switch_page(at, "incidence")
    assert at.radio(key="incidence-per").value == "insertions"
    assert dict(at.query_params) == {"quarter": Q, "clinic": "C04", "per": "insertions"}


def test_a_default_setting_leaves_the_url() -> None:
    at = run_page("incidence", {"per": "insertions"})
    assert at.radio(key="incidence-per").value == "insertions"
    at.radio(key="incidence-per").set_value("treatments").run()
    assert dict(at.query_params) == {}


def test_bad_or_foreign_settings_in_a_link_are_ignored_with_a_notice() -> None:
    at = run_page(
        "clinics", {"category": "hiccups", "compare": "x';--", "by": "quarter", "within": "C99"}
    )
    assert not at.exception
    notes = [w.value for w in at.sidebar.warning]
    assert "Link parameter ignored by: this page has no such setting" in notes
    assert any(
        n.startswith("Link parameter ignored category 'hiccups': use all, bruising,") for n in notes
    )
    assert (
        'Link parameter ignored compare "x\';--": use clinics, practitioners (default clinics)'
        in notes
    )
    assert at.selectbox(key="clinics-category").value == "all"
    assert at.radio(key="clinics-compare").value == "clinics"
    assert dict(at.query_params) == {}  # every bad value dropped; "within" unused with clinics


def test_trends_reads_its_category_from_the_link() -> None:
    """The Trends page's category picker is the shared one: a link's category selects it."""
    at = run_page("trends", {"clinic": "C04", "category": "fainting"})
    assert not at.exception
    assert at.selectbox(key="trends-category").value == "fainting"
    assert at.query_params["category"] == "fainting"


def test_report_settings_are_in_the_url() -> None:
    at = run_page("report", {"quarter": Q, "edition": "public", "format": "csv", "rounding": "10"})
    assert not at.exception
    assert at.radio(key="report-edition").value == "public"
    assert at.radio(key="report-format").value == "csv"
    assert at.selectbox(key="report-rounding").value == "10"
    at.radio(key="report-format").set_value("html").run()
    assert dict(at.query_params) == {
        "quarter": Q,
        "edition": "public",
        "format": "html",
        "rounding": "10",
    }


def test_a_trends_link_reopens_its_period_baseline_and_rebase() -> None:
    """A Trends link by quarter with a fixed baseline and a rebase opens with each chosen,
    warns that the reports use the default limits, and names its download after the scope,
    the period and the chart."""
    link = {"quarter": Q, "clinic": "C04", "by": "quarter", "base_from": "2023Q4",
            "base_to": "2024Q4", "rebase": "2025Q1"}  # fmt: skip
    at = run_page("trends", link)
    assert not at.exception
    assert at.radio(key="trends-by").value == "quarter"
    assert at.selectbox(key="trends-baseline-from").value == "2023Q4"
    assert at.selectbox(key="trends-baseline-to").value == "2024Q4"
    assert at.selectbox(key="trends-rebase").value == "2025Q1"
    assert dict(at.query_params) == link
    assert [w.value for w in at.warning] == [
        "Control limits from the baseline 2023Q4 to 2024Q4 (chosen here; by default every "
        "complete period of the window). Control limits start again at 2025Q1 (chosen here, "
        "after a sustained shift; by default they are not rebased). The reports use the "
        "default limits; `needlewatch signals --by quarter --baseline 2023Q4:2024Q4 "
        "--rebase 2025Q1` lists these signals."
    ]
    assert [s.value for s in at.subheader][:4] == [
        "Signals on this chart (0)",
        "Signals by event category (0)",
        "Signals by severity tier (0)",
        "Signals in single clinics (0)",
    ]  # as `signals` with the same limits: none
    assert at.get("download_button")[0].label == (
        "Data behind this chart (CSV): c04-2025Q2-u-chart-by-quarter.csv"
    )
    at.selectbox(key="trends-rebase").set_value("none").run()
    assert "rebase" not in at.query_params
