"""``needlewatch ingest *.zip`` at a professional body (issue 13): clinics' submissions
received into the counts store give the numbers their rows give; a tampered, foreign or
misfiled submission is rejected with one line and changes nothing; a resubmission
replaces its clinic's quarter and is kept as the next version with the totals before and
after."""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ingest.api import IngestOptions, ingest_files
from ingest.submissions import ingest_submissions
from needlewatch.cli import main

from .conftest import TODAY, _register, db_contents

SPAN = ("--from", "2025-04-01", "--to", "2025-09-30")


def _run(capsys, *args: object) -> tuple[int, str, str]:
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


RATES = (
    ("category",),
    ("training_band", "ultrasound"),
    ("experience_band", "profession"),
    ("body_region", "technique"),
    ("clinic", "month"),
    ("severity", "quarter"),
)


@pytest.mark.parametrize("by", RATES, ids=[",".join(b) for b in RATES])
def test_rates_from_submissions_equal_rates_from_rows(by, body_db, fixture_db, capsys) -> None:
    args = ("rates", "--by", ",".join(by), *SPAN, "--format", "csv")
    rows = _run(capsys, *args, "--db", fixture_db)
    submitted = _run(capsys, *args, "--db", body_db)
    assert rows[0] == submitted[0] == 0
    assert submitted[1] == rows[1] and rows[1].count("\n") > 3


@pytest.mark.parametrize(
    "args",
    [
        ("--factor", "ultrasound", "--adjust", "body_region"),
        ("--factor", "training_band", "--adjust", "clinic", "--severity", "mild"),
        ("--factor", "ultrasound", "--adjust", "technique", "--category", "bruising"),
    ],
    ids=["ultrasound-by-region", "training-by-clinic", "bruising-by-technique"],
)
def test_rate_ratios_from_submissions_equal_rate_ratios_from_rows(
    args, body_db, fixture_db, capsys
) -> None:
    """Crude exact and Mantel-Haenszel ratios need no practitioner: identical to the last
    digit. (By default a rows database clusters by practitioner, which a submission
    cannot: see the next test.)"""
    command = ("compare", *args, "--intervals", "exact", "--quarter", "2025Q3", "--format", "csv")
    rows = _run(capsys, *command, "--db", fixture_db)
    submitted = _run(capsys, *command, "--db", body_db)
    assert rows[0] == submitted[0] == 0
    assert submitted[1] == rows[1] and "Mantel-Haenszel" in rows[1]


def test_practitioner_clustering_is_not_claimed_for_submissions(body_db, capsys) -> None:
    status, out, _ = _run(capsys, "compare", "--factor", "ultrasound", "--quarter", "2025Q3",
                          "--db", body_db, "--format", "json")  # fmt: skip
    assert status == 0
    [crude] = [r for r in json.loads(out) if r["analysis"] == "crude"]
    assert crude["method"].startswith("exact conditional")
    assert "column 'practitioner' has missing values" in crude["method"]


def test_versions_are_recorded_with_who_and_the_file(body_db, zips) -> None:
    with duckdb.connect(str(body_db), read_only=True) as con:
        assert con.execute(
            "SELECT count(*), count(DISTINCT clinic_id), bool_and(current), min(version), "
            "max(version), min(received_by), max(received_by) FROM submissions"
        ).fetchone() == (len(zips), len(zips) // 2, True, 1, 1, "analyst", "analyst")
        row = con.execute(
            "SELECT file, sha256 FROM submissions WHERE clinic_id = 'C04' AND quarter = '2025Q2'"
        ).fetchone()
    path = zips["C04", "2025Q2"]
    assert row == (str(path), hashlib.sha256(path.read_bytes()).hexdigest())


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _rezip(members: dict[str, bytes], out: Path, *, reseal: bool) -> Path:
    """``members`` zipped again; ``reseal``: the manifest's checksums and row counts
    recomputed (a genuine new export), else left as they were (tampering)."""
    manifest = json.loads(members["manifest.json"])
    if reseal:
        for name, entry in manifest["members"].items():
            entry["sha256"] = hashlib.sha256(members[name]).hexdigest()
            entry["rows"] = members[name].count(b"\n") - 1
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, json.dumps(manifest) if name == "manifest.json" else data)
    return out


def _with_row_changed(members: dict[str, bytes], member: str, line: int, old: bytes, new: bytes):
    lines = members[member].split(b"\n")
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    return {**members, member: b"\n".join(lines)}


@pytest.fixture()
def one_clinic_db(zips, fixture_files, tmp_path) -> Path:
    """A body database with C04's 2025Q2 received as version 1."""
    db = tmp_path / "body.duckdb"
    _register(db, fixture_files)
    report = ingest_submissions(db, [zips["C04", "2025Q2"]], today=TODAY)
    assert [r.status for r in report.received] == ["new"]
    return db


def _treatments(db: Path) -> tuple[int, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "SELECT sum(treatments), sum(insertions) FROM counts_treatments WHERE clinic_id = 'C04'"
        ).fetchone()


def test_a_resubmission_replaces_the_quarter_and_keeps_both_versions(
    one_clinic_db, zips, tmp_path, capsys
) -> None:
    first = _members(zips["C04", "2025Q2"])
    line2 = first["treatment_cells.csv"].split(b"\n")[1]
    treatments = int(line2.split(b",")[-2])
    before = _treatments(one_clinic_db)
    changed = _with_row_changed(
        first, "treatment_cells.csv", 2, b"," + str(treatments).encode() + b",",
        b"," + str(treatments + 40).encode() + b",",
    )  # fmt: skip
    again = _rezip(changed, tmp_path / "C04-2025Q2-v2.zip", reseal=True)
    status, out, err = _run(capsys, "ingest", again, "--db", one_clinic_db)
    assert (status, err) == (0, "")
    with duckdb.connect(str(one_clinic_db), read_only=True) as con:
        versions = con.execute(
            "SELECT version, current, treatments, replaced_treatments, events, replaced_events "
            "FROM submissions ORDER BY version"
        ).fetchall()
    events = versions[0][4]
    assert versions == [
        (1, False, before[0], None, events, None),
        (2, True, before[0] + 40, before[0], events, events),
    ]
    assert out == (
        f"{again} (submission): C04 2025Q2: version 2 replaces version 1 (treatments "
        f"{before[0]:,} -> {before[0] + 40:,}, events {events:,} -> {events:,}, serious events "
        "0 -> 0)\n"
    )
    assert _treatments(one_clinic_db) == (before[0] + 40, before[1])
    # the same counts again, whenever written: nothing changes
    state = db_contents(one_clinic_db)
    status, out, _ = _run(capsys, "ingest", again, "--db", one_clinic_db)
    assert status == 0
    assert (
        out == f"{again} (submission): C04 2025Q2: the same counts as version 2, nothing changed\n"
    )
    assert db_contents(one_clinic_db) == state


def _manifest_edit(members: dict[str, bytes], **changes: object) -> dict[str, bytes]:
    manifest = json.loads(members["manifest.json"])
    manifest.update(changes)
    return {**members, "manifest.json": json.dumps(manifest).encode()}


def _rejections(zips, tmp_path):
    """(name, the bad file, the one line that rejects it after the file's name)."""
    good = _members(zips["C04", "2025Q3"])
    line3 = good["treatment_cells.csv"].split(b"\n")[2]
    last = line3.rsplit(b",", 1)
    bad_count = _with_row_changed(good, "treatment_cells.csv", 3, line3, last[0] + b",-4")
    fields = good["event_cells.csv"].split(b"\n")[1].split(b",")
    fields[3] = b"1000-2000"
    bad_band = {**good, "event_cells.csv": b"\n".join(
        [good["event_cells.csv"].split(b"\n")[0], b",".join(fields),
         *good["event_cells.csv"].split(b"\n")[2:]])}  # fmt: skip
    cases = {
        "tampered": (
            _rezip(
                _with_row_changed(good, "treatment_cells.csv", 3, line3, last[0] + b",999"),
                tmp_path / "tampered.zip",
                reseal=False,
            ),
            "treatment_cells.csv does not match its SHA-256 in manifest.json (changed after the "
            "clinic wrote it); ask the clinic to send the file `needlewatch submit` wrote, "
            "unchanged",
        ),
        "negative count": (
            _rezip(bad_count, tmp_path / "negative.zip", reseal=True),
            "treatment_cells.csv line 3, column insertions: '-4' is not a whole number of 0 or "
            "more; ask the clinic to send the file `needlewatch submit` wrote, unchanged",
        ),
        "foreign band": (
            _rezip(bad_band, tmp_path / "band.zip", reseal=True),
            "event_cells.csv line 2, column training_band: '1000-2000' is not one of the body's "
            "training bands or unknown; ask the clinic to send the file `needlewatch submit` wrote, "
            "unchanged",
        ),
        "other bands": (
            _rezip(
                _manifest_edit(
                    good, bands={"training_upper": [10, 50], "experience_cuts": [2, 5, 10]}
                ),
                tmp_path / "bands.zip",
                reseal=True,
            ),
            "banded with training bands [10, 50] and experience cuts [2, 5, 10], but this body "
            "bands by [20, 60, 100, 200] and [2, 5, 10]; ask the clinic to submit again with "
            "the body's profile (--profile)",
        ),  # fmt: skip
        "not a member": (
            _rezip(_manifest_edit(good, clinic_id="C99"), tmp_path / "c99.zip", reseal=True),
            "clinic C99 is not in this body's member register (the clinics table); ingest the "
            "register with the clinic in it first, or check the clinic id",
        ),
        "future quarter": (
            _rezip(_manifest_edit(good, quarter="2026Q4"), tmp_path / "future.zip", reseal=True),
            "2026Q4 has not ended (it ends 31 Dec 2026); send it once the quarter is over",
        ),
        "newer format": (
            _rezip(_manifest_edit(good, format_version=2), tmp_path / "v2.zip", reseal=True),
            "submission format version 2 is not one this NeedleWatch reads (1); upgrade "
            "NeedleWatch at the body, or ask the clinic to submit with the body's version",
        ),
        "extra member": (
            _rezip({**good, "patients.csv": b"id\n1\n"}, tmp_path / "extra.zip", reseal=False),
            "unexpected member(s) patients.csv in the zip; ask the clinic to send the file "
            "`needlewatch submit` wrote, unchanged",
        ),
        "not a zip": (
            _write(tmp_path / "notes.zip", b"month,clinic\n"),
            "not a zip file; ask the clinic to send the file `needlewatch submit` wrote, unchanged",
        ),
    }
    return cases


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_bad_submissions_are_rejected_with_one_line_and_change_nothing(
    one_clinic_db, zips, tmp_path, capsys
) -> None:
    cases = _rejections(zips, tmp_path)
    state = db_contents(one_clinic_db)
    for name, (path, why) in cases.items():
        status, out, err = _run(capsys, "ingest", path, "--db", one_clinic_db)
        assert (name, status) == (name, 3)
        assert (name, err) == (name, f"rejected: {path}: {why}\n")
        assert out == "1 submission(s) rejected: the reasons are listed on stderr\n"
        assert db_contents(one_clinic_db) == state, name


def test_a_quarter_before_the_clinic_joined_is_refused(zips, tmp_path, capsys) -> None:
    """The register's joined_on: C01 joined on 15 Aug 2025, so its 2025Q2 (ended 30 Jun) is
    refused and changes nothing; 2025Q3, the quarter it joined in, is received. A clinic
    with no joined_on (C04) is not checked; a bad joined_on is a reject like any date."""
    db = tmp_path / "body.duckdb"
    register = tmp_path / "register.csv"
    register.write_text(
        "clinic_id,name,joined_on\nC01,Harbour,2025-08-15\nC04,Quay,\nC05,Late,2026-13-01\n",
        encoding="utf-8",
    )
    assert ingest_files(db, [register], IngestOptions(today=TODAY)).rows_rejected == 1
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT row_number, column_name, value, reason FROM rejects").fetchall() == [
            (4, "joined_on", "2026-13-01", "not an ISO 8601 date (YYYY-MM-DD): fix it or pass "
             "--date-format, e.g. --date-format %d/%m/%Y"),
        ]  # fmt: skip
        assert con.execute("SELECT clinic_id, joined_on FROM clinics ORDER BY 1").fetchall() == [
            ("C01", date(2025, 8, 15)), ("C04", None),
        ]  # fmt: skip
    state = db_contents(db)
    status, out, err = _run(capsys, "ingest", zips["C01", "2025Q2"], "--db", db)
    assert (status, out) == (3, "1 submission(s) rejected: the reasons are listed on stderr\n")
    assert err == (
        f"rejected: {zips['C01', '2025Q2']}: clinic C01 joined on 2025-08-15, after 2025Q2 "
        "ended; check the quarter, or the clinic's joined_on in the member register\n"
    )
    assert db_contents(db) == state
    report = ingest_submissions(db, [zips["C01", "2025Q3"], zips["C04", "2025Q2"]], today=TODAY)
    assert report.rejected == ()
    assert [(r.clinic_id, r.quarter) for r in report.received] == [
        ("C01", "2025Q3"), ("C04", "2025Q2"),
    ]  # fmt: skip


def test_one_rejected_file_does_not_stop_the_others(one_clinic_db, zips, tmp_path) -> None:
    tampered = _rejections(zips, tmp_path)["tampered"][0]
    report = ingest_submissions(
        one_clinic_db, [tampered, zips["C04", "2025Q3"], zips["C01", "2025Q3"]], today=TODAY
    )
    assert [(r.clinic_id, r.quarter, r.status) for r in report.received] == [
        ("C04", "2025Q3", "new"),
        ("C01", "2025Q3", "new"),
    ]
    assert [str(e).split(":")[0] for e in report.rejected] == [str(tampered)]


def test_a_quarter_held_as_rows_is_not_counted_twice(fixture_db, zips, tmp_path) -> None:
    db = tmp_path / "rows.duckdb"
    db.write_bytes(fixture_db.read_bytes())
    report = ingest_submissions(db, [zips["C04", "2025Q2"]], today=TODAY)
    assert report.received == ()
    assert [str(e) for e in report.rejected] == [
        f"{zips['C04', '2025Q2']}: clinic C04's 2025Q2 is held here as treatment rows already; "
        "a clinic's quarter is counted from its rows or from its submission, not both"
    ]


def test_the_profile_sets_the_bands_a_body_accepts(one_clinic_db, zips, tmp_path, capsys) -> None:
    profile = tmp_path / "body.toml"
    profile.write_text("[bands]\ntraining_upper = [10, 50]\n", encoding="utf-8")
    status, _, err = _run(capsys, "ingest", zips["C04", "2025Q3"], "--db", one_clinic_db,
                          "--profile", profile)  # fmt: skip
    assert status == 3
    assert "this body bands by [10, 50] and [2, 5, 10]" in err


def test_the_model_clusters_by_clinic_when_submissions_name_no_practitioner(
    body_db, capsys
) -> None:
    status, out, _ = _run(capsys, "model", "--quarter", "2025Q3", "--db", body_db,
                          "--format", "json")  # fmt: skip
    assert status == 0
    method = json.loads(out)["method"]
    assert method.endswith(
        "; cells and any clustering by clinic, since clinics' submissions carry no practitioners"
    )


def test_a_report_on_submissions_has_its_ratios_with_their_method(
    body_db, fixture_db, tmp_path, capsys
) -> None:
    """The report's counts and crude ratios from submissions equal those from rows; its
    intervals say that they cannot allow for practitioners (a report once crashed here)."""
    frames = {}
    for name, db in (("rows", fixture_db), ("submitted", body_db)):
        out = tmp_path / f"{name}.csv"
        assert main(["report", "--db", str(db), "--quarter", "2025Q3", "--out", str(out)]) == 0
        frame = pd.read_csv(out)
        frames[name] = frame[frame["section"].isin(["category", "training_band", "ratios"])]
    rows, submitted = frames["rows"], frames["submitted"]
    columns = ["section", "dimension", "level", "reference", "treatments", "events", "measure"]
    pd.testing.assert_frame_equal(
        rows[columns].reset_index(drop=True), submitted[columns].reset_index(drop=True)
    )
    ratios = submitted[submitted["section"] == "ratios"]
    assert len(ratios) >= 4
    assert ratios["method"].str.contains("no practitioner-clustered estimate").all()
    # crude ratios are one number whatever the interval; adjusted ones from rows are
    # fitted on practitioner cells (overdispersed here), from submissions by Mantel-Haenszel
    crude = ratios["measure"] == "rate ratio, crude"
    row_crude = rows[(rows["section"] == "ratios") & (rows["measure"] == "rate ratio, crude")]
    assert (row_crude["value"].to_numpy() - ratios.loc[crude, "value"].to_numpy()).max() < 1e-12
    assert (row_crude["value"].to_numpy() - ratios.loc[crude, "value"].to_numpy()).min() > -1e-12
    assert ratios.loc[~crude, "method"].str.startswith("Mantel-Haenszel").all()
    capsys.readouterr()


def test_the_overview_counts_submitted_serious_events(base_db, tmp_path, monkeypatch) -> None:
    """tests/data's pneumothorax (E2: C01, 1 Mar 2025) sent in C01's 2025Q1 submission: the
    headline counts it, and the statement says so, where it once read "No serious event"
    beside a headline of 1 (the listing holds rows only)."""
    from dashboard.analysis import views
    from dashboard.store.db import connect_readonly
    from dashboard.store.filters import Filters, parse_quarter
    from tests.conftest import DATA

    zipped = tmp_path / "C01-2025Q1.zip"
    assert main(["submit", "--db", str(base_db), "--quarter", "2025Q1", "--clinic", "C01",
                 "--out", str(zipped)]) == 0  # fmt: skip
    body = tmp_path / "body.duckdb"
    ingest_files(body, [DATA / "clinics.csv"], IngestOptions(today=TODAY))
    assert ingest_submissions(body, [zipped], today=TODAY).rejected == ()
    con = connect_readonly(body)
    try:
        first, last = parse_quarter("2025Q1")
        shown = views.overview(con, Filters(date_from=first, date_to=last))
    finally:
        con.close()
    assert shown.current.serious == 1
    assert [s.text for s in shown.statements if s.key == "serious"] == [
        "Serious events from clinics' submissions in 2025Q1: 1 (by month: listed on the "
        "Submissions page)."
    ]
    # the Serious events page lists rows: it says where the submitted one is
    from .test_app import run_page

    monkeypatch.setenv("NEEDLEWATCH_DB", str(body))
    at = run_page("serious", {"quarter": "2025Q1"})
    assert not at.exception
    assert [i.value for i in at.info] == [
        "1 more serious event(s) in this view came in clinics' quarterly submissions: they "
        "are listed by month on the Submissions page (a submission gives no day, id or "
        "narrative)."
    ]
    # the g-chart counts treatments between events: a submitted one has no day to sit on
    at = run_page("trends", {"quarter": "2025Q1"})
    assert not at.exception
    assert [i.value for i in at.info][-2:] == [
        "Fewer than 3 serious events from treatment rows in this view: too few for a g-chart.",
        "1 serious event(s) in this view came in clinics' quarterly submissions, which give "
        "the month, not the day: a g-chart counts the treatments between events, so they are "
        "not on it (the Overview counts them; the Submissions page lists them by month).",
    ]
    # the Submissions page lists it by month, its codes in words as every listing
    at = run_page("submissions")
    assert not at.exception
    serious = next(d.value for d in at.dataframe if "Body region" in d.value.columns)
    assert serious[["Month", "Category", "Body region", "Ultrasound guidance"]].values.tolist() == [
        ["2025-03", "pneumothorax", "upper trapezius", "ultrasound-guided"]
    ]
    monkeypatch.setenv("NEEDLEWATCH_DB", str(base_db))  # the same event as a row: placed
    at = run_page("trends", {"quarter": "2025Q1"})
    assert not at.exception
    assert [i.value for i in at.info if "g-chart" in i.value] == [
        "Fewer than 3 serious events in this view: too few for a g-chart."
    ]


def test_a_mixed_practitioner_funnel_says_what_it_leaves_out(base_db, zips, tmp_path) -> None:
    """Rows of C01 and C02 (tests/data) beside C03's 2025Q2 submission: the practitioners
    funnel places the rows' practitioners and says how many submitted treatments it leaves
    out, rather than one unnamed "practitioner" for all of C03."""
    from dashboard.analysis import views
    from dashboard.store.db import connect_readonly
    from dashboard.store.filters import Filters

    register = tmp_path / "c03.csv"
    register.write_text("clinic_id,name\nC03,Claddagh\n", encoding="utf-8")
    assert ingest_files(base_db, [register], IngestOptions(today=TODAY)).rows_rejected == 0
    report = ingest_submissions(base_db, [zips["C03", "2025Q2"]], today=TODAY)
    [received] = report.received
    con = connect_readonly(base_db)
    try:
        funnel = views.clinics(con, Filters(), "practitioner")
    finally:
        con.close()
    assert sorted(funnel.units["exposure"].astype(int)) == [1, 2, 2]  # P3; P1 and P2: T1-T5
    assert funnel.method.endswith(
        f"; {received.totals[0]:,} treatments from clinics' submissions are not in this "
        "funnel (a submission names no practitioner)"
    )
