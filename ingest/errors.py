"""Named exceptions of the ingest library.

Each carries a one-line message that says what is wrong and what to do; the CLI
prints ``str(exc)`` and maps the class to an exit status. Nothing here formats a
traceback for the user.
"""

from __future__ import annotations


class NeedleWatchError(Exception):
    """Base class: the message is a complete one-line instruction for the user."""

    exit_status = 2


class UnusableInputError(NeedleWatchError):
    """A file cannot be ingested at all (exit status 2): nothing from the run lands."""


class FileUnreadableError(UnusableInputError):
    """The file is missing, unreadable, or not the format its name says."""


class UnknownFormatError(UnusableInputError):
    """The file's extension is not one NeedleWatch reads."""


class EncodingProblemError(UnusableInputError):
    """The file is not in the expected text encoding."""


class UnknownKindError(UnusableInputError):
    """The header does not say which kind of file this is."""


class MissingColumnsError(UnusableInputError):
    """Required columns are absent from the header."""


class BadHeaderError(UnusableInputError):
    """The header has duplicate or empty column names."""


class StrictModeAbort(NeedleWatchError):
    """``--strict`` and at least one row was rejected: nothing was written.

    ``report`` carries the would-be IngestReport so the rejects can still be shown.
    """

    exit_status = 3
    report: object = None

    def with_report(self, report: object) -> StrictModeAbort:
        self.report = report
        return self


class DatabaseMissingError(NeedleWatchError):
    """A reading command was pointed at a database file that does not exist."""


class DatabaseBusyError(NeedleWatchError):
    """Another ingest held the write lock for longer than the timeout (for an ingest), or
    an ingest ran for longer than a reader waits for it."""


class DatabaseInUseError(NeedleWatchError):
    """Another program (a DuckDB shell, DBeaver) has the database open for writing, or
    has kept it open for reading for longer than an ingest waits: DuckDB lets no process
    write a file another has open."""


class DatabaseFolderError(NeedleWatchError):
    """The database's folder cannot be written (read-only, no permission, not a folder)."""


class DiskFullError(NeedleWatchError):
    """Too little free space for the ingest's writes; nothing was changed."""


class SchemaTooNewError(NeedleWatchError):
    """The database was written by a newer NeedleWatch than this one."""


class SchemaTooOldError(NeedleWatchError):
    """The database was written by an older NeedleWatch: readers cannot upgrade it (they
    open it read-only); ``needlewatch upgrade`` (or any ingest) does."""


class IngestBookkeepingError(NeedleWatchError):
    """Two scans of one file disagree on its row count: abort rather than lose a row."""
