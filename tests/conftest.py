"""One fixture database for the whole suite: the seeded demo generator, loaded through
the real ingest path into a fresh file built from the schema."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest
from hypothesis import settings

from ingest.api import IngestOptions, ingest_files
from ingest.demo import generate_demo

#: No per-example deadline: a slow example under a loaded CI machine is not a failure
#: (speed is measured by bench/, not by tests).
settings.register_profile("needlewatch", deadline=None)
settings.load_profile("needlewatch")

DATA = Path(__file__).parent / "data"
FIXTURE_SEED = 7
FIXTURE_TREATMENTS = 30_000
#: Tests pin "today" so date checks do not drift with the calendar.
TODAY = date(2026, 11, 21)


def db_contents(db: Path) -> dict[str, tuple[int, int]]:
    """Every table's row count and an order-free hash of its rows: the database's state,
    whatever the bytes of the file (an ingest that was rolled back or killed may leave
    blocks that no table uses, for the next write to reuse)."""
    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY 1"
        ).fetchall()
        return {
            t: con.execute(f"SELECT count(*), coalesce(sum(hash(x)), 0) FROM {t} x").fetchone()
            for (t,) in tables
        }


@pytest.fixture(scope="session")
def fixture_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The generator's CSV files for the fixture database (seed 7, 30,000 treatments)."""
    return generate_demo(
        tmp_path_factory.mktemp("demo"), seed=FIXTURE_SEED, n_treatments=FIXTURE_TREATMENTS
    )


@pytest.fixture(scope="session")
def fixture_db(tmp_path_factory: pytest.TempPathFactory, fixture_files: dict[str, Path]) -> Path:
    """Path of the shared fixture database. Read it only (open read_only=True)."""
    db = tmp_path_factory.mktemp("db") / "fixture.duckdb"
    ingest_files(db, list(fixture_files.values()), IngestOptions(today=TODAY))
    return db


@pytest.fixture()
def fixture_con(fixture_db: Path):
    con = duckdb.connect(str(fixture_db), read_only=True)
    yield con
    con.close()


@pytest.fixture()
def base_db(tmp_path: Path) -> Path:
    """A private database holding tests/data's two clinics, three practitioners,
    five treatments and three events: a small known state to ingest edge cases into."""
    db = tmp_path / "base.duckdb"
    report = ingest_files(
        db,
        [DATA / f for f in ("clinics.csv", "practitioners.csv", "treatments.csv", "events.csv")],
        IngestOptions(today=TODAY),
    )
    assert report.rows_rejected == 0
    return db


# The body's side (issue 13): every fixture clinic's submissions for two quarters.
QUARTERS = ("2025Q2", "2025Q3")


def _clinics(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute("SELECT clinic_id FROM clinics ORDER BY 1").fetchall()]


@pytest.fixture(scope="session")
def zips(fixture_db: Path, tmp_path_factory) -> dict[tuple[str, str], Path]:
    """Every fixture clinic's submission for 2025Q2 and 2025Q3 (idle quarters included)."""
    from needlewatch.cli import main  # here, not at collection: the CLI loads the read side

    folder = tmp_path_factory.mktemp("zips")
    with duckdb.connect(str(fixture_db), read_only=True) as con:
        clinics = _clinics(con)
    made = {}
    for clinic in clinics:
        for quarter in QUARTERS:
            out = folder / f"{clinic}-{quarter}.zip"
            assert main(["submit", "--db", str(fixture_db), "--quarter", quarter,
                         "--clinic", clinic, "--out", str(out)]) == 0  # fmt: skip
            made[clinic, quarter] = out
    return made


def _register(db: Path, fixture_files: dict[str, Path]) -> None:
    """A body database holding the member register (the fixture's clinics) alone."""
    report = ingest_files(db, [fixture_files["clinics"]], IngestOptions(today=TODAY))
    assert report.rows_rejected == 0


@pytest.fixture(scope="session")
def body_db(zips, fixture_files, tmp_path_factory) -> Path:
    """A body's database: the register, and every zip of ``zips`` received."""
    from ingest.submissions import ingest_submissions

    db = tmp_path_factory.mktemp("body") / "body.duckdb"
    _register(db, fixture_files)
    report = ingest_submissions(db, list(zips.values()), today=TODAY, received_by="analyst")
    assert report.rejected == ()
    assert {r.status for r in report.received} == {"new"}
    return db
