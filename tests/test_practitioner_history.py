"""Practitioner history: each treatment is banded by the profile in force on its date, a
changed profile never moves earlier treatments, and overlapping or backdated changes are
rejected naming the dates (``ingest.history``).

The base database (tests/data) holds P1 (40 h; treatments T1 2025-03-01 with two events
and T5 2025-06-30), P2 (250 h; T2 2025-03-02, T4 2025-05-20) and P3 (12.5 h; T3
2025-04-10 with one event), all first profiles without effective_from.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from dashboard.store.filters import Filters
from dashboard.store.listing import serious_listing
from dashboard.store.queries import filter_options
from ingest.api import IngestOptions, ingest_files
from ingest.history import PROFILE_JOIN

from .conftest import TODAY

PRACTITIONER_HEADER = (
    "practitioner_id,clinic_id,profession,dn_training_hours,years_dn_experience,effective_from"
)
TREATMENT_HEADER = (
    "treatment_id,treatment_date,practitioner_id,clinic_id,body_region,ultrasound_guided"
)
EVENT_HEADER = "event_id,treatment_id,event_type,severity"
FIX = ", or leave the profile as it is (earlier treatments are never re-banded)"


def _csv(folder: Path, name: str, header: str, *rows: str) -> Path:
    path = folder / name
    path.write_text("\n".join((header, *rows)) + "\n", encoding="utf-8")
    return path


def _ingest(db: Path, *files: Path, today: date = TODAY):
    return ingest_files(db, list(files), IngestOptions(today=today))


def _query(db: Path, sql: str, params: dict | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or {}).fetchall()


def _store_by_hours(db: Path, year: int) -> dict[float, tuple[int, int]]:
    """(treatments, events) by training hours over ``year``, summed from the counts store
    (``counts_events`` rows with category and severity NULL count every event once)."""
    treated = _query(
        db,
        "SELECT dn_training_hours, sum(treatments) FROM counts_treatments "
        "WHERE year(month) = $y GROUP BY 1",
        {"y": year},
    )
    events = dict(
        _query(
            db,
            "SELECT dn_training_hours, sum(events) FROM counts_events WHERE year(month) = $y "
            "AND category IS NULL AND severity IS NULL GROUP BY 1",
            {"y": year},
        )
    )
    return {hours: (int(n), int(events.get(hours, 0))) for hours, n in treated}


def _rows_by_hours(db: Path, year: int) -> dict[float, tuple[int, int]]:
    """The same from the rows, each treatment joined to the profile in force on its date."""
    rows = _query(
        db,
        f"""SELECT p.dn_training_hours, count(*),
                   sum((SELECT count(*) FROM adverse_events e
                        WHERE e.treatment_id = t.treatment_id))
            FROM treatments t {PROFILE_JOIN} WHERE year(t.treatment_date) = $y GROUP BY 1""",
        {"y": year},
    )
    return {hours: (int(n), int(k)) for hours, n, k in rows}


def _rejects(db: Path, run_id: int) -> list[tuple]:
    return _query(
        db,
        "SELECT row_number, column_name, value, reason FROM rejects WHERE run_id = $r "
        "ORDER BY row_number",
        {"r": run_id},
    )


def _history(db: Path, practitioner: str) -> list[tuple]:
    return _query(
        db,
        "SELECT dn_training_hours, effective_from, valid_from, valid_to "
        "FROM practitioner_profiles WHERE practitioner_id = $p ORDER BY valid_from",
        {"p": practitioner},
    )


def _counts(run) -> tuple[int, int, int, int, int]:
    return (
        run.rows_read,
        run.rows_accepted,
        run.rows_updated,
        run.rows_unchanged,
        run.rows_rejected,
    )


BASE_2025 = {12.5: (1, 1), 40.0: (2, 2), 250.0: (2, 0)}


def test_more_hours_leave_last_years_counts_by_band_unchanged(
    base_db: Path, tmp_path: Path
) -> None:
    assert _store_by_hours(base_db, 2025) == BASE_2025
    change = _csv(tmp_path, "p.csv", PRACTITIONER_HEADER, "P1,C01,physiotherapist,120,3,2025-07-01")
    report = _ingest(base_db, change)
    assert _counts(report.runs[0]) == (1, 0, 1, 0, 0)
    assert _store_by_hours(base_db, 2025) == BASE_2025
    assert _rows_by_hours(base_db, 2025) == BASE_2025
    assert _history(base_db, "P1") == [
        (40.0, None, date(1, 1, 1), date(2025, 7, 1)),
        (120.0, date(2025, 7, 1), date(2025, 7, 1), date(9999, 12, 31)),
    ]
    assert _query(
        base_db,
        "SELECT dn_training_hours, effective_from FROM practitioners WHERE practitioner_id = 'P1'",
    ) == [(120.0, date(2025, 7, 1))]

    # Treatments after the effective date get the new band; the old ones keep theirs.
    later = _csv(
        tmp_path,
        "t.csv",
        TREATMENT_HEADER,
        "T6,2025-08-01,P1,,gluteals,no",
        "T7,2025-07-01,P1,,gluteals,no",
    )
    events = _csv(tmp_path, "e.csv", EVENT_HEADER, "E4,T6,bruise,mild")
    assert _ingest(base_db, later, events).rows_rejected == 0
    expected = {12.5: (1, 1), 40.0: (2, 2), 120.0: (2, 1), 250.0: (2, 0)}
    assert _store_by_hours(base_db, 2025) == expected
    assert _rows_by_hours(base_db, 2025) == expected

    # The serious event on T1 (2025-03-01) is still listed in P1's band of that day.
    with duckdb.connect(str(base_db), read_only=True) as con:
        listing = serious_listing(con, Filters())
    assert listing[["event_id", "practitioner_id", "training_band"]].values.tolist() == [
        ["E2", "P1", "21-60"]
    ]


def test_a_change_and_its_treatments_in_one_batch_band_by_date(
    base_db: Path, tmp_path: Path
) -> None:
    change = _csv(tmp_path, "p.csv", PRACTITIONER_HEADER, "P3,C02,osteopath,80,,2025-09-01")
    treatments = _csv(
        tmp_path,
        "t.csv",
        TREATMENT_HEADER,
        "T8,2025-08-31,P3,,gluteals,no",  # before the change: first profile, clinic C01
        "T9,2025-09-01,P3,,gluteals,no",  # from the change: 80 h, clinic C02
    )
    assert _ingest(base_db, treatments, change).rows_rejected == 0
    assert _query(
        base_db,
        f"SELECT t.treatment_id, t.clinic_id, p.dn_training_hours FROM treatments t "
        f"{PROFILE_JOIN} WHERE t.practitioner_id = 'P3' ORDER BY 1",
    ) == [("T3", "C01", 12.5), ("T8", "C01", 12.5), ("T9", "C02", 80.0)]
    assert _store_by_hours(base_db, 2025) == {
        12.5: (2, 1),
        40.0: (2, 2),
        80.0: (1, 0),
        250.0: (2, 0),
    }
    # A profession the practitioner has left still filters the treatments it bands.
    with duckdb.connect(str(base_db), read_only=True) as con:
        assert filter_options(con).professions == ("chiropractor", "osteopath", "physiotherapist")


def test_a_file_without_clinic_ids_takes_each_date_s_clinic_even_for_a_repeated_id(
    base_db: Path, tmp_path: Path
) -> None:
    """No clinic_id column at all, and T9 twice (its last row wins, loaded again through
    the numbered path): every treatment takes the clinic of the profile in force on its
    date, and no count is kept under a blank clinic."""
    change = _csv(tmp_path, "p.csv", PRACTITIONER_HEADER, "P3,C02,osteopath,80,,2025-09-01")
    treatments = _csv(
        tmp_path,
        "t.csv",
        "treatment_id,treatment_date,practitioner_id,body_region,ultrasound_guided",
        "T9,2025-08-01,P3,gluteals,no",
        "T8,2025-08-31,P3,gluteals,no",
        "T9,2025-09-02,P3,gluteals,no",  # replaces the first T9: after the change
    )
    assert _ingest(base_db, change, treatments).rows_rejected == 0
    assert _query(
        base_db,
        "SELECT treatment_id, treatment_date, clinic_id FROM treatments "
        "WHERE treatment_id IN ('T8', 'T9') ORDER BY 1",
    ) == [("T8", date(2025, 8, 31), "C01"), ("T9", date(2025, 9, 2), "C02")]
    assert _query(
        base_db,
        "SELECT clinic_id, sum(treatments) FROM counts_treatments "
        "WHERE month >= DATE '2025-08-01' GROUP BY 1 ORDER BY 1",
    ) == [("C01", 1), ("C02", 1)]


def test_a_change_without_effective_from_holds_from_the_ingest_date(
    base_db: Path, tmp_path: Path
) -> None:
    ingest_day = date(2026, 1, 15)
    change = _csv(tmp_path, "p.csv", PRACTITIONER_HEADER, "P3,C01,chiropractor,80,,")
    report = _ingest(base_db, change, today=ingest_day)
    assert _counts(report.runs[0]) == (1, 0, 1, 0, 0)
    assert _history(base_db, "P3") == [
        (12.5, None, date(1, 1, 1), ingest_day),
        (80.0, ingest_day, ingest_day, date(9999, 12, 31)),
    ]
    assert _query(
        base_db, "SELECT effective_from FROM practitioners WHERE practitioner_id = 'P3'"
    ) == [(ingest_day,)]
    assert _store_by_hours(base_db, 2025) == BASE_2025


def test_overlapping_changes_are_rejected_with_the_latest_date(
    base_db: Path, tmp_path: Path
) -> None:
    first = _csv(tmp_path, "p1.csv", PRACTITIONER_HEADER, "P1,C01,physiotherapist,120,3,2025-09-01")
    assert _ingest(base_db, first).rows_rejected == 0
    clash = _csv(
        tmp_path,
        "p2.csv",
        PRACTITIONER_HEADER,
        "P1,C01,physiotherapist,150,3,2025-08-15",
        "P1,C01,physiotherapist,160,3,2025-09-01",
    )
    run = _ingest(base_db, clash).runs[0]
    assert _counts(run) == (2, 0, 0, 0, 2)
    reason = (
        "overlapping profile: on or before 2025-09-01, the date of the latest profile held for "
        "this practitioner; give an effective_from after 2025-09-01"
    )
    assert _rejects(base_db, run.run_id) == [
        (2, "effective_from", "2025-08-15", reason),
        (3, "effective_from", "2025-09-01", reason),
    ]
    # A rejected row changes nothing: neither the profile in force nor the history.
    assert _query(
        base_db,
        "SELECT dn_training_hours, effective_from, run_id FROM practitioners "
        "WHERE practitioner_id = 'P1'",
    ) == [(120.0, date(2025, 9, 1), run.run_id - 1)]
    assert [h[0] for h in _history(base_db, "P1")] == [40.0, 120.0]


def test_a_second_undated_change_on_the_same_day_overlaps(base_db: Path, tmp_path: Path) -> None:
    first = _csv(tmp_path, "p1.csv", PRACTITIONER_HEADER, "P2,C02,physiotherapist,300,12,")
    assert _ingest(base_db, first).rows_rejected == 0
    again = _csv(tmp_path, "p2.csv", PRACTITIONER_HEADER, "P2,C02,physiotherapist,320,12,")
    run = _ingest(base_db, again).runs[0]
    assert _rejects(base_db, run.run_id) == [
        (
            2,
            "dn_training_hours",
            "320",
            "overlapping profile: a change without effective_from holds from the ingest date, "
            "2026-11-21, which is on or before 2026-11-21, the date of the latest profile held "
            "for this practitioner; ingest the change after 2026-11-21",
        )
    ]
    assert [h[0] for h in _history(base_db, "P2")] == [250.0, 300.0]


def test_backdated_changes_are_rejected_naming_the_treatments_they_would_move(
    base_db: Path, tmp_path: Path
) -> None:
    before = _store_by_hours(base_db, 2025)
    backdated = _csv(
        tmp_path,
        "p.csv",
        PRACTITIONER_HEADER,
        "P1,C01,physiotherapist,120,3,2025-06-30",  # the day of P1's last treatment
        "P1,C01,physiotherapist,120,3,2025-05-01",  # between T1 and T5
        "P3,C01,chiropractor,14,,2025-04-10",
    )
    run = _ingest(base_db, backdated).runs[0]
    assert _counts(run) == (3, 0, 0, 0, 3)
    p1 = (
        "backdated profile: their treatments up to 2025-06-30 are already banded by the "
        "profile from 2025-03-01; give an effective_from after 2025-06-30" + FIX
    )
    p3 = (
        "backdated profile: their treatments up to 2025-04-10 are already banded by the "
        "profile from 2025-04-10; give an effective_from after 2025-04-10" + FIX
    )
    assert _rejects(base_db, run.run_id) == [
        (2, "effective_from", "2025-06-30", p1),
        (3, "effective_from", "2025-05-01", p1),
        (4, "effective_from", "2025-04-10", p3),
    ]
    assert _store_by_hours(base_db, 2025) == before
    assert _query(base_db, "SELECT count(*) FROM practitioner_history") == [(3,)]


def test_backdated_after_a_later_profile_names_that_profile(base_db: Path, tmp_path: Path) -> None:
    change = _csv(
        tmp_path, "p1.csv", PRACTITIONER_HEADER, "P1,C01,physiotherapist,120,3,2025-07-01"
    )
    treatment = _csv(tmp_path, "t.csv", TREATMENT_HEADER, "T6,2025-08-01,P1,,gluteals,no")
    assert _ingest(base_db, change, treatment).rows_rejected == 0
    again = _csv(tmp_path, "p2.csv", PRACTITIONER_HEADER, "P1,C01,physiotherapist,200,3,2025-07-15")
    run = _ingest(base_db, again).runs[0]
    assert _rejects(base_db, run.run_id) == [
        (
            2,
            "effective_from",
            "2025-07-15",
            "backdated profile: their treatments up to 2025-08-01 are already banded by the "
            "profile from 2025-07-01; give an effective_from after 2025-08-01" + FIX,
        )
    ]


def test_an_undated_change_is_backdated_by_a_treatment_on_the_ingest_date(
    base_db: Path, tmp_path: Path
) -> None:
    today = _csv(tmp_path, "t.csv", TREATMENT_HEADER, f"T6,{TODAY.isoformat()},P2,,gluteals,no")
    assert _ingest(base_db, today).rows_rejected == 0
    change = _csv(tmp_path, "p.csv", PRACTITIONER_HEADER, "P2,C02,physiotherapist,300,12,")
    run = _ingest(base_db, change).runs[0]
    assert _rejects(base_db, run.run_id) == [
        (
            2,
            "dn_training_hours",
            "300",
            "backdated profile: a change without effective_from holds from the ingest date, "
            "2026-11-21, but their treatments up to 2026-11-21 are already banded by the "
            "profile from 2025-03-02; ingest the change after 2026-11-21" + FIX,
        )
    ]


def test_a_first_profile_keeps_its_date_and_still_bands_earlier_treatments(
    base_db: Path, tmp_path: Path
) -> None:
    new = _csv(
        tmp_path,
        "p.csv",
        PRACTITIONER_HEADER,
        "P4,C02,physician,70,2,2025-05-01",
        "P5,C02,physician,10,1,",
    )
    treatments = _csv(
        tmp_path,
        "t.csv",
        TREATMENT_HEADER,
        "T10,2025-04-01,P4,,gluteals,no",  # before its effective_from: still P4's profile
        "T11,2025-06-01,P4,,gluteals,no",
    )
    report = _ingest(base_db, new, treatments)
    assert report.rows_rejected == 0
    assert _counts(report.runs[0]) == (2, 2, 0, 0, 0)
    assert _query(
        base_db,
        "SELECT practitioner_id, effective_from FROM practitioners "
        "WHERE practitioner_id IN ('P4', 'P5') ORDER BY 1",
    ) == [("P4", date(2025, 5, 1)), ("P5", None)]
    assert _history(base_db, "P4") == [(70.0, date(2025, 5, 1), date(1, 1, 1), date(9999, 12, 31))]
    assert _history(base_db, "P5") == [(10.0, None, date(1, 1, 1), date(9999, 12, 31))]
    assert _query(base_db, "SELECT clinic_id FROM treatments WHERE practitioner_id = 'P4'") == [
        ("C02",),
        ("C02",),
    ]
    assert _store_by_hours(base_db, 2025)[70.0] == (2, 0)

    # Its date is the one a change must follow; the profile holds from its first treatment.
    changes = _csv(
        tmp_path,
        "p2.csv",
        PRACTITIONER_HEADER,
        "P4,C02,physician,90,2,2025-05-01",
        "P4,C02,physician,90,2,2025-05-15",
    )
    run = _ingest(base_db, changes).runs[0]
    assert _rejects(base_db, run.run_id) == [
        (
            2,
            "effective_from",
            "2025-05-01",
            "overlapping profile: on or before 2025-05-01, the date of the latest profile "
            "held for this practitioner; give an effective_from after 2025-05-01",
        ),
        (
            3,
            "effective_from",
            "2025-05-15",
            "backdated profile: their treatments up to 2025-06-01 are already banded by the "
            "profile from 2025-04-01; give an effective_from after 2025-06-01" + FIX,
        ),
    ]


def test_an_unchanged_profile_is_unchanged_whatever_its_date(base_db: Path, tmp_path: Path) -> None:
    same = _csv(
        tmp_path,
        "p.csv",
        PRACTITIONER_HEADER,
        "P1,C01,Physiotherapist,40,3,2025-03-15",  # would be backdated if it were a change
        "P2,C02,physiotherapist,250,12,",
    )
    report = _ingest(base_db, same)
    assert _counts(report.runs[0]) == (2, 0, 2, 2, 0)
    assert _query(base_db, "SELECT count(*), count(effective_from) FROM practitioner_history") == [
        (3, 0)
    ]
    assert _query(base_db, "SELECT count(effective_from) FROM practitioners") == [(0,)]

    # After a dated change, the same profile sent again undated keeps the change's date.
    change = _csv(
        tmp_path, "p2.csv", PRACTITIONER_HEADER, "P1,C01,physiotherapist,120,3,2025-07-01"
    )
    again = _csv(tmp_path, "p3.csv", PRACTITIONER_HEADER, "P1,C01,physiotherapist,120,3,")
    assert _ingest(base_db, change).rows_rejected == 0
    assert _counts(_ingest(base_db, again).runs[0]) == (1, 0, 1, 1, 0)
    assert _query(
        base_db, "SELECT effective_from FROM practitioners WHERE practitioner_id = 'P1'"
    ) == [(date(2025, 7, 1),)]
    assert [h[1] for h in _history(base_db, "P1")] == [None, date(2025, 7, 1)]


def test_repeated_rows_of_one_practitioner_keep_the_last(base_db: Path, tmp_path: Path) -> None:
    rows = _csv(
        tmp_path,
        "p.csv",
        PRACTITIONER_HEADER,
        "P1,C01,physiotherapist,100,3,2025-08-01",
        "P1,C01,physiotherapist,150,3,2025-09-01",
    )
    report = _ingest(base_db, rows)
    assert _counts(report.runs[0]) == (2, 0, 2, 0, 0)
    assert _history(base_db, "P1") == [
        (40.0, None, date(1, 1, 1), date(2025, 9, 1)),
        (150.0, date(2025, 9, 1), date(2025, 9, 1), date(9999, 12, 31)),
    ]


def test_a_bad_effective_from_has_only_its_date_reject(base_db: Path, tmp_path: Path) -> None:
    bad = _csv(
        tmp_path,
        "p.csv",
        PRACTITIONER_HEADER,
        "P1,C01,physiotherapist,120,3,01/07/2025",
        "P1,C01,physiotherapist,120,3,1989-01-01",
        "P1,C01,physiotherapist,120,3,2027-01-01",
    )
    run = _ingest(base_db, bad).runs[0]
    assert [(r[0], r[1], r[3].split(":")[0]) for r in _rejects(base_db, run.run_id)] == [
        (2, "effective_from", "not an ISO 8601 date (YYYY-MM-DD)"),
        (3, "effective_from", "before 1990-01-01"),
        (4, "effective_from", "in the future (after 2026-11-21)"),
    ]
