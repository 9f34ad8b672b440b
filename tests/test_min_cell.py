"""A body's minimum cell (issue 13): ``[disclosure] min_cell`` in its profile.

At the clinic, a treatment cell under the minimum withholds the practitioner's
profession, bands and the technique, and merges with its month's other cells of the same
region, ultrasound and insertions recorded; every count stays whole. At the body, a file
pooled to a smaller minimum (or not at all), or one that says it was pooled and was not,
is refused; the rates of what it receives add up to the clinic's own.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dashboard.report.submission import read_profile
from ingest.submissions import ingest_submissions
from needlewatch.cli import main

from .conftest import TODAY, _register, db_contents
from .test_submission_ingest import _manifest_edit, _members, _rezip

CLINIC, QUARTER, MIN_CELL = "C04", "2025Q3", 5
KEYS = ["month", "clinic_id", "body_region", "ultrasound_guided", "insertions_recorded"]
DETAIL = ["profession", "training_band", "experience_band", "technique"]


def _table(zipped: Path, member: str) -> pd.DataFrame:
    with zipfile.ZipFile(zipped) as archive:
        return pd.read_csv(io.BytesIO(archive.read(member)), dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def made(fixture_db: Path, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("min-cell")
    profile = folder / "body.toml"
    profile.write_text(f"[disclosure]\nmin_cell = {MIN_CELL}\n", encoding="utf-8")
    out = {"profile": profile, "pooled": folder / "pooled.zip", "plain": folder / "plain.zip"}
    for name, extra in (("pooled", ["--profile", str(profile)]), ("plain", [])):
        assert main(["submit", "--db", str(fixture_db), "--quarter", QUARTER, "--clinic",
                     CLINIC, *extra, "--out", str(out[name])]) == 0  # fmt: skip
    return out


def test_small_cells_withhold_the_practitioner_and_every_total_stays(made) -> None:
    pooled, plain = (_table(made[k], "treatment_cells.csv") for k in ("pooled", "plain"))
    for frame in (pooled, plain):
        frame[["treatments", "insertions"]] = frame[["treatments", "insertions"]].astype(int)
    detailed = (pooled["training_band"] != "unknown") | (pooled["profession"] != "")
    assert pooled.loc[detailed, "treatments"].min() >= MIN_CELL
    withheld = pooled[~detailed]
    assert len(withheld) > 0 and (withheld[DETAIL[1:3]] == "unknown").all().all()
    assert (withheld[["profession", "technique"]] == "").all().all()
    small = plain[plain["treatments"] < MIN_CELL]
    assert int(withheld["treatments"].sum()) == int(small["treatments"].sum())
    by = ["month", "body_region", "ultrasound_guided", "insertions_recorded"]
    pd.testing.assert_frame_equal(
        pooled.groupby(by)[["treatments", "insertions"]].sum(),
        plain.groupby(by)[["treatments", "insertions"]].sum(),
    )
    events = {k: _table(made[k], "event_cells.csv") for k in ("pooled", "plain")}
    sums = {
        k: f.assign(events=f["events"].astype(int), affected=f["treatments_affected"].astype(int))
        .groupby(["month", "category", "severity"])[["events", "affected"]]
        .sum()
        for k, f in events.items()
    }
    pd.testing.assert_frame_equal(sums["pooled"], sums["plain"])
    assert len(_table(made["pooled"], "serious_events.csv")) == len(
        _table(made["plain"], "serious_events.csv")
    )


def test_the_body_refuses_what_is_not_pooled_to_its_minimum(
    made, fixture_files, tmp_path, capsys
) -> None:
    db = tmp_path / "body.duckdb"
    _register(db, fixture_files)
    state = db_contents(db)
    status = main(
        ["ingest", "--db", str(db), "--profile", str(made["profile"]), str(made["plain"])]
    )
    _, err = capsys.readouterr()
    assert (status, err) == (
        3,
        f"rejected: {made['plain']}: pooled to a minimum cell of none, but this body asks for "
        f"{MIN_CELL}; ask the clinic to submit again with the body's profile (--profile)\n",
    )
    # a file that says it was pooled, and was not: its first small detailed cell is named
    lying = _rezip(_manifest_edit(_members(made["plain"]), min_cell=MIN_CELL),
                   tmp_path / "lying.zip", reseal=True)  # fmt: skip
    plain = _table(made["plain"], "treatment_cells.csv")
    line = int(plain.index[plain["treatments"].astype(int) < MIN_CELL][0]) + 2
    status = main(["ingest", "--db", str(db), "--profile", str(made["profile"]), str(lying)])
    _, err = capsys.readouterr()
    assert (status, err) == (
        3,
        f"rejected: {lying}: treatment_cells.csv line {line}, column treatments: "
        f"'{plain['treatments'].iloc[line - 2]}' is under the manifest's min_cell, yet the "
        "cell gives the practitioner's profession, bands or the technique; ask the clinic to "
        "send the file `needlewatch submit` wrote, unchanged\n",
    )
    assert db_contents(db) == state


def test_pooled_counts_give_the_clinics_totals_and_an_unknown_band(
    made, fixture_files, fixture_db, tmp_path, capsys
) -> None:
    db = tmp_path / "body.duckdb"
    _register(db, fixture_files)
    report = ingest_submissions(db, [made["pooled"]], today=TODAY, min_cell=MIN_CELL)
    assert report.rejected == ()
    args = ["rates", "--quarter", QUARTER, "--clinic", CLINIC, "--format", "csv"]
    assert main([*args, "--db", str(fixture_db)]) == 0
    rows = capsys.readouterr().out
    assert main([*args, "--db", str(db)]) == 0
    assert capsys.readouterr().out == rows
    assert main([*args, "--by", "training_band", "--format", "json", "--db", str(db)]) == 0
    bands = json.loads(capsys.readouterr().out)
    withheld = int(
        _table(made["pooled"], "treatment_cells.csv")
        .query("training_band == 'unknown'")["treatments"]
        .astype(int)
        .sum()
    )
    assert bands[-1]["training_band"] == "unknown" and bands[-1]["treatments"] == withheld
    with duckdb.connect(str(fixture_db), read_only=True) as con:
        total = con.execute(
            "SELECT count(*) FROM treatments WHERE clinic_id = ? AND treatment_date "
            "BETWEEN DATE '2025-07-01' AND DATE '2025-09-30'",
            [CLINIC],
        ).fetchone()[0]
    assert sum(b["treatments"] for b in bands) == total


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("min_cell = 1", "disclosure.min_cell must be a whole number of 2 or more, got 1"),
        ('min_cell = "5"', "disclosure.min_cell must be a whole number of 2 or more, got '5'"),
        ("min_cells = 5", "unknown setting(s) disclosure.min_cells"),
    ],
)
def test_a_bad_min_cell_in_the_profile_is_one_line(text, message, tmp_path) -> None:
    path = tmp_path / "body.toml"
    path.write_text(f"[disclosure]\n{text}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="^" + re.escape(f"{path}: {message}")):
        read_profile(path)
