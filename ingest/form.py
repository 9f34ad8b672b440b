"""The incident report form's library: one adverse event filed, or followed up, by a signed-in
practitioner or safety officer, through the same validation and atomic write as any file.

    EventReport(treatment_id="T1", event_type="fainting", severity="moderate", ...)
      -> one-row adverse-events CSV (the canonical columns) -> ``ingest_files(strict=True)``
      -> adverse_events: the row added, or replaced (a follow-up: same event_id)
         event_versions: (event_id, version n+1, filed_by, filed_at, the row as stored)

Inside the ingest's transaction (``IngestOptions.filing``), before the load: an event first
loaded from a file and now followed up gets its stored row as version 1 ("file (ingest run
N)"), so the history starts where the event did. After the load: the treatment must be the
filer's (its practitioner for a practitioner role, its clinic for a clinic role), and a
serious event (a serious tier, a pneumothorax, or hospitalised) must say its outcome and
whether the patient was hospitalised; otherwise the whole filing rolls back with one line
saying what to add. A rejected value rolls it back too (``strict``), its reasons returned.
Writing one event updates the database file in place: no copy (``ingest.store``).
"""

from __future__ import annotations

import csv
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from .api import IngestOptions, IngestReport, ingest_files
from .errors import NeedleWatchError, StrictModeAbort
from .kinds import KINDS

#: The columns the form fills, in the canonical adverse-events order.
COLUMNS = tuple(c.name for c in KINDS["adverse_events"].columns)
SERIOUS_CATEGORIES = ("pneumothorax",)


class FilingRefused(NeedleWatchError):
    """The event cannot be filed as it stands; the message says what to change."""


@dataclass(frozen=True)
class EventReport:
    """What the reporter entered. ``event_id`` None files a new event; an id follows one up
    (every value is given again: the row is replaced, as a follow-up file replaces it)."""

    treatment_id: str
    event_type: str
    severity: str | None = None
    onset: str | None = None
    onset_date: date | None = None
    outcome: str | None = None
    hospitalised: bool | None = None
    narrative: str | None = None
    event_id: str | None = None

    def row(self, event_id: str) -> dict[str, str]:
        values = {**self.__dict__, "event_id": event_id}
        out = {}
        for name in COLUMNS:
            value = values.get(name)
            if isinstance(value, bool):
                value = "yes" if value else "no"
            out[name] = "" if value is None else str(value)
        return out


@dataclass(frozen=True)
class Filer:
    """Who files, and which treatments they may file against (None: any)."""

    user: str
    practitioners: tuple[str, ...] | None = None
    clinics: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Filed:
    """The outcome: the event and its new version, or the rejected values' reasons."""

    event_id: str
    version: int | None
    rejected: tuple[tuple, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.version is not None


@dataclass
class _Filing:
    """``IngestOptions.filing`` for one event (see the module docstring)."""

    event_id: str
    filer: Filer
    now: datetime
    version: int | None = None

    def before_load(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute(
            "INSERT INTO event_versions SELECT e.event_id, 1, 'file (ingest run ' || e.run_id "
            "|| ')', r.finished_at, e.* EXCLUDE (event_id) FROM adverse_events e "
            "JOIN ingest_runs r USING (run_id) WHERE e.event_id = ? AND NOT EXISTS "
            "(SELECT 1 FROM event_versions v WHERE v.event_id = e.event_id)",
            [self.event_id],
        )

    def after_load(self, con: duckdb.DuckDBPyConnection, report: IngestReport) -> None:
        row = con.execute(
            "SELECT t.practitioner_id, t.clinic_id, e.severity, e.category, e.outcome, "
            "e.hospitalised FROM adverse_events e JOIN treatments t USING (treatment_id) "
            "WHERE e.event_id = ?",
            [self.event_id],
        ).fetchone()
        if row is None:  # a rejected row (strict stops before this) or nothing read
            raise FilingRefused(f"event {self.event_id} was not stored; check the form")
        practitioner, clinic, severity, category, outcome, hospitalised = row
        filer = self.filer
        if not (
            (filer.practitioners is None and filer.clinics is None)
            or (filer.practitioners is not None and practitioner in filer.practitioners)
            or (filer.clinics is not None and clinic in filer.clinics)
        ):
            raise FilingRefused(
                "that treatment is not one of yours (its practitioner and clinic are not in "
                "your roles): check the treatment id"
            )
        serious = severity == "serious" or category in SERIOUS_CATEGORIES or hospitalised
        missing = [
            text
            for text, value in (("the outcome", outcome), ("whether hospitalised", hospitalised))
            if value is None or value == ""
        ]
        if serious and missing:
            raise FilingRefused(
                f"a serious event needs {' and '.join(missing)}: add them and file again"
            )
        (self.version,) = con.execute(
            "SELECT coalesce(max(version), 0) + 1 FROM event_versions WHERE event_id = ?",
            [self.event_id],
        ).fetchone()
        con.execute(
            "INSERT INTO event_versions SELECT event_id, ?, ?, ?, e.* EXCLUDE (event_id) "
            "FROM adverse_events e WHERE event_id = ?",
            [self.version, filer.user, self.now.replace(tzinfo=None), self.event_id],
        )


def new_event_id() -> str:
    """An id no file will have chosen: ``F-`` and 12 hex digits of a random UUID."""
    return f"F-{uuid.uuid4().hex[:12].upper()}"


def file_event(
    db_path: Path, report: EventReport, filer: Filer, *, today: date | None = None
) -> Filed:
    """File ``report`` into ``db_path`` as ``filer``: all of it, or nothing.

    Returns ``Filed`` with the new version, or with the rejected values' reasons (nothing
    written); raises ``FilingRefused`` (nothing written) for a treatment outside the
    filer's roles or a serious event without outcome and hospitalisation.
    """
    event_id = report.event_id or new_event_id()
    filing = _Filing(event_id, filer, datetime.now(UTC))
    with tempfile.TemporaryDirectory(prefix="needlewatch-form-") as folder:
        path = Path(folder) / "incident-report-form.csv"
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerow(report.row(event_id))
        options = IngestOptions(kind="adverse_events", strict=True, today=today, filing=filing)
        try:
            ingest_files(Path(db_path), [path], options)
        except StrictModeAbort as exc:
            rejected = getattr(exc, "report", None)
            rows = rejected.rejected_rows if rejected is not None else ()
            return Filed(event_id, None, tuple((r[2], r[3], r[4]) for r in rows))
    return Filed(event_id, filing.version)


def history(con: duckdb.DuckDBPyConnection, event_id: str) -> list[tuple]:
    """Every version of one event, oldest first: (version, filed_by, filed_at, category,
    severity, outcome, hospitalised, narrative)."""
    return con.execute(
        "SELECT version, filed_by, filed_at, category, severity, outcome, hospitalised, "
        "narrative FROM event_versions WHERE event_id = ? ORDER BY version",
        [event_id],
    ).fetchall()
