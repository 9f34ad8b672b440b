"""Atomic, reader-friendly writes: lock, then one DuckDB transaction on the live file.

An ingest's cost follows its input, not the database: nothing is copied. A writer:

1. takes an exclusive ``flock`` on ``<db>.lock`` (a second ingest waits its turn, then
   sees the first one's data: both land, nothing is lost). While it is held, NeedleWatch's
   readers wait before opening the file (``open_for_reading``, behind
   ``dashboard.store.db.connect_readonly``), so a stream of short reads cannot keep the writer
   out;
2. opens the live file read-write. DuckDB then locks every other process out of it,
   readers included; if readers still have it open, the writer waits for them to close
   (they are short-lived: the dashboard opens a connection per query), up to
   ``settings.READERS_WAIT_SECONDS``. A program that has it open *for writing* (a DuckDB
   shell, DBeaver) makes the ingest refuse at once with a one-line message;
3. runs migrations, the whole load (temp tables, scans, spills to a work folder beside
   the database) and any follow-up inside ``BEGIN ... COMMIT``; any exception rolls
   back. COMMIT is the one moment the batch lands, as a checkpoint that skips the WAL:
   DuckDB writes the new blocks into free space in the file, then switches the file's
   header to them in one write.

An exception, ``--strict``'s abort, a full disk, Ctrl-C or ``kill -9`` at any point
before that switch leaves the previous state: DuckDB never overwrites the blocks of the
last checkpoint, and rows an unfinished transaction already wrote to free blocks are
unreachable (the next write reuses them). After the switch the whole batch is there.
Readers never see half a batch: they cannot open the file until the writer has closed
it.

``fresh=True`` (``needlewatch demo``) builds a new file beside the live one the same
way and swaps it in with ``os.replace``; readers keep reading the old one meanwhile,
and a read-only guard (``livefile.hold_live_file``) keeps other programs from writing
to the file the swap replaces. Work folders of writers that died are removed by the
next writer. A read-only folder, a file in place of the folder, or too little free
space (for the input and the spill, checked first; a disk that fills up midway rolls
back) is a one-line error (``livefile``), never a traceback or a half-written file.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import duckdb

from needlewatch import settings

from .errors import DatabaseBusyError, DatabaseInUseError
from .livefile import (
    check_free_space,
    disk_full,
    folder_error,
    hold_live_file,
    in_use,
    is_disk_full,
    lock_conflict,
    lock_holder,
    make_folder,
    readers_only,
    readers_too_long,
    space_needed,
)
from .schema import migrate


@dataclass(frozen=True)
class WriteSession:
    """The open write transaction on the database and a scratch folder for the run."""

    con: duckdb.DuckDBPyConnection
    workdir: Path


def _temp_prefix(db_path: Path) -> str:
    return f".{db_path.name}.writing-"


def lock_path(db_path: Path) -> Path:
    """``<db>.lock``: writers queue on it; readers look at it before opening the file."""
    return db_path.with_name(db_path.name + ".lock")


def open_lock_file(db_path: Path) -> TextIO:
    """``<db>.lock``, created if needed: the first write into the database's folder."""
    return lock_path(db_path).open("a+")


def ingest_running(db_path: Path) -> bool:
    """True while a NeedleWatch writer holds ``<db>.lock`` (never creates the file)."""
    try:
        fd = os.open(lock_path(db_path), os.O_RDONLY)
    except OSError:  # no lock file yet (no ingest ever ran), or not readable: no gate
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # drops the shared lock at once
    return False


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
                time.sleep(settings.RETRY_PAUSE_SECONDS)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _remove_orphans(db_path: Path) -> None:
    """Delete work folders (and new files) left by writers that died (we hold the lock:
    none is running)."""
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


def open_for_writing(
    db_path: Path, config: dict[str, object], command: str, wait: float
) -> duckdb.DuckDBPyConnection:
    """A read-write connection to ``db_path``, once no other process has it open.

    Readers are waited for (short sleeps, up to ``wait`` seconds); a program holding the
    file open for writing is refused at once (``livefile.in_use``).
    """
    deadline = time.monotonic() + wait
    told = False
    while True:
        try:
            return duckdb.connect(str(db_path), config=config)
        except (duckdb.IOException, duckdb.ConnectionException) as exc:
            message = str(exc)
            if not lock_conflict(message):
                raise
            if not readers_only(message):
                raise in_use(db_path, message, command) from None
        if time.monotonic() > deadline:
            raise readers_too_long(db_path, message, wait, command)
        if not told:
            print(f"waiting for readers of {db_path} to close it ...", file=sys.stderr)
            told = True
        time.sleep(settings.RETRY_PAUSE_SECONDS)


def open_for_reading(
    db_path: Path, *, wait: float | None = None, wait_other: float | None = None
) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect(read_only=True)`` without a progress bar, waiting while a writer
    has the file.

    While a NeedleWatch ingest holds ``<db>.lock`` no open is even tried (the writer then
    only waits for the readers already open, never for a stream of new ones); past
    ``wait`` seconds (settings.READ_WAIT_SECONDS) a one-line DatabaseBusyError. Another
    program that has the file open for writing is waited for ``wait_other`` seconds
    (settings.READ_WAIT_OTHER_WRITER_SECONDS), then named in a DatabaseInUseError.
    """
    wait = settings.READ_WAIT_SECONDS if wait is None else wait
    wait_other = settings.READ_WAIT_OTHER_WRITER_SECONDS if wait_other is None else wait_other
    start = time.monotonic()
    while True:
        writing = ingest_running(db_path)
        message = ""
        if not writing:
            try:
                # no progress bar: DuckDB prints it on stdout during a query over 2 s
                # (100 million treatments), inside a command's CSV or JSON output; off, and
                # never printed even if a caller turns it on (progress_bar_time does)
                con = duckdb.connect(str(db_path), read_only=True)
                con.execute("SET enable_progress_bar = false")
                con.execute("SET enable_progress_bar_print = false")
                return con
            except (duckdb.IOException, duckdb.ConnectionException) as exc:
                message = str(exc)
                if not lock_conflict(message):
                    raise
            writing = ingest_running(db_path)
        waited = time.monotonic() - start
        if writing and waited > wait:
            raise DatabaseBusyError(
                f"{db_path}: an ingest has been writing the database for over {wait:g} s; "
                "try again when it has finished"
            )
        if not writing and waited > wait_other:
            raise DatabaseInUseError(
                f"{db_path}: another program has the database open for writing (a DuckDB "
                f"shell, DBeaver...{lock_holder(message)}); close it and try again"
            )
        time.sleep(settings.RETRY_PAUSE_SECONDS)


@contextmanager
def write_transaction(
    db_path: Path,
    *,
    memory_limit: str = settings.INGEST_MEMORY_LIMIT,
    threads: int = settings.INGEST_THREADS,
    lock_timeout: float = settings.LOCK_TIMEOUT_SECONDS,
    readers_wait: float = settings.READERS_WAIT_SECONDS,
    fresh: bool = False,
    input_bytes: int = 0,
    command: str = "ingest",
) -> Iterator[WriteSession]:
    """Yield a connection inside one transaction on ``db_path``; commit only if the block
    succeeds, roll back on any exception.

    ``fresh=True`` starts from an empty database, swapped in whole (``needlewatch demo``).
    ``input_bytes`` (the size of the files to load) sets the free space needed;
    ``command`` names what to run again in messages.
    """
    db_path = Path(db_path)
    folder = db_path.parent
    make_folder(folder)
    with _exclusive_lock(db_path, lock_timeout):
        _remove_orphans(db_path)
        need = space_needed(input_bytes)
        check_free_space(folder, need)
        token = f"{os.getpid()}-{secrets.token_hex(4)}"
        workdir = db_path.with_name(f"{_temp_prefix(db_path)}{token}.work")
        try:
            make_workdir(workdir)
        except OSError as exc:
            raise folder_error(folder, exc) from None
        config = {
            "memory_limit": memory_limit,
            "threads": threads,
            "temp_directory": str(workdir / "spill"),
            "preserve_insertion_order": True,
            # COMMIT is a checkpoint that skips the WAL (see _transaction): the file's
            # header switches to the new blocks in one write, or nothing changes.
            "checkpoint_threshold": "0b",
            "auto_checkpoint_skip_wal_threshold": 0,
        }
        new = db_path.with_name(f"{_temp_prefix(db_path)}{token}.duckdb")
        try:
            if fresh or not db_path.exists():  # a first ingest leaves no file if it fails
                with hold_live_file(db_path, command):
                    con = duckdb.connect(str(new), config=config)
                    with _transaction(con, folder, need) as session_con:
                        yield WriteSession(session_con, workdir)
                    _fsync(new)
                    os.replace(new, db_path)
                    _fsync(folder)
            else:
                con = open_for_writing(db_path, config, command, readers_wait)
                try:
                    with _transaction(con, folder, need) as session_con:
                        yield WriteSession(session_con, workdir)
                except BaseException:
                    _tidy_wal(db_path)
                    raise
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
            for leftover in (new, new.with_name(new.name + ".wal")):  # a fresh build that failed
                leftover.unlink(missing_ok=True)


def _tidy_wal(db_path: Path) -> None:
    """After a failed write, let DuckDB remove the empty ``<db>.wal`` that a COMMIT which
    failed (a full disk) leaves behind, by opening the file once; nothing to do, or
    nothing possible (another program got the file first), otherwise."""
    if db_path.with_name(db_path.name + ".wal").exists():
        with suppress(duckdb.Error):
            duckdb.connect(str(db_path)).close()


def make_workdir(workdir: Path) -> None:
    """The run's scratch folder beside the database (spill, transcoded copies)."""
    workdir.mkdir()


@contextmanager
def _transaction(
    con: duckdb.DuckDBPyConnection, folder: Path, need: int
) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN, migrate, the caller's block, COMMIT; ROLLBACK on any exception. Closes ``con``.

    The connection is configured so that COMMIT checkpoints without writing the WAL:
    DuckDB writes the transaction's blocks to free space in the file, fsyncs, then
    switches the file's header to them. A kill before that switch leaves the previous
    state; after it, the whole batch. (A COMMIT that goes through the WAL is not safe
    to kill: DuckDB 1.5 can replay a torn WAL partly, the optimistically written rows of
    a large append without the rest of the transaction; tests/test_atomic_concurrent.py.)
    A COMMIT that fails (a full disk) has changed nothing on disk.
    """
    try:
        # DuckDB's own bar would print on stdout for any statement over 2 s, into a cron
        # log or `needlewatch demo`'s output; the CLI draws its own (ingest.progress)
        con.execute("SET enable_progress_bar_print = false")
        con.execute("BEGIN TRANSACTION")
        migrate(con)
        yield con
        with _no_interrupt():
            commit(con)
    except BaseException as exc:
        with suppress(duckdb.Error):  # after a failed write, rolling back may fail too
            con.execute("ROLLBACK")
        if isinstance(exc, (OSError, duckdb.Error)) and is_disk_full(exc):
            raise disk_full(folder, need, midway=True) from None
        raise
    finally:
        with suppress(duckdb.Error):  # closing after a failed write may fail the same way
            con.close()


def commit(con: duckdb.DuckDBPyConnection) -> None:
    """The moment the batch lands (separate so tests can stop a process right there)."""
    con.execute("COMMIT")


@contextmanager
def _no_interrupt() -> Iterator[None]:
    """Ctrl-C is ignored while the batch is committed: an interrupted COMMIT would leave
    "interrupted; the database is unchanged" to be decided by a race."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
