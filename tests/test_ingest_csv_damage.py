"""CSV rows DuckDB's reader cannot take as they are: each becomes one reject with its row,
the rest of the file is stored, exit status 3.

- A 3,000,000-character narrative once crashed the ingest (AttributeError, exit 1) and
  lost the file's good rows.
- A bare carriage return in an unquoted id once stopped the run with "cannot use this
  database (CSV Parser state machine reached an invalid state)", exit 2.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pandas as pd
import pandas.testing as pdt
import pytest

from ingest.api import IngestOptions, ingest_files
from needlewatch.cli import main

from .conftest import DATA, TODAY

LONG_ROW = "row longer than the 2 MB limit: split or shorten it"
BARE_CR = (
    "control character (carriage return) in the value: remove it, or quote the value if "
    "the line break belongs in a text column"
)
ID_FIX = "remove it (an id must be one line of plain text)"
UNKNOWN_TREATMENT = (
    "unknown treatment_id: not in the database or this run; ingest the treatments file "
    "first or fix the id"
)


def _rejects(db: Path, run_id: int) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "SELECT row_number, column_name, value, reason FROM rejects WHERE run_id = ? "
            "ORDER BY row_number, column_name",
            [run_id],
        ).df()


def _expected(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["row_number", "column_name", "value", "reason"])
    return frame.astype({"row_number": "int64"})


def _ids(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


# --- rows over the reader's 2 MB limit ------------------------------------------------


def _long_narrative_file(path: Path, *, more_damage: bool) -> Path:
    """Events whose row 3 has a 3,000,000-character narrative (row 3 spans two lines
    when ``more_damage``, followed by a bad onset, a blank line and an unknown treatment)."""
    long = "x" * 3_000_000
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("event_id,treatment_id,event_type,onset,narrative\n")
        fh.write("E10,T1,bruise,during,ok\n")
        if more_damage:
            fh.write(f'E11,T1,bruise,during,"{long}\n{long}"\n')
            fh.write("E12,T2,faint,whenever,fine\n")
            fh.write("\n")
            fh.write("E13,T9,faint,after,fine\n")
        else:
            fh.write(f"E11,T1,bruise,during,{long}\n")
        fh.write("E14,T2,faint,after,fine\n")
    return path


def test_row_over_2_mb_is_one_reject_and_the_rest_is_stored(base_db: Path, tmp_path: Path) -> None:
    path = _long_narrative_file(tmp_path / "long.csv", more_damage=False)
    run = ingest_files(base_db, [path], IngestOptions(today=TODAY)).runs[0]
    assert (run.rows_read, run.rows_accepted, run.rows_rejected) == (3, 2, 1)
    pdt.assert_frame_equal(
        _rejects(base_db, run.run_id),
        _expected([(3, None, "E11,T1,bruise,during," + "x" * 179, LONG_ROW)]),
    )
    assert _ids(
        base_db, f"SELECT event_id FROM adverse_events WHERE run_id = {run.run_id} ORDER BY 1"
    ) == [("E10",), ("E14",)]


def test_row_numbers_after_a_multiline_row_over_2_mb(base_db: Path, tmp_path: Path) -> None:
    """The numbering of later rows counts the long record's physical lines."""
    path = _long_narrative_file(tmp_path / "long2.csv", more_damage=True)
    run = ingest_files(base_db, [path], IngestOptions(today=TODAY)).runs[0]
    assert (run.rows_read, run.rows_accepted, run.rows_rejected) == (5, 2, 3)
    pdt.assert_frame_equal(
        _rejects(base_db, run.run_id),
        _expected(
            [
                (3, None, 'E11,T1,bruise,during,"' + "x" * 178, LONG_ROW),
                (4, "onset", "whenever", "unknown onset: use during or after"),
                (6, "treatment_id", "T9", UNKNOWN_TREATMENT),
            ]
        ),
    )


def test_cli_exit_3_for_a_row_over_2_mb(base_db: Path, tmp_path: Path, capsys) -> None:
    path = _long_narrative_file(tmp_path / "long.csv", more_damage=False)
    status = main(["ingest", "--db", str(base_db), str(path)])
    out, err = capsys.readouterr()
    assert (status, err) == (3, "")
    assert out == (
        f"{path} (adverse_events): 3 rows read: 2 new, 0 updated (0 unchanged), 1 rejected\n"
        f"  rejected 1 row(s) (3): {LONG_ROW}\n"
        "1 row(s) rejected and stored with their reasons; list them with: "
        "needlewatch rejects --run 5\n"
    )


# --- carriage returns and other control characters -------------------------------------


CLINICS_WITH_CRS = (
    b"clinic_id,name\n"
    b"C10,A\n"  # row 2
    b"C1\r1,B\n"  # row 3: a bare CR inside an unquoted id
    b'"C1\r3",x\n'  # row 4: a CR inside a quoted id
    b'"C1\n4",y\n'  # row 5: a line break inside a quoted id (one row)
    b"C1\t5,z\n"  # row 6: a tab in an id
    b'C16,"multi\rline"\n'  # row 7: a quoted CR in text: kept
    b"C17,bare\rtext\n"  # row 8: an unquoted CR in text
    b"C18,C\r\n"  # row 9: a CRLF line end among LF ones
    b"C1\x019,D\n"  # row 10: another control character in an id
    b"C20,E\n"  # row 11
)


def test_carriage_returns_and_control_characters_are_rejects_by_row_and_column(
    base_db: Path, tmp_path: Path
) -> None:
    path = tmp_path / "clinics_cr.csv"
    path.write_bytes(CLINICS_WITH_CRS)
    run = ingest_files(base_db, [path], IngestOptions(today=TODAY)).runs[0]
    assert (run.rows_read, run.rows_accepted, run.rows_rejected) == (10, 4, 6)
    pdt.assert_frame_equal(
        _rejects(base_db, run.run_id),
        _expected(
            [
                (3, "clinic_id", "C1\r1", BARE_CR),
                (
                    4,
                    "clinic_id",
                    "C1\r3",
                    f"control character (carriage return) in an id: {ID_FIX}",
                ),
                (5, "clinic_id", "C1\n4", f"control character (line break) in an id: {ID_FIX}"),
                (6, "clinic_id", "C1\t5", f"control character (tab) in an id: {ID_FIX}"),
                (8, "name", "bare\rtext", BARE_CR),
                (
                    10,
                    "clinic_id",
                    "C1\x019",
                    f"control character (a byte below 32 or 127) in an id: {ID_FIX}",
                ),
            ]
        ),
    )
    assert _ids(
        base_db, f"SELECT clinic_id, name FROM clinics WHERE run_id = {run.run_id} ORDER BY 1"
    ) == [("C10", "A"), ("C16", "multi\rline"), ("C18", "C"), ("C20", "E")]


def test_cli_exit_3_for_a_bare_carriage_return_in_an_id(
    base_db: Path, tmp_path: Path, capsys
) -> None:
    path = tmp_path / "clinics_cr.csv"
    path.write_bytes(b"clinic_id,name\nC10,A\nC1\r1,B\nC12,C\n")
    status = main(["ingest", "--db", str(base_db), str(path)])
    out, err = capsys.readouterr()
    assert (status, err) == (3, "")
    assert out == (
        f"{path} (clinics): 3 rows read: 2 new, 0 updated (0 unchanged), 1 rejected\n"
        f"  rejected 1 row(s) (3): column clinic_id: {BARE_CR}\n"
        "1 row(s) rejected and stored with their reasons; list them with: "
        "needlewatch rejects --run 5\n"
    )
    status = main(["rejects", "--db", str(base_db), "--format", "csv"])
    out, _ = capsys.readouterr()
    assert out == (
        "run_id,file,row_number,column_name,value,reason\n"
        f'5,{path.resolve()},3,clinic_id,"C1\r1","{BARE_CR}"\n'
    )


@pytest.mark.parametrize(
    "content",
    [
        b"clinic_id,name\r\nC10,A\r\nC1\r1,B\r\nC12,C\r\n",  # CRLF file
        b"clinic_id,name\nC10,A\nC1\r1,B\nC12,C",  # no final line end
    ],
    ids=["crlf", "no-final-newline"],
)
def test_bare_cr_in_other_line_end_styles(base_db: Path, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "clinics_cr.csv"
    path.write_bytes(content)
    run = ingest_files(base_db, [path], IngestOptions(today=TODAY)).runs[0]
    assert (run.rows_read, run.rows_accepted, run.rows_rejected) == (3, 2, 1)
    pdt.assert_frame_equal(
        _rejects(base_db, run.run_id), _expected([(3, "clinic_id", "C1\r1", BARE_CR)])
    )


def test_bare_cr_in_an_events_file_with_value_rejects(base_db: Path, tmp_path: Path) -> None:
    """The marked copy keeps row numbers right for the other rejects of the file."""
    path = tmp_path / "events_cr.csv"
    path.write_bytes(
        b"event_id,treatment_id,event_type,onset\n"
        b"E50,T1,bruise,during\n"
        b"E5\r1,T1,bruise,during\n"
        b"\n"
        b"E52,T9,bruise,after\n"
        b"E53,T2,Pneumothoraces,after\n"
    )
    run = ingest_files(base_db, [path], IngestOptions(today=TODAY)).runs[0]
    assert (run.rows_read, run.rows_accepted, run.rows_rejected) == (4, 2, 2)
    pdt.assert_frame_equal(
        _rejects(base_db, run.run_id),
        _expected(
            [
                (3, "event_id", "E5\r1", BARE_CR),
                (5, "treatment_id", "T9", UNKNOWN_TREATMENT),
            ]
        ),
    )
    assert _ids(
        base_db,
        f"SELECT event_id, category, severity FROM adverse_events WHERE run_id = {run.run_id} "
        "ORDER BY 1",
    ) == [("E50", "bruising", "unspecified"), ("E53", "pneumothorax", "serious")]


def test_classic_mac_line_ends_are_read(base_db: Path, tmp_path: Path) -> None:
    path = tmp_path / "clinics_mac.csv"
    path.write_bytes(b"clinic_id,name\rC30,A\rC31,B\r")
    run = ingest_files(base_db, [path], IngestOptions(today=TODAY)).runs[0]
    assert (run.rows_read, run.rows_accepted, run.rows_rejected) == (2, 2, 0)
    assert _ids(
        base_db, f"SELECT clinic_id, name FROM clinics WHERE run_id = {run.run_id} ORDER BY 1"
    ) == [("C30", "A"), ("C31", "B")]


def test_a_file_the_reader_cannot_parse_names_the_file_not_the_database(
    base_db: Path, tmp_path: Path, capsys
) -> None:
    """The only "invalid state" the marked copy cannot cure (an unquoted CR the quote
    parity misplaces) ends the run naming the file, and nothing is written."""
    before = hashlib.sha256(base_db.read_bytes()).hexdigest()
    path = tmp_path / "clinics_bad.csv"
    # The stray quote in row 2 makes row 3's CR look quoted, so the copy keeps it.
    path.write_bytes(b'clinic_id,name\nC10,5" needle\nC1\r1,B\n')
    status = main(["ingest", "--db", str(base_db), str(DATA / "clinics_bom_tab.tsv"), str(path)])
    out, err = capsys.readouterr()
    assert (status, out) == (2, "")
    assert err.startswith(f"needlewatch: {path}: the CSV reader stopped (")
    assert err.endswith(
        "); check that the file is delimited text and export it again as CSV (UTF-8)\n"
    )
    assert hashlib.sha256(base_db.read_bytes()).hexdigest() == before
