"""The clinic feedback report (issue 13): one clinic against its network, peers anonymous.

Its standardised ratio is checked against R's ``poisson.test`` and against a count of the
row tables written here in SQL; its funnel verdict against the all-clinic report's; its
text for any other clinic's id; and rows against submissions.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pytest

from dashboard.analysis.peers import funnel_position, peer_ratios
from dashboard.report.content import build_report
from dashboard.report.feedback import TooFewPeersError
from dashboard.report.model import ReportRequest
from dashboard.report.render import render
from dashboard.stats.funnel import funnel
from dashboard.stats.standardised import (
    METHOD_SIR,
    expected_events,
    standardised_ratio,
)
from needlewatch.cli import main

QUARTER, CLINIC = "2025Q3", "C03"
START, END = "2025-07-01", "2025-09-30"


# R 4.x: poisson.test(10, T = 5)$conf.int = 0.9590778 3.6780712 (poisson.test(10)'s
# 4.795389 and 18.390356, the values of test_stats_poisson.py, divided by T = 5);
# poisson.test(0, T = 2)$conf.int = 0 1.8444397.
def test_the_standardised_ratio_is_r_poisson_test_with_the_expected_as_time() -> None:
    got = standardised_ratio(10, 5.0)
    assert (got.observed, got.expected, got.ratio) == (10, 5.0, 2.0)
    assert got.low == pytest.approx(0.9590778, rel=1e-6)
    assert got.high == pytest.approx(3.6780712, rel=1e-6)
    assert (got.method, got.verdict) == (METHOD_SIR, "as expected")
    zero = standardised_ratio(0, 2.0)
    assert (zero.ratio, zero.low) == (0.0, 0.0)
    assert zero.high == pytest.approx(1.8444397, rel=1e-6)
    assert standardised_ratio(30, 10.0).verdict == "higher"  # R: 2.024087 to 4.282749
    assert standardised_ratio(2, 10.0).verdict == "lower"  # R: 0.02422 to 0.72247


@pytest.mark.parametrize(
    ("observed", "expected", "message"),
    [
        (3, 0.0, "expected events must be a positive number, got 0.0"),
        (3, float("nan"), "expected events must be a positive number, got nan"),
        (-1, 2.0, "events must be a whole number >= 0, got -1"),
        (2.5, 2.0, "events must be a whole number >= 0, got 2.5"),
    ],
)
def test_the_standardised_ratio_refuses_impossible_input(observed, expected, message) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        standardised_ratio(observed, expected)


def test_expected_events_apply_the_reference_rate_of_each_stratum() -> None:
    # 100 treatments at 10 per 1,000 and 200 at 30 per 1,000: 1 + 6 events expected
    assert expected_events([100, 200], [10, 60], [1000, 2000]) == 7.0
    assert expected_events([0, 200], [0, 60], [0, 2000]) == 6.0  # a stratum nobody treats
    with pytest.raises(ValueError, match="exposure in the unit but none in the reference"):
        expected_events([5], [0], [0])
    with pytest.raises(ValueError, match="one value per stratum"):
        expected_events([5, 1], [0], [10])


def test_peer_ratios_standardise_for_body_region_against_the_whole_network() -> None:
    treatments = pd.DataFrame(
        {"clinic": ["A", "A", "B", "B", "C"], "body_region": ["neck", "back", "neck", "back", "back"],
         "treatments": [100, 300, 900, 700, 1000]}
    )  # fmt: skip
    events = pd.DataFrame(
        {"clinic": ["A", "A", "B", "B", "C", "C"], "body_region": ["neck", "back", "neck", "back", "back", "back"],
         "level": ["bruising", "bruising", "bruising", "bruising", "bruising", "fainting"],
         "events": [5, 3, 45, 10, 7, 0]}
    )  # fmt: skip
    got = peer_ratios(treatments, events, "A", ["bruising", "fainting"], drop_absent=True)
    # network: neck 50 in 1,000, back 20 in 2,000; A expects 100 * 0.05 + 300 * 0.01 = 8
    assert got.drop(columns=["ci_low", "ci_high"]).to_dict("records") == [
        {"level": "bruising", "treatments": 400, "events": 8, "expected": 8.0,
         "network_events": 70, "network_treatments": 3000, "network_rate": 70 / 3,
         "ratio": 1.0, "verdict": "no evidence of a difference", "method": METHOD_SIR}
    ]  # fmt: skip
    kept = peer_ratios(treatments, events, "A", ["fainting"])
    assert kept[["level", "events", "expected", "ratio", "method"]].to_dict("records") == [
        {"level": "fainting", "events": 0, "expected": 0.0, "ratio": None,
         "method": "no such events in the network: no ratio"}
    ]  # fmt: skip
    with pytest.raises(ValueError, match="clinic D has no treatments in the period"):
        peer_ratios(treatments, events, "D", ["bruising"])


def test_the_funnel_position_counts_peers_and_names_none() -> None:
    result = funnel(["A", "B", "C", "D"], [25, 25, 60, 25], [1000.0, 1000.0, 1000.0, 1000.0])
    mine, peers = funnel_position(result, "A")
    assert mine == "within 95% limits"
    assert peers == {"above 99.8%": 1, "within 95% limits": 2}
    with pytest.raises(ValueError, match="clinic Z is not on the funnel"):
        funnel_position(result, "Z")


@pytest.fixture(scope="module")
def feedback(fixture_db: Path):
    with duckdb.connect(str(fixture_db), read_only=True) as con:
        return build_report(con, ReportRequest(QUARTER, CLINIC, "feedback"))


def _by_region(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Treatments and events by clinic and body region, counted here from the rows."""
    return con.execute(
        """
        SELECT t.clinic_id AS clinic, t.body_region, count(DISTINCT t.treatment_id) AS n,
               count(e.event_id) AS events
        FROM treatments t LEFT JOIN adverse_events e USING (treatment_id)
        WHERE t.treatment_date BETWEEN CAST(? AS DATE) AND CAST(? AS DATE)
        GROUP BY ALL
        """,
        [START, END],
    ).df()


def test_the_ratio_to_the_network_is_the_rows_counted_by_body_region(feedback, fixture_con):
    rows = _by_region(fixture_con)
    network = rows.groupby("body_region")[["n", "events"]].sum()
    own = rows[rows["clinic"] == CLINIC].set_index("body_region")
    expected = sum(own["n"][r] * network["events"][r] / network["n"][r] for r in own.index)
    got = feedback.section("peers").frame.set_index("dimension").loc["all"]
    assert int(got["events"]) == int(own["events"].sum())
    assert int(got["treatments"]) == int(own["n"].sum())
    assert int(got["ref_events"]) == int(network["events"].sum())
    assert got["expected"] == pytest.approx(expected, rel=1e-12)
    assert got["value"] == pytest.approx(own["events"].sum() / expected, rel=1e-12)
    assert feedback.statements[1].key == "peers"
    assert f"a ratio of {got['value']:.2f} (95% CI {got['ci_low']:.2f}" in (
        feedback.statements[1].text
    )


def test_the_funnel_verdict_is_the_all_clinic_reports(feedback, fixture_con) -> None:
    everyone = build_report(fixture_con, ReportRequest(QUARTER))
    row = everyone.section("units").frame.set_index("level").loc[CLINIC]
    mine = feedback.section("units").frame.iloc[0]
    assert (mine["level"], mine["signal"]) == (CLINIC, row["signal"])
    assert (mine["limit_low"], mine["limit_high"]) == (row["limit_low"], row["limit_high"])
    assert mine["value"] == row["value"]
    labels = feedback.funnel.units["unit"].tolist()
    assert labels.count(CLINIC) == 1 and set(labels) == {CLINIC, ""}
    others = everyone.section("units").frame
    others = others[(others["level"] != CLINIC) & (others["treatments"] > 0)]
    counted = others["signal"].value_counts().sort_index()
    assert feedback.section("units").note == (
        f"The other {len(others)} clinics are unlabelled points, never named: "
        + "; ".join(f"{n} {v}" for v, n in counted.items())
        + "."
    )


def _xlsx_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "f.xlsx"
    path.write_bytes(data)
    book = openpyxl.load_workbook(path)
    return "\n".join(
        str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row
    )


def test_no_other_clinic_and_no_practitioner_is_named(feedback, fixture_con, tmp_path) -> None:
    clinics = [r[0] for r in fixture_con.execute("SELECT clinic_id FROM clinics").fetchall()]
    names = [r[0] for r in fixture_con.execute("SELECT name FROM clinics").fetchall()]
    practitioners = [
        r[0] for r in fixture_con.execute("SELECT practitioner_id FROM practitioners").fetchall()
    ]
    texts = {
        # the body, chart data included (the inlined plotly.js has SVG paths like "C10,3")
        "html": render(feedback, "html").decode().split("</head>")[1],
        "csv": render(feedback, "csv").decode(),
        "xlsx": _xlsx_text(render(feedback, "xlsx"), tmp_path),
    }
    for fmt, text in texts.items():
        found = {c for c in clinics if re.search(rf"\b{c}\b", text)}
        assert found == {CLINIC}, fmt
        assert not [n for n in names if n in text], fmt
        assert not [p for p in practitioners if re.search(rf"\b{p}\b", text)], fmt
        assert not re.search(r"\bP-[0-9a-f]{8}\b", text), fmt  # no practitioner codes


def test_feedback_from_submissions_equals_feedback_from_rows(body_db, fixture_db) -> None:
    """Every number of the quarter's own sections (the trend and the four quarters to date
    reach before the body's two quarters of submissions, so they are not compared)."""
    made = []
    for db in (fixture_db, body_db):
        with duckdb.connect(str(db), read_only=True) as con:
            made.append(build_report(con, ReportRequest(QUARTER, CLINIC, "feedback")))
    rows, submitted = made
    for key in ("peers", "units", "category", "severity", "training_band", "ultrasound"):
        pd.testing.assert_frame_equal(rows.section(key).frame, submitted.section(key).frame)
    assert rows.section("units").note == submitted.section("units").note


def _run(capsys, *args: object) -> tuple[int, str, str]:
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def test_the_command_line_writes_it_and_refuses_a_network_of_too_few(
    fixture_db, base_db, tmp_path, capsys
) -> None:
    out = tmp_path / "f.csv"
    status, printed, err = _run(capsys, "report", "--db", fixture_db, "--quarter", QUARTER,
                                "--clinic", CLINIC, "--edition", "feedback", "--out", out)  # fmt: skip
    assert (status, err) == (0, "")
    assert printed.startswith(
        f"{out}: NeedleWatch clinic feedback, 2025 Q3, Clinic {CLINIC} against 13 peer "
        "clinics, feedback edition ("
    )
    status, _, err = _run(capsys, "report", "--db", fixture_db, "--quarter", QUARTER,
                          "--edition", "feedback", "--out", out)  # fmt: skip
    assert (status, err) == (
        2,
        "needlewatch: the feedback edition is one clinic's: add --clinic ID\n",
    )
    status, _, err = _run(capsys, "report", "--db", base_db, "--quarter", "2025Q2",
                          "--clinic", "C01", "--edition", "feedback", "--out", out)  # fmt: skip
    assert (status, err) == (
        2,
        "needlewatch: 2025Q2: 0 other clinics treated this quarter; a feedback report "
        "needs at least 3, so that no peer can be recognised: use the clinic edition\n",
    )
    with duckdb.connect(str(base_db), read_only=True) as con, pytest.raises(TooFewPeersError):
        build_report(con, ReportRequest("2025Q2", "C01", "feedback"))


def test_the_report_page_offers_it_for_one_clinic(fixture_db, monkeypatch) -> None:
    from .test_app import run_page

    monkeypatch.setenv("NEEDLEWATCH_DB", str(fixture_db))
    at = run_page("report", {"quarter": QUARTER, "edition": "feedback", "format": "csv"})
    assert not at.exception
    assert [i.value for i in at.info] == [
        "The feedback edition is what a professional body sends one member clinic: choose "
        "that clinic (one) in the sidebar's Clinics."
    ]
    assert not at.button  # nothing to prepare
    at = run_page(
        "report", {"quarter": QUARTER, "clinic": CLINIC, "edition": "feedback", "format": "csv"}
    )
    at.button[0].click().run()
    assert not at.exception
    assert [b.label for b in at.get("download_button")] == [
        f"Download needlewatch-{QUARTER}-{CLINIC}-feedback.csv"
    ]


def test_each_clinic_gets_the_file_its_own_command_writes(fixture_db, tmp_path, capsys) -> None:
    """``--each-clinic``: one file per clinic treating in the quarter, byte for byte what
    ``--clinic ID`` writes (CSV), and a line for each member without treatments."""
    folder = tmp_path / "feedback"
    folder.mkdir()
    status, printed, err = _run(capsys, "report", "--db", fixture_db, "--quarter", QUARTER,
                                "--edition", "feedback", "--each-clinic",
                                "--out", folder / "{clinic}.csv")  # fmt: skip
    assert (status, err) == (0, "")
    with duckdb.connect(str(fixture_db), read_only=True) as con:
        treating = [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT clinic_id FROM treatments WHERE treatment_date "
                "BETWEEN CAST(? AS DATE) AND CAST(? AS DATE) ORDER BY 1",
                [START, END],
            ).fetchall()
        ]
        members = [r[0] for r in con.execute("SELECT clinic_id FROM clinics ORDER BY 1").fetchall()]
    assert sorted(p.stem for p in folder.iterdir()) == treating
    lines = printed.splitlines()
    assert lines[-1].startswith(f"{len(treating)} feedback reports for {QUARTER} (")
    assert [ln.split(":")[0] for ln in lines[: len(treating)]] == [
        str(folder / f"{c}.csv") for c in treating
    ]
    assert lines[len(treating) : -1] == [
        f"no report for {c}: no treatments in {QUARTER} (idle, or its submission has not arrived)"
        for c in members
        if c not in treating
    ]
    one = tmp_path / "one.csv"
    assert main(["report", "--db", str(fixture_db), "--quarter", QUARTER, "--clinic", CLINIC,
                 "--edition", "feedback", "--out", str(one)]) == 0  # fmt: skip
    assert (folder / f"{CLINIC}.csv").read_bytes() == one.read_bytes()
    capsys.readouterr()
    status, _, err = _run(capsys, "report", "--db", fixture_db, "--quarter", QUARTER,
                          "--edition", "feedback", "--each-clinic", "--out", tmp_path / "x.csv")  # fmt: skip
    assert (status, err) == (
        2,
        f"needlewatch: {tmp_path / 'x.csv'}: put {{clinic}} in the file name (e.g. "
        "feedback/{clinic}-Q.pdf), so each clinic's report gets its own file\n",
    )
    status, _, err = _run(capsys, "report", "--db", fixture_db, "--quarter", QUARTER,
                          "--each-clinic", "--out", folder / "{clinic}.csv")  # fmt: skip
    assert (status, err) == (
        2,
        "needlewatch: --each-clinic writes the feedback edition for every clinic: give "
        "--edition feedback and no --clinic\n",
    )


def test_one_clinics_statements_claim_no_chart_per_clinic(feedback, fixture_con) -> None:
    """A one-clinic report charts no clinic on its own: its trend sentence says so, and
    the all-clinic report's says each clinic was charted."""
    trend = next(s.text for s in feedback.statements if s.key == "trend")
    assert "each clinic" not in trend
    everyone = build_report(fixture_con, ReportRequest(QUARTER))
    overall = next(s.text for s in everyone.statements if s.key == "trend")
    assert overall.startswith(f"No special cause in {QUARTER}") == ("each clinic" in overall)
