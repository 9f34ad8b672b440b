"""Quarterly report content: every number equals the command line; the public edition is safe.

The report is built on the fixture database (seed 7, 30,000 treatments) and compared with
`needlewatch rates` / `compare` run with the same filters, value by value.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from dashboard.analysis.pseudonyms import pseudonyms
from dashboard.report.content import build_report, shift_quarter
from dashboard.report.model import LONG_COLUMNS, ReportRequest
from dashboard.store.queries import database_secret, unit_ids
from needlewatch.cli import main

Q, PREVIOUS, FIRST = "2025Q2", "2025Q1", "2024Q3"
CLINIC_ID = re.compile(r"\bC\d\d\b")
PRACTITIONER_CODE = re.compile(r"\bP-[0-9A-F]{8}\b")


@pytest.fixture()
def cli(capsys, fixture_db):
    def run(*args: str):
        assert main([*args, "--db", str(fixture_db), "--format", "json"]) == 0
        return json.loads(capsys.readouterr().out)

    return run


@pytest.fixture(scope="module")
def reports(fixture_db):
    import duckdb

    con = duckdb.connect(str(fixture_db), read_only=True)
    try:
        yield {
            key: build_report(con, ReportRequest(Q, clinic, edition))
            for key, clinic, edition in (
                ("all", None, "clinic"),
                ("c04", "C04", "clinic"),
                ("public", None, "public"),
                ("public-c04", "C04", "public"),
            )
        }
    finally:
        con.close()


def rows(report, key: str) -> list[dict]:
    return report.section(key).frame.to_dict("records")


def same_rates(section_rows: list[dict], expected: list[dict], dim: str | None) -> None:
    assert len(section_rows) == len(expected)
    for got, want in zip(section_rows, expected, strict=True):
        if dim:
            assert got["level"] == str(want[dim])
        assert (got["treatments"], got["events"]) == (want["treatments"], want["events"])
        assert (got["value"], got["ci_low"], got["ci_high"]) == (
            want["rate_per_1000"],
            want["ci_low_per_1000"],
            want["ci_high_per_1000"],
        )


def test_shift_quarter_crosses_years() -> None:
    assert shift_quarter("2026Q1", -1) == "2025Q4"
    assert shift_quarter("2025Q2", -3) == "2024Q3"
    assert shift_quarter("2025Q4", 1) == "2026Q1"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"quarter": "2025Q5"}, "not a quarter"),
        ({"quarter": "2025Q2", "edition": "press"}, "unknown edition"),
        ({"quarter": "2025Q2", "threshold": 0}, "at least 1"),
        ({"quarter": "2025Q2", "threshold": 2.5}, "whole number"),
    ],
)
def test_request_rejects_impossible_input(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        ReportRequest(**kwargs)


@pytest.mark.parametrize("key", ["all", "c04"])
def test_headline_equals_rates_for_quarter_previous_and_four_quarters(reports, cli, key) -> None:
    report = reports[key]
    clinic = ["--clinic", "C04"] if key == "c04" else []
    expected = [
        *cli("rates", "--quarter", Q, *clinic),
        *cli("rates", "--quarter", PREVIOUS, *clinic),
        *cli("rates", "--from", "2024-07-01", "--to", "2025-06-30", *clinic),
    ]
    same_rates(rows(report, "headline"), expected, None)
    serious = [
        *cli("rates", "--quarter", Q, "--severity", "serious", *clinic),
        *cli("rates", "--quarter", PREVIOUS, "--severity", "serious", *clinic),
        *cli(
            "rates", "--from", "2024-07-01", "--to", "2025-06-30", "--severity", "serious", *clinic
        ),
    ]
    same_rates(rows(report, "serious"), serious, None)
    affected = cli("rates", "--quarter", Q, "--affected", *clinic)[0]
    first = rows(report, "affected")[0]
    assert (first["events"], first["value"]) == (
        affected["treatments_affected"],
        affected["affected_percent"],
    )


@pytest.mark.parametrize(
    "dim", ["category", "severity", "training_band", "experience_band", "ultrasound"]
)
@pytest.mark.parametrize("key", ["all", "c04"])
def test_breakdowns_equal_rates_by_dimension(reports, cli, dim, key) -> None:
    clinic = ["--clinic", "C04"] if key == "c04" else []
    same_rates(rows(reports[key], dim), cli("rates", "--by", dim, "--quarter", Q, *clinic), dim)


def test_ratios_equal_compare_crude_and_adjusted(reports, cli) -> None:
    """Same ratios, same intervals, same references (the configured ones: ultrasound no,
    training 21-60, experience 2-4) and same method as `needlewatch compare`."""
    got = [r for r in rows(reports["all"], "ratios")]
    expected = [
        row
        for factor in ("ultrasound", "training_band", "experience_band")
        for row in cli("compare", "--factor", factor, "--adjust", "body_region", "--quarter", Q)
    ]
    assert len(got) == len(expected) == 2 * (1 + 4 + 4)
    for g, e in zip(got, expected, strict=True):
        assert (g["level"], g["reference"], g["events"], g["treatments"]) == (
            e["level"], e["reference"], e["events"], e["treatments"]
        )  # fmt: skip
        assert (g["value"], g["ci_low"], g["ci_high"]) == (
            e["rate_ratio"],
            e["ci_low"],
            e["ci_high"],
        )
        assert g["measure"].endswith("crude") == (e["analysis"] == "crude")
        assert g["method"].startswith(e["method"])
    assert {g["reference"] for g in got} == {"no", "21-60", "2-4"}


def test_trend_equals_rates_by_month_over_24_months(reports, cli) -> None:
    got = rows(reports["all"], "trend")
    # the window starts 24 months before the quarter's end; the fixture starts in 2023-10
    same_rates(
        got, cli("rates", "--by", "month", "--from", "2023-07-01", "--to", "2025-06-30"), "month"
    )
    signals = cli("signals", "--by", "month", "--from", "2023-07-01", "--to", "2025-06-30")
    spans = [s["period"].split(" to ") for s in signals if s["kind"] == "trend"
             and s["unit"] == "all" and s["series"] == "adverse events"]  # fmt: skip
    months = [r["level"] for r in got]
    flagged = {
        m for span in spans for m in months[months.index(span[0]) : months.index(span[-1]) + 1]
    }
    assert {r["level"] for r in got if r["signal"]} == flagged


@pytest.mark.parametrize("key", ["all", "c04"])
def test_signals_are_those_of_needlewatch_signals_for_the_quarter(reports, cli, key) -> None:
    """One sentence per trend row of `signals --quarter Q` (all events, each category,
    each clinic), in the same order, naming the same series, place, months and rule."""
    from dashboard.analysis.explain import period_name

    clinic = ["--clinic", "C04"] if key == "c04" else []
    trend = [s for s in cli("signals", "--quarter", Q, *clinic) if s["kind"] == "trend"]
    said = list(reports[key].signals)
    assert len(said) == len(trend) > 0
    for sentence, row in zip(said, trend, strict=True):
        where = "overall" if row["unit"] == "all" else f"at {row['unit']}"
        months = " to ".join(period_name(p) for p in row["period"].split(" to "))
        assert (
            sentence.startswith(("Rise", "Fall"))
            and f" in {row['series']} {where} in {months}" in sentence
        )
        assert row["rule"] in sentence or (
            row["rule"] == "beyond 3-sigma limit" and "3-sigma" in sentence
        )


def test_units_are_clinics_or_the_clinics_practitioners_by_code(reports, cli) -> None:
    clinics = {r["clinic"]: r for r in cli("rates", "--by", "clinic", "--quarter", Q)}
    got = rows(reports["all"], "units")
    assert {r["level"] for r in got} == set(clinics)
    for r in got:
        assert (r["events"], r["treatments"]) == (
            clinics[r["level"]]["events"],
            clinics[r["level"]]["treatments"],
        )
        assert r["value"] == pytest.approx(clinics[r["level"]]["rate_per_1000"], rel=1e-12)
    pracs = cli("rates", "--by", "practitioner", "--quarter", Q, "--clinic", "C04")
    by_code = {p["practitioner"]: p for p in pracs}  # rates prints keyed codes too
    got = rows(reports["c04"], "units")
    assert {r["level"] for r in got} == set(by_code)
    assert all(r["events"] == by_code[r["level"]]["events"] for r in got)
    flagged = [
        (s["unit"], s["rule"]) for s in cli("signals", "--quarter", Q) if s["kind"] == "funnel"
    ]
    assert [(r["level"], f"{r['signal']} limit") for r in rows(reports["all"], "units")
            if r["signal"] != "within 95% limits"] == flagged  # fmt: skip


def test_practitioner_codes_are_the_keyed_codes_of_every_surface(reports, fixture_db) -> None:
    import duckdb

    listing = reports["all"].listing
    assert len(listing) > 0
    assert listing["practitioner"].str.fullmatch(PRACTITIONER_CODE.pattern).all()
    with duckdb.connect(str(fixture_db), read_only=True) as con:
        codes = pseudonyms(unit_ids(con, "practitioner"), database_secret(con), "practitioner")
    assert set(listing["practitioner"]) <= set(codes.values())


def test_clinic_edition_lists_every_significant_and_serious_event(reports, cli) -> None:
    severity = {
        r["severity"]: r["events"] for r in cli("rates", "--by", "severity", "--quarter", Q)
    }
    listing = reports["all"].listing
    assert len(listing) == severity["significant"] + severity["serious"]
    assert listing["narrative"].notna().any()


def test_long_table_has_the_documented_columns(reports) -> None:
    table = reports["all"].long_table()
    assert tuple(table.columns) == LONG_COLUMNS
    assert set(table["section"]) >= {
        "headline",
        "serious",
        "category",
        "ratios",
        "trend",
        "units",
        "quality",
    }


# -- public edition ----------------------------------------------------------------


def all_text(report) -> str:
    parts = [report.title, report.scope, " ".join(report.units), " ".join(report.signals)]
    parts += [s.frame.astype(str).to_csv() for s in report.sections]
    return "\n".join(parts)


@pytest.mark.parametrize("key", ["public", "public-c04"])
def test_public_edition_prints_no_count_in_the_suppression_range(reports, key) -> None:
    report = reports[key]
    for section in report.sections:
        counts = section.frame["events"].dropna()
        counts = counts[counts.map(lambda v: not pd.isna(v))].astype(int)
        assert not counts.between(1, report.request.threshold).any(), section.key
        hidden = section.frame[section.frame["suppressed"]]
        assert hidden["events"].isna().all()
        assert hidden["value"].isna().all() and hidden[["ci_low", "ci_high"]].isna().all().all()


def test_public_edition_has_no_identifier_narrative_or_practitioner(reports) -> None:
    for key in ("public", "public-c04"):
        report = reports[key]
        text = all_text(report)
        assert report.listing is None
        assert not CLINIC_ID.search(text), key
        assert not PRACTITIONER_CODE.search(text), key
        assert (
            not report.has("units") or report.section("units").frame["dimension"].eq("clinic").all()
        )
        assert not any(re.search(r"\d+\.\d\d per 1,000", s) for s in report.signals)
    assert reports["public-c04"].scope.startswith("Clinic K-")


def test_public_suppression_is_the_series_decision(fixture_db, reports) -> None:
    """The public report hides exactly the cells the series decision hides for its
    quarter (rows in the same order as the unsuppressed report's), its frames carry no
    cell ids (they name clinics), and the attacker's range of every hidden small count
    spans at least 7 values."""
    import datetime

    import duckdb

    from dashboard.analysis.methods import DEFAULT
    from dashboard.report.content import _series
    from dashboard.report.public import decide, public_edition
    from dashboard.store.cube import load_cube
    from dashboard.store.filters import Filters
    from dashboard.store.queries import data_coverage

    con = duckdb.connect(str(fixture_db), read_only=True)
    try:
        coverage = data_coverage(con)
        span = Filters(date_from=coverage[0], date_to=datetime.date(2025, 6, 30))
        systems = _series(
            load_cube(con, span), "all", Q, coverage, unit_ids(con, "clinic"), DEFAULT
        )
        raw = build_report(con, ReportRequest(Q, None, "public"), suppressed=False)
    finally:
        con.close()
    decisions, hidden = decide(systems, 7)
    public, again, ranges = public_edition(raw, systems)
    assert again == hidden and public.long_table().equals(reports["public"].long_table())
    for before, after in zip(raw.sections, public.sections, strict=True):
        assert "cell" not in after.frame
        if "cell" in before.frame:
            expect = [isinstance(c, str) and c in hidden.cells for c in before.frame["cell"]]
            assert after.frame["suppressed"].tolist() == expect, before.key
    assert hidden.primary == {c for c in systems[-1].printed if 1 <= systems[-1].values[c] <= 7}
    assert hidden.cells and ranges.keys() == set(hidden.cells)
    for cell in hidden.primary:
        low, high = ranges[cell]
        assert high - low + 1 >= 7, cell


def test_clinic_codes_are_stable_keyed_and_distinct(fixture_db, reports) -> None:
    import duckdb

    con = duckdb.connect(str(fixture_db), read_only=True)
    try:
        secret = database_secret(con)
        later = build_report(con, ReportRequest("2025Q3", edition="public"))
    finally:
        con.close()
    ids = [f"C{i:02d}" for i in range(1, 15)]
    codes = pseudonyms(ids, secret, "clinic")
    assert len(set(codes.values())) == 14
    assert all(re.fullmatch(r"K-[0-9A-F]{4}([0-9A-F]{2})*", c) for c in codes.values())
    assert set(reports["public"].units) == set(codes.values()) == set(later.units)
    assert pseudonyms(ids, b"another database", "clinic") != codes
