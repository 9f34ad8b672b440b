"""What stands between an ingest and the live database file: the folder it must write
in, the free space it needs, and other programs that have the file open.

Each problem becomes a named exception with one line naming the folder or file and the
fix, raised before anything is written (or, for a disk that fills up midway, after the
transaction is rolled back): never a traceback, never a half-written database.
"""

from __future__ import annotations

import errno
import math
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from needlewatch import settings

from .errors import DatabaseFolderError, DatabaseInUseError, DiskFullError, NeedleWatchError

#: errno values meaning the folder cannot be written, whoever asks.
_NOT_WRITABLE = {errno.EROFS, errno.EACCES, errno.EPERM}
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT}
_DISK_FULL_TEXT = ("No space left on device", "Disk quota exceeded")
#: DuckDB's words for a file another process (or, in this one, another configuration)
#: has open.
_IN_USE_TEXT = ("Could not set lock", "Conflicting lock", "different configuration")
#: What DuckDB adds when the other process has the file open read-only (it could be
#: opened read-only here too).
_READERS_TEXT = "would be able to open this database in read-only mode"
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (.*?) \(PID (\d+)\)")
_MB = 1024 * 1024


def make_folder(folder: Path) -> None:
    """Create the database's folder if needed, or say why it cannot be."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next(p for p in (folder, *folder.parents) if p.exists() and not p.is_dir())
        raise DatabaseFolderError(
            f"{folder}: not a folder ({blocker} is a file); pass --db with a path in a folder"
        ) from None
    except OSError as exc:
        raise folder_error(folder, exc) from None


def folder_error(folder: Path, exc: OSError) -> NeedleWatchError:
    """The one-line error for an OSError met while writing in ``folder``."""
    if exc.errno in _DISK_FULL:
        return disk_full(folder, None, midway=True)
    return DatabaseFolderError(
        f"{folder}: cannot write in this folder ({exc.strerror}); NeedleWatch keeps a lock "
        "file and a work folder beside the database: make the folder writable or pass --db "
        "with a path in a writable folder"
    )


def is_disk_full(exc: BaseException) -> bool:
    """An OSError or DuckDB error that says the disk (or the quota) is full."""
    if isinstance(exc, OSError):
        return exc.errno in _DISK_FULL
    return isinstance(exc, duckdb.Error) and any(t in str(exc) for t in _DISK_FULL_TEXT)


def is_not_writable(exc: OSError) -> bool:
    return exc.errno in _NOT_WRITABLE


def space_needed(input_bytes: int) -> int:
    """Bytes an ingest wants free beside the database: the input's size twice (the rows
    it adds to the file, which take less room there than as text, and the work folder:
    DuckDB's spill and any transcoded copy) and a margin (settings.FREE_SPACE_MARGIN_BYTES).
    The database itself is not copied."""
    return 2 * input_bytes + settings.FREE_SPACE_MARGIN_BYTES


def check_free_space(folder: Path, need: int) -> None:
    """Refuse before writing anything when the folder's disk has less than ``need`` free."""
    free = shutil.disk_usage(folder).free
    if free < need:
        raise disk_full(folder, need, free)


def disk_full(
    folder: Path, need: int | None, free: int | None = None, *, midway: bool = False
) -> DiskFullError:
    """ "not enough free space in FOLDER: need about X MB, Y MB free; ..."; ``free`` is
    measured now when not given. ``midway``: the disk filled up during the write."""
    if free is None:
        try:
            free = shutil.disk_usage(folder).free
        except OSError:
            free = 0
    wanted = f"need about {math.ceil(need / _MB)} MB, " if need is not None else ""
    when = "the disk filled up during the ingest, nothing was changed; " if midway else ""
    return DiskFullError(
        f"not enough free space in {folder}: {when}{wanted}{free // _MB} MB free; free some "
        "space or use --db on another disk"
    )


@contextmanager
def hold_live_file(db_path: Path, command: str) -> Iterator[int | None]:
    """Keep other programs from writing to the live file while a new one (``needlewatch
    demo``) is built to replace it.

    DuckDB locks a database file (fcntl) for every process that opens it: shared for
    read-only connections, exclusive for a read-write one. Holding a read-only
    connection until after the swap therefore (1) fails at once if another program (a
    DuckDB shell, DBeaver) has the file open for writing, whose committed rows the swap
    would silently drop, and (2) makes any such program fail to open it meanwhile.
    NeedleWatch's readers are read-only and share the lock.

    Yields an open file descriptor of the live file (None when there is none yet): it is
    closed only after the guard, since closing any descriptor of a file drops all of this
    process's fcntl locks on it.
    """
    if not db_path.exists():
        yield None
        return
    wal = db_path.with_name(db_path.name + ".wal")
    try:
        fd = os.open(db_path, os.O_RDONLY)
    except OSError as exc:
        raise DatabaseFolderError(
            f"{db_path}: cannot read the database ({exc.strerror}); check its permissions"
        ) from None
    try:
        try:
            guard = duckdb.connect(str(db_path), read_only=True)
        except (duckdb.IOException, duckdb.ConnectionException) as exc:
            if not any(t in str(exc) for t in _IN_USE_TEXT):
                raise
            raise in_use(db_path, str(exc), command) from None
        try:
            if wal.exists():  # a writer died without closing: its last writes are only there
                raise DatabaseInUseError(
                    f"{db_path}: {wal.name} holds writes a program did not finish (it "
                    "stopped without closing the database); open the database once in the "
                    f"DuckDB shell and quit it, then run the {command} again"
                )
            yield fd
        finally:
            guard.close()
    finally:
        os.close(fd)


def lock_conflict(message: str) -> bool:
    """DuckDB's error says another process (or connection) has the file open."""
    return any(t in message for t in _IN_USE_TEXT)


def readers_only(message: str) -> bool:
    """The process holding the file has it open read-only (a reader that will close it)."""
    return _READERS_TEXT in message


def lock_holder(message: str) -> str:
    """ "; PID 123, /usr/bin/duckdb" from DuckDB's lock error ("" when it does not say)."""
    found = _LOCK_HOLDER.search(message)
    return f"; PID {found.group(2)}, {found.group(1)}" if found else ""


def in_use(db_path: Path, message: str, command: str) -> DatabaseInUseError:
    return DatabaseInUseError(
        f"{db_path}: another program has the database open for writing (a DuckDB shell, "
        f"DBeaver...{lock_holder(message)}); close it and run the {command} again"
    )


def readers_too_long(
    db_path: Path, message: str, waited: float, command: str
) -> DatabaseInUseError:
    """A reader kept the file open for longer than an ingest waits."""
    return DatabaseInUseError(
        f"{db_path}: a program has kept the database open for reading for over "
        f"{waited:.0f} s ({lock_holder(message).removeprefix('; ') or 'a report or query'}); "
        f"close it or let it finish, and run the {command} again"
    )
