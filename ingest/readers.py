"""Turn an input file into a relation DuckDB can scan: canonical column names, all VARCHAR.

Nothing here validates values; it only finds the kind, the columns and the rows, and
fails with a named UnusableInputError when the file cannot be read at all.

Row numbers follow the spreadsheet convention: the header is row 1, the first data
row is row 2, a blank line or a multi-line quoted cell counts as one row (what Excel
and DuckDB's CSV reject log show).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

import duckdb

from .encodings import UTF8_CODECS, codec_name, first_line, read_head, transcode
from .errors import (
    BadHeaderError,
    FileUnreadableError,
    MissingColumnsError,
    UnknownFormatError,
    UnknownKindError,
)
from .kinds import KINDS, Kind, detect_kind, normalise_header
from .linebreaks import cr_to_lf, is_cr_only

CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
XLSX_SUFFIXES = {".xlsx", ".xlsm"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
_DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class CsvLayout:
    """How a CSV file is laid out, as found from its header line."""

    path: Path  # UTF-8 file DuckDB reads (a transcoded copy for other encodings)
    delimiter: str
    header: tuple[str, ...]  # normalised header names, by position


@dataclass(frozen=True)
class Source:
    """One table of input: a CSV or Parquet file, or one sheet of a workbook.

    ``relation`` is a FROM-clause SQL text whose only variable parts are the named
    parameters ``$p_src0``, ``$p_src1`` ... bound from ``params``; its columns are the canonical names in ``columns``, all VARCHAR, in
    file order.
    """

    label: str  # as the user named it, for messages
    path: Path
    stored: str  # absolute path (plus [sheet]) recorded in ingest_runs and rejects
    kind: Kind
    relation: str
    params: tuple[object, ...]
    columns: tuple[str, ...]
    row_column: str | None  # column holding the row number, if the reader knows it
    csv: CsvLayout | None = None
    decimal_comma: bool = False
    notices: tuple[str, ...] = field(default_factory=tuple)
    #: The file is a copy whose unquoted bare carriage returns are linebreaks.MARKER.
    cr_marker: bool = False


def file_sha256(path: Path) -> str:
    """SHA-256 of the file's bytes (hashlib releases the GIL on large buffers)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def open_sources(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    kind: str | None,
    encoding: str | None,
    workdir: Path,
    index: int,
) -> list[Source]:
    """Readable sources in one file (several for a workbook with several sheets)."""
    if not path.exists():
        raise FileUnreadableError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise FileUnreadableError(f"{path}: is a directory; name the files inside it")
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise FileUnreadableError(
            f"{path}: cannot be read ({exc.strerror}); check permissions"
        ) from None
    if not head:
        raise FileUnreadableError(f"{path}: the file is empty; export it again with a header row")
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return [_csv_source(path, kind, encoding, workdir, index)]
    if suffix in XLSX_SUFFIXES:
        return _xlsx_sources(con, path, kind, index)
    if suffix in PARQUET_SUFFIXES:
        return [_parquet_source(con, path, kind)]
    if suffix == ".xls":
        raise UnknownFormatError(f"{path}: old Excel .xls is not read; save it as .xlsx or CSV")
    raise UnknownFormatError(
        f"{path}: unknown format '{suffix or 'no extension'}'; use .csv, .tsv, .xlsx or .parquet"
    )


def _resolve_columns(
    label: str, raw_header: list[str], kind_name: str | None
) -> tuple[Kind, dict[str, int], list[str]]:
    """Map canonical column name -> position; return (kind, mapping, notices)."""
    header = [normalise_header(h) for h in raw_header]
    seen: dict[str, int] = {}
    for pos, name in enumerate(header):
        if name and name in seen:
            raise BadHeaderError(
                f"{label}: column '{name}' appears twice (columns {seen[name] + 1} and "
                f"{pos + 1}); rename or delete one"
            )
        if name:
            seen[name] = pos
    if kind_name:
        kind = KINDS[kind_name]
    else:
        found = detect_kind(header)
        if found is None:
            ids = ", ".join(k.id_column for k in KINDS.values())
            raise UnknownKindError(
                f"{label}: cannot tell what kind of file this is (the header has none of "
                f"{ids}); fix the header or pass --kind"
            )
        kind = found
    missing = [c for c in kind.required if c not in seen]
    if missing:
        raise MissingColumnsError(
            f"{label}: {kind.name} file lacks required column(s) {', '.join(missing)}; "
            f"add them (see data/dictionary.md)"
        )
    notices = []
    extra = [h for h in seen if h not in kind.names]
    if extra:
        notices.append(
            f"{label}: ignored column(s) not in the {kind.name} format: {', '.join(extra)}"
        )
    unnamed = [str(i + 1) for i, h in enumerate(header) if not h]
    if unnamed:
        notices.append(f"{label}: ignored column(s) with no header name: {', '.join(unnamed)}")
    mapping = {c: seen[c] for c in kind.names if c in seen}
    return kind, mapping, notices


# --- CSV -----------------------------------------------------------------------------


def _csv_source(
    path: Path, kind_name: str | None, encoding: str | None, workdir: Path, index: int
) -> Source:
    read_path = path
    if encoding and codec_name(path, encoding) not in UTF8_CODECS:
        read_path = workdir / f"transcoded_{index}.csv"
        transcode(path, encoding, read_path)
    if is_cr_only(read_head(read_path)):  # classic Mac OS line ends: DuckDB needs LF
        cr_to_lf(read_path, workdir / f"lf_{index}.csv")
        read_path = workdir / f"lf_{index}.csv"
    header_line = first_line(read_path, path)
    if not header_line.strip():
        raise BadHeaderError(f"{path} row 1: the header row is empty; put column names first")
    delimiter = max(_DELIMITERS, key=header_line.count)
    try:
        raw_header = next(csv.reader(io.StringIO(header_line), delimiter=delimiter))
    except csv.Error as exc:
        raise BadHeaderError(
            f"{path} row 1: the header row cannot be read ({exc}); write one column name "
            "per cell on the first line"
        ) from None
    kind, mapping, notices = _resolve_columns(str(path), raw_header, kind_name)
    width = len(raw_header)
    header = tuple(normalise_header(h) for h in raw_header)
    columns_struct = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
    select = ", ".join(f"c{pos} AS {name}" for name, pos in mapping.items())
    relation = (
        f"(SELECT {select} FROM read_csv($p_src0, columns={columns_struct}, auto_detect=false, "
        "header=true, delim=$p_src1, quote='\"', escape='\"', store_rejects=true, "
        "strict_mode=true, rejects_table='csv_reject_errors', rejects_scan='csv_reject_scans'))"
    )
    return Source(
        label=str(path),
        path=path,
        stored=str(path.resolve()),
        kind=kind,
        relation=relation,
        params=(str(read_path), delimiter),
        columns=tuple(mapping),
        row_column=None,
        csv=CsvLayout(read_path, delimiter, header),
        decimal_comma=delimiter == ";",
        notices=tuple(notices),
    )


# --- XLSX ----------------------------------------------------------------------------


def _cell_text(value: object) -> str | None:
    """A workbook cell as the text a CSV export would hold; None for an empty cell."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _sheet_rows(path: Path) -> Iterator[tuple[str, list[list[object]]]]:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        for name in workbook.sheet_names:
            yield name, workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
    except CalamineError as exc:
        raise FileUnreadableError(f"{path}: not a readable .xlsx workbook ({exc})") from None


def _xlsx_sources(
    con: duckdb.DuckDBPyConnection, path: Path, kind_name: str | None, index: int
) -> list[Source]:
    import pandas as pd  # deferred: ~1.4 s to import, CSV ingest never needs it

    sources = []
    for sheet_no, (sheet, rows) in enumerate(_sheet_rows(path)):
        nonblank = [i for i, r in enumerate(rows) if any(v not in (None, "") for v in r)]
        if not nonblank:
            continue
        label = f"{path}[{sheet}]"
        top = nonblank[0]
        raw_header = [_cell_text(v) or "" for v in rows[top]]
        kind, mapping, notices = _resolve_columns(label, raw_header, kind_name)
        body = rows[top + 1 :]
        frame = pd.DataFrame(
            {
                name: pd.array(
                    [_cell_text(r[pos]) if pos < len(r) else None for r in body], dtype="string"
                )
                for name, pos in mapping.items()
            }
        )
        # Spreadsheet row numbers: header at row top+1, so body row i is row top+2+i.
        frame["_row"] = range(top + 2, top + 2 + len(body))
        blank = frame[list(mapping)].isna().all(axis=1)
        if blank.any():
            notices.append(f"{label}: skipped {int(blank.sum())} empty row(s)")
        view = f"xlsx_{index}_{sheet_no}"
        con.register(view, frame[~blank].reset_index(drop=True))
        sources.append(
            Source(
                label=label,
                path=path,
                stored=f"{path.resolve()}[{sheet}]",
                kind=kind,
                relation=f"(SELECT * FROM {view})",
                params=(),
                columns=tuple(mapping),
                row_column="_row",
                notices=tuple(notices),
            )
        )
    if not sources:
        raise FileUnreadableError(f"{path}: every sheet is empty; fill in a template first")
    return sources


# --- Parquet -------------------------------------------------------------------------


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _parquet_source(con: duckdb.DuckDBPyConnection, path: Path, kind_name: str | None) -> Source:
    try:
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise FileUnreadableError(f"{path}: not a readable Parquet file ({first})") from None
    raw_header = [row[0] for row in described]
    kind, mapping, notices = _resolve_columns(str(path), raw_header, kind_name)
    select = ", ".join(
        f"CAST({_quote_ident(raw_header[pos])} AS VARCHAR) AS {name}"
        for name, pos in mapping.items()
    )
    relation = f"(SELECT {select}, file_row_number + 2 AS _row FROM read_parquet($p_src0, file_row_number=true))"
    return Source(
        label=str(path),
        path=path,
        stored=str(path.resolve()),
        kind=kind,
        relation=relation,
        params=(str(path),),
        columns=tuple(mapping),
        row_column="_row",
        notices=tuple(notices),
    )
