"""``needlewatch demo --network``: a professional body's database fed by its member
clinics' quarterly submissions, with the history a body really sees.

    demo rows (ingest.demo, the same seed) --> one clinic-side database, in a temp folder
        --needlewatch submit, per clinic and ended quarter--> submissions/*.zip
        --replayed in order of arrival (ingest_submissions(now=...))--> the body database

The history, fixed so the pages show each case (``ARRIVALS``):
- most quarters arrive 5 to 25 days after they end (due after ``SUBMISSION_DUE_DAYS``);
- C07 sends two quarters late, and C11 has not sent the latest quarter (missing);
- C04 first sends 2025Q2 with its last month left out of the export, then the whole
  quarter as version 2 (the versions show the totals before and after);
- C13's latest quarter lacks its last month and has not been sent again: its treatments
  fall by a third against its usual quarter, and the page flags it for checking;
- C09's first file for the latest quarter is altered after it was written (rejected for
  its checksum), and the clinic sends it again intact.

Every zip stays in ``<out>/submissions/`` so the body's commands can be tried on them.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from dashboard.report.submission import (
    BodyProfile,
    Submission,
    build_submission,
    seal,
    submission_bytes,
)
from dashboard.store.filters import parse_quarter, quarter_of, quarters_between, shift_quarter
from dashboard.store.queries import data_coverage, unit_ids
from ingest.api import IngestOptions, ingest_files
from ingest.demo import DEMO_START, generate_demo
from ingest.store import open_for_reading
from ingest.submissions import SubmissionReport, ingest_submissions
from needlewatch import __version__

#: Days after its quarter's end each clinic's submission usually arrives (5 to 25).
_USUAL_DAYS = {f"C{i:02d}": 5 + (i * 7) % 21 for i in range(1, 15)}
LATE = {("C07", -2): 52, ("C07", -5): 41}  # (clinic, quarters before the latest): days
MISSING = {("C11", -1)}
SHORT_THEN_WHOLE = ("C04", "2025Q2", 24)  # first version lacks its last month; v2 N days on
SHORT = {("C13", -1)}  # the latest quarter's export lacks its last month (not yet resent)
TAMPERED_THEN_INTACT = ("C09", -1, 9)  # rejected, then sent intact N days on


@dataclass(frozen=True)
class Arrival:
    """One file as the body receives it."""

    day: datetime
    path: Path


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour))


def build_network(
    out: Path, db_path: Path, *, seed: int, treatments: int, today: date
) -> tuple[SubmissionReport, list[Arrival]]:
    """Write the demo clinics' submissions into ``out/submissions`` and receive them, in
    order of arrival, into ``db_path`` (replaced), its register the demo's clinics."""
    folder = Path(out) / "submissions"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        paths = generate_demo(Path(tmp) / "csv", seed=seed, n_treatments=treatments)
        clinic_db = Path(tmp) / "clinics.duckdb"
        ingest_files(clinic_db, list(paths.values()), IngestOptions(today=today), replace=True)
        register = Path(out) / "register.csv"
        _register(paths["clinics"], register)
        arrivals = _write_submissions(clinic_db, folder, today)
    # the register first, into a fresh body database; then every file in order of arrival
    ingest_files(db_path, [register], IngestOptions(today=today), replace=True)
    ordered = sorted(arrivals, key=lambda a: (a.day, a.path.name))
    report = ingest_submissions(
        db_path, [a.path for a in ordered], today=today, received_by="demo",
        arrived={a.path: a.day for a in ordered},
    )  # fmt: skip
    return report, ordered


def _register(clinics: Path, register: Path) -> None:
    """The body's member register: the demo clinics, each joined when the demo network
    began (``joined_on``: a submission for an earlier quarter would be refused)."""
    lines = clinics.read_text(encoding="utf-8").splitlines()
    rows = [f"{lines[0]},joined_on", *(f"{line},{DEMO_START.isoformat()}" for line in lines[1:])]
    register.write_text("\n".join(rows) + "\n", encoding="utf-8")


def _write_submissions(clinic_db: Path, folder: Path, today: date) -> list[Arrival]:
    profile = BodyProfile("DEMO", "Demo professional body")
    arrivals: list[Arrival] = []
    with open_for_reading(clinic_db) as con:
        first, last = data_coverage(con)
        # the quarters with demo data that have ended (the same history whatever today)
        ended = shift_quarter(quarter_of(today), -1)
        quarters = quarters_between(quarter_of(first), min(ended, quarter_of(last)))
        for clinic in unit_ids(con, "clinic"):
            for back, quarter in enumerate(reversed(quarters), start=1):
                if (clinic, -back) in MISSING:
                    continue
                end = parse_quarter(quarter)[1]
                days = LATE.get((clinic, -back), _USUAL_DAYS[clinic])
                sent = _at(end + timedelta(days=days))
                if sent.date() > today:
                    continue  # not sent yet
                created = datetime.combine(sent.date(), time(9), tzinfo=UTC)
                sub = build_submission(
                    con, clinic, quarter, profile, today=sent.date(),
                    created_at=created, tool_version=__version__,
                )  # fmt: skip
                name = f"{clinic}-{quarter}"
                whole = folder / f"{name}.zip"
                whole.write_bytes(
                    _without_last_month(sub) if (clinic, -back) in SHORT else submission_bytes(sub)
                )
                if (clinic, quarter) == SHORT_THEN_WHOLE[:2]:
                    short = folder / f"{name}-first-export.zip"
                    short.write_bytes(_without_last_month(sub))
                    arrivals.append(Arrival(sent, short))
                    sent = sent + timedelta(days=SHORT_THEN_WHOLE[2])
                if (clinic, -back) == TAMPERED_THEN_INTACT[:2]:
                    bad = folder / f"{name}-altered.zip"
                    bad.write_bytes(_altered(whole.read_bytes()))
                    arrivals.append(Arrival(sent, bad))
                    sent = sent + timedelta(days=TAMPERED_THEN_INTACT[2])
                arrivals.append(Arrival(sent, whole))
    return arrivals


def _without_last_month(sub: Submission) -> bytes:
    """``sub`` as an export that stopped a month short: its last month's rows dropped, the
    manifest sealed over what is left (as the clinic's tool would)."""
    last = max(sub.tables["treatment_cells.csv"]["month"])
    tables = {
        name: (frame[frame["month"] != last] if "month" in frame.columns else frame)
        for name, frame in sub.tables.items()
    }
    return submission_bytes(seal(sub, tables))


def _altered(data: bytes) -> bytes:
    """The zip with one count in its treatment cells changed and the manifest left as it
    was: what a hand edit after the export looks like."""
    source = zipfile.ZipFile(io.BytesIO(data))
    blob = io.BytesIO()
    with source, zipfile.ZipFile(blob, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            member = source.read(info.filename)
            if info.filename == "treatment_cells.csv":
                header, first, rest = member.split(b"\n", 2)
                cells = first.split(b",")
                cells[-2] = str(int(cells[-2]) + 7).encode()
                member = b"\n".join([header, b",".join(cells), rest])
            target.writestr(info.filename, member)
    return blob.getvalue()
