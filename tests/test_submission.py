"""``needlewatch submit``: a clinic's de-identified quarterly submission (issue 13, at the
clinic). Its counts add up to what ``needlewatch rates`` prints for the same clinic and
quarter; its manifest's checksums and row counts match its members; nothing in it names a
patient, practitioner, treatment or event, and no date is finer than a month; bad input
is one line and writes nothing."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dashboard.report.submission import (
    MEMBERS,
    BodyProfile,
    build_submission,
    read_profile,
)
from dashboard.store.bands import Bands
from needlewatch.cli import main

from .conftest import TODAY

QUARTER, CLINIC = "2025Q2", "C04"


def _run(capsys, *args: object) -> tuple[int, str, str]:
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def submitted(fixture_db: Path, tmp_path_factory) -> tuple[Path, dict[str, bytes]]:
    out = tmp_path_factory.mktemp("submit") / "C04-2025Q2.zip"
    assert main(["submit", "--db", str(fixture_db), "--quarter", QUARTER, "--clinic", CLINIC,
                 "--to", "IDNS", "--out", str(out)]) == 0  # fmt: skip
    with zipfile.ZipFile(out) as archive:
        return out, {name: archive.read(name) for name in archive.namelist()}


def _frame(members: dict[str, bytes], name: str) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(members[name]), keep_default_na=False, dtype=str)


def test_the_zip_holds_the_members_and_a_manifest_that_checks_them(submitted) -> None:
    _, members = submitted
    assert list(members) == [*MEMBERS, "manifest.json"]
    manifest = json.loads(members["manifest.json"])
    assert {k: manifest[k] for k in ("format", "format_version", "clinic_id", "quarter", "to")} == {
        "format": "needlewatch-submission",
        "format_version": 1,
        "clinic_id": CLINIC,
        "quarter": QUARTER,
        "to": "IDNS",
    }
    assert manifest["bands"] == {
        "training_upper": [20, 60, 100, 200],
        "experience_cuts": [2, 5, 10],
    }
    for name in MEMBERS:
        assert manifest["members"][name] == {
            "sha256": hashlib.sha256(members[name]).hexdigest(),
            "rows": len(_frame(members, name)),
        }
    created = datetime.fromisoformat(manifest["created_at"])
    assert created.tzinfo is not None and abs(datetime.now(UTC) - created).total_seconds() < 600


def test_counts_add_up_to_needlewatch_rates(submitted, fixture_db: Path, capsys) -> None:
    _, members = submitted
    cells = _frame(members, "treatment_cells.csv")
    events = _frame(members, "event_cells.csv")
    status, out, _ = _run(capsys, "rates", "--db", fixture_db, "--clinic", CLINIC,
                          "--quarter", QUARTER, "--format", "json")  # fmt: skip
    assert status == 0
    [overall] = json.loads(out)
    everything = events[(events["category"] == "") & (events["severity"] == "")]
    assert (
        cells["treatments"].astype(int).sum(),
        everything["events"].astype(int).sum(),
        everything["treatments_affected"].astype(int).sum(),
    ) == (overall["treatments"], overall["events"], overall["treatments_affected"])
    status, out, _ = _run(capsys, "rates", "--db", fixture_db, "--clinic", CLINIC,
                          "--quarter", QUARTER, "--by", "category,training_band",
                          "--format", "json")  # fmt: skip
    by = events[(events["category"] != "") & (events["severity"] == "")]
    summed = by.groupby(["category", "training_band"])["events"].apply(
        lambda s: s.astype(int).sum()
    )
    expected = {
        (r["category"], r["training_band"]): r["events"] for r in json.loads(out) if r["events"]
    }
    assert summed.to_dict() == expected
    assert sorted(cells["month"].unique()) == ["2025-04", "2025-05", "2025-06"]
    assert set(cells["clinic_id"]) == {CLINIC}


def _submit(db: Path, clinic: str, quarter: str, out: Path) -> dict[str, bytes]:
    assert main(["submit", "--db", str(db), "--quarter", quarter, "--clinic", clinic,
                 "--out", str(out)]) == 0  # fmt: skip
    with zipfile.ZipFile(out) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_serious_events_are_listed_by_month_without_ids(base_db: Path, tmp_path, capsys) -> None:
    """tests/data: E2 (PTX, so serious whatever the severity reported) on T1, 1 Mar 2025,
    by P1 (40 h, 3 years) of C01, upper trapezius, ultrasound-guided, admitted."""
    members = _submit(base_db, "C01", "2025Q1", tmp_path / "c01.zip")
    capsys.readouterr()
    assert _frame(members, "serious_events.csv").to_dict("records") == [
        {"month": "2025-03", "category": "pneumothorax", "severity": "serious",
         "body_region": "upper_trapezius", "ultrasound": "yes", "training_band": "21-60",
         "outcome": "admitted to hospital"},
    ]  # fmt: skip


def _secrets(con: duckdb.DuckDBPyConnection, clinic: str) -> set[str]:
    return {
        v
        for sql in (
            "SELECT practitioner_id FROM practitioners",
            "SELECT treatment_id FROM treatments WHERE clinic_id = $c",
            "SELECT patient_key FROM treatments WHERE clinic_id = $c",
            "SELECT event_id FROM adverse_events",
            "SELECT narrative FROM adverse_events WHERE length(narrative) > 12",
        )
        for (v,) in con.execute(sql, {"c": clinic} if "$c" in sql else {}).fetchall()
        if v
    }


def test_nothing_in_it_names_a_patient_practitioner_treatment_or_event(
    submitted, fixture_db: Path, base_db: Path, tmp_path, capsys
) -> None:
    """Every id, key and narrative the database holds, searched for in every member's
    bytes: the fixture's C04 and the small tests/data set's C01 (its serious event has a
    narrative); no date finer than a month."""
    small = _submit(base_db, "C01", "2025Q1", tmp_path / "c01.zip")
    capsys.readouterr()
    for db, clinic, members in ((fixture_db, CLINIC, submitted[1]), (base_db, "C01", small)):
        with duckdb.connect(str(db), read_only=True) as con:
            secrets = _secrets(con, clinic)
        assert len(secrets) > (1000 if db == fixture_db else 8)
        text = b"\n".join(members[name] for name in MEMBERS).decode("utf-8")
        assert [s for s in secrets if s in text] == []
        assert re.findall(r"\d{4}-\d{2}-\d{2}", text) == []  # no day, only months
    assert "Sharp chest pain" not in small["serious_events.csv"].decode()


def test_dry_run_prints_every_table_and_writes_nothing(fixture_db: Path, tmp_path, capsys) -> None:
    status, out, err = _run(capsys, "submit", "--db", fixture_db, "--quarter", QUARTER,
                            "--clinic", CLINIC, "--dry-run")  # fmt: skip
    assert (status, err) == (0, "")
    headings = [line for line in out.splitlines() if line.startswith("== ")]
    assert [h.split(" (")[0] for h in headings] == [f"== {name}" for name in MEMBERS]
    assert out.rstrip().endswith(
        "dry run: nothing written; the submission of C04 for 2025Q2 holds the tables above "
        "and manifest.json"
    )
    assert list(tmp_path.iterdir()) == []


def test_the_body_profile_sets_the_bands(fixture_db: Path, tmp_path: Path) -> None:
    profile_file = tmp_path / "body.toml"
    profile_file.write_text(
        '[body]\nid = "IDNS"\nname = "Irish Dry Needling Society"\n'
        "[bands]\ntraining_upper = [50, 150]\nexperience_cuts = [5]\n"
    )
    profile = read_profile(profile_file)
    assert profile == BodyProfile("IDNS", "Irish Dry Needling Society", Bands((50, 150), (5,)))
    with duckdb.connect(str(fixture_db), read_only=True) as con:
        made = build_submission(con, CLINIC, QUARTER, profile, today=TODAY,
                                created_at=datetime(2026, 11, 21, tzinfo=UTC), tool_version="t")  # fmt: skip
    cells = made.tables["treatment_cells.csv"]
    assert set(cells["training_band"]) <= {"0-50", "51-150", ">150"}
    assert set(cells["experience_band"]) <= {"<5", ">=5", "unknown"}
    assert made.manifest["bands"] == {"training_upper": [50, 150], "experience_cuts": [5]}
    assert made.manifest["to"] == "IDNS"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[bands]\ntraining_upper = [60, 20]\n",
         "body.toml: [bands] band bounds must be positive and increasing, got [60, 20]; fix the file"),
        ("[body]\nident = 'x'\n",
         "body.toml: unknown setting(s) body.ident; use body.id, body.name, "
         "bands.experience_cuts, bands.training_upper"),
        ("[bands\n", "body.toml: not a TOML body profile"),
    ],
)  # fmt: skip
def test_a_bad_profile_is_one_line(
    fixture_db, tmp_path, capsys, monkeypatch, text, message
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("body.toml").write_text(text)
    status, out, err = _run(capsys, "submit", "--db", fixture_db, "--quarter", QUARTER,
                            "--clinic", CLINIC, "--profile", "body.toml", "--out", "s.zip")  # fmt: skip
    assert (status, out) == (2, "")
    assert err.startswith(f"needlewatch: {message}") and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["body.toml"]


def test_refusals_are_one_line_and_write_nothing(fixture_db: Path, tmp_path, capsys) -> None:
    out = tmp_path / "s.zip"
    cases = [
        (["--quarter", QUARTER], "holds 14 clinics (C01, C02"),
        (["--quarter", QUARTER, "--clinic", "C99"], "no clinic 'C99' in"),
        (["--quarter", "2999Q1", "--clinic", CLINIC],
         "2999Q1 has not ended yet (it ends 31 Mar 2999): submit a quarter once it is over"),
    ]  # fmt: skip
    for args, message in cases:
        status, printed, err = _run(capsys, "submit", "--db", fixture_db, *args, "--out", out)
        assert (status, printed) == (2, "")
        assert message in err and err.count("\n") == 1
    status, _, err = _run(capsys, "submit", "--db", fixture_db, "--quarter", QUARTER,
                          "--clinic", CLINIC, "--out", tmp_path / "s.csv")  # fmt: skip
    assert status == 2 and "a submission is a .zip file" in err
    status, _, err = _run(capsys, "submit", "--db", fixture_db, "--quarter", QUARTER,
                          "--clinic", CLINIC, "--out", tmp_path / "no" / "s.zip")  # fmt: skip
    assert status == 2 and "does not exist; create it or choose another --out" in err
    assert list(tmp_path.iterdir()) == []


def test_a_quarter_without_treatments_is_a_nil_return(fixture_db: Path, tmp_path, capsys) -> None:
    """An idle quarter still submits: empty tables with their headers, rows 0 in the
    manifest (the body tells "nothing happened" from "nothing was sent")."""
    out = tmp_path / "nil.zip"
    status, printed, _ = _run(capsys, "submit", "--db", fixture_db, "--quarter", "2019Q1",
                              "--clinic", CLINIC, "--out", out)  # fmt: skip
    assert status == 0 and "treatment_cells.csv 0" in printed
    with zipfile.ZipFile(out) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        header = archive.read("treatment_cells.csv").decode().splitlines()
    assert {n: m["rows"] for n, m in manifest["members"].items()} == {
        "treatment_cells.csv": 0, "event_cells.csv": 0, "serious_events.csv": 0,
        "quality.csv": manifest["members"]["quality.csv"]["rows"],
    }  # fmt: skip
    assert header == [
        "month,clinic_id,profession,training_band,experience_band,body_region,"
        "ultrasound_guided,technique,insertions_recorded,treatments,insertions"
    ]


def test_every_clinics_submission_adds_up_to_its_rates(fixture_con) -> None:
    """Every clinic of the fixture, in a full quarter, a quarter the data start in and a
    quarter before them: cell totals by clinic, category and training band equal
    ``rate_counts`` for the same clinic and quarter (the counts every surface prints)."""
    from dashboard.store.counts import rate_counts
    from dashboard.store.filters import Filters, parse_quarter

    stamp = datetime(2026, 11, 21, tzinfo=UTC)
    checked = 0
    for quarter in ("2019Q4", "2023Q4", "2025Q2"):
        first, last = parse_quarter(quarter)
        for clinic in ("C01", "C04", "C07", "C11", "C14"):
            made = build_submission(fixture_con, clinic, quarter, BodyProfile(), today=TODAY,
                                    created_at=stamp, tool_version="t")  # fmt: skip
            cells = made.tables["treatment_cells.csv"]
            events = made.tables["event_cells.csv"]
            scope = Filters(date_from=first, date_to=last, clinics=(clinic,))
            want = rate_counts(fixture_con, ("category", "training_band"), scope)
            got = (
                events[events["category"].notna() & events["severity"].isna()]
                .groupby(["category", "training_band"])["events"]
                .sum()
            )
            want_events = want[want["events"] > 0].set_index(["category", "training_band"])
            assert got.to_dict() == want_events["events"].to_dict(), (clinic, quarter)
            overall = rate_counts(fixture_con, (), scope)
            treatments = int(overall["treatments"].sum()) if len(overall) else 0
            assert int(cells["treatments"].sum()) == treatments, (clinic, quarter)
            checked += treatments
    assert checked > 1000  # the quarters with data were not all empty
