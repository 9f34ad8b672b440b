"""The incident report form's library (issue 14, part 4): an event filed against a
treatment through the ingest's validation, its follow-ups as versions, the filer's scope and
a serious event's required fields enforced inside the ingest's transaction."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from ingest.form import EventReport, Filer, FilingRefused, file_event, history

from .conftest import TODAY

ANA = Filer("ana@harbour.example", practitioners=("P1",))  # practitioner P1 (C01)
OFFICER = Filer("safety@harbour.example", clinics=("C02",))


def _event(db: Path, event_id: str) -> tuple | None:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "SELECT treatment_id, category, severity, outcome, hospitalised FROM adverse_events "
            "WHERE event_id = ?",
            [event_id],
        ).fetchone()


def _history(db: Path, event_id: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return [(v, who, cat, sev, out) for v, who, _, cat, sev, out, *_ in history(con, event_id)]


def _bytes_and_counts(db: Path) -> tuple:
    with duckdb.connect(str(db), read_only=True) as con:
        counts = con.execute(
            "SELECT (SELECT count(*) FROM adverse_events), (SELECT count(*) FROM event_versions), "
            "(SELECT count(*) FROM ingest_runs), (SELECT count(*) FROM rejects)"
        ).fetchone()
    return counts


def test_a_faint_is_filed_then_followed_up_with_its_history_kept(base_db: Path) -> None:
    faint = EventReport("T1", "vasovagal syncope", "moderate", "during", date(2025, 3, 1),
                        "resolved in 10 minutes", False, "Fainted on the couch.")  # fmt: skip
    filed = file_event(base_db, faint, ANA, today=TODAY)
    assert (filed.ok, filed.version, filed.rejected) == (True, 1, ())
    assert filed.event_id.startswith("F-") and len(filed.event_id) == 14
    assert _event(base_db, filed.event_id) == (
        "T1",
        "fainting",
        "significant",
        "resolved in 10 minutes",
        False,
    )  # noqa: E501
    # the follow-up: the same event, now serious (outcome and hospitalised given); a new version, the first kept
    later = EventReport("T1", "vasovagal syncope", "life-threatening", "during", date(2025, 3, 1),
                        "referred to GP", False, "Fainted twice.", event_id=filed.event_id)  # fmt: skip
    again = file_event(base_db, later, ANA, today=TODAY)
    assert (again.event_id, again.version) == (filed.event_id, 2)
    assert _history(base_db, filed.event_id) == [
        (1, "ana@harbour.example", "fainting", "significant", "resolved in 10 minutes"),
        (2, "ana@harbour.example", "fainting", "serious", "referred to GP"),
    ]
    assert _event(base_db, filed.event_id)[2:4] == ("serious", "referred to GP")


def test_a_follow_up_of_an_event_loaded_from_a_file_starts_its_history_with_that_row(
    base_db: Path,
) -> None:
    # E1 came in tests/data/events.csv (bruising on T1, minor, resolved)
    update = EventReport("T1", "Haematomas", "moderate", "during", date(2025, 3, 1),
                         "resolved in a week", False, event_id="E1")  # fmt: skip
    assert file_event(base_db, update, ANA, today=TODAY).version == 2
    assert _history(base_db, "E1") == [
        (1, "file (ingest run 4)", "bruising", "mild", "resolved"),
        (2, "ana@harbour.example", "bruising", "significant", "resolved in a week"),
    ]


def test_a_rejected_value_writes_nothing_and_says_why(base_db: Path) -> None:
    before = _bytes_and_counts(base_db)
    bad = EventReport("T1", "fainting", onset_date=date(2025, 2, 1))  # before the treatment
    filed = file_event(base_db, bad, ANA, today=TODAY)
    assert (filed.ok, filed.version) == (False, None)
    assert [(column, value) for column, value, _ in filed.rejected] == [
        ("onset_date", "2025-02-01")
    ]
    assert "before the treatment" in filed.rejected[0][2]
    unknown = file_event(base_db, EventReport("T99", "fainting"), ANA, today=TODAY)
    assert [c for c, _, _ in unknown.rejected] == ["treatment_id"]
    assert _bytes_and_counts(base_db) == before


@pytest.mark.parametrize(
    ("filer", "treatment", "allowed"),
    [
        (ANA, "T1", True),  # P1's own treatment
        (ANA, "T2", False),  # P2's
        (OFFICER, "T2", True),  # T2's clinic is C02 (its practitioner's)
        (OFFICER, "T1", False),  # C01's
        (Filer("admin@body.example"), "T3", True),  # an admin or local mode: any treatment
    ],
)
def test_a_filer_files_only_against_their_own_treatments(
    base_db: Path, filer: Filer, treatment: str, allowed: bool
) -> None:
    before = _bytes_and_counts(base_db)
    report = EventReport(treatment, "soreness", "mild")
    if allowed:
        assert file_event(base_db, report, filer, today=TODAY).version == 1
        return
    with pytest.raises(FilingRefused, match="^that treatment is not one of yours"):
        file_event(base_db, report, filer, today=TODAY)
    assert _bytes_and_counts(base_db) == before


def test_a_serious_event_needs_its_outcome_and_hospitalisation(base_db: Path) -> None:
    before = _bytes_and_counts(base_db)
    ptx = EventReport("T1", "PTX", "mild", "after", date(2025, 3, 2))
    with pytest.raises(FilingRefused) as refused:
        file_event(base_db, ptx, ANA, today=TODAY)
    assert str(refused.value) == (
        "a serious event needs the outcome and whether hospitalised: add them and file again"
    )
    assert _bytes_and_counts(base_db) == before
    complete = EventReport("T1", "PTX", "mild", "after", date(2025, 3, 2), "chest drain", True)
    filed = file_event(base_db, complete, ANA, today=TODAY)
    assert _event(base_db, filed.event_id) == ("T1", "pneumothorax", "serious", "chest drain", True)
