"""What lands in the database: types, normalisation, follow-ups, idempotence, formats."""

from __future__ import annotations

import hashlib
import hmac
import shutil
from datetime import date
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pandas.testing as pdt

from ingest.api import IngestOptions, ingest_files

from .conftest import DATA, TODAY

TABLES = ("clinics", "practitioners", "treatments", "adverse_events")


def _query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _tables(db: Path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            t: con.execute(f"SELECT * EXCLUDE (run_id) FROM {t} ORDER BY ALL").df() for t in TABLES
        }


def test_base_files_land_typed_and_normalised(base_db: Path) -> None:
    rows = _query(
        base_db,
        "SELECT treatment_id, treatment_date, clinic_id, body_region, ultrasound_guided, "
        "needle_insertions, technique, retention_minutes, electrical_stimulation "
        "FROM treatments ORDER BY treatment_id",
    )
    assert rows == [
        ("T1", date(2025, 3, 1), "C01", "upper_trapezius", True, 8, "in_and_out", None, False),
        ("T2", date(2025, 3, 2), "C02", "gluteals", False, 4, "static", 20.0, False),
        ("T3", date(2025, 4, 10), "C01", "upper_trapezius", False, 6, "electrical", 15.0, True),
        ("T4", date(2025, 5, 20), "C01", "lumbar_paraspinals", True, 10, "static", 10.0, False),
        ("T5", date(2025, 6, 30), "C01", "gluteals", False, None, "in_and_out", None, None),
    ]
    assert _query(
        base_db,
        "SELECT practitioner_id, profession, dn_training_hours, "
        "years_dn_experience FROM practitioners ORDER BY 1",
    ) == [
        ("P1", "physiotherapist", 40.0, 3.0),
        ("P2", "physiotherapist", 250.0, 12.0),
        ("P3", "chiropractor", 12.5, None),
    ]


def test_event_terms_and_severity_are_normalised_keeping_reported_wording(base_db: Path) -> None:
    rows = _query(
        base_db,
        "SELECT event_id, event_type, category, severity_reported, severity FROM adverse_events "
        "ORDER BY event_id",
    )
    assert rows == [
        ("E1", "Haematomas", "bruising", "Minor", "mild"),
        ("E2", "PTX", "pneumothorax", "mild", "serious"),  # pneumothorax is always serious
        ("E3", "felt weird", "unmapped", None, "unspecified"),
    ]


def test_hospitalised_makes_an_event_serious(base_db: Path) -> None:
    ingest_files(base_db, [DATA / "events_bad_values.csv"], IngestOptions(today=TODAY))
    assert _query(
        base_db,
        "SELECT category, severity_reported, severity FROM adverse_events WHERE event_id = 'E17'",
    ) == [("fainting", None, "serious")]


def test_patient_id_is_stored_only_as_hmac_sha256_with_the_database_secret(base_db: Path) -> None:
    secret = _query(base_db, "SELECT value FROM meta WHERE key = 'patient_key_secret'")[0][0]
    expected = hmac.new(bytes.fromhex(secret), b"PAT-1", hashlib.sha256).hexdigest()
    keys = _query(base_db, "SELECT treatment_id, patient_key FROM treatments ORDER BY 1")
    assert keys[0] == ("T1", expected)
    assert keys[2] == ("T3", expected)  # same patient, same key
    assert keys[4] == ("T5", None)
    dump = "\n".join(str(r) for t in TABLES for r in _query(base_db, f"SELECT * FROM {t}"))
    assert "PAT-1" not in dump


def test_reingesting_the_same_files_changes_no_data(base_db: Path) -> None:
    before = _tables(base_db)
    files = [DATA / f for f in ("clinics.csv", "practitioners.csv", "treatments.csv", "events.csv")]
    report = ingest_files(base_db, files, IngestOptions(today=TODAY))
    counts = [(r.rows_read, r.rows_accepted, r.rows_updated, r.rows_unchanged) for r in report.runs]
    assert counts == [(2, 0, 2, 2), (3, 0, 3, 3), (5, 0, 5, 5), (3, 0, 3, 3)]
    after = _tables(base_db)
    for table in TABLES:
        pdt.assert_frame_equal(after[table], before[table])


def test_follow_up_reports_replace_the_earlier_version(base_db: Path) -> None:
    run = ingest_files(base_db, [DATA / "events_followup.csv"], IngestOptions(today=TODAY)).runs[0]
    # E3 existed (updated); E4 is new, and its second row in the same file replaces the first.
    assert (run.rows_read, run.rows_accepted, run.rows_updated, run.rows_rejected) == (3, 1, 2, 0)
    rows = _query(
        base_db,
        "SELECT event_id, event_type, severity, narrative FROM adverse_events "
        "WHERE event_id IN ('E3', 'E4') ORDER BY 1",
    )
    assert rows == [
        ("E3", "shaking", "significant", "Follow-up: symptoms persisted for a week."),
        ("E4", "bruising", "significant", "Revised in the same export"),
    ]
    assert _query(base_db, "SELECT count(*), count(DISTINCT event_id) FROM adverse_events") == [
        (4, 4)
    ]


def test_latin1_semicolon_file_with_day_month_dates_and_decimal_comma(base_db: Path) -> None:
    options = IngestOptions(encoding="cp1252", date_format="%d/%m/%Y", today=TODAY)
    run = ingest_files(base_db, [DATA / "treatments_cp1252_daymonth.csv"], options).runs[0]
    assert (run.rows_read, run.rows_accepted, run.rows_rejected) == (2, 1, 1)
    assert _query(
        base_db,
        "SELECT treatment_id, treatment_date, body_region, retention_minutes FROM treatments "
        "WHERE treatment_id IN ('T10', 'T11')",
    ) == [("T11", date(2025, 4, 15), "rhomboïds", 10.0)]
    assert _query(
        base_db, "SELECT row_number, value FROM rejects WHERE run_id = ?", [run.run_id]
    ) == [(2, "sí")]


def test_bom_tab_separated_file_is_read(base_db: Path) -> None:
    run = ingest_files(base_db, [DATA / "clinics_bom_tab.tsv"], IngestOptions(today=TODAY)).runs[0]
    assert (run.kind, run.rows_accepted) == ("clinics", 1)
    assert _query(base_db, "SELECT name FROM clinics WHERE clinic_id = 'C03'") == [("BOM Clinic",)]


def test_xlsx_workbook_every_sheet_loaded_with_sheet_row_numbers(
    tmp_path: Path, base_db: Path
) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "clinics"
    sheet.append(["Clinic ID *", "Name"])
    sheet.append(["C05", "Workbook Clinic"])
    sheet2 = book.create_sheet("treatments")
    sheet2.append(
        [
            "treatment_id",
            "treatment_date",
            "practitioner_id",
            "body_region",
            "ultrasound_guided",
            "needle_insertions",
        ]
    )
    sheet2.append(["T60", date(2025, 2, 3), "P1", "gluteals", True, 7.0])
    sheet2.append([None, None, None, None, None, None])
    sheet2.append(["T61", "2025-02-31", "P1", "gluteals", "no", 3])
    book.create_sheet("empty")
    path = tmp_path / "book.xlsx"
    book.save(path)
    report = ingest_files(base_db, [path], IngestOptions(today=TODAY))
    summary = [
        (r.label, r.kind, r.rows_read, r.rows_accepted, r.rows_rejected) for r in report.runs
    ]
    assert summary == [
        (f"{path}[clinics]", "clinics", 1, 1, 0),
        (f"{path}[treatments]", "treatments", 2, 1, 1),
    ]
    assert report.runs[1].notices == (f"{path}[treatments]: skipped 1 empty row(s)",)
    assert _query(
        base_db,
        "SELECT treatment_date, ultrasound_guided, needle_insertions "
        "FROM treatments WHERE treatment_id = 'T60'",
    ) == [(date(2025, 2, 3), True, 7)]
    assert _query(
        base_db,
        "SELECT row_number, column_name, value FROM rejects WHERE run_id = ?",
        [report.runs[1].run_id],
    ) == [(4, "treatment_date", "2025-02-31")]


def test_parquet_file_is_read_with_row_numbers(tmp_path: Path, base_db: Path) -> None:
    path = tmp_path / "practitioners.parquet"
    with duckdb.connect() as con:
        con.execute(
            "COPY (SELECT * FROM (VALUES ('P7', 'C01', 30.0), ('P8', 'C01', -1.0)) "
            "v(practitioner_id, clinic_id, dn_training_hours)) TO ? (FORMAT parquet)",
            [str(path)],
        )
    run = ingest_files(base_db, [path], IngestOptions(today=TODAY)).runs[0]
    assert (run.kind, run.rows_read, run.rows_accepted, run.rows_rejected) == (
        "practitioners",
        2,
        1,
        1,
    )
    assert _query(
        base_db, "SELECT row_number, column_name, value FROM rejects WHERE run_id = ?", [run.run_id]
    ) == [(3, "dn_training_hours", "-1.0")]


def test_files_in_one_run_load_in_reference_order(tmp_path: Path) -> None:
    db = tmp_path / "new.duckdb"
    files = [DATA / f for f in ("events.csv", "treatments.csv", "practitioners.csv", "clinics.csv")]
    report = ingest_files(db, files, IngestOptions(today=TODAY))
    assert [r.kind for r in report.runs] == [
        "clinics",
        "practitioners",
        "treatments",
        "adverse_events",
    ]
    assert report.rows_rejected == 0


def test_ingest_runs_log_counts_and_file_hash(base_db: Path) -> None:
    rows = _query(
        base_db,
        "SELECT kind, rows_read, rows_accepted, rows_updated, rows_rejected, status, sha256 "
        "FROM ingest_runs ORDER BY run_id",
    )
    digest = hashlib.sha256((DATA / "treatments.csv").read_bytes()).hexdigest()
    assert rows[2] == ("treatments", 5, 5, 0, 0, "accepted", digest)
    assert [r[0] for r in rows] == ["clinics", "practitioners", "treatments", "adverse_events"]


def test_demo_copy_is_independent(base_db: Path, tmp_path: Path) -> None:
    """A copied database keeps working: the store never leaves a WAL or lock in the way."""
    copy = tmp_path / "copy.duckdb"
    shutil.copy(base_db, copy)
    assert _query(copy, "SELECT count(*) FROM treatments") == [(5,)]


def test_blank_templates_load_zero_rows(tmp_path: Path) -> None:
    """The shipped templates (header only) are valid input: every kind loads 0 rows."""
    templates = Path(__file__).parent.parent / "data" / "templates"
    files = [
        templates / f"{k}.csv" for k in ("clinics", "practitioners", "treatments", "adverse_events")
    ]
    report = ingest_files(
        tmp_path / "t.duckdb",
        [*files, templates / "needlewatch_templates.xlsx"],
        IngestOptions(today=TODAY),
    )
    assert [(r.kind, r.rows_read, r.rows_rejected) for r in report.runs] == [
        ("clinics", 0, 0),
        ("clinics", 0, 0),
        ("practitioners", 0, 0),
        ("practitioners", 0, 0),
        ("treatments", 0, 0),
        ("treatments", 0, 0),
        ("adverse_events", 0, 0),
        ("adverse_events", 0, 0),
    ]


def test_last_row_of_a_repeated_id_wins_in_a_large_parallel_load(
    base_db: Path, tmp_path: Path
) -> None:
    """300,000 rows read by two threads: the repeat at the end must beat the first row."""
    path = tmp_path / "big.csv"
    with duckdb.connect() as con:
        con.execute(
            f"""COPY (
                SELECT 'B' || i AS treatment_id, DATE '2025-01-01' AS treatment_date,
                       'P1' AS practitioner_id, 'gluteals' AS body_region, 'no' AS ultrasound_guided
                FROM range(300000) r(i)
                UNION ALL SELECT 'B7', DATE '2025-02-02', 'P1', 'rhomboids', 'yes'
            ) TO '{path}'"""
        )
    run = ingest_files(base_db, [path], IngestOptions(today=TODAY)).runs[0]
    assert (run.rows_read, run.rows_accepted, run.rows_updated) == (300001, 300000, 1)
    assert _query(
        base_db,
        "SELECT treatment_date, body_region, ultrasound_guided FROM treatments "
        "WHERE treatment_id = 'B7'",
    ) == [(date(2025, 2, 2), "rhomboids", True)]
