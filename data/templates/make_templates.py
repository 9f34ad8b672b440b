"""Write the blank input templates from ingest.kinds (the single source of truth).

    uv run python data/templates/make_templates.py            # into data/templates/
    uv run python data/templates/make_templates.py --out DIR  # somewhere else

Writes one header-only CSV per kind (``clinics.csv``, ``practitioners.csv``,
``treatments.csv``, ``adverse_events.csv``; canonical column order, UTF-8, no BOM,
``\\n`` line ending) and ``needlewatch_templates.xlsx`` with one sheet per kind. Each
sheet holds only its header row: bold, frozen, required columns marked with a trailing
`` *`` (the ingest ignores a trailing ``*`` in header names), and nothing else, so an
unfilled sheet loads as 0 rows.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from ingest.kinds import LOAD_ORDER, Kind

HERE = Path(__file__).resolve().parent
WORKBOOK_NAME = "needlewatch_templates.xlsx"
#: Suffix that marks a required column in the workbook's header row.
REQUIRED_MARK = " *"
#: Fixed document timestamps, so regenerating changes as little as possible.
_STAMP = datetime(2026, 1, 1)


def csv_header(kind: Kind) -> str:
    """The CSV template's single line: canonical names in ingest.kinds order."""
    return ",".join(kind.names) + "\n"


def xlsx_header(kind: Kind) -> list[str]:
    """The workbook header row: canonical names, required ones marked with `` *``."""
    return [c.name + (REQUIRED_MARK if c.required else "") for c in kind.columns]


def write_csv_templates(out: Path) -> list[Path]:
    paths = []
    for kind in LOAD_ORDER:
        path = out / f"{kind.name}.csv"
        path.write_bytes(csv_header(kind).encode("utf-8"))
        paths.append(path)
    return paths


def write_workbook(out: Path) -> Path:
    workbook = Workbook()
    workbook.remove(workbook.active)
    bold = Font(bold=True)
    required_fill = PatternFill("solid", start_color="FFF2CC", end_color="FFF2CC")
    for kind in LOAD_ORDER:
        sheet = workbook.create_sheet(kind.name)
        for pos, (col, text) in enumerate(zip(kind.columns, xlsx_header(kind), strict=True), 1):
            cell = sheet.cell(row=1, column=pos, value=text)
            cell.font = bold
            if col.required:
                cell.fill = required_fill
            sheet.column_dimensions[get_column_letter(pos)].width = max(12, len(text) + 4)
        sheet.freeze_panes = "A2"
    workbook.properties.creator = "NeedleWatch"
    workbook.properties.created = _STAMP
    workbook.properties.modified = _STAMP
    path = out / WORKBOOK_NAME
    workbook.save(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write NeedleWatch's blank input templates.")
    parser.add_argument(
        "--out", type=Path, default=HERE, help="output folder (default: data/templates)"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for path in [*write_csv_templates(args.out), write_workbook(args.out)]:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
