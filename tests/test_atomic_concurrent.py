"""Atomic runs (kill -9 mid-ingest leaves the previous state) and concurrency (readers
never fail while an ingest runs; two simultaneous ingests both land), with real
processes. An ingest writes the live file in place, in one DuckDB transaction: nothing is
copied, so the file keeps its inode and no copy appears beside it."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from dashboard.store.db import connect_readonly
from ingest.api import IngestOptions, ingest_files
from ingest.errors import DatabaseBusyError, DatabaseInUseError
from ingest.store import open_lock_file

from .conftest import DATA, TODAY, db_contents

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "needlewatch.cli"]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _state(db: Path) -> dict[str, tuple[int, int]]:
    """db_contents, but only the count of ingest_runs (whose rows hold times)."""
    contents = db_contents(db)
    contents["ingest_runs"] = (contents["ingest_runs"][0], 0)
    return contents


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


def _writer_has_it(db: Path) -> bool:
    """True when another process has ``db`` open for writing (a read-only open fails)."""
    try:
        duckdb.connect(str(db), read_only=True).close()
    except duckdb.IOException as exc:
        assert "Conflicting lock" in str(exc), exc
        return True
    return False


def _wait_until_writing(db: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not _writer_has_it(db):
        assert proc.poll() is None and time.monotonic() < deadline, "the ingest never started"
        time.sleep(0.02)


# --- kill -9 -------------------------------------------------------------------------------


def test_kill_9_during_the_write_of_a_large_ingest_leaves_the_previous_state(
    base_db: Path, tmp_path: Path
) -> None:
    """Killed while it writes 3 million rows inside its transaction (DuckDB has already
    put row groups in the file's free blocks): the database is as it was, in place."""
    big = _big_treatments(tmp_path / "big.csv", 3_000_000, "K")
    before, inode, size = db_contents(base_db), base_db.stat().st_ino, base_db.stat().st_size
    proc = subprocess.Popen([*CLI, "ingest", "--db", str(base_db), str(big)])
    _wait_until_writing(base_db, proc)
    deadline = time.monotonic() + 120
    while base_db.stat().st_size < size + 8 * 1024 * 1024:  # uncommitted row groups
        assert proc.poll() is None and time.monotonic() < deadline, "no rows were written"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert db_contents(base_db) == before
    assert base_db.stat().st_ino == inode
    # The next writer removes the dead one's work folder and works normally.
    ingest_files(base_db, [DATA / "clinics_bom_tab.tsv"], IngestOptions(today=TODAY))
    leftovers = [p.name for p in base_db.parent.iterdir() if ".writing-" in p.name]
    assert leftovers == []
    assert db_contents(base_db)["treatments"] == before["treatments"]


#: Runs an ingest in its own process and kills it (SIGKILL, to itself) at ``where``:
#: "before-commit" (every row written, COMMIT not run) or "during-commit" (a timer fires
#: ``delay`` seconds into COMMIT, which writes the new blocks and switches the header).
KILLER = """
import os, signal, sys, threading
sys.path.insert(0, {root!r})
import ingest.store
from needlewatch.cli import main
where, delay, db, *files = sys.argv[1:]
original = ingest.store.commit

def commit(con):
    if where == "before-commit":
        os.kill(os.getpid(), signal.SIGKILL)
    threading.Timer(float(delay), os.kill, (os.getpid(), signal.SIGKILL)).start()
    original(con)
    threading.Event().wait()  # committed: wait for the timer

ingest.store.commit = commit
sys.exit(main(["ingest", "--db", db, *files]))
"""


@pytest.mark.parametrize(
    ("where", "delay"),
    [("before-commit", 0)]
    + [("during-commit", d) for d in (0, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2)],
)
def test_kill_9_before_or_during_the_commit_leaves_the_old_or_the_whole_new_state(
    base_db: Path, tmp_path: Path, where: str, delay: float
) -> None:
    """Before COMMIT nothing lands; during it, either nothing or everything, never part.

    Once, with COMMIT writing DuckDB's WAL, a kill in it left the 300,000 new treatments
    (written to the file before COMMIT) without their ingest_runs row and counts: DuckDB
    replayed the torn WAL in part. COMMIT now skips the WAL (ingest.store)."""
    big = _big_treatments(tmp_path / "big.csv", 300_000, "C")
    killer = tmp_path / "killer.py"
    killer.write_text(KILLER.format(root=str(ROOT)))
    before = _state(base_db)
    landed = tmp_path / "landed.duckdb"  # the same ingest, not killed: the whole new state
    shutil.copyfile(base_db, landed)
    ingest_files(landed, [big], IngestOptions(today=TODAY))
    new = _state(landed)
    assert new != before
    done = subprocess.run(
        [sys.executable, str(killer), where, str(delay), str(base_db), str(big)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    after = _state(base_db)
    assert after in (before, new)
    if where == "before-commit":
        assert after == before
    # The next ingest works on whichever state it finds.
    ingest_files(base_db, [DATA / "clinics_bom_tab.tsv"], IngestOptions(today=TODAY))
    assert not base_db.with_name(base_db.name + ".wal").exists()
    assert db_contents(base_db)["treatments"] == after["treatments"]


# --- readers and a second writer ------------------------------------------------------------

#: A reader process, as the dashboard reads: a connection per query, through
#: dashboard.store.db.connect_readonly, until it has seen the final count five times. Prints
#: a JSON list of the treatment counts it saw.
READER = """
import json, sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from dashboard.store.db import connect_readonly
final, end, seen = int(sys.argv[2]), time.time() + 150, []
while time.time() < end and seen.count(final) < 5:
    con = connect_readonly(Path(sys.argv[1]))
    try:
        seen.append(con.execute("SELECT count(*) FROM treatments").fetchone()[0])
    finally:
        con.close()
print(json.dumps(seen))
"""


def test_readers_never_fail_while_ingests_run_and_parallel_ingests_both_land(
    base_db: Path, tmp_path: Path
) -> None:
    files = [_big_treatments(tmp_path / f"t{i}.csv", 400_000, f"X{i}-") for i in range(2)]
    script = tmp_path / "reader.py"
    script.write_text(READER.format(root=str(ROOT)))
    readers = [
        subprocess.Popen(
            [sys.executable, str(script), str(base_db), "800005"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    time.sleep(1.0)  # the readers are reading when the writers start
    inode = base_db.stat().st_ino
    writers = [subprocess.Popen([*CLI, "ingest", "--db", str(base_db), str(f)]) for f in files]
    assert [w.wait(timeout=180) for w in writers] == [0, 0]
    seen = []
    for reader in readers:
        out, _ = reader.communicate(timeout=120)
        assert reader.returncode == 0  # it never failed
        seen.extend(json.loads(out))
    assert len(seen) > 20  # it kept reading throughout
    # Each read saw a whole state: before, after one ingest, or after both.
    assert set(seen) <= {5, 400_005, 800_005}
    assert {5, 800_005} <= set(seen)
    with duckdb.connect(str(base_db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM treatments").fetchone() == (5 + 800_000,)
        assert con.execute(
            "SELECT count(*) FROM ingest_runs WHERE kind = 'treatments'"
        ).fetchone() == (3,)
    assert base_db.stat().st_ino == inode  # written in place, never swapped


def test_an_ordinary_ingest_makes_no_copy_of_the_database(base_db: Path, tmp_path: Path) -> None:
    big = _big_treatments(tmp_path / "big.csv", 1_000_000, "N")
    inode, names = base_db.stat().st_ino, set()
    proc = subprocess.Popen([*CLI, "ingest", "--db", str(base_db), str(big)])
    while proc.poll() is None:
        names |= {p.name for p in base_db.parent.iterdir()}
        time.sleep(0.01)
    assert proc.returncode == 0
    assert base_db.stat().st_ino == inode
    assert {n for n in names if n.endswith(".duckdb")} == {base_db.name}
    assert [n for n in names if ".writing-" in n and not n.endswith(".work")] == []


def test_an_ingest_waits_for_a_reader_that_has_the_file_open(
    base_db: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """A reader from another process (a report being built) holds the file: the ingest
    waits for it to close, then lands."""
    hold = "import sys, time, duckdb\ncon = duckdb.connect(sys.argv[1], read_only=True)\n"
    hold += "print('open', flush=True)\ntime.sleep(1.5)\ncon.close()\n"
    reader = subprocess.Popen(
        [sys.executable, "-c", hold, str(base_db)], stdout=subprocess.PIPE, text=True
    )
    assert reader.stdout.readline() == "open\n"
    started = time.monotonic()
    ingest_files(base_db, [DATA / "clinics_bom_tab.tsv"], IngestOptions(today=TODAY))
    assert time.monotonic() - started > 0.5
    assert reader.wait(timeout=30) == 0
    assert f"waiting for readers of {base_db} to close it" in capfd.readouterr().err
    assert db_contents(base_db)["clinics"][0] == 3


def test_a_reader_waits_for_an_ingest_then_says_so_in_one_line(base_db: Path) -> None:
    """While an ingest holds ``<db>.lock`` a reader does not even try to open the file
    (the writer waits only for readers already open); past its deadline it says why."""
    with open_lock_file(base_db) as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        started = time.monotonic()
        with pytest.raises(DatabaseBusyError) as exc:
            connect_readonly(base_db, wait=0.3)
        assert 0.3 <= time.monotonic() - started < 5
        fcntl.flock(lock, fcntl.LOCK_UN)
    assert str(exc.value) == (
        f"{base_db}: an ingest has been writing the database for over 0.3 s; try again when "
        "it has finished"
    )
    connect_readonly(base_db, wait=0.3).close()


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
    """The ingest says so at once (it does not wait as for a reader), and neither it nor
    the reading commands touch the other program's write."""
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
        files = [str(DATA / "clinics_bom_tab.tsv")]
        started = time.monotonic()
        status = main(["ingest", "--db", str(base_db), *files])
        assert time.monotonic() - started < 5
        out, err = capsys.readouterr()
        assert (status, out) == (2, "")
        assert err == (
            f"needlewatch: {base_db}: another program has the database open for writing (a "
            f"DuckDB shell, DBeaver...; PID {holder.pid}, {exe}); close it and run the "
            "ingest again\n"
        )
        assert _digest(base_db) == before
        with pytest.raises(DatabaseInUseError) as exc:
            connect_readonly(base_db, wait_other=0.2)
        assert str(exc.value) == (
            f"{base_db}: another program has the database open for writing (a DuckDB shell, "
            f"DBeaver...; PID {holder.pid}, {exe}); close it and try again"
        )
    finally:
        holder.stdin.write("close\n")
        holder.stdin.flush()
        assert holder.wait(timeout=30) == 0
    # Their write is there, and once they have closed the database an ingest works.
    ingest_files(base_db, [DATA / "clinics_bom_tab.tsv"], IngestOptions(today=TODAY))
    with duckdb.connect(str(base_db), read_only=True) as con:
        assert con.execute("SELECT answer FROM their_table").fetchall() == [(42,)]
        assert con.execute("SELECT count(*) FROM clinics").fetchone() == (3,)


def test_no_program_can_open_the_database_during_an_ingest(base_db: Path, tmp_path: Path) -> None:
    """While the transaction is open, another program can neither write (DuckDB's lock)
    nor read half of it (a NeedleWatch reader waits); afterwards both can."""
    from ingest.store import write_transaction

    reader = tmp_path / "reader.py"
    reader.write_text(
        textwrap.dedent(
            f"""
            import sys
            sys.path.insert(0, {str(ROOT)!r})
            from pathlib import Path
            from dashboard.store.db import connect_readonly
            from ingest.errors import NeedleWatchError
            try:
                con = connect_readonly(Path(sys.argv[1]), wait=float(sys.argv[2]))
            except NeedleWatchError as exc:
                print(exc)
            else:
                print(con.execute("SELECT count(*) FROM clinics").fetchone()[0])
            """
        )
    )

    def read(wait: float) -> str:
        done = subprocess.run(
            [sys.executable, str(reader), str(base_db), str(wait)], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    with write_transaction(base_db) as session:
        session.con.execute("INSERT INTO clinics VALUES ('C09', 'During', NULL, NULL, NULL, 9)")
        refused = _try_to_open_for_writing(base_db)
        assert refused.startswith(
            f'IO Error: Could not set lock on file "{base_db}": Conflicting lock is held in '
        )
        assert read(0.2).startswith(f"{base_db}: an ingest has been writing the database")
    assert read(0.2) == "3"
    assert _try_to_open_for_writing(base_db) == ""
    with duckdb.connect(str(base_db), read_only=True) as con:
        assert con.execute("SELECT name FROM clinics WHERE clinic_id = 'C09'").fetchall() == [
            ("During",)
        ]


def test_a_running_cli_ingest_keeps_writers_out(base_db: Path, tmp_path: Path) -> None:
    big = _big_treatments(tmp_path / "big.csv", 1_000_000, "W")
    proc = subprocess.Popen([*CLI, "ingest", "--db", str(base_db), str(big)])
    _wait_until_writing(base_db, proc)
    refused = _try_to_open_for_writing(base_db)
    assert proc.poll() is None, "the ingest finished before the test could try; use a bigger file"
    assert refused.startswith(f'IO Error: Could not set lock on file "{base_db}"')
    assert proc.wait(timeout=120) == 0
    with duckdb.connect(str(base_db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM treatments").fetchone() == (5 + 1_000_000,)


def test_writes_a_crashed_program_left_in_a_wal_are_kept(base_db: Path, capsys) -> None:
    """A program killed with the database open leaves its last commits in ``<db>.wal``;
    the ingest opens the file in place, so DuckDB merges them first: nothing is lost."""
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
    files = [str(DATA / "clinics_bom_tab.tsv")]
    assert main(["ingest", "--db", str(base_db), *files]) == 0
    capsys.readouterr()
    assert not wal.exists()
    with duckdb.connect(str(base_db), read_only=True) as con:
        assert con.execute("SELECT answer FROM their_table").fetchall() == [(7,)]
        assert con.execute("SELECT count(*) FROM clinics").fetchone() == (3,)
