"""Terminal rendering: rate tables in three formats and the ingest summary."""

from __future__ import annotations

import io
import json
import math
import numbers
import re
from types import ModuleType
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    import pandas as pd

    from ingest.api import IngestReport
    from ingest.submissions import SubmissionReport

FORMATS = ("table", "csv", "json")
#: Columns the table format prints to 3 decimals, and the p-value columns, when they hold
#: numbers. A name alone never decides: ``value`` is a number in ``signals`` but the
#: rejected text in ``rejects``, so a column is formatted as a number only if its values are.
RATIO_COLUMNS = frozenset({"rate_ratio", "ci_low", "ci_high", "irr", "value", "expected", "limit"})
P_COLUMNS = frozenset({"p_value", "homogeneity_p"})
COUNT_COLUMNS = frozenset({"events", "treatments", "insertions", "ref_events", "ref_treatments"})

#: Columns whose values are codes of a dimension: the table format prints them as words.
DIM_COLUMNS = frozenset(
    {"category", "severity", "technique", "ultrasound", "training_band", "experience_band",
     "body_region", "profession"}
)  # fmt: skip
#: Dimensions a ``level``/``reference`` pair can be recognised by from its values alone
#: (``compare`` prints no factor column); bands are configurable and stay as written.
_KNOWN_LEVELS = ("technique", "ultrasound", "severity", "category")


def _labels() -> ModuleType:
    """``dashboard.analysis.labels``, imported by the commands that print frames only: the
    read side imports pandas, which ``--version``, ``--help`` and ``ingest`` never need."""
    from dashboard.analysis import labels

    return labels


#: Control characters as the table format shows them, so one row stays one line.
_VISIBLE = {i: f"\\x{i:02x}" for i in (*range(32), 127)} | {9: "\\t", 10: "\\n", 13: "\\r"}
#: A quoted CSV field, or a record terminator outside quotes.
_CSV_TOKEN = re.compile(r'("(?:[^"]|"")*")|\r\n')


def _clean(value: object) -> object:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalar -> Python
        return value.item()
    return value


def write_frame(
    frame: pd.DataFrame, fmt: str, out: TextIO, *, level_dim: str | None = None
) -> None:
    """table: aligned, rates to 3 decimals, codes and column names as words
    (``dashboard.analysis.labels``); csv and json: codes and full precision, null for empty.

    ``level_dim`` names the dimension of ``level`` and ``reference`` (``compare``'s
    factor); a regression table names it per row (``term``), and without either the
    dimension is recognised from the values when they are all codes of one of the fixed
    lists (techniques, ultrasound, severities, categories)."""

    if fmt == "csv":
        out.write(_csv_text(frame))
    elif fmt == "json":
        records = [{k: _clean(v) for k, v in row.items()} for row in frame.to_dict("records")]
        json.dump(records, out, indent=2)
        out.write("\n")
    else:
        shown = frame.copy()
        for col in shown.columns:
            numeric = _holds_numbers(shown[col])
            if numeric and col in COUNT_COLUMNS and shown[col].dtype.kind == "f":
                shown[col] = [_fixed(v, 0) for v in shown[col]]
            elif numeric and (col in RATIO_COLUMNS or col.endswith(("_per_1000", "_percent"))):
                shown[col] = [_fixed(v, 3) for v in shown[col]]
            elif numeric and col in P_COLUMNS:
                shown[col] = [p_text(v) for v in shown[col]]
            elif shown[col].dtype.kind in "OSU" or str(shown[col].dtype) == "str":
                shown[col] = [_visible(v) for v in _words(frame, col, level_dim)]
        shown.columns = _labels().headings(list(frame.columns))
        out.write(shown.to_string(index=False) + "\n")


def _level_dims(frame: pd.DataFrame, level_dim: str | None) -> list[str | None]:
    """The dimension of each row's ``level`` and ``reference``."""
    if "term" in frame.columns and "level" in frame.columns:
        return [str(t) for t in frame["term"]]
    if level_dim is None:
        values = {
            str(v)
            for c in ("level", "reference")
            if c in frame
            for v in frame[c]
            if not _missing(v)
        }
        labels = _labels()
        codes = {d: set(getattr(labels, d.upper())) for d in _KNOWN_LEVELS}
        found = [dim for dim in _KNOWN_LEVELS if values and values <= codes[dim]]
        level_dim = found[0] if len(found) == 1 else None
    return [level_dim] * len(frame)


def _words(frame: pd.DataFrame, col: str, level_dim: str | None) -> list[object]:
    """A text column as printed: a dimension's codes as words, other text as it is."""
    values = list(frame[col])
    label, headings = _labels().label, _labels().headings
    if col in DIM_COLUMNS:
        return [v if _missing(v) else label(col, v) for v in values]
    if col in ("level", "reference"):
        dims = _level_dims(frame, level_dim)
        return [
            v if _missing(v) or d is None else label(d, v)
            for v, d in zip(values, dims, strict=True)
        ]
    if col == "term" and "level" in frame.columns:
        return [v if _missing(v) else headings([str(v)])[0] for v in values]
    if col == "analysis":  # "adjusted for body_region (Mantel-Haenszel)"
        return [v if _missing(v) else str(v).replace("_", " ") for v in values]
    return values


def _csv_text(frame: pd.DataFrame) -> str:
    """The frame as CSV with "\\n" line ends, every field holding a line break quoted.

    Python's csv writer quotes a field only for the characters of its line terminator,
    so with "\\n" a bare carriage return (a rejected value as written) would go out
    unquoted and split the row for the next reader. Written with "\\r\\n" every "\\r"
    and "\\n" field is quoted; the record terminators outside quotes become "\\n".
    """
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\r\n")
    return _CSV_TOKEN.sub(lambda m: m.group(1) or "\n", buffer.getvalue())


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _holds_numbers(column: pd.Series) -> bool:
    """True for a numeric column, or an object column whose every non-missing value is one."""
    if column.dtype.kind in "iuf":
        return True
    if column.dtype.kind != "O":
        return False
    present = [v for v in column if not _missing(v)]
    return bool(present) and all(_is_number(v) for v in present)


def _visible(value: object) -> object:
    """A text cell for the table format: blank when missing, control characters escaped."""
    if _missing(value):
        return ""
    return value.translate(_VISIBLE) if isinstance(value, str) else value


def _missing(value: object) -> bool:
    """None, NaN, pd.NA or NaT: a cell with no value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    import pandas as pd  # already imported by whoever built the frame

    return pd.api.types.is_scalar(value) and bool(pd.isna(value))


def _fixed(value: object, digits: int) -> str:
    if _missing(value):
        return ""
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return f"{value:.{digits}f}"


def p_text(value: object) -> str:
    """p-values as people read them: 4 decimals, and '<0.0001' below that."""
    if _missing(value):
        return ""
    return "<0.0001" if value < 0.0001 else f"{value:.4f}"


def write_ingest_summary(report: IngestReport, out: TextIO, *, stored: bool = True) -> None:
    """One line per file, then the rejects grouped by column and reason, with example rows."""
    for run in report.runs:
        out.write(
            f"{run.label} ({run.kind}): {run.rows_read} rows read: {run.rows_accepted} new, "
            f"{run.rows_updated} updated ({run.rows_unchanged} unchanged), "
            f"{run.rows_rejected} rejected\n"
        )
        for notice in run.notices:
            out.write(f"  note: {notice}\n")
        for group in run.reject_groups:
            rows = ", ".join(map(str, group.example_rows))
            more = (
                f" and {group.rows - len(group.example_rows)} more"
                if group.rows > len(group.example_rows)
                else ""
            )
            column = f"column {group.column}: " if group.column else ""
            out.write(f"  rejected {group.rows} row(s) ({rows}{more}): {column}{group.reason}\n")
    if report.rows_rejected and stored:
        runs = " ".join(f"--run {r.run_id}" for r in report.runs if r.rows_rejected)
        out.write(
            f"{report.rows_rejected} row(s) rejected and stored with their reasons; "
            f"list them with: needlewatch rejects {runs}\n"
        )


def write_submissions_summary(report: SubmissionReport, out: TextIO) -> None:
    """One line per submission received: its clinic, quarter and version, and for a
    resubmission the totals before and after."""
    for r in report.received:
        totals = "treatments {:,}, events {:,}, serious events {:,}".format(*r.totals)
        if r.status == "new":
            what = f"version 1 received ({totals})"
        elif r.status == "unchanged":
            what = f"the same counts as version {r.version}, nothing changed"
        else:
            before = r.replaced or (0, 0, 0)
            what = (
                f"version {r.version} replaces version {r.version - 1} (treatments "
                f"{before[0]:,} -> {r.totals[0]:,}, events {before[1]:,} -> {r.totals[1]:,}, "
                f"serious events {before[2]:,} -> {r.totals[2]:,})"
            )
        out.write(f"{r.file} (submission): {r.clinic_id} {r.quarter}: {what}\n")
    if report.rejected:
        out.write(
            f"{len(report.rejected)} submission(s) rejected: the reasons are listed on stderr\n"
        )


class ProgressBar:
    """``[#####.....]  45%  t.csv: checking and loading rows`` redrawn in place on a terminal.

    Called by the ingest library with (stage, percent); draws nothing unless ``out`` is a
    terminal, so logs, pipes and cron jobs get only the summary.
    """

    WIDTH = 30

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.enabled = out.isatty()
        self.shown = False
        self.last = ""

    def __call__(self, stage: str, percent: float | None) -> None:
        if not self.enabled:
            return
        if percent is None:
            bar, figure = "?" * self.WIDTH, "  ?%"
        else:
            filled = int(self.WIDTH * min(max(percent, 0.0), 100.0) / 100)
            bar, figure = "#" * filled + "." * (self.WIDTH - filled), f"{percent:3.0f}%"
        line = f"[{bar}] {figure}  {stage}"
        if line == self.last:
            return
        self.last = line
        self.out.write(f"\r\033[K{line}")
        self.out.flush()
        self.shown = True

    def close(self) -> None:
        """Clear the bar so the summary starts on a clean line."""
        if self.shown:
            self.out.write("\r\033[K")
            self.out.flush()
            self.shown = False
