"""A clinic's submission file, opened and checked before anything touches the database.

A submission is the zip ``needlewatch submit`` writes (``dashboard.report.submission``):

    treatment_cells.csv, event_cells.csv, serious_events.csv, quality.csv, manifest.json
        --read, every member's SHA-256 and row count checked against the manifest-->
    SubmissionFile(path, manifest fields, member bytes, file checksum)

What a body can rely on after ``open_submission`` returns: the file is a zip holding
exactly these five members and nothing else; the manifest is this format in a version
this release reads, names one clinic and one quarter and the bands the clinic used; each
member is the file the clinic's ``needlewatch submit`` wrote (its SHA-256 matches the
manifest: a member edited, truncated or swapped after the manifest was written is
refused), with the header this format defines. The rows themselves are checked in the
database (``ingest.submissions``). Anything else raises :class:`SubmissionRejected` with
one line naming the file, the member and what to do, as PCORnet and OHDSI refuse a
refresh whose manifest does not check out.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .errors import NeedleWatchError

FORMAT = "needlewatch-submission"
#: The submission format versions this release reads.
READS_FORMAT_VERSIONS = (1,)
MANIFEST = "manifest.json"
#: Each member and its header, in the order ``needlewatch submit`` writes them.
_CELL_KEYS = (
    "month", "clinic_id", "profession", "training_band", "experience_band", "body_region",
    "ultrasound_guided", "technique", "insertions_recorded",
)  # fmt: skip
MEMBER_COLUMNS: dict[str, tuple[str, ...]] = {
    "treatment_cells.csv": (*_CELL_KEYS, "treatments", "insertions"),
    "event_cells.csv": (*_CELL_KEYS, "category", "severity", "events", "treatments_affected"),
    "serious_events.csv": (
        "month",
        "category",
        "severity",
        "body_region",
        "ultrasound",
        "training_band",
        "outcome",
    ),  # fmt: skip
    "quality.csv": ("measure", "kind", "value"),
}
#: No member of an honest submission comes near this (a busy clinic's quarter: a few
#: thousand cells); a larger one is refused before it is unpacked.
MAX_MEMBER_BYTES = 64 * 1024 * 1024
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
AGAIN = "ask the clinic to send the file `needlewatch submit` wrote, unchanged"


class SubmissionRejected(NeedleWatchError):
    """A submission that cannot be received: the message names the file and the fix.
    Exit status 3, as for rejected rows: the other files of the batch still land."""

    exit_status = 3


@dataclass(frozen=True)
class SubmissionFile:
    """A submission whose manifest and checksums check out (rows not yet checked)."""

    path: Path
    sha256: str
    clinic_id: str
    quarter: str
    format_version: int
    tool_version: str | None
    created_at: str | None
    training_upper: tuple[float, ...]
    experience_cuts: tuple[float, ...]
    members: dict[str, bytes]
    rows: dict[str, int]
    min_cell: int | None = None  # the minimum cell it was pooled to (the body's profile)

    @property
    def data_checksums(self) -> tuple[str, ...]:
        """The members' SHA-256s: equal for two files holding the same counts, whenever
        they were written."""
        return tuple(hashlib.sha256(self.members[m]).hexdigest() for m in MEMBER_COLUMNS)


def _reject(path: Path, why: str, fix: str = AGAIN) -> SubmissionRejected:
    return SubmissionRejected(f"{path}: {why}; {fix}")


def open_submission(path: Path) -> SubmissionFile:
    """The submission in ``path``, its manifest and checksums checked; SubmissionRejected
    (one line) for anything that is not an intact submission of a version this reads."""
    path = Path(path)
    if not path.is_file():
        raise _reject(path, "no such file", "check the name")
    data = path.read_bytes()
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise _reject(path, "not a zip file") from None
    with archive:
        infos = {info.filename: info for info in archive.infolist()}
        missing = [m for m in (*MEMBER_COLUMNS, MANIFEST) if m not in infos]
        if missing:
            raise _reject(path, f"no {', '.join(missing)} in the zip")
        extra = sorted(set(infos) - {*MEMBER_COLUMNS, MANIFEST})
        if extra:
            raise _reject(path, f"unexpected member(s) {', '.join(extra)} in the zip")
        big = [n for n, info in infos.items() if info.file_size > MAX_MEMBER_BYTES]
        if big:
            raise _reject(path, f"{big[0]} is larger than {MAX_MEMBER_BYTES // 2**20} MB")
        try:
            members = {name: archive.read(name) for name in infos}
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise _reject(path, f"the zip is damaged ({exc})") from None
    manifest = _manifest(path, members.pop(MANIFEST))
    rows = {}
    for name, columns in MEMBER_COLUMNS.items():
        entry = manifest["members"].get(name)
        if not isinstance(entry, dict) or not isinstance(entry.get("rows"), int):
            raise _reject(path, f"manifest.json gives no checksum and row count for {name}")
        if hashlib.sha256(members[name]).hexdigest() != entry.get("sha256"):
            raise _reject(
                path,
                f"{name} does not match its SHA-256 in manifest.json (changed after the "
                "clinic wrote it)",
            )
        header = members[name].split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace")
        if tuple(header.split(",")) != columns:
            raise _reject(path, f"{name} has the header {header!r}, not {','.join(columns)}")
        rows[name] = entry["rows"]
    return SubmissionFile(
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        clinic_id=manifest["clinic_id"],
        quarter=manifest["quarter"],
        format_version=manifest["format_version"],
        tool_version=_text_or_none(manifest.get("tool_version")),
        created_at=_text_or_none(manifest.get("created_at")),
        training_upper=manifest["training_upper"],
        experience_cuts=manifest["experience_cuts"],
        members=members,
        rows=rows,
        min_cell=manifest["min_cell"],
    )


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _manifest(path: Path, raw: bytes) -> dict:
    """The manifest's fields, each of the type it must have (one line otherwise)."""
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _reject(path, f"manifest.json is not JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _reject(path, f"manifest.json does not say format {FORMAT!r}; not a submission")
    version = manifest.get("format_version")
    if version not in READS_FORMAT_VERSIONS:
        raise _reject(
            path,
            f"submission format version {version!r} is not one this NeedleWatch reads "
            f"({', '.join(map(str, READS_FORMAT_VERSIONS))})",
            "upgrade NeedleWatch at the body, or ask the clinic to submit with the body's version",
        )
    clinic, quarter = manifest.get("clinic_id"), manifest.get("quarter")
    if not isinstance(clinic, str) or not clinic.strip():
        raise _reject(path, "manifest.json names no clinic (clinic_id)")
    if not isinstance(quarter, str) or not _QUARTER.match(quarter):
        raise _reject(path, f"manifest.json's quarter {quarter!r} is not like 2026Q3")
    bands = manifest.get("bands")
    try:
        training = tuple(float(b) for b in bands["training_upper"])
        experience = tuple(float(b) for b in bands["experience_cuts"])
    except (TypeError, KeyError, ValueError):
        raise _reject(
            path, "manifest.json gives no bands (training_upper, experience_cuts)"
        ) from None
    if not isinstance(manifest.get("members"), dict):
        raise _reject(path, "manifest.json lists no members")
    min_cell = manifest.get("min_cell")
    if min_cell is not None and (isinstance(min_cell, bool) or not isinstance(min_cell, int)):
        raise _reject(path, f"manifest.json's min_cell {min_cell!r} is not a whole number")
    return {
        **manifest, "training_upper": training, "experience_cuts": experience,
        "min_cell": min_cell,
    }  # fmt: skip
