"""The rows of a batch of submissions, staged in DuckDB and checked all at once.

A body receives a quarter's submissions together (1,000 clinics: 1,000 zips). Each check
is one query over every file's rows, not one per file, so a batch costs a few dozen
statements whatever its size, and a file's rows are read once:

    member CSVs of files 0..n-1 (written to the work folder by ``stage``)
        --read_csv(list of files), file index from the name, line from the order-->
    stage_treatments, stage_events, stage_serious, stage_quality:
        file_idx, line_number, the member's columns (all text)
    stage_files: file_idx, file_clinic, file_months (the quarter's three YYYY-MM)
        --``first_problems``: per check in order, the first bad line of each file-->
    {file_idx: "event_cells.csv line 7, column severity: 'severe' is not a severity ..."}

The order of checks is the order a person would fix them in: row counts against the
manifest, then each member's columns left to right, then event cells without treatments.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from .submission_file import MEMBER_COLUMNS, SubmissionFile
from .vocab import SEVERITY_TIERS, UNSPECIFIED

#: member -> the staging table its rows are read into
STAGE = {
    "treatment_cells.csv": "stage_treatments",
    "event_cells.csv": "stage_events",
    "serious_events.csv": "stage_serious",
    "quality.csv": "stage_quality",
}
MEMBER_OF = {table: name for name, table in STAGE.items()}
KEYS = (
    "month", "clinic_id", "profession", "training_band", "experience_band", "body_region",
    "ultrasound_guided", "technique", "insertions_recorded",
)  # fmt: skip

_COUNT = "(try_cast({c} AS BIGINT) IS NULL OR try_cast({c} AS BIGINT) < 0)"
_FLAG = "(lower({c}) IS NULL OR lower({c}) NOT IN ('true', 'false'))"
_MONTH = ("month", "(month IS NULL OR NOT list_contains(f.file_months, month))",
          "is not a month of the quarter (YYYY-MM)")  # fmt: skip
_KEY_CHECKS = (
    _MONTH,
    ("clinic_id", "(clinic_id IS DISTINCT FROM f.file_clinic)", "is not the manifest's clinic"),
    ("training_band",
     "(training_band IS NULL OR (training_band <> 'unknown' AND "
     "NOT list_contains($tb_labels, training_band)))",
     "is not one of the body's training bands or unknown"),
    ("experience_band",
     "(experience_band IS NULL OR (experience_band <> 'unknown' AND "
     "NOT list_contains($eb_labels, experience_band)))",
     "is not one of the body's experience bands or unknown"),
    ("body_region", "(body_region IS NULL)", "is empty"),
    ("ultrasound_guided", _FLAG.format(c="ultrasound_guided"), "is not True or False"),
    ("insertions_recorded", _FLAG.format(c="insertions_recorded"), "is not True or False"),
)  # fmt: skip
#: The severities a cell may carry, bound as ``$severities``.
SEVERITIES = [*SEVERITY_TIERS, UNSPECIFIED]
#: Per staging table: (column, SQL true for a bad value, what is wrong with it).
CHECKS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "stage_treatments": (
        *_KEY_CHECKS,
        ("treatments", _COUNT.format(c="treatments"), "is not a whole number of 0 or more"),
        ("treatments",
         "(try_cast(treatments AS BIGINT) < f.file_min_cell AND (training_band <> 'unknown' "
         "OR experience_band <> 'unknown' OR profession IS NOT NULL OR technique IS NOT NULL))",
         "is under the manifest's min_cell, yet the cell gives the practitioner's profession, "
         "bands or the technique"),
        ("insertions", _COUNT.format(c="insertions"), "is not a whole number of 0 or more"),
    ),
    "stage_events": (
        *_KEY_CHECKS,
        ("severity", "(severity IS NOT NULL AND NOT list_contains($severities, severity))",
         "is not a severity (mild, significant, serious, unspecified or empty)"),
        ("events", _COUNT.format(c="events"), "is not a whole number of 0 or more"),
        ("treatments_affected",
         f"({_COUNT.format(c='treatments_affected')} OR "
         "try_cast(treatments_affected AS BIGINT) > try_cast(events AS BIGINT))",
         "is not a whole number from 0 to the row's events"),
    ),
    "stage_serious": (
        _MONTH,
        ("category", "(category IS NULL)", "is empty"),
        ("severity", "(severity IS NULL)", "is empty"),
        ("body_region", "(body_region IS NULL)", "is empty"),
        ("ultrasound", "(ultrasound IS NULL OR ultrasound NOT IN ('yes', 'no'))",
         "is not yes or no"),
        ("training_band",
         "(training_band IS NULL OR (training_band <> 'unknown' AND "
         "NOT list_contains($tb_labels, training_band)))",
         "is not one of the body's training bands or unknown"),
    ),
    "stage_quality": (
        ("measure", "(measure IS NULL)", "is empty"),
        ("value", _COUNT.format(c="value"), "is not a whole number of 0 or more"),
    ),
}  # fmt: skip


def stage(
    con: duckdb.DuckDBPyConnection,
    files: dict[int, SubmissionFile],
    months: dict[int, list[str]],
    workdir: Path,
) -> None:
    """Every member of ``files`` (by index) into its staging table, and ``stage_files``."""
    for name, table in STAGE.items():
        folder = workdir / "stage" / table
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for idx, sub in files.items():
            path = folder / f"{idx:07d}.csv"
            path.write_bytes(sub.members[name])
            paths.append(str(path))
        columns = ", ".join(f"'{c}': 'VARCHAR'" for c in MEMBER_COLUMNS[name])
        # one ordinal over the scan in file order, then each file's line from its first
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS "
            "WITH r AS (SELECT *, row_number() OVER () AS ord FROM read_csv($p, header = true, "
            "auto_detect = false, delim = ',', quote = '\"', escape = '\"', filename = true, "
            f"columns = {{{columns}}})) "
            "SELECT * EXCLUDE (filename, ord), "
            "CAST(regexp_extract(filename, '(\\d+)\\.csv$', 1) AS INTEGER) AS file_idx, "
            "CAST(ord - min(ord) OVER (PARTITION BY filename) + 2 AS BIGINT) AS line_number "
            "FROM r",
            {"p": paths or [str(folder / "none.csv")]},
        )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE stage_files AS SELECT unnest($idx) AS file_idx, "
        "unnest($clinic) AS file_clinic, unnest($months) AS file_months, "
        "CAST(unnest($min_cell) AS BIGINT) AS file_min_cell",
        {
            "idx": list(files),
            "clinic": [files[i].clinic_id for i in files],
            "months": [months[i] for i in files],
            "min_cell": [files[i].min_cell or 0 for i in files],
        },
    )


def first_problems(
    con: duckdb.DuckDBPyConnection, files: dict[int, SubmissionFile], labels: dict
) -> dict[int, str]:
    """Per file with a problem, the first (module docstring), as the text after its name."""
    found: dict[int, str] = {}
    for name, table in STAGE.items():
        counted = dict(con.execute(f"SELECT file_idx, count(*) FROM {table} GROUP BY 1").fetchall())
        for idx, sub in files.items():
            rows = counted.get(idx, 0)
            if idx not in found and rows != sub.rows[name]:
                found[idx] = f"{name} holds {rows} rows but manifest.json says {sub.rows[name]}"
    for table, checks in CHECKS.items():
        for column, bad, what in checks:
            sql = (
                f"SELECT s.file_idx, min(s.line_number), arg_min(s.{column}, s.line_number) "
                f"FROM {table} s JOIN stage_files f USING (file_idx) WHERE {bad} GROUP BY 1"
            )
            bound = {**labels, "severities": SEVERITIES}
            params = {k: v for k, v in bound.items() if f"${k}" in sql}
            for idx, line, value in con.execute(sql, params).fetchall():
                found.setdefault(
                    idx, f"{MEMBER_OF[table]} line {line}, column {column}: {value!r} {what}"
                )
    joined = " AND ".join(f"e.{k} IS NOT DISTINCT FROM t.{k}" for k in KEYS)
    orphans = con.execute(
        "SELECT e.file_idx, min(e.line_number) FROM stage_events e WHERE NOT EXISTS "
        f"(SELECT 1 FROM stage_treatments t WHERE t.file_idx = e.file_idx AND {joined}) GROUP BY 1"
    ).fetchall()
    for idx, line in orphans:
        found.setdefault(
            idx, f"event_cells.csv line {line}: its cell has no treatments in treatment_cells.csv"
        )
    return found
