"""Every reject reason, with the exact file row, column and value it names."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pandas.testing as pdt

from ingest.api import IngestOptions, ingest_files

from .conftest import DATA, TODAY

FIX_DATE = (
    "not an ISO 8601 date (YYYY-MM-DD): fix it or pass --date-format, e.g. --date-format %d/%m/%Y"
)
NOT_NUMBER = "not a number: write digits only, e.g. 12 or 12.5"
YES_NO = "not a yes/no value: use yes/no, true/false, y/n or 1/0"


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


def test_treatment_value_rejects_name_row_column_value_and_fix(base_db: Path) -> None:
    report = ingest_files(base_db, [DATA / "treatments_bad_values.csv"], IngestOptions(today=TODAY))
    run = report.runs[0]
    assert (run.rows_read, run.rows_accepted, run.rows_updated, run.rows_rejected) == (18, 1, 0, 17)
    expected = _expected(
        [
            (3, "treatment_id", None, "required value missing: fill in treatment_id"),
            (4, "treatment_date", None, "required value missing: fill in treatment_date"),
            (5, "treatment_date", "01/03/2025", FIX_DATE),
            (6, "treatment_date", "1989-12-31", "before 1990-01-01: check the year"),
            (7, "treatment_date", "2027-01-01", "in the future (after 2026-11-21): check the date"),
            (8, "practitioner_id", None, "required value missing: fill in practitioner_id"),
            (
                9,
                "practitioner_id",
                "P9",
                "unknown practitioner_id: not in the database or this run; ingest the "
                "practitioners file first or fix the id",
            ),
            (
                10,
                "clinic_id",
                "C99",
                "unknown clinic_id: not in the database or this run; ingest the clinics "
                "file first or fix the id",
            ),
            (11, "body_region", None, "required value missing: fill in body_region"),
            (12, "ultrasound_guided", None, "required value missing: fill in ultrasound_guided"),
            (13, "ultrasound_guided", "maybe", YES_NO),
            (14, "needle_insertions", "eight", NOT_NUMBER),
            (15, "needle_insertions", "-2", "negative: must be 0 or more"),
            (16, "needle_insertions", "2.5", "not a whole number: give a count such as 8"),
            (17, "retention_minutes", "-5", "negative: must be 0 or more"),
            (18, "electrical_stimulation", "sometimes", YES_NO),
            (19, "retention_minutes", "inf", NOT_NUMBER),
        ]
    )
    pdt.assert_frame_equal(_rejects(base_db, run.run_id), expected)


def test_event_value_and_reference_rejects(base_db: Path) -> None:
    report = ingest_files(base_db, [DATA / "events_bad_values.csv"], IngestOptions(today=TODAY))
    run = report.runs[0]
    assert (run.rows_read, run.rows_accepted, run.rows_rejected) == (8, 2, 6)
    expected = _expected(
        [
            (
                3,
                "treatment_id",
                "T99",
                "unknown treatment_id: not in the database or this run; ingest the "
                "treatments file first or fix the id",
            ),
            (4, "event_type", None, "required value missing: fill in event_type"),
            (
                5,
                "severity",
                "grade 2",
                "unknown severity wording: use mild, significant or serious (minor, "
                "moderate, major, severe, life-threatening are understood)",
            ),
            (6, "onset", "later", "unknown onset: use during or after"),
            (
                7,
                "onset_date",
                "2025-03-01",
                "onset_date is before the treatment_date: check both dates",
            ),
            (8, "hospitalised", "perhaps", YES_NO),
        ]
    )
    pdt.assert_frame_equal(_rejects(base_db, run.run_id), expected)


def test_malformed_csv_rows_are_rejects_with_spreadsheet_row_numbers(base_db: Path) -> None:
    """Header row 1; a blank line and a two-line quoted cell each count as one row."""
    report = ingest_files(base_db, [DATA / "treatments_malformed.csv"], IngestOptions(today=TODAY))
    run = report.runs[0]
    assert (run.rows_read, run.rows_accepted, run.rows_rejected) == (6, 3, 3)
    expected = _expected(
        [
            (
                3,
                None,
                "T41,2025-03-01,P1,gluteals,no,ok,extra",
                "too many columns (expected 6): quote values that contain ','",
            ),
            (
                6,
                "ultrasound_guided",
                "T43,2025-03-01,P1,gluteals",
                "too few columns (expected 6): a delimiter is missing or the row was cut short",
            ),
            (7, "treatment_date", "not-a-date", FIX_DATE),
        ]
    )
    pdt.assert_frame_equal(_rejects(base_db, run.run_id), expected)
    assert run.notices == (
        f"{DATA / 'treatments_malformed.csv'}: ignored column(s) not in the treatments "
        "format: narrative",
    )


def test_unbalanced_quote_is_one_reject_and_nothing_else_lost(
    tmp_path: Path, base_db: Path
) -> None:
    path = tmp_path / "quote.csv"
    path.write_text('clinic_id,name\nC07,Good\nC08,"Unclosed\nC09,Swallowed\n', encoding="utf-8")
    run = ingest_files(base_db, [path], IngestOptions(today=TODAY)).runs[0]
    assert (run.rows_read, run.rows_accepted, run.rows_rejected) == (2, 1, 1)
    reasons = _rejects(base_db, run.run_id)
    assert reasons["row_number"].tolist() == [3]
    assert reasons["reason"].iloc[0].startswith("unbalanced quote")
