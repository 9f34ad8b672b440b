"""A clinic's quarterly submission to a professional body: counts, not rows.

FDA Sentinel's partners and PCORnet sites answer a network by running its package where
the data live and returning aggregate tables with a manifest; a submission does the same
for dry needling. One zip file per clinic and quarter:

    treatment_cells.csv  treatments and insertions by month x profession x training band x
                         experience band x body region x ultrasound x technique x
                         insertions recorded (the counts store's keys, the practitioner and
                         exact hours and years replaced by the body's bands)
    event_cells.csv      the same keys x category x severity (empty: all): events and
                         treatments affected
    serious_events.csv   one row per serious event: month, category, severity, body region,
                         ultrasound, training band, outcome (no id, day, narrative or term)
    quality.csv          events with an unmapped term; rows read and rejected by the
                         database's ingests
    manifest.json        format and version, database schema version, clinic, quarter,
                         body, tool version, created at, bands, and per member its SHA-256
                         and row count

Nothing in it names a patient, a practitioner, a treatment or an event
(``tests/test_submission.py`` searches every member for every id and key the database
holds). The body's bands come from its profile (``BodyProfile``, a TOML file it
publishes), so every member clinic bands alike; without one, the default bands.
"""

from __future__ import annotations

import hashlib
import io
import json
import tomllib
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd

from dashboard.report.render import write_atomically
from dashboard.store import submission as queries
from dashboard.store.bands import Bands
from dashboard.store.filters import parse_quarter
from dashboard.store.queries import unit_ids
from ingest.schema import SCHEMA_VERSION

FORMAT = "needlewatch-submission"
#: The submission format's version: a body refuses a version it does not read.
FORMAT_VERSION = 1
MEMBERS = ("treatment_cells.csv", "event_cells.csv", "serious_events.csv", "quality.csv")


@dataclass(frozen=True)
class BodyProfile:
    """What a professional body asks of its members' submissions (its TOML profile):

    [body]
    id = "IDNS"                      # who the submissions go to
    name = "Irish Dry Needling Society"
    [bands]
    training_upper = [20, 60, 100, 200]   # inclusive upper bounds of training bands
    experience_cuts = [2, 5, 10]          # lower bounds of the later experience bands
    [disclosure]
    min_cell = 5                          # optional: see below

    ``min_cell``: a treatment cell with fewer treatments withholds the practitioner's
    profession, training and experience bands and the technique (not given: empty or
    'unknown'), merging with the other cells of its month, body region, ultrasound and
    insertions recorded; a serious event's training band is withheld when the clinic gave
    fewer treatments in that band that month. Counts stay whole: every total is exact.
    """

    body_id: str | None = None
    name: str | None = None
    bands: Bands = field(default_factory=Bands)
    min_cell: int | None = None


_PROFILE_KEYS = {
    "body": {"id", "name"},
    "bands": {"training_upper", "experience_cuts"},
    "disclosure": {"min_cell"},
}


def read_profile(path: Path) -> BodyProfile:
    """The body profile in ``path``; ValueError with one line naming the file and the fix."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(
            f"{path}: no such body profile; ask the body for its profile file"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a TOML body profile ({exc}); fix the file") from None
    unknown = [k for k in data if k not in _PROFILE_KEYS] + [
        f"{section}.{k}"
        for section, keys in _PROFILE_KEYS.items()
        for k in (data.get(section) or {})
        if k not in keys
    ]
    if unknown:
        known = ", ".join(f"{s}.{k}" for s, keys in _PROFILE_KEYS.items() for k in sorted(keys))
        raise ValueError(f"{path}: unknown setting(s) {', '.join(unknown)}; use {known}")
    body, bands = data.get("body", {}), data.get("bands", {})
    try:
        chosen = Bands(
            tuple(bands.get("training_upper", Bands().training_upper)),
            tuple(bands.get("experience_cuts", Bands().experience_cuts)),
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: [bands] {exc}; fix the file") from None
    for key in ("id", "name"):
        if key in body and not isinstance(body[key], str):
            raise ValueError(f"{path}: body.{key} must be text in quotes; fix the file")
    min_cell = data.get("disclosure", {}).get("min_cell")
    if min_cell is not None and (
        isinstance(min_cell, bool) or not isinstance(min_cell, int) or min_cell < 2
    ):
        raise ValueError(
            f"{path}: disclosure.min_cell must be a whole number of 2 or more, got {min_cell!r}; "
            "fix the file"
        )
    return BodyProfile(body.get("id"), body.get("name"), chosen, min_cell)


@dataclass(frozen=True)
class Submission:
    """A submission ready to write: its tables (for ``--dry-run``), member files and
    manifest."""

    clinic: str
    quarter: str
    tables: dict[str, pd.DataFrame]
    files: dict[str, bytes]
    manifest: dict


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def choose_clinic(con: duckdb.DuckDBPyConnection, asked: str | None, db_label: str) -> str:
    """The clinic to submit for: ``asked`` when the database has it, else the one clinic
    with treatments; ValueError naming the choices otherwise."""
    known = unit_ids(con, "clinic")
    if asked is not None:
        if asked not in known:
            listed = ", ".join(known) or "none"
            raise ValueError(f"no clinic {asked!r} in {db_label} (clinics: {listed})")
        return asked
    treated = queries.clinic_ids(con)
    if len(treated) == 1:
        return treated[0]
    if not treated:
        raise ValueError(f"{db_label} holds no treatments: ingest them first")
    raise ValueError(
        f"{db_label} holds {len(treated)} clinics ({', '.join(treated)}): choose one with --clinic"
    )


def build_submission(
    con: duckdb.DuckDBPyConnection,
    clinic: str,
    quarter: str,
    profile: BodyProfile,
    *,
    today: date,
    created_at: datetime,
    tool_version: str,
) -> Submission:
    """The submission of ``clinic`` for ``quarter`` (a quarter that has ended by ``today``);
    a quarter without treatments gives empty tables: a nil return, not a missing one."""
    first, last = parse_quarter(quarter)
    if last >= today:
        raise ValueError(
            f"{quarter} has not ended yet (it ends {last:%d %b %Y}): submit a quarter once it "
            "is over"
        )
    month_to = last.replace(day=1)
    bands = profile.bands
    events, unmapped = queries.unmapped_events(con, clinic, first, last)
    ingests = queries.ingest_totals(con)
    quality = pd.DataFrame(
        [
            ("events", "", events),
            ("events with an unmapped term", "", unmapped),
            *[
                (f"rows {what} by ingests", row["kind"], int(row[f"rows_{what}"]))
                for _, row in ingests.iterrows()
                for what in ("read", "accepted", "updated", "rejected")
            ],
        ],
        columns=["measure", "kind", "value"],
    )
    small = profile.min_cell
    tables = {
        "treatment_cells.csv": queries.treatment_cells(con, clinic, first, month_to, bands, small),
        "event_cells.csv": queries.event_cells(con, clinic, first, month_to, bands, small),
        "serious_events.csv": queries.serious_list(con, clinic, first, last, bands, small),
        "quality.csv": quality,
    }
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "database_schema": SCHEMA_VERSION,
        "clinic_id": clinic,
        "quarter": quarter,
        "to": profile.body_id,
        "tool_version": tool_version,
        "created_at": created_at.isoformat(timespec="seconds"),
        "bands": {
            "training_upper": list(bands.training_upper),
            "experience_cuts": list(bands.experience_cuts),
        },
        "min_cell": profile.min_cell,
    }
    return seal(Submission(clinic, quarter, {}, {}, manifest), tables)


def seal(submission: Submission, tables: dict[str, pd.DataFrame]) -> Submission:
    """``submission`` holding ``tables``: their CSV files, and the manifest's members (each
    file's SHA-256 and row count) computed from them."""
    files = {name: _csv(frame) for name, frame in tables.items()}
    members = {
        name: {"sha256": hashlib.sha256(data).hexdigest(), "rows": len(tables[name])}
        for name, data in files.items()
    }
    manifest = {**submission.manifest, "members": members}
    return Submission(submission.clinic, submission.quarter, tables, files, manifest)


def submission_bytes(submission: Submission) -> bytes:
    """The zip file: the members in a fixed order, then the manifest with their checksums."""
    blob = io.BytesIO()
    with zipfile.ZipFile(blob, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in MEMBERS:
            archive.writestr(name, submission.files[name])
        archive.writestr("manifest.json", json.dumps(submission.manifest, indent=2) + "\n")
    return blob.getvalue()


def write_submission(submission: Submission, out: Path) -> None:
    """The zip file at ``out``, written whole or not at all (``render.write_atomically``)."""
    write_atomically(Path(out), submission_bytes(submission), "the submission")
