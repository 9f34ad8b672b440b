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


# --- other programs with the database open -----------------------------------------------

#: A stand-in for the DuckDB shell or DBeaver: opens the database read-write, says so,
#: commits a row when told to ("commit" on stdin), then waits to be closed.
HOLDER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
print("open", flush=True)
sys.stdin.readline()
con.execute("CREATE TABLE their_table AS SELECT 42 AS answer")
print("committed", flush=True)
sys.stdin.readline()
con.close()
"""
OPEN_FOR_WRITING = (
    "import sys, duckdb\n"
    "try:\n"
    "    duckdb.connect(sys.argv[1]).close()\n"
    "except duckdb.IOException as exc:\n"
    "    print(str(exc).splitlines()[0])\n"
)


def _try_to_open_for_writing(db: Path) -> str:
    """What a second program gets when it opens ``db`` read-write ("" when it can)."""
    done = subprocess.run(
        [sys.executable, "-c", OPEN_FOR_WRITING, str(db)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_program_with_the_database_open_for_writing_makes_the_ingest_refuse(
    base_db: Path, capsys
) -> None:
    """Once, the ingest exited 0 and the swap dropped the other program's committed row."""
    from needlewatch.cli import main

    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(base_db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "open\n"
        holder.stdin.write("commit\n")
        holder.stdin.flush()
        assert holder.stdout.readline() == "committed\n"
        exe = os.readlink(f"/proc/{holder.pid}/exe")
        before = _digest(base_db)
        files = [str(Path(__file__).parent / "data" / "clinics_bom_tab.tsv")]
        status = main(["ingest", "--db", str(base_db), *files])
        out, err = capsys.readouterr()
        assert (status, out) == (2, "")
        assert err == (
            f"needlewatch: {base_db}: another program has the database open for writing (a "
            f"DuckDB shell, DBeaver...; PID {holder.pid}, {exe}); close it and run the "
            "ingest again\n"
        )
        assert _digest(base_db) == before
    finally:
        holder.stdin.write("close\n")
        holder.stdin.flush()
        assert holder.wait(timeout=30) == 0
    # Their write is there, and once they have closed the database an ingest works.
    ingest_files(
        base_db,
        [Path(__file__).parent / "data" / "clinics_bom_tab.tsv"],
        IngestOptions(today=TODAY),
    )
    with duckdb.connect(str(base_db), read_only=True) as con:
        assert con.execute("SELECT answer FROM their_table").fetchall() == [(42,)]
        assert con.execute("SELECT count(*) FROM clinics").fetchone() == (3,)


def test_no_program_can_open_the_database_for_writing_during_an_ingest(base_db: Path) -> None:
    """From before the copy until after the swap, a read-write open fails (so no write
    can be made that the swap would lose); readers still can; afterwards writers can."""
    from ingest.store import write_transaction

    with write_transaction(base_db) as session:
        session.con.execute("INSERT INTO clinics VALUES ('C09', 'During', NULL, NULL, 9)")
        refused = _try_to_open_for_writing(base_db)
        assert refused.startswith(
            f'IO Error: Could not set lock on file "{base_db}": Conflicting lock is held in '
        )
        with duckdb.connect(str(base_db), read_only=True) as reader:
            assert reader.execute("SELECT count(*) FROM clinics").fetchone() == (2,)
    assert _try_to_open_for_writing(base_db) == ""
    with duckdb.connect(str(base_db), read_only=True) as con:
        assert con.execute("SELECT name FROM clinics WHERE clinic_id = 'C09'").fetchall() == [
            ("During",)
        ]


def test_a_running_cli_ingest_keeps_writers_out(base_db: Path, tmp_path: Path) -> None:
    big = _big_treatments(tmp_path / "big.csv", 1_000_000, "W")
    proc = subprocess.Popen([*CLI, "ingest", "--db", str(base_db), str(big)])
    deadline = time.monotonic() + 60
    while not any(".writing-" in p.name for p in base_db.parent.iterdir()):
        assert proc.poll() is None and time.monotonic() < deadline, "the ingest never started"
        time.sleep(0.01)
    refused = _try_to_open_for_writing(base_db)
    assert proc.poll() is None, "the ingest finished before the test could try; use a bigger file"
    assert refused.startswith(f'IO Error: Could not set lock on file "{base_db}"')
    assert proc.wait(timeout=120) == 0
    with duckdb.connect(str(base_db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM treatments").fetchone() == (5 + 1_000_000,)


def test_writes_a_crashed_program_left_in_a_wal_are_not_lost(base_db: Path, capsys) -> None:
    """A program killed with the database open leaves its last commits in ``<db>.wal``;
    copying the file without them and swapping would lose them: refuse until the
    database has been opened and closed once."""
    from needlewatch.cli import main

    crash = (
        "import os, sys, duckdb\n"
        "con = duckdb.connect(sys.argv[1])\n"
        "con.execute('CREATE TABLE their_table AS SELECT 7 AS answer')\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", crash, str(base_db)], check=True)
    wal = base_db.with_name(base_db.name + ".wal")
    assert wal.exists()
    before = _digest(base_db)
    files = [str(Path(__file__).parent / "data" / "clinics_bom_tab.tsv")]
    status = main(["ingest", "--db", str(base_db), *files])
    out, err = capsys.readouterr()
    assert (status, out) == (2, "")
    assert err == (
        f"needlewatch: {base_db}: {wal.name} holds writes a program did not finish (it "
        "stopped without closing the database); open the database once in the DuckDB shell "
        "and quit it, then run the ingest again\n"
    )
    assert (_digest(base_db), wal.exists()) == (before, True)
    duckdb.connect(str(base_db)).close()  # "open it once and quit": the WAL is merged
    assert main(["ingest", "--db", str(base_db), *files]) == 0
    with duckdb.connect(str(base_db), read_only=True) as con:
        assert con.execute("SELECT answer FROM their_table").fetchall() == [(7,)]
