"""Property: for any mix of good and malformed rows, accepted + updated + rejected = rows read,
every rejected row is stored with a reason (nothing is silently dropped), and the blank
counts the ingest keeps equal a recount of the rows."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.api import IngestOptions, ingest_files
from ingest.blanks import recount_blanks

from .conftest import TODAY

HEADER = [
    "treatment_id",
    "treatment_date",
    "practitioner_id",
    "body_region",
    "ultrasound_guided",
    "needle_insertions",
]

ids = st.sampled_from(["T1", "T2", "T9", "N1", "N2", "N3", "", " N4 "])
dates = st.sampled_from(["2025-01-02", "2025-13-01", "02/01/2025", "", "1980-01-01", "2030-01-01"])
practitioners = st.sampled_from(["P1", "P2", "P404", ""])
regions = st.sampled_from(["gluteals", "Upper Trapezius", "", "x"])
flags = st.sampled_from(["yes", "No", "1", "maybe", ""])
counts = st.sampled_from(["3", "0", "-1", "2.5", "lots", ""])
row = st.tuples(ids, dates, practitioners, regions, flags, counts)
extra = st.sampled_from([None, "too,many", "short"])  # structural damage to a row


def _write(rows: list[tuple], damage: list[str | None]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for values, harm in zip(rows, damage, strict=True):
        values = list(values)
        if harm == "too,many":
            values.append("extra")
        elif harm == "short":
            values = values[:3]
        writer.writerow(values)
    return buffer.getvalue()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.lists(st.tuples(row, extra), min_size=1, max_size=30))
def test_accepted_plus_updated_plus_rejected_equals_rows_read(
    data: list, base_db: Path, tmp_path_factory
) -> None:
    folder = tmp_path_factory.mktemp("prop")
    db = folder / "db.duckdb"
    shutil.copy(base_db, db)
    path = folder / "t.csv"
    path.write_text(_write([r for r, _ in data], [d for _, d in data]), encoding="utf-8")
    run = ingest_files(db, [path], IngestOptions(today=TODAY)).runs[0]
    assert run.rows_read == len(data)
    assert run.rows_accepted + run.rows_updated + run.rows_rejected == run.rows_read
    with duckdb.connect(str(db), read_only=True) as con:
        rejected_rows = con.execute(
            "SELECT count(DISTINCT row_number) FROM rejects WHERE run_id = ?", [run.run_id]
        ).fetchone()[0]
        landed = con.execute(
            "SELECT count(*) FROM treatments WHERE run_id = ?", [run.run_id]
        ).fetchone()[0]
        unique = con.execute(
            "SELECT count(*) = count(DISTINCT treatment_id) FROM treatments"
        ).fetchone()[0]
    assert rejected_rows == run.rows_rejected
    assert unique
    # the blank counts the ingest kept by difference (replaced T1/T2, ids repeated in the
    # file, blank needle counts) equal a count of the stored rows' blanks
    with duckdb.connect(str(db)) as con:
        kept = con.execute("SELECT * FROM column_blanks ORDER BY ALL").fetchall()
        recount_blanks(con)
        assert kept == con.execute("SELECT * FROM column_blanks ORDER BY ALL").fetchall()
    # every good row landed, one stored row per distinct id
    assert landed == len({r[0].strip() for (r, d) in data if d is None} & _good_ids(data))


def _good_ids(data: list) -> set[str]:
    good = set()
    for (tid, day, prac, region, flag, count), damage in data:
        ok = (
            damage is None
            and tid.strip()
            and day == "2025-01-02"
            and prac in ("P1", "P2")
            and region
            and flag in ("yes", "No", "1")
            and count in ("3", "0", "")
        )
        if ok:
            good.add(tid.strip())
    return good
