"""A clinic's joined date in the body's member register (issue 13): ``clinics.joined_on``
is read like every date column, and a submission for a quarter that ended before it is
refused, to the day: the quarter that ends the day before the clinic joined is refused,
the quarter holding the joined date is received, a blank joined_on checks nothing.
(The first test of it, with a mid-quarter date, is in test_submission_ingest.)"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from ingest.api import IngestOptions, ingest_files
from needlewatch.cli import main

from .conftest import TODAY, db_contents

ISO = "not an ISO 8601 date (YYYY-MM-DD): fix it or pass --date-format, e.g. --date-format %d/%m/%Y"


def _run(capsys, *args: object) -> tuple[int, str, str]:
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def _register(tmp_path: Path, rows: str, name: str = "register.csv") -> Path:
    path = tmp_path / name
    path.write_text("clinic_id,name,joined_on\n" + rows, encoding="utf-8")
    return path


def test_a_bad_joined_on_is_rejected_with_its_row_and_column(tmp_path, capsys) -> None:
    """Not a date, before 1990: the row is rejected, the CLI says file, row and column and
    what to do (exit 3); the good rows, a blank joined_on among them, are the register."""
    db = tmp_path / "body.duckdb"
    register = _register(
        tmp_path, "C01,Harbour,2025-07-01\nC04,Quay,\nC05,Slash,01/07/2025\nC06,Old,1989-12-31\n"
    )
    status, out, err = _run(capsys, "ingest", "--db", db, register)
    assert (status, err) == (3, "")
    assert out == (
        f"{register} (clinics): 4 rows read: 2 new, 0 updated (0 unchanged), 2 rejected\n"
        "  rejected 1 row(s) (5): column joined_on: before 1990-01-01: check the year\n"
        f"  rejected 1 row(s) (4): column joined_on: {ISO}\n"
        "2 row(s) rejected and stored with their reasons; list them with: "
        "needlewatch rejects --run 1\n"
    )
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute(
            "SELECT file, row_number, column_name, value, reason FROM rejects ORDER BY 2"
        ).fetchall() == [
            (str(register), 4, "joined_on", "01/07/2025", ISO),
            (str(register), 5, "joined_on", "1989-12-31", "before 1990-01-01: check the year"),
        ]
        assert con.execute("SELECT clinic_id, joined_on FROM clinics ORDER BY 1").fetchall() == [
            ("C01", date(2025, 7, 1)),
            ("C04", None),
        ]


def test_a_joined_on_after_today_is_rejected_and_today_is_not(tmp_path) -> None:
    db = tmp_path / "body.duckdb"
    register = _register(tmp_path, "C01,Harbour,2026-11-21\nC02,Sol,2026-11-22\n")
    assert ingest_files(db, [register], IngestOptions(today=TODAY)).rows_rejected == 1
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT row_number, column_name, value, reason FROM rejects").fetchall() == [
            (3, "joined_on", "2026-11-22", "in the future (after 2026-11-21): check the date"),
        ]  # fmt: skip
        assert con.execute("SELECT clinic_id, joined_on FROM clinics").fetchall() == [
            ("C01", date(2026, 11, 21)),
        ]


def _received(db: Path) -> list[tuple[str, str, int, int, int, int]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "SELECT clinic_id, quarter, version, treatments, events, serious_events "
            "FROM submissions ORDER BY 1, 2, 3"
        ).fetchall()


def _line(path: Path, clinic: str, quarter: str, totals: tuple[int, int, int]) -> str:
    return (
        f"{path} (submission): {clinic} {quarter}: version 1 received (treatments "
        "{:,}, events {:,}, serious events {:,})\n".format(*totals)
    )


def test_the_quarter_before_joining_is_refused_to_the_day(zips, tmp_path, capsys) -> None:
    """C01 joined on 1 Jul 2025: in one batch its 2025Q2 (ended 30 Jun, the day before) is
    refused and the rest land, its 2025Q3 (the quarter it joined in) and C04's 2025Q2 (no
    joined_on). With joined_on corrected to 30 Jun, the last day of 2025Q2, it lands."""
    db = tmp_path / "body.duckdb"
    register = _register(tmp_path, "C01,Harbour,2025-07-01\nC04,Quay,\n")
    assert ingest_files(db, [register], IngestOptions(today=TODAY)).rows_rejected == 0
    early, joined, blank = zips["C01", "2025Q2"], zips["C01", "2025Q3"], zips["C04", "2025Q2"]
    status, out, err = _run(capsys, "ingest", "--db", db, early, joined, blank)
    assert status == 3
    assert err == (
        f"rejected: {early}: clinic C01 joined on 2025-07-01, after 2025Q2 ended; check the "
        "quarter, or the clinic's joined_on in the member register\n"
    )
    held = _received(db)
    assert [r[:3] for r in held] == [("C01", "2025Q3", 1), ("C04", "2025Q2", 1)]
    assert out == (
        _line(joined, "C01", "2025Q3", held[0][3:])
        + _line(blank, "C04", "2025Q2", held[1][3:])
        + "1 submission(s) rejected: the reasons are listed on stderr\n"
    )
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute(
            "SELECT DISTINCT strftime(month, '%Y-%m') FROM counts_treatments "
            "WHERE clinic_id = 'C01' ORDER BY 1"
        ).fetchall() == [("2025-07",), ("2025-08",), ("2025-09",)]
    state = db_contents(db)
    assert _run(capsys, "ingest", "--db", db, early)[0] == 3
    assert db_contents(db) == state
    corrected = _register(tmp_path, "C01,Harbour,2025-06-30\n", "corrected.csv")
    assert ingest_files(db, [corrected], IngestOptions(today=TODAY)).rows_rejected == 0
    status, out, err = _run(capsys, "ingest", "--db", db, early)
    assert (status, err) == (0, "")
    assert [r[:3] for r in _received(db)] == [
        ("C01", "2025Q2", 1), ("C01", "2025Q3", 1), ("C04", "2025Q2", 1),
    ]  # fmt: skip
    assert out == _line(early, "C01", "2025Q2", _received(db)[0][3:])
