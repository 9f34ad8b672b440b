"""Terminal rendering: rate tables in three formats and the ingest summary."""

from __future__ import annotations

import json
import math
from typing import TextIO

import pandas as pd

from ingest.api import IngestReport

FORMATS = ("table", "csv", "json")


def _clean(value: object) -> object:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalar -> Python
        return value.item()
    return value


def write_frame(frame: pd.DataFrame, fmt: str, out: TextIO) -> None:
    """table: aligned, rates to 3 decimals; csv and json: full precision, null for empty."""
    if fmt == "csv":
        frame.to_csv(out, index=False, lineterminator="\n")
    elif fmt == "json":
        records = [{k: _clean(v) for k, v in row.items()} for row in frame.to_dict("records")]
        json.dump(records, out, indent=2)
        out.write("\n")
    else:
        shown = frame.copy()
        for col in shown.columns:
            if col.endswith("_per_1000"):
                shown[col] = [("" if v is None or pd.isna(v) else f"{v:.3f}") for v in shown[col]]
        out.write(shown.to_string(index=False) + "\n")


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
