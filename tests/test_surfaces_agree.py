"""One question, one answer: the dashboard, the command line and the report agree.

For random combinations of period, clinics, event category and severity on the fixture
database, the Clinics and Trends pages' data (``dashboard.analysis.views``), ``needlewatch
signals``, ``needlewatch compare`` and the quarterly report name the same outliers, the
same signals and the same ratios with the same intervals and reference levels.
"""

from __future__ import annotations

import json

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.analysis import views
from dashboard.report.content import build_report
from dashboard.report.model import ReportRequest
from dashboard.store.filters import Filters, parse_quarter
from needlewatch.cli import main

QUARTERS = (None, "2024Q1", "2024Q4", "2025Q2", "2026Q3")
CLINIC_SETS = ((), ("C04",), ("C02", "C03"), ("C01", "C04", "C09"))
CATEGORIES = (None, "bruising", "fainting")
SEVERITIES = (None, "mild")


def cli_args(quarter, clinics, category, severity) -> list[str]:
    args = ["--quarter", quarter] if quarter else []
    for c in clinics:
        args += ["--clinic", c]
    args += ["--category", category] if category else []
    args += ["--severity", severity] if severity else []
    return args


def run(capsys, *argv: str) -> list[dict]:
    assert main([*argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def same(a: object, b: object) -> bool:
    """Equal, both missing (JSON null against NaN), or equal numbers to 12 digits."""
    missing = [x is None or (isinstance(x, float) and x != x) for x in (a, b)]
    if all(missing):
        return True
    if isinstance(a, float) or isinstance(b, float):
        return not any(missing) and a == pytest.approx(b, rel=1e-12)
    return a == b


def filters_of(quarter, clinics, category, severity) -> Filters:
    dates = parse_quarter(quarter) if quarter else (None, None)
    return Filters(*dates, clinics=clinics, category=category, severity=severity)


@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    quarter=st.sampled_from(QUARTERS),
    clinics=st.sampled_from(CLINIC_SETS),
    category=st.sampled_from(CATEGORIES),
    severity=st.sampled_from(SEVERITIES),
)
def test_clinics_and_trends_pages_flag_what_signals_flags(
    fixture_db, capsys, quarter, clinics, category, severity
) -> None:
    f = filters_of(quarter, clinics, category, severity)
    with duckdb.connect(str(fixture_db), read_only=True) as con:
        funnel = views.clinics(con, f, "clinic")
        trends = views.trends(con, f, "month")
    rows = run(
        capsys, "signals", "--db", str(fixture_db), *cli_args(quarter, clinics, category, severity)
    )
    flagged = [(r["unit"], r["rule"]) for r in rows if r["kind"] == "funnel"]
    page = [] if funnel is None else [
        (u, f"{o} limit") for u, o in zip(funnel.units["unit"], funnel.units["outside"], strict=True) if o
    ]  # fmt: skip
    assert page == flagged
    said = [
        *trends.statements,
        *trends.category_statements,
        *trends.severity_statements,
        *trends.clinic_statements,
    ]
    listed = [
        (r["series"], r["unit"], r["period"], r["rule"]) for r in rows if r["kind"] == "trend"
    ]
    assert [(s.what, s.unit, s.span, s.rule) for s in said] == listed


@settings(max_examples=8, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    quarter=st.sampled_from(QUARTERS),
    clinics=st.sampled_from(CLINIC_SETS[:1] + CLINIC_SETS[2:]),
    category=st.sampled_from(CATEGORIES),
)
def test_training_page_ratios_are_compares(fixture_db, capsys, quarter, clinics, category) -> None:
    f = filters_of(quarter, clinics, category, None)
    with duckdb.connect(str(fixture_db), read_only=True) as con:
        page = views.training_ultrasound(con, f)
    for factor, table in (
        ("ultrasound", page.ultrasound_ratios),
        ("training_band", page.training_ratios),
        ("experience_band", page.experience_ratios),
    ):
        rows = run(capsys, "compare", "--db", str(fixture_db), "--factor", factor, "--adjust",
                   "body_region", *cli_args(quarter, clinics, category, None))  # fmt: skip
        assert len(rows) == len(table)
        for row, mine in zip(rows, table.to_dict("records"), strict=True):
            for key in ("analysis", "level", "reference", "events", "method", "note",
                        "rate_ratio", "ci_low", "ci_high"):  # fmt: skip
                assert same(row[key], mine[key]), (key, row[key], mine[key])


@pytest.mark.parametrize("quarter", ["2024Q4", "2025Q2", "2026Q3"])
@pytest.mark.parametrize("clinic", [None, "C04"])
def test_the_report_names_what_the_pages_name(fixture_db, quarter, clinic) -> None:
    """The report's funnel flags, signal sentences and ratios are the Clinics, Trends and
    Training pages' for the same quarter and clinic."""
    clinics = (clinic,) if clinic else ()
    f = filters_of(quarter, clinics, None, None)
    with duckdb.connect(str(fixture_db), read_only=True) as con:
        report = build_report(con, ReportRequest(quarter, clinic))
        funnel = views.clinics(con, f, "practitioner" if clinic else "clinic", within=clinic)
        trends = views.trends(con, f, "month")
        training = views.training_ultrasound(con, f)
    units = report.section("units").frame
    shown = {r["level"]: r["signal"] for r in units.to_dict("records")}
    page = dict(
        zip(
            funnel.units["unit"],
            funnel.units["outside"].replace("", "within 95% limits"),
            strict=True,
        )
    )
    assert shown == page
    said = [*trends.statements, *trends.category_statements, *trends.severity_statements,
            *trends.clinic_statements]  # fmt: skip
    assert list(report.signals) == [s.sentence for s in said]
    ratios = report.section("ratios").frame
    page_ratios = [
        r for t in (training.ultrasound_ratios, training.training_ratios, training.experience_ratios)
        for r in t.to_dict("records")
    ]  # fmt: skip
    assert len(ratios) == len(page_ratios)
    for mine, theirs in zip(ratios.to_dict("records"), page_ratios, strict=True):
        assert (mine["level"], mine["reference"]) == (theirs["level"], theirs["reference"])
        assert (mine["value"], mine["ci_low"], mine["ci_high"]) == (
            theirs["rate_ratio"], theirs["ci_low"], theirs["ci_high"]
        )  # fmt: skip
