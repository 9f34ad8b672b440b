"""Set-based validation: every check is one SQL predicate over the staged rows.

Shape of the data through a load (one source):

    src      (rowid = file order; one VARCHAR column per canonical name, trimmed, '' -> NULL)
      -> errs   (_k = src.rowid, column_name, value, reason): one row per failed check
      -> final  (typed columns of the target table, one row per id, valid rows only)

Column names come only from ingest.kinds (a fixed list); every value, word list and
date bound is a named parameter (``$today``, ``$true_words`` ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from needlewatch import settings

from .kinds import Column, Kind
from .vocab import FALSE_WORDS, ONSET_WORDS, TRUE_WORDS

ISO_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M"]


@dataclass(frozen=True)
class ParseOptions:
    """What the user told us about the values: date format, decimal comma, today."""

    date_format: str | None
    decimal_comma: bool
    today: date
    earliest: date
    max_training_hours: float = settings.MAX_DN_TRAINING_HOURS
    max_experience_years: float = settings.MAX_YEARS_DN_EXPERIENCE
    #: The mapping profile the file is read through (``ingest.mapping``): its dates arrive
    #: as ISO, its words as canonical values, so a reason points at the mapping instead.
    mapping: str | None = None
    mapping_date_format: str | None = None

    def params(self) -> dict[str, object]:
        return {
            "date_formats": [self.date_format] if self.date_format else ISO_FORMATS,
            "today": self.today,
            "earliest": self.earliest,
            "max_training_hours": self.max_training_hours,
            "max_experience_years": self.max_experience_years,
            "first_year": settings.FIRST_PLAUSIBLE_YEAR,
            "true_words": list(TRUE_WORDS),
            "false_words": list(FALSE_WORDS),
            "onset_during": [w for w, v in ONSET_WORDS.items() if v == "during"],
            "onset_after": [w for w, v in ONSET_WORDS.items() if v == "after"],
        }


@dataclass(frozen=True)
class Check:
    """Rows of ``src`` where ``predicate`` holds are rejected on ``column`` with ``reason``.

    ``gate``, when set, is a cheaper predicate that holds exactly when some check of the
    same gate fails: the fast path filters on each distinct gate once instead of on
    every predicate (one regular expression per id instead of four tests).

    ``reason`` may name ``{placeholders}``; ``values`` gives, for each, the SQL over the
    rejected row (the typed scan's columns) whose text fills it in the stored reason,
    so a reject can name the dates it clashes with (``ingest.history``).
    """

    column: str
    predicate: str
    reason: str
    gate: str | None = None
    values: tuple[tuple[str, str], ...] = ()


def _number(c: str, opts: ParseOptions) -> str:
    text = f"replace({c}, ',', '.')" if opts.decimal_comma else c
    return f"TRY_CAST({text} AS DOUBLE)"


def parse_expr(col: Column, opts: ParseOptions) -> str:
    """SQL that turns the staged text of ``col`` into its stored type (NULL if invalid)."""
    c = col.name
    match col.type:
        case "id" | "text" | "patient" | "event_type" | "severity":
            return c
        case "lowertext":
            return f"lower({c})"
        case "region":
            return f"regexp_replace(lower({c}), '[\\s\\-]+', '_', 'g')"
        case "number":
            return _number(c, opts)
        case "integer":
            return f"TRY_CAST({_number(c, opts)} AS INTEGER)"
        case "bool":
            return (
                f"CASE WHEN list_contains($true_words, lower({c})) THEN true "
                f"WHEN list_contains($false_words, lower({c})) THEN false END"
            )
        case "date":
            return f"CAST(try_strptime({c}, $date_formats) AS DATE)"
        case "onset":
            words = f"trim(regexp_replace(lower({c}), '[\\s\\-_]+', ' ', 'g'))"
            return (
                f"CASE WHEN list_contains($onset_during, {words}) THEN 'during' "
                f"WHEN list_contains($onset_after, {words}) THEN 'after' END"
            )
    raise ValueError(f"no parser for column type {col.type!r}")


#: Column types whose parsed value a typed scan carries as ``_p_<name>``.
PARSED_TYPES = frozenset({"lowertext", "region", "number", "integer", "bool", "date", "onset"})


def parsed_ref(col: Column) -> str:
    """Where a typed scan holds the parsed value of ``col`` (the text itself if unparsed)."""
    return f"_p_{col.name}" if col.type in PARSED_TYPES else col.name


def parse_projection(kind: Kind, opts: ParseOptions) -> list[str]:
    """SELECT items that parse each column once: ``_p_<name>`` and, for numbers, the
    DOUBLE ``_n_<name>``. Checks and the insert both read these instead of re-parsing.

        text columns (VARCHAR) -> + _p_treatment_date DATE, _n_needle_insertions DOUBLE ...
    """
    items = []
    for col in kind.columns:
        if col.type in ("number", "integer"):
            items.append(f"{_number(col.name, opts)} AS _n_{col.name}")
        if col.type in PARSED_TYPES:
            items.append(f"{parse_expr(col, opts)} AS {parsed_ref(col)}")
    return items


#: Control characters an id may not hold, by name: an id with a carriage return or line
#: break would split its row in every CSV written downstream, and one with a tab or
#: other control character never matches the id as people type it.
ID_CONTROL_CHARACTERS = (("carriage return", 13), ("line break", 10), ("tab", 9))
#: The other control characters (C0 and DEL), as an RE2 class.
OTHER_CONTROL_CLASS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
ID_CONTROL_FIX = "remove it (an id must be one line of plain text)"


#: A CSV value held a carriage return outside quotes (ingest.linebreaks marks them).
BARE_CR_REASON = (
    "control character (carriage return) in the value: remove it, or quote the value if "
    "the line break belongs in a text column"
)


def bare_cr_checks(columns: tuple[str, ...]) -> list[Check]:
    """For a CSV copy whose unquoted bare CRs are ``$cr_marker``: a value holding one."""
    return [Check(c, f"contains({c}, $cr_marker)", BARE_CR_REASON) for c in columns]


def id_checks(c: str) -> list[Check]:
    """Control characters in an id column, each named in its reason; one gate (any
    control character at all) stands for the four in the fast path."""
    gate = f"NOT regexp_full_match({c}, '[^\\x00-\\x1f\\x7f]*')"
    checks = [
        Check(
            c,
            f"contains({c}, chr({code}))",
            f"control character ({name}) in an id: {ID_CONTROL_FIX}",
            gate,
        )
        for name, code in ID_CONTROL_CHARACTERS
    ]
    checks.append(
        Check(
            c,
            f"regexp_matches({c}, '{OTHER_CONTROL_CLASS}')",
            f"control character (a byte below 32 or 127) in an id: {ID_CONTROL_FIX}",
            gate,
        )
    )
    return checks


def column_checks(col: Column, opts: ParseOptions) -> list[Check]:
    """The per-value checks for one column, in the order a user would fix them."""
    c = col.name
    checks = []
    if col.required:
        checks.append(Check(c, f"{c} IS NULL", f"required value missing: fill in {c}"))
    present = f"{c} IS NOT NULL"
    match col.type:
        case "id":
            checks += id_checks(c)
        case "number" | "integer":
            num = f"_n_{c}"
            checks.append(
                Check(
                    c,
                    f"{present} AND ({num} IS NULL OR NOT isfinite({num}))",
                    "not a number: write digits only, e.g. 12 or 12.5",
                )
            )
            checks.append(Check(c, f"{num} < 0", "negative: must be 0 or more"))
            checks += plausibility_checks(col, opts)
            if col.type == "integer":
                checks.append(
                    Check(
                        c,
                        f"isfinite({num}) AND {num} >= 0 AND "
                        f"({num} <> floor({num}) OR {num} > 2147483647)",
                        "not a whole number: give a count such as 8",
                    )
                )
        case "bool":
            checks.append(
                Check(
                    c,
                    f"{present} AND {parsed_ref(col)} IS NULL",
                    "not a yes/no value: use yes/no, true/false, y/n or 1/0"
                    + (
                        f", or add the value under [values.{col.name}] in mapping {opts.mapping!r}"
                        if opts.mapping
                        else ""
                    ),
                )
            )
        case "date":
            expected = (
                f"not a date in the format of mapping {opts.mapping!r} "
                f"({opts.mapping_date_format or 'YYYY-MM-DD'}): fix the date or the mapping"
                if opts.mapping
                else f"does not match --date-format {opts.date_format}: fix the date or the format"
                if opts.date_format
                else "not an ISO 8601 date (YYYY-MM-DD): fix it or pass --date-format, "
                "e.g. --date-format %d/%m/%Y"
            )
            parsed = parsed_ref(col)
            checks += [
                Check(c, f"{present} AND {parsed} IS NULL", expected),
                Check(
                    c,
                    f"{parsed} < $earliest",
                    f"before {opts.earliest.isoformat()}: check the year",
                ),
                Check(
                    c,
                    f"{parsed} > $today",
                    f"in the future (after {opts.today.isoformat()}): check the date",
                ),
            ]
        case "onset":
            checks.append(
                Check(
                    c,
                    f"{present} AND {parsed_ref(col)} IS NULL",
                    "unknown onset: use during or after",
                )
            )
        case "severity":
            checks.append(
                Check(
                    c,
                    f"{present} AND lower({c}) NOT IN (SELECT raw FROM severity_map)",
                    "unknown severity wording: use mild, significant or serious "
                    "(minor, moderate, major, severe, life-threatening are understood)",
                )
            )
    return checks


def plausibility_checks(col: Column, opts: ParseOptions) -> list[Check]:
    """Upper bounds of practitioner numbers: a value beyond them is a typing error, or a
    year (2015) or minutes given where years or hours were asked for, and would land
    silently in the top band (``>=10`` years, ``>200`` hours) if it were accepted."""
    c, num = col.name, f"_n_{col.name}"
    if c == "dn_training_hours":
        return [
            Check(
                c,
                f"isfinite({num}) AND {num} > $max_training_hours",
                f"hours of dry-needling training must be 0 to {opts.max_training_hours:g}: "
                "check the value (hours, not minutes)",
            )
        ]
    if c == "years_dn_experience":
        too_many = f"isfinite({num}) AND {num} > $max_experience_years"
        year = f"{num} = floor({num}) AND {num} BETWEEN $first_year AND year($today)"
        must = f"years of dry-needling experience must be 0 to {opts.max_experience_years:g}"
        return [
            Check(
                c,
                f"{too_many} AND {year}",
                f"{must}; this looks like a year: give the number of years",
            ),
            Check(c, f"{too_many} AND NOT ({year})", f"{must}: check the value"),
        ]
    return []


def reference_checks(kind: Kind, opts: ParseOptions) -> list[Check]:
    """Checks against what is already in the database (including earlier files of this
    run); for practitioners, the history rules of ``ingest.history`` too."""
    clinic_fix = "not in the database or this run; ingest the clinics file first or fix the id"
    if kind.name == "practitioners":
        from .history import profile_checks  # history builds on this module's Check

        return [
            Check(
                "clinic_id",
                "clinic_id IS NOT NULL AND clinic_id NOT IN (SELECT clinic_id FROM clinics)",
                f"unknown clinic_id: {clinic_fix}",
            ),
            *profile_checks(opts),
        ]
    if kind.name == "treatments":
        return [
            Check(
                "practitioner_id",
                "practitioner_id IS NOT NULL AND practitioner_id NOT IN "
                "(SELECT practitioner_id FROM practitioners)",
                "unknown practitioner_id: not in the database or this run; ingest the "
                "practitioners file first or fix the id",
            ),
            Check(
                "clinic_id",
                "clinic_id IS NOT NULL AND clinic_id NOT IN (SELECT clinic_id FROM clinics)",
                f"unknown clinic_id: {clinic_fix}",
            ),
        ]
    if kind.name == "adverse_events":  # known_treatments: see known_treatments_sql
        onset = parsed_ref(kind.column("onset_date"))
        return [
            Check(
                "treatment_id",
                "treatment_id IS NOT NULL AND treatment_id NOT IN "
                "(SELECT treatment_id FROM known_treatments)",
                "unknown treatment_id: not in the database or this run; ingest the "
                "treatments file first or fix the id",
            ),
            Check(
                "onset_date",
                f"{onset} < (SELECT t.treatment_date FROM known_treatments t "
                "WHERE t.treatment_id = src.treatment_id)",
                "onset_date is before the treatment_date: check both dates",
            ),
        ]
    return []


#: The treatment columns the counts store reads (``ingest.countstore.treatment_keys_sql``)
#: and the events' reference checks need.
COUNTED_COLUMNS = (
    "treatment_id, treatment_date, practitioner_id, clinic_id, body_region, "
    "ultrasound_guided, needle_insertions, technique"
)


def known_treatments_sql(scan_sql: str) -> str:
    """known_treatments (the columns of ``treatments``): the stored treatments (earlier
    files of the batch included) that an events file names, for its reference checks and
    for the counts store (``ingest.countstore.note_touched`` counts their events).

    A semi-join built on the file's ids and probed with the treatments: it costs what
    the file holds, where ``NOT IN (SELECT treatment_id FROM treatments)`` would hash
    every stored treatment (2 s at 10 million) for a follow-up of one event. It keeps the
    columns the checks and the counts store read (``COUNTED_COLUMNS``), so the counts store
    need not look the same ids up again; not the patient key or free text, which made a
    first load of 10 million treatments' events run out of the ingest's memory (1.4
    million whole rows held twice, about 740 MB).
    """
    return (
        f"CREATE OR REPLACE TEMP TABLE known_treatments AS SELECT {COUNTED_COLUMNS} "
        f"FROM treatments WHERE treatment_id IN (SELECT treatment_id FROM {scan_sql})"
    )


def all_checks(kind: Kind, present: tuple[str, ...], opts: ParseOptions) -> list[Check]:
    checks = [ch for col in kind.columns if col.name in present for ch in column_checks(col, opts)]
    return checks + [ch for ch in reference_checks(kind, opts) if ch.column in present]
