"""Atomic runs (kill -9 mid-ingest changes nothing) and concurrency (readers never fail
while an ingest runs; two simultaneous ingests both land)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from ingest.api import IngestOptions, ingest_files

from .conftest import TODAY

CLI = [sys.executable, "-m", "needlewatch.cli"]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _big_treatments(path: Path, rows: int, prefix: str) -> Path:
    """A treatments CSV for practitioners P1-P3 of tests/data (made by DuckDB COPY)."""
    with duckdb.connect() as con:
        con.execute(
            f"""COPY (SELECT '{prefix}' || i AS treatment_id,
                   DATE '2024-01-01' + CAST(i % 600 AS INTEGER) AS treatment_date,
                   'P' || (1 + i % 3) AS practitioner_id, 'PT' || (i // 7) AS patient_id,
                   'gluteals' AS body_region, 'no' AS ultrasound_guided, 1 + i % 9 AS needle_insertions
                   FROM range({rows}) r(i)) TO '{path}'"""
        )
    return path


def test_kill_9_mid_ingest_leaves_the_database_exactly_as_it_was(
    base_db: Path, tmp_path: Path
) -> None:
    big = _big_treatments(tmp_path / "big.csv", 3_000_000, "K")
    before = _digest(base_db)
    proc = subprocess.Popen([*CLI, "ingest", "--db", str(base_db), str(big)])
    time.sleep(2.0)
    assert proc.poll() is None, "ingest finished before it could be killed; use a bigger file"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _digest(base_db) == before
    # The next writer cleans up the orphaned copy and works normally.
    ingest_files(
        base_db,
        [Path(__file__).parent / "data" / "clinics_bom_tab.tsv"],
        IngestOptions(today=TODAY),
    )
    leftovers = [p.name for p in base_db.parent.iterdir() if ".writing-" in p.name]
    assert leftovers == []


def test_readers_never_fail_while_ingests_run_and_parallel_ingests_both_land(
    base_db: Path, tmp_path: Path
) -> None:
    files = [_big_treatments(tmp_path / f"t{i}.csv", 400_000, f"X{i}-") for i in range(2)]
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, duckdb\n"
            "end = time.time() + float(sys.argv[2]); n = 0\n"
            "while time.time() < end:\n"
            "    con = duckdb.connect(sys.argv[1], read_only=True)\n"
            "    con.execute('SELECT count(*) FROM treatments').fetchone(); con.close(); n += 1\n"
            "print(n)\n",
            str(base_db),
            "8",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    writers = [subprocess.Popen([*CLI, "ingest", "--db", str(base_db), str(f)]) for f in files]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    out, _ = reader.communicate(timeout=60)
    assert reader.returncode == 0
    assert int(out) > 10  # it kept reading, and never failed, throughout
    with duckdb.connect(str(base_db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM treatments").fetchone() == (5 + 800_000,)
        assert con.execute(
            "SELECT count(*) FROM ingest_runs WHERE kind = 'treatments'"
        ).fetchone() == (3,)
