"""A clinic safety officer's upload (issue 14, part 3): every row it writes must be one of
their clinics', checked inside the ingest's transaction (``ingest.guard``); a row of
another clinic, or one whose id another clinic holds, refuses the whole file. Run as the
upload page runs it (``ingest.job.run`` with the officer's clinics)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from ingest.job import run
from ingest.mapping import save_profile

from .test_mapping import APPOINTMENTS, APPOINTMENTS_PROFILE

NEW = "SELECT count(*) FROM treatments WHERE treatment_id LIKE 'A-%'"


def _count(db: Path, sql: str) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchone()[0]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_an_export_holding_another_clinics_treatment_is_refused_whole(
    base_db: Path, tmp_path: Path
) -> None:
    profile = tmp_path / "pms.toml"
    save_profile(APPOINTMENTS_PROFILE, profile)
    # A-1004 is P2's, and P2 works at C02
    for dry_run in (True, False):
        outcome = run(base_db, [APPOINTMENTS], profile, dry_run, clinics=("C01",))
        assert outcome == {
            "ok": False,
            "message": "treatments A-1004: it is clinic C02's, and you upload for C01 only: "
            "remove that row (or ask the administrator to load it); nothing was written",
        }
    assert _count(base_db, NEW) == 0
    both = run(base_db, [APPOINTMENTS], profile, False, clinics=("C01", "C02"))
    assert both["ok"] and both["runs"][0]["rows_accepted"] == 4
    assert _count(base_db, NEW) == 4


def test_an_id_another_clinic_holds_cannot_be_taken_over(base_db: Path, tmp_path: Path) -> None:
    # T1 is C01's treatment; C02's officer sends a "T1" of their own practitioner P2
    clash = _write(tmp_path, "treatments.csv",
                   "treatment_id,treatment_date,practitioner_id,body_region,ultrasound_guided\n"
                   "T1,2025-03-01,P2,gluteals,no\n")  # fmt: skip
    outcome = run(base_db, [clash], None, False, clinics=("C02",))
    assert outcome["message"] == (
        "treatments T1: its id is another clinic's treatment, and you upload for C02 only: "
        "remove that row (or ask the administrator to load it); nothing was written"
    )
    assert (
        _count(base_db, "SELECT practitioner_id FROM treatments WHERE treatment_id = 'T1'") == "P1"
    )
    # an event on C01's treatment, sent by C02
    event = _write(tmp_path, "events.csv",
                   "event_id,treatment_id,event_type\nE9,T1,bruising\n")  # fmt: skip
    outcome = run(base_db, [event], None, False, clinics=("C02",))
    assert outcome["message"].startswith("adverse_events E9: it is clinic C01's, and you upload")
    assert _count(base_db, "SELECT count(*) FROM adverse_events WHERE event_id = 'E9'") == 0
    # the same event from C01's officer: theirs
    assert run(base_db, [event], None, False, clinics=("C01",))["ok"]
    assert _count(base_db, "SELECT count(*) FROM adverse_events WHERE event_id = 'E9'") == 1
