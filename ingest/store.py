"""Atomic, reader-friendly writes: lock, copy, write the copy, swap it in.

DuckDB lets one process with a read-write connection lock every other process out of
the file, readers included. So no NeedleWatch process ever opens the live file for
writing. A writer:

1. takes an exclusive ``flock`` on ``<db>.lock`` (a second ingest waits its turn, then
   sees the first one's data: both land, nothing is lost);
2. copies the live file to a private temporary file beside it;
3. migrates and writes the copy, checkpoints and closes it (no WAL left behind);
4. fsyncs it and ``os.replace``-s it over the live file (atomic on POSIX), then fsyncs
   the directory.

Readers open the live file read-only and keep whatever inode they opened, so a reader
never fails or sees half a write; the next open sees the new data. An exception,
``kill -9`` or power loss before step 4 leaves the live file exactly as it was; the
orphaned copy is removed by the next writer.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from needlewatch import settings

from .errors import DatabaseBusyError, FileUnreadableError
from .schema import migrate


@dataclass(frozen=True)
class WriteSession:
    """An open writable copy of the database and a scratch folder for the run."""

    con: duckdb.DuckDBPyConnection
    workdir: Path


def _temp_prefix(db_path: Path) -> str:
    return f".{db_path.name}.writing-"


@contextmanager
def _exclusive_lock(db_path: Path, timeout: float) -> Iterator[None]:
    lock_path = db_path.with_name(db_path.name + ".lock")
    with lock_path.open("a+") as fh:
        deadline = time.monotonic() + timeout
        told = False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise DatabaseBusyError(
                        f"{db_path}: another ingest has held the write lock for {timeout:.0f} s;"
                        " wait for it to finish and run the command again"
                    ) from None
                if not told:
                    print(f"waiting for another ingest on {db_path} to finish ...", file=sys.stderr)
                    told = True
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _remove_orphans(db_path: Path) -> None:
    """Delete copies left by writers that died (we hold the lock: none is running)."""
    for orphan in db_path.parent.glob(_temp_prefix(db_path) + "*"):
        if orphan.is_dir():
            shutil.rmtree(orphan, ignore_errors=True)
        else:
            orphan.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def write_transaction(
    db_path: Path,
    *,
    memory_limit: str = settings.INGEST_MEMORY_LIMIT,
    threads: int = settings.INGEST_THREADS,
    lock_timeout: float = settings.LOCK_TIMEOUT_SECONDS,
    fresh: bool = False,
) -> Iterator[WriteSession]:
    """Yield a writable copy of ``db_path``; swap it in only if the block succeeds.

    ``fresh=True`` starts from an empty database instead of a copy (``needlewatch demo``).
    """
    db_path = Path(db_path)
    try:
        db_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FileUnreadableError(f"{db_path.parent}: cannot create ({exc.strerror})") from None
    with _exclusive_lock(db_path, lock_timeout):
        _remove_orphans(db_path)
        token = f"{os.getpid()}-{secrets.token_hex(4)}"
        copy = db_path.with_name(f"{_temp_prefix(db_path)}{token}.duckdb")
        workdir = db_path.with_name(f"{_temp_prefix(db_path)}{token}.work")
        workdir.mkdir()
        if db_path.exists() and not fresh:
            shutil.copyfile(db_path, copy)
        con = duckdb.connect(
            str(copy),
            config={
                "memory_limit": memory_limit,
                "threads": threads,
                "temp_directory": str(workdir / "spill"),
                "preserve_insertion_order": True,
            },
        )
        try:
            migrate(con)
            yield WriteSession(con, workdir)
            con.execute("CHECKPOINT")
            con.close()
            _fsync(copy)
            os.replace(copy, db_path)
            _fsync(db_path.parent)
        finally:
            con.close()
            copy.unlink(missing_ok=True)
            copy.with_name(copy.name + ".wal").unlink(missing_ok=True)
            shutil.rmtree(workdir, ignore_errors=True)
