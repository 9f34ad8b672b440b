"""Practitioner numbers beyond a plausible maximum are rejected, never banded.

``years_dn_experience`` of 85 or 2015 once landed silently in the ``>=10`` band.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pandas.testing as pdt
import pytest

from ingest.api import IngestOptions, ingest_files
from needlewatch import settings
from needlewatch.cli import main

from .conftest import TODAY

YEARS_CHECK = "years of dry-needling experience must be 0 to 60: check the value"
YEARS_YEAR = (
    "years of dry-needling experience must be 0 to 60; this looks like a year: give the "
    "number of years"
)
HOURS = "hours of dry-needling training must be 0 to 5000: check the value (hours, not minutes)"
NEGATIVE = "negative: must be 0 or more"
NOT_NUMBER = "not a number: write digits only, e.g. 12 or 12.5"

CONTENT = (
    "practitioner_id,clinic_id,dn_training_hours,years_dn_experience\n"
    "P10,C01,40,85\n"  # row 2
    "P11,C01,40,2015\n"  # row 3: a year
    "P12,C01,99999,3\n"  # row 4: minutes?
    "P13,C01,5000,60\n"  # row 5: both at the limit: accepted
    "P14,C01,-1,-2\n"  # row 6
    "P15,C01,inf,2015.5\n"  # row 7: not a whole year
    "P16,C01,10,2027\n"  # row 8: after this year: not read as a year
    "P17,C01,0,0\n"  # row 9: accepted
)


def test_settings_name_the_limits() -> None:
    assert (settings.MAX_DN_TRAINING_HOURS, settings.MAX_YEARS_DN_EXPERIENCE) == (5000, 60)


def test_implausible_practitioner_numbers_are_rejected(base_db: Path, tmp_path: Path) -> None:
    path = tmp_path / "practitioners.csv"
    path.write_text(CONTENT, encoding="utf-8")
    run = ingest_files(base_db, [path], IngestOptions(today=TODAY)).runs[0]
    assert (run.rows_read, run.rows_accepted, run.rows_rejected) == (8, 2, 6)
    with duckdb.connect(str(base_db), read_only=True) as con:
        rejects = con.execute(
            "SELECT row_number, column_name, value, reason FROM rejects WHERE run_id = ? "
            "ORDER BY row_number, column_name",
            [run.run_id],
        ).df()
        stored = con.execute(
            "SELECT practitioner_id, dn_training_hours, years_dn_experience FROM practitioners "
            "WHERE run_id = ? ORDER BY 1",
            [run.run_id],
        ).fetchall()
    expected = pd.DataFrame(
        [
            (2, "years_dn_experience", "85", YEARS_CHECK),
            (3, "years_dn_experience", "2015", YEARS_YEAR),
            (4, "dn_training_hours", "99999", HOURS),
            (6, "dn_training_hours", "-1", NEGATIVE),
            (6, "years_dn_experience", "-2", NEGATIVE),
            (7, "dn_training_hours", "inf", NOT_NUMBER),
            (7, "years_dn_experience", "2015.5", YEARS_CHECK),
            (8, "years_dn_experience", "2027", YEARS_CHECK),
        ],
        columns=["row_number", "column_name", "value", "reason"],
    ).astype({"row_number": "int64"})
    pdt.assert_frame_equal(rejects, expected)
    assert stored == [("P13", 5000.0, 60.0), ("P17", 0.0, 0.0)]


@pytest.mark.parametrize("years", ["2015", "85"])
def test_cli_exit_3_and_the_reason(base_db: Path, tmp_path: Path, capsys, years: str) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        f"practitioner_id,clinic_id,dn_training_hours,years_dn_experience\nP10,C01,40,{years}\n",
        encoding="utf-8",
    )
    status = main(["ingest", "--db", str(base_db), str(path)])
    out, err = capsys.readouterr()
    reason = YEARS_YEAR if years == "2015" else YEARS_CHECK
    assert (status, err) == (3, "")
    assert out == (
        f"{path} (practitioners): 1 rows read: 0 new, 0 updated (0 unchanged), 1 rejected\n"
        f"  rejected 1 row(s) (2): column years_dn_experience: {reason}\n"
        "1 row(s) rejected and stored with their reasons; list them with: "
        "needlewatch rejects --run 5\n"
    )
