"""A first mapping profile for a foreign export, for the user to check and correct.

``propose(path)`` reads the first rows, finds the header (the first row as full as the
fullest of the first rows: a title row above it has one or two cells), and for every
canonical column of every kind looks for the export's column by name (the canonical name,
then synonyms that practice-management and incident systems use) and checks it by content
(a date column holds dates, a yes/no column few distinct values, a number column numbers).
The kind is the one with most required columns found. For dates it picks the format every
sample fits, day first when nothing tells (the UK/EU order of NeedleWatch's users, said
in the proposal's notes); for a yes/no column it maps words such as "US-guided" and
"palpation" and lists any value it cannot place. Nothing is guessed silently: each choice
and each gap is a note.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .kinds import DETECTION_ORDER, Kind
from .mapping import HEADER_SEARCH_ROWS, MappingProfile, _key, read_rows
from .vocab import FALSE_WORDS, TRUE_WORDS

#: Other names for canonical columns, compared with ``mapping._key`` (case and spaces).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "treatment_id": ("appointment id", "appt id", "booking id", "visit id", "session id",
                     "encounter id", "treatment id", "treatment ref", "appointment ref"),
    "treatment_date": ("appointment date", "appt date", "visit date", "session date",
                       "date of treatment", "treatment date", "date"),
    "practitioner_id": ("practitioner", "clinician", "therapist", "practitioner code",
                        "provider", "staff code", "practitioner id"),
    "clinic_id": ("clinic", "location", "site", "branch", "practice", "clinic code"),
    "patient_id": ("patient", "patient id", "patient number", "client id", "client", "mrn"),
    "body_region": ("area", "region", "body area", "body part", "area treated",
                    "region needled", "body region"),
    "ultrasound_guided": ("ultrasound", "us guided", "us-guided", "guidance",
                          "image guided", "ultrasound guided"),
    "needle_insertions": ("insertions", "needles", "number of needles", "needle count"),
    "technique": ("technique", "method", "needling technique"),
    "retention_minutes": ("retention", "retention (min)", "needle time", "minutes in"),
    "electrical_stimulation": ("e-stim", "estim", "electrical stimulation", "electro"),
    "contraindications": ("contraindications", "cautions", "precautions"),
    "event_id": ("incident id", "incident number", "incident ref", "report id",
                 "incident no", "event id", "reference"),
    "event_type": ("incident type", "event", "event type", "adverse event", "what happened",
                   "type of incident"),
    "severity": ("severity", "grade", "harm level", "degree of harm", "harm"),
    "onset": ("onset", "timing", "when"),
    "onset_date": ("date of onset", "onset date", "incident date", "date of incident"),
    "outcome": ("outcome", "result"),
    "hospitalised": ("hospitalised", "hospitalized", "admitted", "hospital admission",
                     "admitted to hospital"),
    "narrative": ("narrative", "description", "details", "notes", "comments"),
    "dn_training_hours": ("training hours", "dn training hours", "dry needling training",
                          "hours of training", "training (hours)"),
    "years_dn_experience": ("years experience", "years of experience", "experience (years)",
                            "dn experience"),
    "profession": ("profession", "role", "discipline"),
}  # fmt: skip

#: Date formats tried on a date column's samples, day-first before month-first.
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%d/%m/%y",
                "%m/%d/%y", "%Y/%m/%d")  # fmt: skip
#: Words that say yes or no in exports, beyond the canonical yes/no/true/false/y/n/1/0.
YES_HINTS = ("us-guided", "us guided", "ultrasound", "guided", "x", "✓", "checked", "ticked")
NO_HINTS = ("palpation", "landmark", "landmark-guided", "unguided", "none", "-", "not guided")
SAMPLE_ROWS = 200


@dataclass(frozen=True)
class Proposal:
    """A profile to check, the header's row, and a note on each choice and gap."""

    profile: MappingProfile
    header_row: int
    notes: tuple[str, ...]
    unmatched: tuple[str, ...]  # the export's columns left out


def _header_index(rows: list[list[str | None]]) -> int:
    counts = [sum(1 for c in row if c) for row in rows[:HEADER_SEARCH_ROWS]]
    if not counts or max(counts) == 0:
        return 0
    return next(i for i, n in enumerate(counts) if n >= 0.8 * max(counts))


def _is_number(text: str) -> bool:
    return re.fullmatch(r"[-+]?\d+([.,]\d+)?", text.strip()) is not None


def _fits(text: str, fmt: str) -> bool:
    try:
        datetime.strptime(text.split(" ")[0].split("T")[0], fmt)
    except ValueError:
        return False
    return True


def date_format_of(samples: list[str]) -> tuple[str | None, str]:
    """The format most samples fit (at least 80%), and why: day first when the samples
    allow both orders, and how many samples fit no format (validation will reject them)."""
    samples = [s for s in samples if s]
    if not samples:
        return None, "no dates to tell the format from"
    # a workbook's real dates arrive as ISO whatever the export's format: the text tells
    written = [s for s in samples if not _fits(s, "%Y-%m-%d")]
    samples = written or samples
    counts = {fmt: sum(_fits(s, fmt) for s in samples) for fmt in DATE_FORMATS}
    best = max(DATE_FORMATS, key=lambda f: counts[f])  # first of the best: day first
    if counts[best] < 0.8 * len(samples):
        return None, f"dates such as {samples[0]!r} fit none of the known formats"
    why = best
    if any(counts[f] == counts[best] for f in DATE_FORMATS if f != best):
        why += " (every day is 12 or less: day first assumed; check)"
    bad = len(samples) - counts[best]
    if bad:
        why += f"; {bad} of the first {len(samples)} fit no format and will be rejected"
    return best, why


def _content_fits(column_type: str, samples: list[str]) -> bool:
    values = [s for s in samples if s]
    if not values:
        return True  # an empty column is judged by its name alone
    if column_type == "date":
        return sum(any(_fits(v, f) for f in DATE_FORMATS) for v in values) >= 0.8 * len(values)
    if column_type in ("number", "integer"):
        return sum(_is_number(v) for v in values) >= 0.9 * len(values)
    if column_type == "bool":
        return len({_key(v) for v in values}) <= 4
    return True


def _value_map(samples: list[str]) -> tuple[dict[str, str], list[str]]:
    """For a yes/no column: the export's words mapped to yes/no, and those left unknown."""
    mapped, unknown, seen = {}, [], set()
    for value in sorted({s for s in samples if s}):
        key = _key(value)
        if key in seen or key in TRUE_WORDS or key in FALSE_WORDS:
            continue  # matched ignoring case at load: one spelling is enough
        seen.add(key)
        if key in NO_HINTS or key.startswith("no"):
            mapped[value] = "no"
        elif key in YES_HINTS or "ultrasound" in key or "guided" in key:
            mapped[value] = "yes"
        else:
            unknown.append(value)
    return mapped, unknown


def _match(kind: Kind, header: list[str], columns: dict[int, list[str]]) -> dict[str, int]:
    """Canonical column -> the export's column position, by name then content."""
    keys = [_key(h) if h else "" for h in header]
    chosen: dict[str, int] = {}
    for column in kind.columns:
        names = (_key(column.name), _key(column.name.replace("_", " ")),
                 *(_key(s) for s in SYNONYMS.get(column.name, ())))  # fmt: skip
        for name in names:
            hits = [i for i, k in enumerate(keys) if k == name and i not in chosen.values()]
            hits = [i for i in hits if _content_fits(column.type, columns.get(i, []))]
            if hits:
                chosen[column.name] = hits[0]
                break
    return chosen


def propose(path: Path, kind: str | None = None, name: str | None = None) -> Proposal:
    """A first profile for the export at ``path`` (``kind``: force one of the four)."""
    path = Path(path)
    rows = read_rows(path)
    top = _header_index(rows)
    header = [c or "" for c in rows[top]] if rows else []
    body = rows[top + 1 : top + 1 + SAMPLE_ROWS]
    columns = {i: [row[i] for row in body if i < len(row) and row[i]] for i in range(len(header))}
    kinds = [k for k in DETECTION_ORDER if kind is None or k.name == kind]
    scored = [(k, _match(k, header, columns)) for k in kinds]
    best, matched = max(
        scored, key=lambda km: (sum(c in km[1] for c in km[0].required), len(km[1]))
    )
    notes = []
    if top:
        notes.append(f"header found on row {top + 1} (rows above it are a title)")
    values: dict[str, dict[str, str]] = {}
    date_format = None
    for column in best.columns:
        if column.name not in matched:
            if column.required:
                notes.append(f"{column.name}: no column found; required: map one or set a constant")
            continue
        pos = matched[column.name]
        notes.append(f"{column.name} <- {header[pos]!r}")
        if column.type == "date" and date_format is None:
            date_format, why = date_format_of(columns.get(pos, []))
            if date_format not in (None, "%Y-%m-%d"):
                notes.append(f"dates: {why}")
        if column.type == "bool":
            mapped, unknown = _value_map(columns.get(pos, []))
            if mapped:
                values[column.name] = mapped
                pairs = ", ".join(f"{k!r} -> {v}" for k, v in mapped.items())
                notes.append(f"{column.name} values: {pairs}")
            if unknown:
                notes.append(f"{column.name}: no yes/no for {', '.join(map(repr, unknown))}")
    profile = MappingProfile(
        name=name or path.stem,
        kind=best.name,
        columns={c: header[p] for c, p in matched.items()},
        values=values,
        header_row=top + 1,
        date_format=date_format if date_format != "%Y-%m-%d" else None,
    )
    unmatched = tuple(h for i, h in enumerate(header) if h and i not in matched.values())
    if unmatched:
        notes.append(f"left out: {', '.join(unmatched)}")
    return Proposal(profile, top + 1, tuple(notes), unmatched)
