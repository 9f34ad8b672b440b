"""Older databases upgrade in place on the next write: version 1 (no history) and version 2
(history, undated practitioner files) both reach the current schema with every treatment
still banded and every practitioner dated by the profile in force."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from ingest.api import IngestOptions, ingest_files
from ingest.countstore import refresh_counts
from ingest.schema import MIGRATIONS, SCHEMA_VERSION, current_version, migrate

from .conftest import TODAY

#: A version-1 database's rows: two clinics, two practitioners, three treatments, an event.
V1_ROWS = """
INSERT INTO meta VALUES ('patient_key_secret', '00'), ('schema_version', '1');
INSERT INTO clinics VALUES ('C01', 'Harbour', NULL, NULL, 1), ('C02', 'Sol', NULL, NULL, 1);
INSERT INTO practitioners VALUES
    ('P1', 'C01', 'physiotherapist', 40, 3, 2), ('P2', 'C02', NULL, 250, NULL, 2);
INSERT INTO treatments VALUES
    ('T1', DATE '2025-03-01', 'P1', 'C01', NULL, 'gluteals', false, 8, NULL, NULL, NULL, NULL, 3),
    ('T2', DATE '2025-06-30', 'P1', 'C01', NULL, 'gluteals', true, NULL, NULL, NULL, NULL, NULL, 3),
    ('T3', DATE '2025-04-01', 'P2', 'C02', NULL, 'rhomboids', false, 4, NULL, NULL, NULL, NULL, 3);
INSERT INTO adverse_events VALUES
    ('E1', 'T1', 'bruise', 'bruising', 'mild', 'mild', NULL, NULL, NULL, NULL, NULL, 4);
"""

PRACTITIONER_COLUMNS = [
    "practitioner_id",
    "clinic_id",
    "profession",
    "dn_training_hours",
    "years_dn_experience",
    "effective_from",
    "run_id",
]


def _v1(path: Path) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute(MIGRATIONS[0])
        con.execute(V1_ROWS)


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]


def test_version_1_migrates_to_dated_profiles(tmp_path: Path) -> None:
    db = tmp_path / "v1.duckdb"
    _v1(db)
    with duckdb.connect(str(db)) as con:
        assert migrate(con) == 1
        assert current_version(con) == SCHEMA_VERSION == 7
        assert _columns(con, "practitioners") == PRACTITIONER_COLUMNS
        # version 6: the register's joined date, before run_id, empty for older clinics
        assert _columns(con, "clinics") == [
            "clinic_id", "name", "region", "country", "joined_on", "run_id",
        ]  # fmt: skip
        assert con.execute("SELECT clinic_id, joined_on, run_id FROM clinics ORDER BY 1").fetchall() == [
            ("C01", None, 1), ("C02", None, 1),
        ]  # fmt: skip
        # version 4 counts the blanks of V1_ROWS once: every treatment lacks a patient
        # key, technique and retention, T2 a needle count; P2 a profession and years
        assert con.execute(
            "SELECT table_name, column_name, missing FROM column_blanks ORDER BY 1, 2"
        ).fetchall() == [
            ("adverse_events", "onset", 1), ("adverse_events", "onset_date", 1),
            ("adverse_events", "outcome", 1), ("adverse_events", "severity_reported", 0),
            ("practitioners", "profession", 1), ("practitioners", "years_dn_experience", 1),
            ("treatments", "needle_insertions", 1), ("treatments", "patient_key", 3),
            ("treatments", "retention_minutes", 3), ("treatments", "technique", 3),
        ]  # fmt: skip
        assert con.execute(
            "SELECT practitioner_id, effective_from, valid_from, valid_to "
            "FROM practitioner_profiles ORDER BY 1"
        ).fetchall() == [
            ("P1", None, date(1, 1, 1), date(9999, 12, 31)),
            ("P2", None, date(1, 1, 1), date(9999, 12, 31)),
        ]
        assert con.execute(
            "SELECT practitioner_id, effective_from, run_id FROM practitioners ORDER BY 1"
        ).fetchall() == [("P1", None, 2), ("P2", None, 2)]
        assert con.execute(
            "SELECT dn_training_hours, sum(treatments) FROM counts_treatments GROUP BY 1 ORDER BY 1"
        ).fetchall() == [(40.0, 2), (250.0, 1)]


def test_a_migrated_database_takes_a_dated_change(tmp_path: Path) -> None:
    db = tmp_path / "v1.duckdb"
    _v1(db)
    change = tmp_path / "p.csv"
    change.write_text(
        "practitioner_id,clinic_id,dn_training_hours,effective_from\n"
        "P1,C01,120,2025-07-01\nP2,C02,300,2025-04-01\n",
        encoding="utf-8",
    )
    run = ingest_files(db, [change], IngestOptions(today=TODAY)).runs[0]
    assert (run.rows_read, run.rows_updated, run.rows_rejected) == (2, 1, 1)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT reason FROM rejects").fetchall() == [
            (
                "backdated profile: their treatments up to 2025-04-01 are already banded by "
                "the profile from 2025-04-01; give an effective_from after 2025-04-01, or "
                "leave the profile as it is (earlier treatments are never re-banded)",
            )
        ]
        assert con.execute(
            "SELECT practitioner_id, dn_training_hours, effective_from FROM practitioners "
            "ORDER BY 1"
        ).fetchall() == [("P1", 120.0, date(2025, 7, 1)), ("P2", 250.0, None)]
        assert con.execute(
            "SELECT dn_training_hours, sum(treatments) FROM counts_treatments GROUP BY 1 ORDER BY 1"
        ).fetchall() == [(40.0, 2), (250.0, 1)]


def test_version_2_dates_practitioners_by_their_latest_profile(tmp_path: Path) -> None:
    """A version-2 change (history row from the ingest date) dates the practitioners row;
    a practitioner missing from the history gets their profile as a first one."""
    with duckdb.connect(str(tmp_path / "v2.duckdb")) as con:
        con.execute(MIGRATIONS[0])
        con.execute(V1_ROWS)
        con.execute(MIGRATIONS[1])
        refresh_counts(con, everything=True)
        con.execute(
            "UPDATE meta SET value = '2' WHERE key = 'schema_version';"
            "UPDATE practitioners SET dn_training_hours = 120, run_id = 5 "
            "WHERE practitioner_id = 'P1';"
            "INSERT INTO practitioner_history VALUES "
            "('P1', 'C01', 'physiotherapist', 120, 3, DATE '2025-07-01', 5);"
            "DELETE FROM practitioner_history WHERE practitioner_id = 'P2';"
        )
        assert migrate(con) == 2
        assert _columns(con, "practitioners") == PRACTITIONER_COLUMNS
        assert con.execute(
            "SELECT practitioner_id, dn_training_hours, effective_from, run_id "
            "FROM practitioners ORDER BY 1"
        ).fetchall() == [("P1", 120.0, date(2025, 7, 1), 5), ("P2", 250.0, None, 2)]
        assert con.execute(
            "SELECT practitioner_id, dn_training_hours, effective_from FROM practitioner_history "
            "ORDER BY 1, 3 NULLS FIRST"
        ).fetchall() == [
            ("P1", 40.0, None),
            ("P1", 120.0, date(2025, 7, 1)),
            ("P2", 250.0, None),
        ]


def test_version_5_upgrades_to_a_register_with_joined_dates(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    """``needlewatch upgrade`` of a version-5 database (the release before joined_on):
    the register's clinics keep their rows and constraints, with no joined date (so no
    submission is checked against one), and a register with joined_on then loads."""
    from ingest import schema
    from needlewatch.cli import main

    db = tmp_path / "v5.duckdb"
    _v1(db)
    with monkeypatch.context() as m, duckdb.connect(str(db)) as con:
        m.setattr(schema, "SCHEMA_VERSION", 5)  # what the release before version 6 did
        assert migrate(con) == 1
        assert current_version(con) == 5
        assert "joined_on" not in _columns(con, "clinics")
        # the runs that wrote V1_ROWS, so the next ingest is run 5 as in a real database
        con.execute(
            "INSERT INTO ingest_runs SELECT r, 1, k || '.csv', '00', k, 1, 1, 0, 0, 0, "
            "TIMESTAMP '2025-07-01 09:00', TIMESTAMP '2025-07-01 09:00', 'accepted', NULL "
            "FROM (VALUES (1, 'clinics'), (2, 'practitioners'), (3, 'treatments'), "
            "(4, 'adverse_events')) v(r, k)"
        )
    assert main(["upgrade", "--db", str(db)]) == 0
    assert capsys.readouterr().out == f"{db}: upgraded from schema version 5 to 7\n"
    with duckdb.connect(str(db)) as con:
        assert con.execute(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_name = 'clinics' ORDER BY ordinal_position"
        ).fetchall() == [
            ("clinic_id", "VARCHAR", "NO"), ("name", "VARCHAR", "YES"),
            ("region", "VARCHAR", "YES"), ("country", "VARCHAR", "YES"),
            ("joined_on", "DATE", "YES"), ("run_id", "INTEGER", "NO"),
        ]  # fmt: skip
        assert con.execute("SELECT * FROM clinics ORDER BY 1").fetchall() == [
            ("C01", "Harbour", None, None, None, 1), ("C02", "Sol", None, None, None, 1),
        ]  # fmt: skip
    register = tmp_path / "clinics.csv"
    register.write_text("clinic_id,name,joined_on\nC01,Harbour,2025-01-15\n", encoding="utf-8")
    run = ingest_files(db, [register], IngestOptions(today=TODAY)).runs[0]
    assert (run.rows_read, run.rows_updated, run.rows_rejected) == (1, 1, 0)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT clinic_id, joined_on FROM clinics ORDER BY 1").fetchall() == [
            ("C01", date(2025, 1, 15)), ("C02", None),
        ]  # fmt: skip
    assert main(["upgrade", "--db", str(db)]) == 0
    assert capsys.readouterr().out == f"{db}: already at schema version 7; nothing to do\n"
