"""data/dictionary.md and data/templates/ stay in sync with ingest.kinds, ingest.vocab and
every reject reason the ingest can store."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from ingest.kinds import KINDS, LOAD_ORDER, normalise_header
from ingest.rejects import READER_REASONS as _READER_REASONS
from ingest.validate import ParseOptions, column_checks, reference_checks
from ingest.vocab import CATEGORIES

ROOT = Path(__file__).resolve().parents[1]
DICTIONARY = ROOT / "data" / "dictionary.md"
TEMPLATES = ROOT / "data" / "templates"
SCRIPT = TEMPLATES / "make_templates.py"
WORKBOOK = TEMPLATES / "needlewatch_templates.xlsx"

TODAY = date(2026, 11, 21)
EARLIEST = date(1990, 1, 1)
OPTS = ParseOptions(date_format=None, decimal_comma=False, today=TODAY, earliest=EARLIEST)
#: Reasons that embed the run's date are documented with this placeholder for it.
DATE_PLACEHOLDER = "YYYY-MM-DD"
#: And the --date-format reason with this placeholder for the format.
FORMAT_PLACEHOLDER = "<F>"
#: A reason naming values of the rejected row (``Check.values``, e.g. ``{treated_to}``) is
#: documented with ``<treated_to>`` for each.
FIELD = re.compile(r"\{(\w+)\}")


@pytest.fixture(scope="module")
def text() -> str:
    return DICTIONARY.read_text(encoding="utf-8")


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _first_table_after(text: str, heading: str) -> list[list[str]]:
    """Body rows (cells) of the first markdown table after the line ``heading``."""
    lines = text.splitlines()
    start = lines.index(heading)
    rows: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line.startswith("#"):
            break
        if line.startswith("|"):
            rows.append(_cells(line))
        elif rows:
            break
    assert len(rows) > 2, f"no table under {heading!r}"
    assert set(rows[1][0]) <= set("-: "), "second table line is not a separator"
    return rows[2:]


def _code(cell: str) -> str:
    match = re.fullmatch(r"`([^`]+)`", cell)
    assert match, f"expected a single `code` cell, got {cell!r}"
    return match.group(1)


@pytest.mark.parametrize("kind_name", list(KINDS))
def test_column_table_matches_kinds(text: str, kind_name: str) -> None:
    kind = KINDS[kind_name]
    rows = _first_table_after(text, f"### {kind_name}")
    names = [_code(r[0]) for r in rows]
    assert names == list(kind.names), f"{kind_name}: table columns differ from ingest.kinds"
    for row in rows:
        name, required = _code(row[0]), row[1]
        assert len(row) == 5, f"{kind_name}.{name}: expected 5 cells, got {row}"
        expected = "★" if kind.column(name).required else ""
        assert required == expected, f"{kind_name}.{name}: required cell {required!r}"


def test_category_table_matches_vocab(text: str) -> None:
    rows = _first_table_after(text, "### Event types")
    table = {_code(r[0]): re.findall(r"`([^`]+)`", r[1]) for r in rows}
    assert list(table) == list(CATEGORIES)
    for code, synonyms in CATEGORIES.items():
        if synonyms:
            assert table[code] == list(synonyms), code
        else:
            assert table[code] == [code], f"{code}: a code without synonyms names only itself"


def test_every_category_word_appears(text: str) -> None:
    for code, synonyms in CATEGORIES.items():
        for word in (code, *synonyms):
            assert f"`{word}`" in text, word


def _validation_reasons(opts: ParseOptions) -> set[str]:
    reasons = set()
    for kind in KINDS.values():
        for col in kind.columns:
            reasons |= {check.reason for check in column_checks(col, opts)}
        reasons |= {check.reason for check in reference_checks(kind, opts)}
    return reasons


def _documented(reason: str, opts: ParseOptions) -> str:
    """The reason as the dictionary writes it: the run's date, the format and the row's
    values as placeholders."""
    documented = FIELD.sub(r"<\1>", reason.replace(opts.today.isoformat(), DATE_PLACEHOLDER))
    if opts.date_format:
        documented = documented.replace(opts.date_format, FORMAT_PLACEHOLDER)
    return documented


def test_every_validation_reason_is_documented(text: str) -> None:
    reasons = _validation_reasons(OPTS)
    assert len(reasons) > 15  # sanity: the checks were really collected
    missing = [r for r in sorted(reasons) if f"`{_documented(r, OPTS)}`" not in text]
    assert not missing, "reasons missing from data/dictionary.md:\n" + "\n".join(missing)


def test_date_reasons_documented_for_both_option_sets(text: str) -> None:
    """The date reasons embed today's date and, with --date-format, the format."""
    with_format = ParseOptions(
        date_format="%d/%m/%Y", decimal_comma=True, today=TODAY, earliest=EARLIEST
    )
    reasons = _validation_reasons(with_format) - _validation_reasons(OPTS)
    assert reasons, "expected a reason that names --date-format"
    for reason in reasons:
        assert f"`{_documented(reason, with_format)}`" in text, reason
    future = next(r for r in _validation_reasons(OPTS) if r.startswith("in the future"))
    assert TODAY.isoformat() in future
    prefix, suffix = future.split(TODAY.isoformat())
    assert re.search(re.escape(prefix) + r"[^`]*" + re.escape(suffix), text)


@pytest.mark.parametrize("reason", list(_READER_REASONS.values()))
def test_reader_reasons_documented(text: str, reason: str) -> None:
    stable = reason.split("{", 1)[0]
    assert stable and stable in text, reason


def test_reject_reasons_table_is_verbatim(text: str) -> None:
    """Every row of the reasons table quotes a reason the code can store."""
    rows = _first_table_after(text, "### Reject reasons")
    documented = {_code(r[0]) for r in rows}
    known = {_documented(r, OPTS) for r in _validation_reasons(OPTS)}
    prefixes = [r.split("{", 1)[0] for r in _READER_REASONS.values()]
    for reason in documented - known:
        ok = reason.startswith(("does not match --date-format ", "unreadable row (")) or any(
            reason.startswith(p) for p in prefixes
        )
        assert ok, f"documented reason the code never stores: {reason!r}"


@pytest.mark.parametrize("kind", LOAD_ORDER, ids=lambda k: k.name)
def test_csv_template_header(kind) -> None:
    data = (TEMPLATES / f"{kind.name}.csv").read_bytes()
    assert data == (",".join(kind.names) + "\n").encode("utf-8")


def test_xlsx_template() -> None:
    workbook = load_workbook(WORKBOOK)
    assert workbook.sheetnames == [k.name for k in LOAD_ORDER]
    for kind in LOAD_ORDER:
        sheet = workbook[kind.name]
        assert sheet.max_row == 1, f"{kind.name}: template sheet must hold only the header"
        header = [c.value for c in sheet[1]]
        assert [h.removesuffix(" *") for h in header] == list(kind.names)
        assert [normalise_header(h) for h in header] == list(kind.names)
        for col, cell in zip(kind.columns, sheet[1], strict=True):
            assert cell.value.endswith(" *") == col.required, cell.value
            assert cell.font.bold, cell.value
        assert sheet.freeze_panes == "A2"


def test_make_templates_reproduces_csv_files(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    for kind in LOAD_ORDER:
        name = f"{kind.name}.csv"
        assert (tmp_path / name).read_bytes() == (TEMPLATES / name).read_bytes(), name
    fresh = load_workbook(tmp_path / WORKBOOK.name)
    committed = load_workbook(WORKBOOK)
    assert fresh.sheetnames == committed.sheetnames
    for name in fresh.sheetnames:
        assert [c.value for c in fresh[name][1]] == [c.value for c in committed[name][1]]
