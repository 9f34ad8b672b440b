"""Foreign exports through mapping profiles (issue 14, part 3): the proposal, the profile
file, and the ingest that reads an export through it, rows named by the export.

The exports in tests/data/foreign/ are written as practice-management and incident systems
write them: a title row above the header, day/month dates, "US-guided"/"Palpation", a
semicolon-separated file with dd.mm.yyyy dates, columns the canonical format lacks.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pytest

from ingest.api import IngestOptions, ingest_files
from ingest.mapping import (
    MappingMismatchError,
    MappingProfile,
    MappingProfileError,
    load_profile,
    mapped_frame,
    save_profile,
)
from ingest.mapping_guess import date_format_of, propose
from needlewatch.cli import main

from .conftest import TODAY

FOREIGN = Path(__file__).parent / "data" / "foreign"
APPOINTMENTS = FOREIGN / "pms_appointments.csv"
INCIDENTS = FOREIGN / "incidents_semicolon.csv"

#: What a safety officer would save for the appointments export after checking the
#: proposal: the proposal itself (test_the_proposal_for_appointments...).
APPOINTMENTS_PROFILE = MappingProfile(
    name="pms_appointments",
    kind="treatments",
    columns={
        "treatment_id": "Appointment ID",
        "treatment_date": "Appointment date",
        "practitioner_id": "Practitioner",
        "patient_id": "Patient",
        "body_region": "Area",
        "ultrasound_guided": "Guidance",
    },
    values={"ultrasound_guided": {"Palpation": "no", "US-GUIDED": "yes"}},
    header_row=2,
    date_format="%d/%m/%Y",
)


def _rows(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_the_proposal_for_appointments_finds_header_dates_and_yes_no_words() -> None:
    proposal = propose(APPOINTMENTS)
    assert proposal.profile == APPOINTMENTS_PROFILE
    assert proposal.header_row == 2
    assert proposal.unmatched == ("Service", "Fee (EUR)")
    assert proposal.notes == (
        "header found on row 2 (rows above it are a title)",
        "treatment_id <- 'Appointment ID'",
        "treatment_date <- 'Appointment date'",
        "dates: %d/%m/%Y; 1 of the first 6 fit no format and will be rejected",
        "practitioner_id <- 'Practitioner'",
        "patient_id <- 'Patient'",
        "body_region <- 'Area'",
        "ultrasound_guided <- 'Guidance'",
        "ultrasound_guided values: 'Palpation' -> no, 'US-GUIDED' -> yes",
        "ultrasound_guided: no yes/no for 'unsure'",
        "left out: Service, Fee (EUR)",
    )


def test_the_proposal_for_an_incident_log_is_an_events_profile() -> None:
    proposal = propose(INCIDENTS)
    assert proposal.profile == MappingProfile(
        name="incidents_semicolon",
        kind="adverse_events",
        columns={
            "event_id": "Incident ref",
            "treatment_id": "Appointment ID",
            "event_type": "What happened",
            "severity": "Degree of harm",
            "onset_date": "Date of incident",
            "hospitalised": "Admitted to hospital",
            "narrative": "Details",
        },
        header_row=1,
        date_format="%d.%m.%Y",
    )
    assert proposal.unmatched == ("Reported by",)


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        (["2025-07-03", "2025-12-31"], ("%Y-%m-%d", "%Y-%m-%d")),
        (["03/07/2025", "14/07/2025"], ("%d/%m/%Y", "%d/%m/%Y")),
        (["07/14/2025", "07/03/2025"], ("%m/%d/%Y", "%m/%d/%Y")),
        (
            ["03/07/2025", "05/08/2025"],
            ("%d/%m/%Y", "%d/%m/%Y (every day is 12 or less: day first assumed; check)"),
        ),
        (["soon", "later"], (None, "dates such as 'soon' fit none of the known formats")),
        ([], (None, "no dates to tell the format from")),
    ],
)
def test_date_format_of_samples(samples: list[str], expected: tuple) -> None:
    assert date_format_of(samples) == expected


def test_a_profile_round_trips_through_its_file(tmp_path: Path) -> None:
    path = tmp_path / "pms.toml"
    save_profile(APPOINTMENTS_PROFILE, path)
    assert load_profile(path) == APPOINTMENTS_PROFILE
    assert path.read_text().splitlines()[:4] == [
        'name = "pms_appointments"',
        'kind = "treatments"',
        "header_row = 2",
        'date_format = "%d/%m/%Y"',
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('kind = "treatments"\n[columns]\ntreatment_id = "A"\n',
         "required treatments column(s) not mapped: treatment_date, practitioner_id, "
         "body_region, ultrasound_guided; correct the profile"),
        ('kind = "appointments"\n', "kind 'appointments' is not one of clinics, practitioners, "
         "treatments, adverse_events; correct the profile"),
        ('[columns]\nclinic_id = "Site"\n', "the profile lacks 'kind'"),
        ('kind = "clinics"\n[columns]\nclinic_id = "Site"\nsite = "Site"\n',
         "'site' is not a clinics column (clinic_id, name, region, country, joined_on); "
         "correct the profile"),
        ('kind = "clinics"\n[columns]\nclinic_id = "Site"\nname = " site "\n',
         "' site ' is mapped to both clinic_id and name; correct the profile"),
        ('kind = "clinics"\n[columns\n', "not a readable mapping profile (Expected ']' at the "
         "end of a table declaration (at line 2, column 9))"),
    ],
)  # fmt: skip
def test_an_unusable_profile_is_one_line_naming_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(MappingProfileError) as caught:
        load_profile(path)
    assert str(caught.value) == f"{path}: {message}"


def test_the_mapped_frame_keeps_the_exports_row_numbers() -> None:
    frame, notices = mapped_frame(APPOINTMENTS, APPOINTMENTS_PROFILE)
    expected = pd.DataFrame(
        {
            "treatment_id": ["A-1001", "A-1002", "A-1003", "A-1004", "A-1005", "A-1006"],
            "treatment_date": [
                "2025-07-03",
                "2025-07-14",
                "2025-07-28",
                "2025-08-05",
                "31/09/2025",
                "2025-09-12",
            ],
            "practitioner_id": ["P1", "P3", "P1", "P2", "P1", "P3"],
            "patient_id": ["PAT-11", "PAT-12", "PAT-11", "PAT-13", "PAT-14", "PAT-15"],
            "body_region": [
                "Upper trapezius",
                "gluteals",
                "lumbar paraspinals",
                "Gluteals",
                "upper trapezius",
                "forearm",
            ],
            "ultrasound_guided": ["yes", "no", "no", "yes", "no", "unsure"],
        }  # fmt: skip
    ).astype("string")
    expected["_row"] = [3, 4, 5, 7, 8, 9]
    pd.testing.assert_frame_equal(frame, expected)
    assert notices == [
        f"{APPOINTMENTS}: skipped 1 empty row(s)",
        f"{APPOINTMENTS}: column(s) the mapping leaves out: Service, Fee (EUR)",
    ]


def test_ingest_through_a_mapping_loads_and_rejects_by_the_exports_rows(base_db: Path) -> None:
    report = ingest_files(
        base_db, [APPOINTMENTS], IngestOptions(today=TODAY, mapping=APPOINTMENTS_PROFILE)
    )
    (run,) = report.runs
    assert (run.kind, run.rows_read, run.rows_accepted, run.rows_rejected) == (
        "treatments", 6, 4, 2,
    )  # fmt: skip
    assert _rows(
        base_db,
        "SELECT treatment_id, treatment_date, practitioner_id, clinic_id, body_region, "
        "ultrasound_guided FROM treatments WHERE treatment_id LIKE 'A-%' ORDER BY 1",
    ) == [
        ("A-1001", date(2025, 7, 3), "P1", "C01", "upper_trapezius", True),
        ("A-1002", date(2025, 7, 14), "P3", "C01", "gluteals", False),
        ("A-1003", date(2025, 7, 28), "P1", "C01", "lumbar_paraspinals", False),
        ("A-1004", date(2025, 8, 5), "P2", "C02", "gluteals", True),
    ]
    assert _rows(
        base_db,
        "SELECT row_number, column_name, value, reason FROM rejects WHERE run_id = ? ORDER BY 1",
        [run.run_id],
    ) == [
        (8, "treatment_date", "31/09/2025", "not a date in the format of mapping "
         "'pms_appointments' (%d/%m/%Y): fix the date or the mapping"),
        (9, "ultrasound_guided", "unsure", "not a yes/no value: use yes/no, true/false, y/n or "
         "1/0, or add the value under [values.ultrasound_guided] in mapping 'pms_appointments'"),
    ]  # fmt: skip
    assert _rows(base_db, "SELECT file FROM ingest_runs WHERE run_id = ?", [run.run_id]) == [
        (str(APPOINTMENTS.resolve()),)
    ]


def test_a_workbook_export_with_real_dates_and_an_events_log(base_db: Path, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Incidents"
    sheet.append(["Incident log, Harbour Physio"])
    sheet.append([])
    sheet.append(["Incident ref", "Appointment ID", "What happened", "Degree of harm",
                  "Admitted to hospital", "Date of incident", "Details"])  # fmt: skip
    sheet.append(["INC-1", "T1", "Bruise at needle site", "Minor", "No", date(2025, 3, 1), "x"])
    sheet.append(["INC-2", "T2", "Fainted", "moderate", "Yes", "02/03/2025", None])
    export = tmp_path / "incidents.xlsx"
    book.save(export)
    proposal = propose(export)
    profile = proposal.profile
    assert (profile.kind, profile.header_row, profile.date_format) == (
        "adverse_events", 3, "%d/%m/%Y",
    )  # fmt: skip
    assert "dates: %d/%m/%Y (every day is 12 or less: day first assumed; check)" in proposal.notes
    # the local term, mapped to a category in the profile (the vocabulary does not know it)
    values = {"event_type": {"Bruise at needle site": "bruising"}}
    profile = MappingProfile(**{**profile.__dict__, "values": values})
    report = ingest_files(base_db, [export], IngestOptions(today=TODAY, mapping=profile))
    assert [(r.rows_read, r.rows_accepted, r.rows_rejected) for r in report.runs] == [(2, 2, 0)]
    assert _rows(
        base_db,
        "SELECT event_id, treatment_id, category, onset_date, hospitalised FROM adverse_events "
        "WHERE event_id LIKE 'INC-%' ORDER BY 1",
    ) == [
        ("INC-1", "T1", "bruising", date(2025, 3, 1), False),
        ("INC-2", "T2", "fainting", date(2025, 3, 2), True),
    ]


def test_an_export_without_the_mapped_columns_is_one_line_and_writes_nothing(
    base_db: Path, tmp_path: Path
) -> None:
    export = tmp_path / "other.csv"
    export.write_text("Appointment ID,Date\nA-1,2025-07-01\n")
    with pytest.raises(MappingMismatchError) as caught:
        ingest_files(base_db, [export], IngestOptions(today=TODAY, mapping=APPOINTMENTS_PROFILE))
    assert str(caught.value) == (
        f"{export} row 1: no column 'Appointment date' (mapping 'pms_appointments' needs "
        "'Appointment ID', 'Appointment date', 'Practitioner', 'Patient', 'Area', 'Guidance'); "
        "check the export or correct the mapping"
    )
    assert _rows(base_db, "SELECT count(*) FROM ingest_runs") == [(4,)]


def test_cli_suggest_then_ingest_with_the_saved_mapping(
    base_db: Path, tmp_path: Path, capsys
) -> None:
    profile = tmp_path / "pms.toml"
    assert main(["mapping", "suggest", str(APPOINTMENTS), "--out", str(profile)]) == 0
    captured = capsys.readouterr()
    assert (
        captured.out == f"{profile}: mapping 'pms_appointments' for treatments written; check it\n"
    )
    assert captured.err.splitlines()[0] == "note: header found on row 2 (rows above it are a title)"
    assert load_profile(profile) == APPOINTMENTS_PROFILE
    status = main(["ingest", "--db", str(base_db), "--mapping", str(profile), str(APPOINTMENTS)])
    captured = capsys.readouterr()
    assert status == 3  # two rows rejected, named by the export's rows
    assert (
        f"{APPOINTMENTS}: read through mapping 'pms_appointments' as treatments"
        in captured.out + captured.err
    )
    assert _rows(base_db, "SELECT count(*) FROM treatments WHERE treatment_id LIKE 'A-%'") == [(4,)]


def test_cli_mapping_problems_are_one_line(base_db: Path, tmp_path: Path, capsys) -> None:
    missing = tmp_path / "nope.toml"
    status = main(["ingest", "--db", str(base_db), "--mapping", str(missing), str(APPOINTMENTS)])
    assert status == 2
    assert capsys.readouterr().err == (
        f"needlewatch: {missing}: no such mapping profile; `needlewatch mapping suggest EXPORT "
        f"--out {missing}` writes one to check\n"
    )


def test_a_fresh_process_ingests_through_a_mapping(base_db: Path, tmp_path: Path) -> None:
    """The command line hides pandas from DuckDB for plain CSV ingests (a second saved on a
    follow-up); a mapped export is read through pandas, so a fresh process must not hide it."""
    profile = tmp_path / "pms.toml"
    save_profile(APPOINTMENTS_PROFILE, profile)
    done = subprocess.run(
        [sys.executable, "-m", "needlewatch.cli", "ingest", "--db", str(base_db),
         "--mapping", str(profile), str(APPOINTMENTS)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (3, "")
    assert done.stdout.splitlines()[0] == (
        f"{APPOINTMENTS} (treatments): 6 rows read: 4 new, 0 updated (0 unchanged), 2 rejected"
    )


def test_a_dry_run_reports_what_would_load_and_leaves_the_database_as_it_was(
    base_db: Path,
) -> None:
    before = base_db.read_bytes()
    tables = "SELECT count(*) FROM treatments UNION ALL SELECT count(*) FROM rejects"
    counts = _rows(base_db, tables)
    report = ingest_files(
        base_db,
        [APPOINTMENTS],
        IngestOptions(today=TODAY, mapping=APPOINTMENTS_PROFILE),
        dry_run=True,
    )
    (run,) = report.runs
    # the same counts and reasons as the real ingest above, and nothing written
    assert (run.rows_read, run.rows_accepted, run.rows_rejected) == (6, 4, 2)
    assert report.rejected_rows == (
        (str(APPOINTMENTS.resolve()), 8, "treatment_date", "31/09/2025",
         "not a date in the format of mapping 'pms_appointments' (%d/%m/%Y): fix the date or "
         "the mapping"),
        (str(APPOINTMENTS.resolve()), 9, "ultrasound_guided", "unsure",
         "not a yes/no value: use yes/no, true/false, y/n or 1/0, or add the value under "
         "[values.ultrasound_guided] in mapping 'pms_appointments'"),
    )  # fmt: skip
    assert _rows(base_db, tables) == counts
    assert _rows(base_db, "SELECT count(*) FROM treatments WHERE treatment_id LIKE 'A-%'") == [(0,)]
    assert base_db.read_bytes() == before


def test_the_upload_pages_job_prints_its_outcome_as_json(base_db: Path, tmp_path: Path) -> None:
    """``python -m ingest.job``, as the upload page runs it: a dry run, then the load."""
    profile = tmp_path / "pms.toml"
    save_profile(APPOINTMENTS_PROFILE, profile)
    command = [sys.executable, "-m", "ingest.job", "--db", str(base_db), "--mapping",
               str(profile)]  # fmt: skip
    outcomes = []
    for extra in (["--dry-run"], []):
        done = subprocess.run([*command, *extra, str(APPOINTMENTS)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        outcomes.append(json.loads(done.stdout))
    checked, loaded = outcomes
    assert [checked["ok"], checked["dry_run"], loaded["ok"], loaded["dry_run"]] == [
        True, True, True, False,
    ]  # fmt: skip
    for outcome in outcomes:
        assert [
            (r["kind"], r["rows_read"], r["rows_accepted"], r["rows_updated"], r["rows_rejected"])
            for r in outcome["runs"]
        ] == [("treatments", 6, 4, 0, 2)]
    assert [(r["row"], r["column"], r["value"]) for r in checked["rejected"]] == [
        (8, "treatment_date", "31/09/2025"),
        (9, "ultrasound_guided", "unsure"),
    ]
    assert loaded["rejected"] == []  # a real run's rejects are in the database
    assert _rows(base_db, "SELECT count(*) FROM treatments WHERE treatment_id LIKE 'A-%'") == [(4,)]
    # a file that is not there: one line, exit 2, nothing written
    done = subprocess.run([*command, str(tmp_path / "missing.csv")], capture_output=True, text=True)
    assert done.returncode == 2
    assert json.loads(done.stdout)["ok"] is False
    assert "missing.csv" in json.loads(done.stdout)["message"]
