"""A professional body's view of its network (issue 13): which clinic sent which quarter,
on time, late or missing, with every version, and counts to check; ``needlewatch demo
--network`` builds a body's database that shows each case, and the Submissions page draws
it."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import dashboard.store.frames  # noqa: F401  (text as the read side stores it, whatever ran first)
from dashboard.analysis.submissions import due_date, received_status
from needlewatch.cli import main

from .test_app import run_page


def _versions(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(
        rows, columns=["clinic_id", "quarter", "version", "current", "received_at", "treatments"]
    )
    return frame.assign(events=frame["treatments"] // 10, serious_events=0)


MEMBERS = pd.DataFrame({"clinic_id": ["A", "B", "C", "D"], "name": ["Ash", "Birch", "C", "D"]})
VERSIONS = _versions(
    [
        ("A", "2025Q1", 1, True, datetime(2025, 4, 20, 9), 100),  # due 30 Apr: on time
        ("A", "2025Q2", 1, True, datetime(2025, 8, 15, 9), 100),  # due 30 Jul: late
        ("B", "2025Q2", 1, False, datetime(2025, 7, 10, 9), 50),
        ("B", "2025Q2", 2, True, datetime(2025, 8, 20, 9), 80),  # first arrival on time
        ("D", "2024Q3", 1, True, datetime(2024, 10, 5), 100),
        ("D", "2024Q4", 1, True, datetime(2025, 1, 5), 110),
        ("D", "2025Q1", 1, True, datetime(2025, 4, 5), 90),
        ("D", "2025Q2", 1, True, datetime(2025, 7, 5), 100),
        ("D", "2025Q3", 1, True, datetime(2025, 10, 5), 60),  # usual 100: -40%, P 1e-5
    ]
)


def test_a_quarter_is_due_thirty_days_after_it_ends() -> None:
    assert due_date("2026Q2") == date(2026, 7, 30)
    assert due_date("2025Q4") == date(2026, 1, 30)


def test_the_grid_says_on_time_late_missing_and_due_and_flags_a_drop() -> None:
    got = received_status(VERSIONS, MEMBERS, date(2025, 10, 20))
    shown = got.grid[["clinic_id", "quarter", "status", "version", "treatments",
                      "usual_treatments", "check"]]  # fmt: skip
    expected = pd.DataFrame(
        [
            ("A", "2025Q1", "on time", 1, 100, None, None),
            ("A", "2025Q2", "late", 1, 100, None, None),
            ("A", "2025Q3", "due", None, None, None, None),
            ("B", "2025Q2", "on time", 2, 80, None, None),
            ("B", "2025Q3", "due", None, None, None, None),
            # never sent: from the network's first quarter (D's 2024Q3); 2025Q3 not due yet
            ("C", "2024Q3", "missing", None, None, None, None),
            ("C", "2024Q4", "missing", None, None, None, None),
            ("C", "2025Q1", "missing", None, None, None, None),
            ("C", "2025Q2", "missing", None, None, None, None),
            ("C", "2025Q3", "due", None, None, None, None),
            ("D", "2024Q3", "on time", 1, 100, None, None),
            ("D", "2024Q4", "on time", 1, 110, None, None),
            ("D", "2025Q1", "on time", 1, 90, 105.0, None),
            ("D", "2025Q2", "on time", 1, 100, 100.0, None),
            (
                "D",
                "2025Q3",
                "on time",
                1,
                60,
                100.0,
                "treatments 60 against a usual 100 a quarter (-40%): check the export before "
                "reading its rates",
            ),
        ],
        columns=shown.columns,
    ).astype({"version": "Int64", "treatments": "Int64", "usual_treatments": "float64"})
    pd.testing.assert_frame_equal(shown.reset_index(drop=True), expected)
    assert got.by_quarter.to_dict("records")[-1] == {
        "quarter": "2025Q3", "on time": 1, "late": 0, "missing": 0, "due": 3,
    }  # fmt: skip
    # a month on, 2025Q3 is overdue
    later = received_status(VERSIONS, MEMBERS, date(2025, 11, 15)).by_quarter
    assert later.to_dict("records")[-1] == {
        "quarter": "2025Q3", "on time": 1, "late": 0, "missing": 3, "due": 0,
    }  # fmt: skip


def test_a_clinic_is_expected_from_the_quarter_it_joined() -> None:
    """C never sent a quarter: with its joined_on (15 Feb 2025, in 2025Q1) in the register
    it is missing from 2025Q1, not from the network's first quarter (2024Q3)."""
    members = MEMBERS.assign(joined_on=pd.to_datetime([None, None, "2025-02-15", None]))
    grid = received_status(VERSIONS, members, date(2025, 10, 20)).grid
    c = grid[grid["clinic_id"] == "C"]
    assert c[["quarter", "status"]].values.tolist() == [
        ["2025Q1", "missing"], ["2025Q2", "missing"], ["2025Q3", "due"],
    ]  # fmt: skip
    others = received_status(VERSIONS, MEMBERS, date(2025, 10, 20)).grid
    pd.testing.assert_frame_equal(
        grid[grid["clinic_id"] != "C"].reset_index(drop=True),
        others[others["clinic_id"] != "C"].reset_index(drop=True),
    )


def test_a_small_clinics_noise_is_not_flagged() -> None:
    """17 treatments against a usual 32 is below 75%, but Poisson(32) gives 17 or fewer
    in 0.3% of quarters (scipy.stats.poisson.cdf(17, 32) = 0.00277): not flagged; 14 is
    (0.00029)."""
    quarters = ("2024Q3", "2024Q4", "2025Q1", "2025Q2", "2025Q3")
    for last, flagged in ((17, False), (14, True)):
        versions = _versions(
            [("D", q, 1, True, datetime(2025, 10, 5), n)
             for q, n in zip(quarters, (30, 34, 32, 32, last), strict=True)]
        )  # fmt: skip
        grid = received_status(
            versions, MEMBERS[MEMBERS["clinic_id"] == "D"], date(2025, 11, 15)
        ).grid
        assert grid["check"].notna().tolist() == [False, False, False, False, flagged]


def test_no_submissions_give_an_empty_grid() -> None:
    got = received_status(VERSIONS.iloc[0:0], MEMBERS, date(2025, 10, 20))
    assert got.grid.empty and got.by_quarter.empty


@pytest.fixture(scope="module")
def network(tmp_path_factory) -> tuple[Path, Path, str]:
    folder = tmp_path_factory.mktemp("network")
    db = folder / "body.duckdb"
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["demo", "--network", "--treatments", "50000", "--db", str(db),
                       "--out", str(folder / "net")])  # fmt: skip
    assert status == 0
    return db, folder / "net", out.getvalue()


def test_demo_network_receives_every_case(network) -> None:
    db, folder, printed = network
    subs = folder / "submissions"
    assert printed == (
        f"169 submission files from 14 demo clinics in {subs}: 168 received (1 replacing an "
        "earlier version), 1 rejected:\n"
        f"  rejected: {subs / 'C09-2026Q3-altered.zip'}: treatment_cells.csv does not match "
        "its SHA-256 in manifest.json (changed after the clinic wrote it); ask the clinic to "
        "send the file `needlewatch submit` wrote, unchanged\n"
        f"the body's database is {db}: open it with needlewatch serve --db {db}\n"
    )
    with duckdb.connect(str(db), read_only=True) as con:
        c04 = con.execute(
            "SELECT version, current, treatments, replaced_treatments FROM submissions "
            "WHERE clinic_id = 'C04' AND quarter = '2025Q2' ORDER BY version"
        ).fetchall()
        assert [row[:2] for row in c04] == [(1, False), (2, True)]
        assert c04[1][3] == c04[0][2] < c04[1][2]
        assert con.execute(
            "SELECT count(*) FROM submissions WHERE clinic_id = 'C09' AND quarter = '2026Q3'"
        ).fetchone() == (1,)
        grid = received_status(
            con.execute("SELECT * FROM submissions").df(),
            con.execute("SELECT clinic_id, name FROM clinics ORDER BY 1").df(),
            date(2026, 12, 3),
        ).grid
    odd = grid[(grid["status"] != "on time") | grid["check"].notna()]
    assert odd[["clinic_id", "quarter", "status"]].values.tolist() == [
        ["C07", "2025Q3", "late"],
        ["C07", "2026Q2", "late"],
        ["C11", "2026Q3", "missing"],
        ["C13", "2026Q3", "on time"],
    ]
    assert odd["check"].notna().tolist() == [False, False, False, True]


def test_the_demo_register_dates_each_clinic_from_its_first_month(network) -> None:
    """demo --network's register gives every clinic a joined_on: the first day of the demo
    (1 Oct 2023), the first month each demo clinic has counts for, so none of its
    quarters is refused (every rejection is in the printed line above)."""
    db, _, _ = network
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute(
            "SELECT count(*), min(c.joined_on), max(c.joined_on), min(t.first), max(t.first) "
            "FROM clinics c JOIN (SELECT clinic_id, min(month) AS first FROM counts_treatments "
            "GROUP BY 1) t USING (clinic_id)"
        ).fetchone() == (14, date(2023, 10, 1), date(2023, 10, 1), date(2023, 10, 1),
                         date(2023, 10, 1))  # fmt: skip


def test_the_submissions_page_shows_the_network(network, monkeypatch) -> None:
    db, _, _ = network
    monkeypatch.setenv("NEEDLEWATCH_DB", str(db))
    at = run_page("submissions")
    assert not at.exception
    serious = views_serious(db)
    assert [s.value for s in at.subheader] == [
        "Counts to check (1)", "Clinics by quarter", f"Serious events submitted ({serious})",
        "Every version received (168)",
    ]  # fmt: skip
    assert {m.label: m.value for m in at.metric}["2026Q3: missing"] == "1"


def views_serious(db: Path) -> int:
    """The serious events in the counted versions, counted from the rows the clinics sent."""
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT sum(serious_events) FROM submissions WHERE current").fetchone()[
            0
        ]


def test_the_submissions_page_says_how_a_body_receives_them(fixture_db, monkeypatch) -> None:
    monkeypatch.setenv("NEEDLEWATCH_DB", str(fixture_db))
    at = run_page("submissions")
    assert not at.exception
    assert "needlewatch ingest --db body.duckdb submissions/*.zip" in at.info[0].value


def test_a_body_database_offers_its_professions_and_covers_its_months(network) -> None:
    """No practitioner or treatment rows: the sidebar's professions and the span the data
    cover come from the submitted counts (the demo's months, first day to last)."""
    from dashboard.store.db import connect_readonly
    from dashboard.store.queries import data_coverage, filter_options

    db, _, _ = network
    con = connect_readonly(db)
    try:
        assert data_coverage(con) == (date(2023, 10, 1), date(2026, 9, 30))
        assert filter_options(con).professions == (
            "chiropractor", "osteopath", "physician", "physiotherapist",
        )  # fmt: skip
    finally:
        con.close()


def test_a_submitting_clinics_practitioners_are_not_one_unnamed_unit(network, monkeypatch) -> None:
    """The practitioner funnel of a clinic that sends counts once showed "0 of 1
    practitioners" (its whole quarter as one unnamed unit, phi 0): it now says why not."""
    db, _, _ = network
    monkeypatch.setenv("NEEDLEWATCH_DB", str(db))
    at = run_page("clinics", {"quarter": "2026Q3", "compare": "practitioners", "within": "C04"})
    assert not at.exception
    assert [i.value for i in at.info] == [
        "These treatments come from clinics' quarterly submissions, which name no "
        "practitioner: compare clinics here, and practitioners in the clinic's own NeedleWatch."
    ]


def test_the_network_gives_the_rows_numbers_for_every_complete_quarter(
    network, tmp_path, capsys
) -> None:
    """The same demo (seed, 50,000 treatments) as rows in one database and as the
    network's submissions in another: to 2026Q2 (before C11's missing and C13's short
    latest quarter) signals, funnels and every report section are the same to the digit,
    but ratios, whose intervals rows cluster by practitioner and submissions cannot (the
    method says so), and the data quality of each database's own ingests."""
    db, _, _ = network
    rows = tmp_path / "rows.duckdb"
    assert main(["demo", "--treatments", "50000", "--db", str(rows)]) == 0
    capsys.readouterr()
    for args in (
        ("signals", "--quarter", "2026Q2"),
        ("signals", "--quarter", "2026Q1", "--by", "quarter"),
        ("rates", "--by", "clinic,month", "--to", "2026-06-30"),
    ):
        printed = []
        for where in (rows, db):
            assert main([*args, "--format", "csv", "--db", str(where)]) == 0
            printed.append(capsys.readouterr().out)
        assert printed[0] == printed[1] and printed[0].count("\n") > 3, args
    tables = []
    for where in (rows, db):
        out = tmp_path / f"{where.stem}.csv"
        assert main(["report", "--quarter", "2026Q2", "--db", str(where), "--out", str(out)]) == 0
        tables.append(pd.read_csv(out))
    capsys.readouterr()
    same = ~tables[0]["section"].isin(["ratios", "quality"])
    assert set(tables[0].loc[same, "section"]) == {
        "headline", "serious", "affected", "category", "severity", "training_band",
        "experience_band", "ultrasound", "trend", "spc", "units",
    }  # fmt: skip
    pd.testing.assert_frame_equal(
        tables[0][same].reset_index(drop=True),
        tables[1][~tables[1]["section"].isin(["ratios", "quality"])].reset_index(drop=True),
    )
    ratios = tables[1][tables[1]["section"] == "ratios"]
    assert ratios["method"].str.contains("no practitioner-clustered estimate").all()
