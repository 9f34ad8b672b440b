"""The canonical input format: the four kinds of file and their columns.

One source of truth: header detection, validation, the blank templates and the data
dictionary's column tables (checked by tests/test_dictionary.py) all come from here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """One column of an input file.

    ``type`` names the parser in ingest.validate: id, text, lowertext, number,
    integer, bool, date, onset, severity, event_type, patient.
    """

    name: str
    required: bool
    type: str
    description: str


@dataclass(frozen=True)
class Kind:
    """A kind of input file: its id column, target table and columns."""

    name: str
    table: str
    id_column: str
    columns: tuple[Column, ...]

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


CLINICS = Kind(
    "clinics",
    "clinics",
    "clinic_id",
    (
        Column("clinic_id", True, "id", "Your identifier for the clinic, e.g. C01."),
        Column("name", False, "text", "Clinic name (never printed in public reports)."),
        Column("region", False, "text", "Region or county."),
        Column("country", False, "text", "Country."),
        Column(
            "joined_on",
            False,
            "date",
            "Date the clinic joined the body's network (a body's member register); a "
            "submission for a quarter that ended before it is refused. Blank: no check.",
        ),
    ),
)

PRACTITIONERS = Kind(
    "practitioners",
    "practitioners",
    "practitioner_id",
    (
        Column("practitioner_id", True, "id", "Pseudonymous practitioner code, e.g. P017."),
        Column("clinic_id", True, "id", "The practitioner's clinic; must be a known clinic."),
        Column("profession", False, "lowertext", "physiotherapist, chiropractor, physician ..."),
        Column("dn_training_hours", True, "number", "Hours of dry-needling training, >= 0."),
        Column("years_dn_experience", False, "number", "Years of dry-needling practice, >= 0."),
        Column(
            "effective_from",
            False,
            "date",
            "Date this profile holds from; blank: the first treatment (a new practitioner) "
            "or the ingest date (a changed profile).",
        ),
    ),
)

TREATMENTS = Kind(
    "treatments",
    "treatments",
    "treatment_id",
    (
        Column("treatment_id", True, "id", "Identifier of the treatment session."),
        Column("treatment_date", True, "date", "Date of the session (ISO 8601, YYYY-MM-DD)."),
        Column("practitioner_id", True, "id", "Who needled; must be a known practitioner."),
        Column("clinic_id", False, "id", "Where; defaults to the practitioner's clinic if blank."),
        Column(
            "patient_id",
            False,
            "patient",
            "Patient identifier; stored only as a keyed hash (HMAC-SHA256) in patient_key.",
        ),
        Column("body_region", True, "region", "Region needled, e.g. upper_trapezius."),
        Column("ultrasound_guided", True, "bool", "yes/no, true/false, y/n or 1/0, any case."),
        Column("needle_insertions", False, "integer", "Number of needle insertions, >= 0."),
        Column("technique", False, "lowertext", "in_and_out, static, electrical ..."),
        Column("retention_minutes", False, "number", "Minutes needles stayed in, >= 0."),
        Column("electrical_stimulation", False, "bool", "yes/no: electrical stimulation used."),
        Column("contraindications", False, "text", "Cautions present, e.g. anticoagulants."),
    ),
)

ADVERSE_EVENTS = Kind(
    "adverse_events",
    "adverse_events",
    "event_id",
    (
        Column("event_id", True, "id", "Identifier of the report; a repeat id is a follow-up."),
        Column("treatment_id", True, "id", "The treatment it happened in; must be known."),
        Column("event_type", True, "event_type", "Free text or category code, see below."),
        Column("severity", False, "severity", "Reported wording; normalised to a tier."),
        Column("onset", False, "onset", "during or after (the treatment)."),
        Column("onset_date", False, "date", "Date the event began; not before the treatment."),
        Column("outcome", False, "text", "e.g. resolved, ongoing, referred to GP."),
        Column("hospitalised", False, "bool", "yes/no; yes makes the event serious."),
        Column("narrative", False, "text", "Free-text description (never published)."),
    ),
)

#: Order matters twice: header detection tries kinds in this order (the first whose id
#: column is present wins), and a run loads kinds in reverse order so that references
#: (event -> treatment -> practitioner -> clinic) resolve within one run.
DETECTION_ORDER: tuple[Kind, ...] = (ADVERSE_EVENTS, TREATMENTS, PRACTITIONERS, CLINICS)
LOAD_ORDER: tuple[Kind, ...] = tuple(reversed(DETECTION_ORDER))
KINDS: dict[str, Kind] = {k.name: k for k in LOAD_ORDER}


def normalise_header(name: str) -> str:
    """``' Treatment Date* '`` -> ``'treatment_date'``: case, spaces, hyphens, BOM, '*'."""
    cleaned = name.replace("\ufeff", "").strip().strip("*").strip().lower()
    return "_".join(cleaned.replace("-", " ").split())


def detect_kind(header: list[str]) -> Kind | None:
    """The kind whose id column appears first in DETECTION_ORDER, or None."""
    present = set(header)
    return next((k for k in DETECTION_ORDER if k.id_column in present), None)
