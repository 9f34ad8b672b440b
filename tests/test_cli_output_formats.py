"""`needlewatch rejects` and `terms` in every output format, after real rejects.

The table format once formatted any column called ``value`` as a number and crashed on
the rejected text ("Unknown format code 'f' for object of type 'str'"); number
formatting now follows what a column holds, never its name alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from needlewatch.cli import main
from needlewatch.output import write_frame

PRACTITIONERS = (
    "practitioner_id,clinic_id,dn_training_hours,years_dn_experience\n"
    "P20,C01,40,3\n"
    "P21,C01,lots,2\n"
    "P22,C77,30,\n"
    "P23,C01,-4,1.5\n"
)
NOT_NUMBER = "not a number: write digits only, e.g. 12 or 12.5"
UNKNOWN_CLINIC = (
    "unknown clinic_id: not in the database or this run; ingest the clinics file first or "
    "fix the id"
)
NEGATIVE = "negative: must be 0 or more"
EVENTS = (
    "event_id,treatment_id,event_type\n"
    "E30,T1,Pneumothoraces\n"
    "E31,T2,felt weird\n"
    "E32,T2,felt weird\n"
    "E33,T3,bruises\n"
)


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def _table(header: list[str], rows: list[list[str]], numeric: set[str]) -> str:
    """What pandas' ``to_string(index=False)`` prints: cells right-aligned, one space apart,
    a numeric column one character wider."""
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) + (h in numeric) for i, h in enumerate(header)
    ]
    lines = [header, *rows]
    return "".join(
        " ".join(cell.rjust(w) for cell, w in zip(line, widths, strict=True)) + "\n"
        for line in lines
    )


@pytest.fixture()
def rejected_db(base_db: Path, tmp_path: Path, capsys) -> tuple[Path, str]:
    """base_db plus run 5: a practitioners file with three rejected rows."""
    path = tmp_path / "practitioners_bad.csv"
    path.write_text(PRACTITIONERS, encoding="utf-8")
    status, _, _ = _run(capsys, "ingest", "--db", str(base_db), str(path))
    assert status == 3
    return base_db, str(path.resolve())


def test_rejects_table_format_prints_rejected_text(rejected_db, capsys) -> None:
    db, file = rejected_db
    status, out, err = _run(capsys, "rejects", "--db", str(db))
    assert (status, err) == (0, "")
    assert out == _table(
        ["Run", "File", "Row", "Column", "Value", "Reason"],
        [
            ["5", file, "3", "dn_training_hours", "lots", NOT_NUMBER],
            ["5", file, "4", "clinic_id", "C77", UNKNOWN_CLINIC],
            ["5", file, "5", "dn_training_hours", "-4", NEGATIVE],
        ],
        numeric={"Run", "Row"},
    )


def test_rejects_csv_format(rejected_db, capsys) -> None:
    db, file = rejected_db
    status, out, err = _run(capsys, "rejects", "--db", str(db), "--format", "csv")
    assert (status, err) == (0, "")
    assert out == (
        "run_id,file,row_number,column_name,value,reason\n"
        f'5,{file},3,dn_training_hours,lots,"{NOT_NUMBER}"\n'
        f"5,{file},4,clinic_id,C77,{UNKNOWN_CLINIC}\n"
        f"5,{file},5,dn_training_hours,-4,{NEGATIVE}\n"
    )


def test_rejects_json_format(rejected_db, capsys) -> None:
    db, file = rejected_db
    status, out, err = _run(capsys, "rejects", "--db", str(db), "--format", "json")
    assert (status, err) == (0, "")
    assert json.loads(out) == [
        {
            "run_id": 5,
            "file": file,
            "row_number": r,
            "column_name": c,
            "value": v,
            "reason": reason,
        }
        for r, c, v, reason in [
            (3, "dn_training_hours", "lots", NOT_NUMBER),
            (4, "clinic_id", "C77", UNKNOWN_CLINIC),
            (5, "dn_training_hours", "-4", NEGATIVE),
        ]
    ]


@pytest.fixture()
def terms_db(base_db: Path, tmp_path: Path, capsys) -> Path:
    """base_db plus four events: a plural pneumothorax, two unmapped, a plural bruise."""
    path = tmp_path / "events_terms.csv"
    path.write_text(EVENTS, encoding="utf-8")
    status, _, _ = _run(capsys, "ingest", "--db", str(base_db), str(path))
    assert status == 0
    return base_db


def test_terms_in_three_formats(terms_db: Path, capsys) -> None:
    db = str(terms_db)
    assert _run(capsys, "terms", "--db", db) == (
        0,
        "Reported as      Category  Events\n felt weird unmapped term       3\n",
        "",
    )
    assert _run(capsys, "terms", "--db", db, "--format", "csv") == (
        0,
        "term,category,events\nfelt weird,unmapped,3\n",
        "",
    )
    status, out, err = _run(capsys, "terms", "--db", db, "--format", "json")
    assert (status, err) == (0, "")
    assert json.loads(out) == [{"term": "felt weird", "category": "unmapped", "events": 3}]
    assert _run(capsys, "terms", "--db", db, "--all") == (
        0,
        "   Reported as      Category  Events\n"
        "    felt weird unmapped term       3\n"
        "    Haematomas      bruising       1\n"
        "           PTX  pneumothorax       1\n"
        "Pneumothoraces  pneumothorax       1\n"
        "       bruises      bruising       1\n",
        "",
    )
    assert _run(capsys, "terms", "--db", db, "--all", "--format", "csv") == (
        0,
        "term,category,events\n"
        "felt weird,unmapped,3\n"
        "Haematomas,bruising,1\n"
        "PTX,pneumothorax,1\n"
        "Pneumothoraces,pneumothorax,1\n"
        "bruises,bruising,1\n",
        "",
    )


def test_numeric_value_column_still_gets_three_decimals(capsys) -> None:
    """``signals`` keeps its numeric ``value`` column to 3 decimals in the table format."""
    import io

    import pandas as pd

    out = io.StringIO()
    frame = pd.DataFrame({"kind": ["trend"], "value": [3.82159], "limit": [3.7777]})
    write_frame(frame, "table", out)
    assert out.getvalue() == " Kind Value Limit\ntrend 3.822 3.778\n"


def test_control_characters_are_visible_in_the_table_and_quoted_in_csv() -> None:
    """A rejected value keeps its carriage return: escaped in the table (one row, one
    line), and quoted in CSV so the next reader does not split the row."""
    import io

    import pandas as pd

    frame = pd.DataFrame({"value": ["C1\r1", "a\tb", None], "reason": ["x", "y", "z"]})
    table = io.StringIO()
    write_frame(frame, "table", table)
    assert table.getvalue() == "Value Reason\nC1\\r1      x\n a\\tb      y\n           z\n"
    csv = io.StringIO()
    write_frame(frame, "csv", csv)
    assert csv.getvalue() == 'value,reason\n"C1\r1",x\na\tb,y\n,z\n'


def test_table_format_prints_words_and_csv_json_keep_codes() -> None:
    """Dimension codes and column names are words in the table format only: csv and json
    keep the codes, the join keys of the data dictionary."""
    import io

    import pandas as pd

    frame = pd.DataFrame(
        {
            "body_region": ["shoulder_rotator_cuff", "upper_trapezius"],
            "technique": ["in_and_out", "static"],
            "training_band": ["21-60", "unknown"],
            "insertions": [8000, 1200],
            "events": [3, 1],
            "rate_per_1000": [0.375, 0.8333333],
            "p_value": [0.01534, 0.00001],
        }
    )
    table = io.StringIO()
    write_frame(frame, "table", table)
    assert table.getvalue() == (
        "          Body region  Technique Training (hours)  Needle insertions  Events"
        " Per 1,000 needle insertions       p\n"
        "shoulder rotator cuff in-and-out          21-60 h               8000       3"
        "                       0.375  0.0153\n"
        "      upper trapezius     static          unknown               1200       1"
        "                       0.833 <0.0001\n"
    )
    csv = io.StringIO()
    write_frame(frame, "csv", csv)
    assert csv.getvalue().splitlines()[:2] == [
        "body_region,technique,training_band,insertions,events,rate_per_1000,p_value",
        "shoulder_rotator_cuff,in_and_out,21-60,8000,3,0.375,0.01534",
    ]
    out = io.StringIO()
    write_frame(frame, "json", out)
    assert json.loads(out.getvalue())[1]["technique"] == "static"
    assert json.loads(out.getvalue())[0]["body_region"] == "shoulder_rotator_cuff"


def test_table_format_names_model_levels_by_their_term() -> None:
    import io

    import pandas as pd

    frame = pd.DataFrame(
        {
            "term": ["ultrasound", "ultrasound", "body_region"],
            "level": ["no", "yes", "lumbar_paraspinals"],
            "reference": ["no", "no", "upper_trapezius"],
            "irr": [1.0, 0.9, 0.7],
        }
    )
    out = io.StringIO()
    write_frame(frame, "table", out)
    assert out.getvalue() == (
        "             Factor                 Level             Reference Rate ratio\n"
        "Ultrasound guidance not ultrasound-guided not ultrasound-guided      1.000\n"
        "Ultrasound guidance     ultrasound-guided not ultrasound-guided      0.900\n"
        "        Body region    lumbar paraspinals       upper trapezius      0.700\n"
    )


def test_a_read_connection_prints_no_progress_bar(fixture_db, capfd) -> None:
    """DuckDB prints a progress bar on stdout for a query over 2 s (every command at 100
    million treatments), inside a command's CSV or JSON: the read side turns it off. Here
    the bar is asked to show at once (progress_bar_time 0) over a scan of every row."""
    from dashboard.store.db import connect_readonly

    con = connect_readonly(fixture_db)
    try:
        con.execute("SET progress_bar_time = 0")
        con.execute(
            "SELECT count(DISTINCT md5(treatment_id || x)) FROM treatments, range(60) r(x)"
        ).fetchall()
    finally:
        con.close()
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_an_ingest_prints_no_progress_bar_of_duckdb(tmp_path, capfd) -> None:
    """The write connection too: `needlewatch demo --treatments 10000000 > log` once wrote
    2.4 MB of DuckDB's bar into the log. The bar is asked to show at once here."""
    from ingest.store import write_transaction

    with write_transaction(tmp_path / "w.duckdb") as session:
        session.con.execute("SET progress_bar_time = 0")
        session.con.execute(
            "SELECT count(DISTINCT md5(CAST(x AS VARCHAR) || y)) FROM range(3000) a(x), "
            "range(600) b(y)"
        ).fetchall()
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
