"""Mapping profiles: a foreign export (a practice-management system's CSV or XLSX) read as
one of the canonical kinds, then validated and loaded by the same ingest as any file.

A clinic's system exports appointments as "Appointment date", "Practitioner", "Guidance"
with a title row above the header, dates as 03/02/2026 and "US-guided"/"palpation" for
ultrasound. A profile says once how that export reads, and ``needlewatch ingest --mapping
PROFILE`` (or the dashboard's upload) applies it every quarter. A profile is a TOML file:

    name = "clinic-pms-appointments"
    kind = "treatments"
    header_row = 2                  # optional: the header's row (1 = first); else found
    date_format = "%d/%m/%Y"        # optional: how the export writes dates
    sheet = "Appointments"          # optional (XLSX): else the first sheet with data

    [columns]                       # canonical column = the export's header
    treatment_id = "Appointment ID"
    treatment_date = "Appointment date"

    [values.ultrasound_guided]      # the export's value = the canonical value
    "US-guided" = "yes"
    palpation = "no"

    [constants]                     # a canonical column the export lacks: one value
    clinic_id = "C01"

Shape: the export's rows (any header, extra columns, title rows) -> a relation with the
kind's canonical columns (all VARCHAR, values mapped, dates in the profile's format
rewritten as ISO, blanks NULL) and ``_row``, the row
number in the export (the header row is that row, data from the next): so a rejected row
is named by the export's own file, row and the canonical column. Headers and values match
ignoring case and surrounding spaces; a value with no entry passes through unchanged, for
validation to accept ("Yes") or reject with its row. The export is read in Python (as a
workbook already is): a quarter's export of thousands of rows, not millions.
"""

from __future__ import annotations

import csv
import io
import json
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from .errors import FileUnreadableError, UnusableInputError
from .kinds import KINDS
from .readers import CSV_SUFFIXES, XLSX_SUFFIXES, Source, _cell_text, _sheet_rows

#: How far down the export the header is looked for when the profile does not say.
HEADER_SEARCH_ROWS = 20
_DELIMITERS = (",", ";", "\t", "|")


class MappingProfileError(UnusableInputError):
    """A mapping profile cannot be read or does not describe a kind completely."""


class MappingMismatchError(UnusableInputError):
    """The export does not have the columns its mapping profile names."""


def _key(text: object) -> str:
    """Headers and values match ignoring case and surrounding or repeated spaces."""
    return " ".join(str(text).split()).casefold()


@dataclass(frozen=True)
class MappingProfile:
    """How one export reads as a canonical kind (see the module docstring)."""

    name: str
    kind: str
    columns: dict[str, str]  # canonical column -> the export's header
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # column -> value map
    constants: dict[str, str] = field(default_factory=dict)
    header_row: int | None = None
    date_format: str | None = None
    sheet: str | None = None

    def problems(self) -> list[str]:
        """What makes the profile unusable, each a sentence ('' when none)."""
        if self.kind not in KINDS:
            return [f"kind {self.kind!r} is not one of {', '.join(KINDS)}"]
        kind = KINDS[self.kind]
        found = []
        for name in [*self.columns, *self.values, *self.constants]:
            if name not in kind.names:
                found.append(f"{name!r} is not a {kind.name} column ({', '.join(kind.names)})")
        both = sorted(set(self.columns) & set(self.constants))
        if both:
            found.append(f"{', '.join(both)}: both a column and a constant; keep one")
        lacking = [c for c in kind.required if c not in self.columns and c not in self.constants]
        if lacking:
            found.append(f"required {kind.name} column(s) not mapped: {', '.join(lacking)}")
        stray = [c for c in self.values if c not in self.columns]
        if stray:
            found.append(f"values given for unmapped column(s): {', '.join(stray)}")
        taken: dict[str, str] = {}
        for canonical, header in self.columns.items():
            if not str(header).strip():
                found.append(f"{canonical}: the export's header is empty")
            elif _key(header) in taken:
                found.append(f"{header!r} is mapped to both {taken[_key(header)]} and {canonical}")
            taken.setdefault(_key(header), canonical)
        if self.header_row is not None and self.header_row < 1:
            found.append("header_row counts from 1 (the first row)")
        return found

    def to_toml(self) -> str:
        """The profile as the TOML ``load_profile`` reads (strings JSON-escaped: valid TOML)."""
        q = json.dumps
        lines = [f"name = {q(self.name)}", f"kind = {q(self.kind)}"]
        if self.header_row is not None:
            lines.append(f"header_row = {int(self.header_row)}")
        for key in ("date_format", "sheet"):
            if getattr(self, key):
                lines.append(f"{key} = {q(getattr(self, key))}")
        lines += ["", "[columns]", *(f"{c} = {q(h)}" for c, h in self.columns.items())]
        for column, pairs in self.values.items():
            lines += ["", f"[values.{column}]", *(f"{q(k)} = {q(v)}" for k, v in pairs.items())]
        if self.constants:
            lines += ["", "[constants]", *(f"{c} = {q(v)}" for c, v in self.constants.items())]
        return "\n".join(lines) + "\n"


def load_profile(path: Path) -> MappingProfile:
    """Read and check a profile file; MappingProfileError names the file and the problem."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MappingProfileError(
            f"{path}: no such mapping profile; `needlewatch mapping suggest EXPORT --out "
            f"{path}` writes one to check"
        ) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise MappingProfileError(f"{path}: not a readable mapping profile ({exc})") from None
    try:
        profile = MappingProfile(
            name=str(data.get("name") or path.stem),
            kind=str(data["kind"]),
            columns={str(k): str(v) for k, v in data.get("columns", {}).items()},
            values={
                str(c): {str(k): str(v) for k, v in pairs.items()}
                for c, pairs in data.get("values", {}).items()
            },
            constants={str(k): str(v) for k, v in data.get("constants", {}).items()},
            header_row=int(data["header_row"]) if "header_row" in data else None,
            date_format=str(data["date_format"]) if data.get("date_format") else None,
            sheet=str(data["sheet"]) if data.get("sheet") else None,
        )
    except KeyError as exc:
        raise MappingProfileError(f"{path}: the profile lacks {exc.args[0]!r}") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise MappingProfileError(f"{path}: a value has the wrong type ({exc})") from None
    problems = profile.problems()
    if problems:
        raise MappingProfileError(f"{path}: {problems[0]}; correct the profile")
    return profile


def save_profile(profile: MappingProfile, path: Path) -> None:
    """Write ``profile`` to ``path`` after checking it (MappingProfileError if unusable)."""
    problems = profile.problems()
    if problems:
        raise MappingProfileError(f"{path}: {problems[0]}; correct the mapping first")
    Path(path).write_text(profile.to_toml(), encoding="utf-8")


# --- reading an export ---------------------------------------------------------------


def read_rows(path: Path, sheet: str | None = None) -> list[list[str | None]]:
    """Every row of a CSV or the chosen sheet of an XLSX, cells as text (None if empty).

    CSV: UTF-8 (with or without BOM), else Windows-1252, the delimiter the most common of
    , ; tab | on the first lines. XLSX: ``sheet``, else the first sheet holding anything.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise FileUnreadableError(f"{path}: no such file; check the path")
    if suffix in XLSX_SUFFIXES:
        sheets = list(_sheet_rows(path))
        chosen = [rows for name, rows in sheets if sheet is None or name == sheet]
        chosen = [rows for rows in chosen if any(any(v not in (None, "") for v in r) for r in rows)]
        if not chosen:
            names = ", ".join(name for name, _ in sheets)
            where = f"no sheet {sheet!r} (it has {names})" if sheet else "every sheet is empty"
            raise FileUnreadableError(f"{path}: {where}; check the export or the profile's sheet")
        return [[_cell_text(v) for v in row] for row in chosen[0]]
    if suffix not in CSV_SUFFIXES:
        raise FileUnreadableError(f"{path}: a mapped export must be .csv, .tsv, .txt or .xlsx")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    head = text.splitlines()[:HEADER_SEARCH_ROWS]
    delimiter = max(_DELIMITERS, key=lambda d: sum(line.count(d) for line in head))
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise FileUnreadableError(f"{path}: the CSV cannot be read ({exc})") from None
    return [[cell.strip() or None for cell in row] for row in rows]


def _holds(row: list[str | None], headers: list[str]) -> bool:
    return {_key(h) for h in headers} <= {_key(c) for c in row if c}


def find_header(rows: list[list[str | None]], headers: list[str]) -> int | None:
    """The index of the first row (within HEADER_SEARCH_ROWS) holding every one of
    ``headers``, compared with :func:`_key`; None if none does."""
    return next(
        (i for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]) if _holds(row, headers)), None
    )


def _iso_date(text: str | None, fmt: str) -> str | None:
    """``'03/07/2025'`` with ``%d/%m/%Y`` -> ``'2025-07-03'``; anything else unchanged (a
    workbook's real dates arrive as ISO already; a bad date is rejected by validation,
    quoted as the export wrote it)."""
    if text is None:
        return None
    try:
        return datetime.strptime(text.strip(), fmt).date().isoformat()
    except ValueError:
        return text


def mapped_frame(path: Path, profile: MappingProfile):
    """The export as the kind's canonical columns plus ``_row``, and notices.

    Returns (frame, notices): a pandas DataFrame of strings (None for blank) with one
    column per mapped or constant canonical column and ``_row`` (the export's row number),
    fully blank rows dropped and counted in a notice; notices also name the export's
    columns the profile leaves out.
    """
    import pandas as pd  # deferred, as for workbooks

    label = str(path)
    rows = read_rows(path, profile.sheet)
    wanted = list(profile.columns.values())
    notices = []
    top = profile.header_row - 1 if profile.header_row is not None else None
    if top is None or top >= len(rows) or not _holds(rows[top], wanted):
        found = find_header(rows, wanted)
        if found is None:  # name the row that comes closest, and what it lacks
            best = max(range(min(len(rows), HEADER_SEARCH_ROWS) or 1),
                       key=lambda i: (sum(_holds(rows[i], [h]) for h in wanted) if rows else 0, -i))  # fmt: skip
            lacking = [h for h in wanted if not rows or not _holds(rows[best], [h])]
            raise MappingMismatchError(
                f"{label} row {best + 1}: no column {lacking[0]!r} (mapping {profile.name!r} "
                f"needs {', '.join(repr(h) for h in wanted)}); check the export or correct "
                "the mapping"
            )
        if top is not None:
            notices.append(
                f"{label}: header on row {found + 1}, not row {top + 1} as the mapping says"
            )
        top = found
    header = {_key(c): i for i, c in reversed(list(enumerate(rows[top]))) if c}
    body = rows[top + 1 :]
    kind = KINDS[profile.kind]
    data: dict[str, list[str | None]] = {}
    for canonical, source in profile.columns.items():
        pos = header[_key(source)]
        lookup = {_key(k): v for k, v in profile.values.get(canonical, {}).items()}
        cells = [row[pos] if pos < len(row) else None for row in body]
        cells = [lookup.get(_key(c), c) if c is not None else None for c in cells]
        if profile.date_format and kind.column(canonical).type == "date":
            cells = [_iso_date(c, profile.date_format) for c in cells]
        data[canonical] = cells
    blank = [all(data[c][i] is None for c in data) for i in range(len(body))]
    for canonical, value in profile.constants.items():
        data[canonical] = [value] * len(body)
    frame = pd.DataFrame({c: pd.array(v, dtype="string") for c, v in data.items()})
    frame["_row"] = range(top + 2, top + 2 + len(body))
    frame = frame[[not b for b in blank]].reset_index(drop=True)
    if any(blank):
        notices.append(f"{label}: skipped {sum(blank)} empty row(s)")
    used = {_key(h) for h in profile.columns.values()}
    left = [c for c in rows[top] if c and _key(c) not in used]
    if left:
        notices.append(f"{label}: column(s) the mapping leaves out: {', '.join(left)}")
    return frame, notices


def mapped_source(
    con: duckdb.DuckDBPyConnection, path: Path, profile: MappingProfile, index: int
) -> Source:
    """The export as an ingest Source (``ingest.readers.Source``) of the profile's kind:
    validated, rejected and loaded exactly as a canonical file, rows named by the export."""
    path = Path(path)
    frame, notices = mapped_frame(path, profile)
    view = f"mapped_{index}"
    con.register(view, frame)
    kind = KINDS[profile.kind]
    return Source(
        label=str(path),
        path=path,
        stored=str(path.resolve()),
        kind=kind,
        relation=f"(SELECT * FROM {view})",
        params=(),
        columns=tuple(c for c in frame.columns if c != "_row"),
        row_column="_row",
        notices=(f"{path}: read through mapping {profile.name!r} as {kind.name}", *notices),
    )
