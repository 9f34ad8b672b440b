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

Other programs may open the file themselves (the DuckDB shell, DBeaver). From before the
copy until after the swap the writer holds the live file open read-only through DuckDB
(``livefile.hold_live_file``): a program that has it open for writing makes the ingest
refuse, and none can open it for writing meanwhile, so no write of theirs is lost.
A read-only folder, a file in place of the folder, or too little free space (checked
before copying; a disk that fills up midway removes the partial copy) is a one-line
error (``livefile``), never a traceback or a half-written file.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import duckdb

from needlewatch import settings

from .errors import DatabaseBusyError
from .livefile import (
    check_free_space,
    copy_from,
    disk_full,
    folder_error,
    hold_live_file,
    is_disk_full,
    make_folder,
    space_needed,
)
from .schema import migrate


@dataclass(frozen=True)
class WriteSession:
    """An open writable copy of the database and a scratch folder for the run."""

    con: duckdb.DuckDBPyConnection
    workdir: Path


def _temp_prefix(db_path: Path) -> str:
    return f".{db_path.name}.writing-"


def open_lock_file(db_path: Path) -> TextIO:
    """``<db>.lock``, created if needed: the first write into the database's folder."""
    return db_path.with_name(db_path.name + ".lock").open("a+")


@contextmanager
def _exclusive_lock(db_path: Path, timeout: float) -> Iterator[None]:
    try:
        handle = open_lock_file(db_path)
    except OSError as exc:
        raise folder_error(db_path.parent, exc) from None
    with handle as fh:
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
    input_bytes: int = 0,
    command: str = "ingest",
) -> Iterator[WriteSession]:
    """Yield a writable copy of ``db_path``; swap it in only if the block succeeds.

    ``fresh=True`` starts from an empty database instead of a copy (``needlewatch demo``).
    ``input_bytes`` (the size of the files to load) counts in the free space needed;
    ``command`` names what to run again in messages.
    """
    db_path = Path(db_path)
    folder = db_path.parent
    make_folder(folder)
    with _exclusive_lock(db_path, lock_timeout), hold_live_file(db_path, command) as live:
        _remove_orphans(db_path)
        need = space_needed(db_path, input_bytes, copying=not fresh)
        check_free_space(folder, need)
        token = f"{os.getpid()}-{secrets.token_hex(4)}"
        copy = db_path.with_name(f"{_temp_prefix(db_path)}{token}.duckdb")
        workdir = db_path.with_name(f"{_temp_prefix(db_path)}{token}.work")
        con = None
        try:
            try:
                workdir.mkdir()
                if live is not None and not fresh:
                    copy_from(live, copy)
            except OSError as exc:
                if is_disk_full(exc):
                    raise
                raise folder_error(folder, exc) from None
            con = duckdb.connect(
                str(copy),
                config={
                    "memory_limit": memory_limit,
                    "threads": threads,
                    "temp_directory": str(workdir / "spill"),
                    "preserve_insertion_order": True,
                },
            )
            migrate(con)
            yield WriteSession(con, workdir)
            con.execute("CHECKPOINT")
            con.close()
            _fsync(copy)
            os.replace(copy, db_path)
            _fsync(folder)
        except (OSError, duckdb.Error) as exc:
            if not is_disk_full(exc):
                raise
            _discard(con, copy, workdir)
            raise disk_full(folder, need, midway=True) from None
        finally:
            _discard(con, copy, workdir)


def _discard(con: duckdb.DuckDBPyConnection | None, copy: Path, workdir: Path) -> None:
    """Close the copy and delete it, its WAL and the scratch folder (after a swap, the
    copy's name is gone already)."""
    if con is not None:
        with suppress(duckdb.Error):  # closing after a failed write may fail the same way
            con.close()
    copy.unlink(missing_ok=True)
    copy.with_name(copy.name + ".wal").unlink(missing_ok=True)
    shutil.rmtree(workdir, ignore_errors=True)
