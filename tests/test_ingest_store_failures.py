"""The database's folder cannot take the ingest's writes: one line naming the folder and
the fix, exit status 2, the database as it was and nothing left behind.

- A read-only folder or filesystem once gave a traceback (OSError on ``<db>.lock``).
- A full disk once gave a traceback and left a partial copy and a ``.work`` folder.
- An ingest writes the file in place, in one transaction whose COMMIT is a checkpoint:
  a disk that fills up before or during COMMIT rolls it back (DuckDB never overwrote
  the last checkpoint's blocks, and switches the header only once all is written).

Tests run as root in CI, where ``chmod 555`` stops nothing, so the library tests make
the first write fail the way a read-only or full disk does (monkeypatch), and the real
cases use a file in place of the folder, and a small or read-only tmpfs mounted in a
private user and mount namespace (``unshare -rm``).
"""

from __future__ import annotations

import errno
import functools
import json
import math
import os
import shutil
import subprocess
import sys
import textwrap
from collections import namedtuple
from pathlib import Path

import duckdb
import pytest

import ingest.api
import ingest.store
from ingest.api import IngestOptions, ingest_files
from ingest.errors import DatabaseFolderError, DiskFullError
from needlewatch import settings
from needlewatch.cli import main

from .conftest import DATA, TODAY, db_contents

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
INPUT = DATA / "clinics_bom_tab.tsv"
READ_ONLY_FIX = (
    "NeedleWatch keeps a lock file and a work folder beside the database: make the folder "
    "writable or pass --db with a path in a writable folder"
)
SPACE_FIX = "free some space or use --db on another disk"


def _ingest(capsys, db: Path, *files: Path) -> tuple[int, str, str]:
    status = main(["ingest", "--db", str(db), *map(str, files)])
    out, err = capsys.readouterr()
    return status, out, err


def _state(db: Path) -> tuple[dict, list[str]]:
    """The database's contents and the folder's listing: both must survive a refusal."""
    return db_contents(db), sorted(os.listdir(db.parent))


# --- read-only folder ------------------------------------------------------------------


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES])
def test_read_only_folder_is_one_line_at_the_lock_file(
    base_db: Path, capsys, monkeypatch, code: int
) -> None:
    before = _state(base_db)

    def refuse(db_path: Path):
        raise OSError(code, os.strerror(code), str(db_path) + ".lock")

    monkeypatch.setattr(ingest.store, "open_lock_file", refuse)
    assert _ingest(capsys, base_db, INPUT) == (
        2,
        "",
        f"needlewatch: {base_db.parent}: cannot write in this folder ({os.strerror(code)}); "
        f"{READ_ONLY_FIX}\n",
    )
    assert _state(base_db) == before


def test_folder_that_refuses_new_files_is_one_line(base_db: Path, monkeypatch) -> None:
    """A folder whose lock file exists and is writable (chmod 555 after a first ingest)
    still refuses new files: the work folder cannot be made, nothing is written."""
    before = _state(base_db)

    def refuse(workdir: Path) -> None:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(workdir))

    monkeypatch.setattr(ingest.store, "make_workdir", refuse)
    with pytest.raises(DatabaseFolderError) as exc:
        ingest_files(base_db, [INPUT], IngestOptions(today=TODAY))
    assert str(exc.value) == (
        f"{base_db.parent}: cannot write in this folder (Permission denied); {READ_ONLY_FIX}"
    )
    assert _state(base_db) == before


@pytest.mark.parametrize("below", ["x.duckdb", "sub/x.duckdb"])
def test_a_file_in_place_of_the_folder(tmp_path: Path, capsys, below: str) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("not a folder\n")
    db = blocker / below
    assert _ingest(capsys, db, INPUT) == (
        2,
        "",
        f"needlewatch: {db.parent}: not a folder ({blocker} is a file); pass --db with a path "
        "in a folder\n",
    )
    assert blocker.read_text() == "not a folder\n"


# --- free space --------------------------------------------------------------------------


def test_too_little_free_space_is_refused_before_writing(
    base_db: Path, capsys, monkeypatch
) -> None:
    before = _state(base_db)
    Usage = namedtuple("Usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(10 * MB, 9 * MB, 3 * MB))
    need = 2 * INPUT.stat().st_size + settings.FREE_SPACE_MARGIN_BYTES  # no copy: the input
    assert _ingest(capsys, base_db, INPUT) == (
        2,
        "",
        f"needlewatch: not enough free space in {base_db.parent}: need about "
        f"{math.ceil(need / MB)} MB, 3 MB free; {SPACE_FIX}\n",
    )
    assert _state(base_db) == before


def test_disk_full_at_commit_rolls_back(base_db: Path, capsys, monkeypatch) -> None:
    before = db_contents(base_db)

    def fill_up(con: duckdb.DuckDBPyConnection) -> None:
        raise duckdb.IOException(
            f'IO Error: Could not write file "{base_db}.wal": No space left on device'
        )

    monkeypatch.setattr(ingest.store, "commit", fill_up)
    status, out, err = _ingest(capsys, base_db, INPUT)
    need = 2 * INPUT.stat().st_size + settings.FREE_SPACE_MARGIN_BYTES
    free = shutil.disk_usage(base_db.parent).free // MB
    assert (status, out) == (2, "")
    assert err in {
        f"needlewatch: not enough free space in {base_db.parent}: the disk filled up during "
        f"the ingest, nothing was changed; need about {math.ceil(need / MB)} MB, "
        f"{f} MB free; {SPACE_FIX}\n"
        for f in (free - 1, free, free + 1)  # other tests write meanwhile
    }
    assert db_contents(base_db) == before
    assert sorted(os.listdir(base_db.parent)) == ["base.duckdb", "base.duckdb.lock"]


@pytest.mark.parametrize(
    "failure",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        duckdb.IOException('IO Error: Could not write file "x.duckdb": No space left on device'),
    ],
    ids=["os", "duckdb"],
)
def test_disk_full_while_writing_rolls_back_and_removes_the_work_folder(
    base_db: Path, monkeypatch, failure: Exception
) -> None:
    before = _state(base_db)
    seen: list[Path] = []

    def load(con, source, opts, *, workdir, **run):
        seen.extend(p for p in base_db.parent.iterdir() if ".writing-" in p.name)
        (workdir / "spill").mkdir()
        (workdir / "spill" / "block.tmp").write_bytes(b"\0" * 4096)
        raise failure

    monkeypatch.setattr(ingest.api, "_load", load)
    with pytest.raises(DiskFullError) as exc:
        ingest_files(base_db, [INPUT], IngestOptions(today=TODAY))
    assert str(exc.value).startswith(
        f"not enough free space in {base_db.parent}: the disk filled up during the ingest, "
        "nothing was changed; need about "
    )
    assert [p.suffix for p in seen] == [".work"]  # a work folder, no copy
    assert _state(base_db) == before


# --- the real thing: small and read-only filesystems -------------------------------------

RUNNER = """
import contextlib, io, json, os, shutil, sys
sys.path.insert(0, {root!r})
mnt, mode, *argv = sys.argv[1:]
if mode == "skip-precheck":  # a disk that fills up after the check
    import ingest.store
    ingest.store.check_free_space = lambda folder, need: None
from needlewatch.cli import main
from tests.conftest import db_contents
db = os.path.join(mnt, "db.duckdb")
before, err = db_contents(db), io.StringIO()
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
    status = main(["ingest", "--db", db, *argv])
print(json.dumps({{"status": status, "err": err.getvalue(), "same": db_contents(db) == before,
                  "files": sorted(os.listdir(mnt)), "free": shutil.disk_usage(mnt).free}}))
"""


def _in_tmpfs(tmp_path: Path, db: Path, size: str, mode: str, *inputs: Path) -> dict:
    """Run an ingest of ``db`` (copied) on a private tmpfs of ``size``; ``mode`` is
    ``read-only`` (remounted so), ``skip-precheck`` or ``plain``."""
    usable = shutil.which("unshare") and (
        subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode == 0
    )
    if not usable:  # a kernel setting, not a package CI installs: the patched tests above
        pytest.skip("unshare -rm (user and mount namespaces) is not allowed on this machine")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER.format(root=str(ROOT)))
    remount = f"mount -o remount,ro {mnt}" if mode == "read-only" else "true"
    script = textwrap.dedent(
        f"""
        set -e
        mount -t tmpfs -o size={size} tmpfs {mnt}
        cp {db} {mnt}/db.duckdb
        {remount}
        exec {sys.executable} {runner} {mnt} {mode} {" ".join(map(str, inputs))}
        """
    )
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_real_read_only_filesystem(base_db: Path, tmp_path: Path) -> None:
    result = _in_tmpfs(tmp_path, base_db, "8m", "read-only", INPUT)
    mnt = tmp_path / "mnt"
    assert result == {
        "status": 2,
        "err": f"needlewatch: {mnt}: cannot write in this folder (Read-only file system); "
        f"{READ_ONLY_FIX}\n",
        "same": True,
        "files": ["db.duckdb"],
        "free": result["free"],
    }


def test_real_small_disk_is_refused_before_writing(base_db: Path, tmp_path: Path) -> None:
    size = f"{math.ceil((base_db.stat().st_size / MB + 1) * 1024)}k"  # 1 MB to spare
    result = _in_tmpfs(tmp_path, base_db, size, "plain", INPUT)
    need = 2 * INPUT.stat().st_size + settings.FREE_SPACE_MARGIN_BYTES
    assert result == {
        "status": 2,
        "err": f"needlewatch: not enough free space in {tmp_path / 'mnt'}: need about "
        f"{math.ceil(need / MB)} MB, {result['free'] // MB} MB free; {SPACE_FIX}\n",
        "same": True,
        "files": ["db.duckdb", "db.duckdb.lock"],
        "free": result["free"],
    }


@pytest.mark.parametrize("spare", [0.5, 2.5], ids=["nearly-full", "while-duckdb-writes"])
def test_real_disk_full_midway_leaves_nothing_behind(
    base_db: Path, tmp_path: Path, spare: float
) -> None:
    """The free-space check is skipped (as when another program fills the disk after it):
    with 0.5 or 2.5 MB to spare beside the database (sized from it), DuckDB's writes of
    40,000 rows (kept in memory until COMMIT, whose checkpoint writes them) fail, and
    the transaction is rolled back."""
    size = f"{math.ceil((base_db.stat().st_size / MB + spare) * 1024)}k"
    rows = tmp_path / "treatments.csv"
    with duckdb.connect() as con:
        con.execute(
            f"""COPY (SELECT 'R' || i AS treatment_id,
                   DATE '2024-01-01' + CAST(i % 600 AS INTEGER) AS treatment_date,
                   'P' || (1 + i % 3) AS practitioner_id, md5(i::VARCHAR) AS patient_id,
                   'gluteals' AS body_region, 'no' AS ultrasound_guided,
                   md5((i * 7)::VARCHAR) AS contraindications
                   FROM range(40000) r(i)) TO '{rows}'"""
        )
    result = _in_tmpfs(tmp_path, base_db, size, "skip-precheck", rows)
    need = 2 * rows.stat().st_size + settings.FREE_SPACE_MARGIN_BYTES
    assert result == {
        "status": 2,
        "err": f"needlewatch: not enough free space in {tmp_path / 'mnt'}: the disk filled up "
        f"during the ingest, nothing was changed; need about {math.ceil(need / MB)} "
        f"MB, {result['free'] // MB} MB free; {SPACE_FIX}\n",
        "same": True,
        "files": ["db.duckdb", "db.duckdb.lock"],
        "free": result["free"],
    }


def test_an_unforeseen_os_error_is_still_one_line(base_db: Path, capsys, monkeypatch) -> None:
    before = _state(base_db)

    def unreadable(path: Path) -> str:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr(ingest.api, "file_sha256", unreadable)
    assert _ingest(capsys, base_db, INPUT) == (2, "", f"needlewatch: {INPUT}: Permission denied\n")
    assert _state(base_db) == before


# --- out of memory ---------------------------------------------------------------------


def test_out_of_memory_is_one_line_and_changes_nothing(base_db: Path, capsys, monkeypatch) -> None:
    """DuckDB running out of its memory limit mid-ingest once printed "cannot use this
    database (Out of Memory Error ...)", blaming the database: it says what ran out and what
    to do, and the transaction leaves the database as it was. (A first load of 10 million
    treatments' events did run out at the 1,200 MB limit, until the treatments its events
    name were kept as the counted columns only: ``ingest.validate.known_treatments_sql``.)"""
    before = _state(base_db)
    tight = functools.partial(ingest.store.write_transaction, memory_limit="1MB")
    monkeypatch.setattr(ingest.api, "write_transaction", tight)
    status, out, err = _ingest(capsys, base_db, DATA / "treatments.csv")
    assert (status, out) == (2, "")
    assert err.startswith("needlewatch: ingest ran out of memory (Out of Memory Error: ")
    assert err.endswith(
        "); the database is unchanged: split the input into smaller files (a year each) and "
        "run them one after another, or report this with the files' sizes\n"
    )
    assert err.count("\n") == 1
    assert _state(base_db) == before
