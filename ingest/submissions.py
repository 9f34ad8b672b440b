"""A professional body receives its member clinics' quarterly submissions into its database.

``ingest_submissions(db, files)`` takes the zips ``needlewatch submit`` writes at the
clinics. Each is checked whole (``ingest.submission_file``: manifest, SHA-256s, headers;
here: every row's values, the clinic against the body's member register, the quarter, the
bands) and then received or rejected on its own, all in one write transaction: a
rejected file changes nothing and the others still land (as a rejected row does in a
row file).

    treatment_cells.csv  (month, clinic, profession, training band, experience band,
                          region, ultrasound, technique, insertions recorded, counts)
        --band labels -> the hours and years that stand for them (ingest.bands)-->
    counts_treatments    source 'submission', practitioner NULL
    event_cells.csv      --the same, category and severity as they are--> counts_events
    serious_events.csv   --> submitted_serious_events (month, no day; no ids)
    quality.csv          --> submitted_quality
    the file, its checksums and totals --> submissions (one row per version)

Every count the read side gives is a sum over the counts store, whatever its source, so
rates, ratios, funnels and reports include submitting clinics with no change. A clinic's
quarter is held once: a resubmission replaces the counts of the version before it in
the same transaction and is kept as the next version, with the totals it replaced (FDA
Sentinel and PCORnet keep each refresh and compare it with the last one approved); a
file whose members are those of the current version changes nothing. A quarter a clinic
already has here as treatment rows is refused, so nothing is counted twice.
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb

from needlewatch import settings

from .bands import experience_labels, experience_values, training_labels, training_values
from .countstore import ROWS_SOURCE
from .store import write_transaction
from .submission_file import (
    MEMBER_COLUMNS,
    SubmissionFile,
    SubmissionRejected,
    _reject,
    open_submission,
)
from .vocab import SEVERITY_TIERS, UNSPECIFIED

#: The counts store's source of every submitted count.
SUBMISSION_SOURCE = "submission"
_TABLE = {  # member -> the temp table its rows are read into
    "treatment_cells.csv": "sub_treatments",
    "event_cells.csv": "sub_events",
    "serious_events.csv": "sub_serious",
    "quality.csv": "sub_quality",
}


@dataclass(frozen=True)
class Received:
    """One submission taken in: ``status`` is 'new' (a first version), 'replaced' (a
    resubmission: ``replaced`` holds the totals of the version it replaced) or
    'unchanged' (the same counts as the current version: nothing written)."""

    file: Path
    clinic_id: str
    quarter: str
    version: int
    status: str
    totals: tuple[int, int, int]  # treatments, events, serious events
    replaced: tuple[int, int, int] | None = None


@dataclass(frozen=True)
class SubmissionReport:
    """The outcome of one ``ingest_submissions`` call."""

    db_path: Path
    received: tuple[Received, ...] = field(default_factory=tuple)
    rejected: tuple[SubmissionRejected, ...] = field(default_factory=tuple)


def ingest_submissions(
    db_path: Path,
    files: list[Path],
    *,
    today: date | None = None,
    training_upper: tuple[float, ...] = settings.TRAINING_BAND_UPPER,
    experience_cuts: tuple[float, ...] = settings.EXPERIENCE_BAND_CUTS,
    received_by: str | None = None,
    now: datetime | None = None,
    arrived: Mapping[Path, datetime] | None = None,
) -> SubmissionReport:
    """Receive ``files`` (submission zips) into ``db_path``, each whole or not at all.

    The bands are the body's (its profile; the settings' by default): a file banded any
    other way is rejected, since its band labels could not be read back as this
    database's hours and years. ``received_by`` is recorded with each version (the
    signed-in user; the operating-system user by default); ``now`` the time of receipt
    (the clock's by default), or per file ``arrived`` (the demo network replays a
    history of arrivals in one write: the files in the order given).
    """
    now = (now or datetime.now()).replace(microsecond=0)
    today = today or now.date()
    who = received_by if received_by is not None else _user()
    opened: list[SubmissionFile | SubmissionRejected] = []
    for path in files:
        try:
            opened.append(open_submission(Path(path)))
        except SubmissionRejected as exc:
            opened.append(exc)
    received: list[Received] = []
    rejected = [x for x in opened if isinstance(x, SubmissionRejected)]
    size = sum(Path(f).stat().st_size for f in files if Path(f).is_file())
    with write_transaction(db_path, input_bytes=size) as session:
        for sub in opened:
            if isinstance(sub, SubmissionRejected):
                continue
            try:
                received.append(
                    _receive(
                        session.con,
                        sub,
                        session.workdir,
                        today,
                        (who, (arrived or {}).get(sub.path, now).replace(microsecond=0)),
                        tuple(map(float, training_upper)),
                        tuple(map(float, experience_cuts)),
                    )  # fmt: skip
                )
            except SubmissionRejected as exc:
                rejected.append(exc)
    return SubmissionReport(Path(db_path), tuple(received), tuple(rejected))


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def _quarter_span(quarter: str) -> tuple[date, date, date]:
    """'2026Q2' -> (2026-04-01, 2026-06-01, 2026-06-30): first month, last month, last day."""
    year, q = int(quarter[:4]), int(quarter[-1])
    first = date(year, 3 * q - 2, 1)
    last_month = date(year, 3 * q, 1)
    following = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
    return first, last_month, date.fromordinal(following.toordinal() - 1)


def _receive(
    con: duckdb.DuckDBPyConnection,
    sub: SubmissionFile,
    workdir: Path,
    today: date,
    receipt: tuple[str | None, datetime],
    training_upper: tuple[float, ...],
    experience_cuts: tuple[float, ...],
) -> Received:
    """Check ``sub`` against this database and take it in (or raise SubmissionRejected,
    having written nothing)."""
    path, clinic, quarter = sub.path, sub.clinic_id, sub.quarter
    first, last_month, last_day = _quarter_span(quarter)
    if last_day >= today:
        raise _reject(path, f"{quarter} has not ended (it ends {last_day:%d %b %Y})",
                      "send it once the quarter is over")  # fmt: skip
    if first < settings.EARLIEST_DATE:
        raise _reject(path, f"{quarter} is before {settings.EARLIEST_DATE:%Y}", "check the quarter")
    if (sub.training_upper, sub.experience_cuts) != (training_upper, experience_cuts):
        raise _reject(
            path,
            f"banded with training bands {_bounds(sub.training_upper)} and experience cuts "
            f"{_bounds(sub.experience_cuts)}, but this body bands by {_bounds(training_upper)} "
            f"and {_bounds(experience_cuts)}",
            "ask the clinic to submit again with the body's profile (--profile)",
        )
    if not con.execute(
        "SELECT count(*) FROM clinics WHERE clinic_id = $c", {"c": clinic}
    ).fetchone()[0]:
        raise _reject(
            path,
            f"clinic {clinic} is not in this body's member register (the clinics table)",
            "ingest the register with the clinic in it first, or check the clinic id",
        )
    held_as_rows = con.execute(
        "SELECT count(*) FROM counts_treatments WHERE source = $s AND clinic_id = $c "
        "AND month BETWEEN $m1 AND $m3",
        {"s": ROWS_SOURCE, "c": clinic, "m1": first, "m3": last_month},
    ).fetchone()[0]
    if held_as_rows:
        raise _reject(
            path,
            f"clinic {clinic}'s {quarter} is held here as treatment rows already",
            "a clinic's quarter is counted from its rows or from its submission, not both",
        )
    _read_members(con, sub, workdir)
    labels = {
        "tb_labels": list(training_labels(training_upper)),
        "tb_values": list(training_values(training_upper)),
        "eb_labels": list(experience_labels(experience_cuts)),
        "eb_values": list(experience_values(experience_cuts)),
    }
    months = [f"{first.year}-{m:02d}" for m in range(first.month, first.month + 3)]
    _check_rows(con, sub, {"clinic": clinic, "months": months, **labels})
    totals = _totals(con)
    current = con.execute(
        "SELECT version, treatments, events, serious_events, members_sha256 FROM submissions "
        "WHERE clinic_id = $c AND quarter = $q AND current",
        {"c": clinic, "q": quarter},
    ).fetchone()
    if current is not None and current[4] == " ".join(sub.data_checksums):
        return Received(path, clinic, quarter, current[0], "unchanged", totals)
    version = con.execute(
        "SELECT coalesce(max(version), 0) + 1 FROM submissions WHERE clinic_id = $c AND quarter = $q",
        {"c": clinic, "q": quarter},
    ).fetchone()[0]
    _replace(con, sub, version, (first, last_month), labels, receipt)
    replaced = None if current is None else tuple(int(x) for x in current[1:4])
    return Received(
        path, clinic, quarter, version, "new" if current is None else "replaced", totals, replaced
    )


def _bounds(values: tuple[float, ...]) -> str:
    return "[" + ", ".join(f"{v:g}" for v in values) + "]"


def _read_members(con: duckdb.DuckDBPyConnection, sub: SubmissionFile, workdir: Path) -> None:
    """Each member into its temp table, every column text, with its line in the file."""
    for name, table in _TABLE.items():
        member = workdir / f"submission_{name}"
        member.write_bytes(sub.members[name])
        columns = ", ".join(f"'{c}': 'VARCHAR'" for c in MEMBER_COLUMNS[name])
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS "
            "SELECT *, CAST(row_number() OVER () + 1 AS BIGINT) AS line_number "
            f"FROM read_csv($p, header = true, auto_detect = false, delim = ',', "
            f"quote = '\"', escape = '\"', columns = {{{columns}}})",
            {"p": str(member)},
        )
        rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        if rows != sub.rows[name]:
            raise _reject(
                sub.path, f"{name} holds {rows} rows but manifest.json says {sub.rows[name]}"
            )


_COUNT = "(try_cast({c} AS BIGINT) IS NULL OR try_cast({c} AS BIGINT) < 0)"
_FLAG = "(lower({c}) IS NULL OR lower({c}) NOT IN ('true', 'false'))"
_KEY_CHECKS = (
    ("month", "(month IS NULL OR NOT list_contains($months, month))",
     "is not a month of the quarter (YYYY-MM)"),
    ("clinic_id", "(clinic_id IS DISTINCT FROM $clinic)", "is not the manifest's clinic"),
    ("training_band", "(training_band IS NULL OR NOT list_contains($tb_labels, training_band))",
     "is not one of the body's training bands"),
    ("experience_band",
     "(experience_band IS NULL OR (experience_band <> 'unknown' AND "
     "NOT list_contains($eb_labels, experience_band)))",
     "is not one of the body's experience bands or unknown"),
    ("body_region", "(body_region IS NULL)", "is empty"),
    ("ultrasound_guided", _FLAG.format(c="ultrasound_guided"), "is not True or False"),
    ("insertions_recorded", _FLAG.format(c="insertions_recorded"), "is not True or False"),
)  # fmt: skip
_SEVERITIES = "list_value(" + ", ".join(f"'{s}'" for s in (*SEVERITY_TIERS, UNSPECIFIED)) + ")"
#: Per temp table: (column, SQL true for a bad value, what is wrong with it).
_CHECKS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "sub_treatments": (
        *_KEY_CHECKS,
        ("treatments", _COUNT.format(c="treatments"), "is not a whole number of 0 or more"),
        ("insertions", _COUNT.format(c="insertions"), "is not a whole number of 0 or more"),
    ),
    "sub_events": (
        *_KEY_CHECKS,
        ("severity", f"(severity IS NOT NULL AND NOT list_contains({_SEVERITIES}, severity))",
         "is not a severity (mild, significant, serious, unspecified or empty)"),
        ("events", _COUNT.format(c="events"), "is not a whole number of 0 or more"),
        ("treatments_affected",
         f"({_COUNT.format(c='treatments_affected')} OR "
         "try_cast(treatments_affected AS BIGINT) > try_cast(events AS BIGINT))",
         "is not a whole number from 0 to the row's events"),
    ),
    "sub_serious": (
        ("month", "(month IS NULL OR NOT list_contains($months, month))",
         "is not a month of the quarter (YYYY-MM)"),
        ("category", "(category IS NULL)", "is empty"),
        ("severity", "(severity IS NULL)", "is empty"),
        ("body_region", "(body_region IS NULL)", "is empty"),
        ("ultrasound", "(ultrasound IS NULL OR ultrasound NOT IN ('yes', 'no'))",
         "is not yes or no"),
        ("training_band",
         "(training_band IS NULL OR NOT list_contains($tb_labels, training_band))",
         "is not one of the body's training bands"),
    ),
    "sub_quality": (
        ("measure", "(measure IS NULL)", "is empty"),
        ("value", _COUNT.format(c="value"), "is not a whole number of 0 or more"),
    ),
}  # fmt: skip
_MEMBER_OF = {table: name for name, table in _TABLE.items()}
_KEYS = (
    "month", "clinic_id", "profession", "training_band", "experience_band", "body_region",
    "ultrasound_guided", "technique", "insertions_recorded",
)  # fmt: skip


def _check_rows(con: duckdb.DuckDBPyConnection, sub: SubmissionFile, params: dict) -> None:
    """The first bad value of each member (its line and column), as one line; then that
    every event cell has treatments in the treatment cells."""
    for table, checks in _CHECKS.items():
        for column, bad, what in checks:
            sql = f"SELECT line_number, {column} FROM {table} WHERE {bad} ORDER BY 1 LIMIT 1"
            row = con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql}).fetchone()
            if row is not None:
                raise _reject(
                    sub.path,
                    f"{_MEMBER_OF[table]} line {row[0]}, column {column}: {row[1]!r} {what}",
                )
    joined = " AND ".join(f"e.{k} IS NOT DISTINCT FROM t.{k}" for k in _KEYS)
    orphan = con.execute(
        f"SELECT min(line_number) FROM sub_events e WHERE NOT EXISTS "
        f"(SELECT 1 FROM sub_treatments t WHERE {joined})"
    ).fetchone()[0]
    if orphan is not None:
        raise _reject(
            sub.path,
            f"event_cells.csv line {orphan}: its cell has no treatments in treatment_cells.csv",
        )


def _totals(con: duckdb.DuckDBPyConnection) -> tuple[int, int, int]:
    """(treatments, events, serious events) of the submission in the temp tables."""
    row = con.execute(
        "SELECT (SELECT coalesce(sum(CAST(treatments AS BIGINT)), 0) FROM sub_treatments), "
        "(SELECT coalesce(sum(CAST(events AS BIGINT)), 0) FROM sub_events "
        " WHERE category IS NULL AND severity IS NULL), "
        "(SELECT count(*) FROM sub_serious)"
    ).fetchone()
    return int(row[0]), int(row[1]), int(row[2])


_PLACE = {"s": SUBMISSION_SOURCE}
#: The cells' keys as the counts store's columns (practitioner NULL: a submission names
#: none; a band's label -> the value that stands for it, ``ingest.bands``).
_STORE_KEYS = """
    CAST(strptime(month, '%Y-%m') AS DATE), clinic_id, NULL, profession,
    $tb_values[list_position($tb_labels, training_band)],
    CASE WHEN experience_band = 'unknown' THEN NULL
         ELSE $eb_values[list_position($eb_labels, experience_band)] END,
    body_region, lower(ultrasound_guided) = 'true', technique,
    lower(insertions_recorded) = 'true'
"""


def _replace(
    con: duckdb.DuckDBPyConnection,
    sub: SubmissionFile,
    version: int,
    months: tuple[date, date],
    labels: dict,
    receipt: tuple[str | None, datetime],
) -> None:
    """The submission's counts in place of the clinic's quarter's submitted counts, and
    its version recorded (the one before it no longer current)."""
    key = {"c": sub.clinic_id, "q": sub.quarter, "v": version}
    span = {"s": SUBMISSION_SOURCE, "c": sub.clinic_id, "m1": months[0], "m3": months[1]}
    for table in ("counts_treatments", "counts_events"):
        con.execute(
            f"DELETE FROM {table} WHERE source = $s AND clinic_id = $c "
            "AND month BETWEEN $m1 AND $m3",
            span,
        )
    con.execute(
        f"INSERT INTO counts_treatments SELECT $s, {_STORE_KEYS}, "
        "sum(CAST(treatments AS BIGINT)), sum(CAST(insertions AS BIGINT)) "
        "FROM sub_treatments GROUP BY ALL",
        {**_PLACE, **labels},
    )
    con.execute(
        f"INSERT INTO counts_events SELECT $s, {_STORE_KEYS}, category, severity, "
        "sum(CAST(events AS BIGINT)), sum(CAST(treatments_affected AS BIGINT)) "
        "FROM sub_events GROUP BY ALL",
        {**_PLACE, **labels},
    )
    con.execute(
        "INSERT INTO submitted_serious_events SELECT $c, $q, $v, "
        "CAST(strptime(month, '%Y-%m') AS DATE), category, severity, body_region, "
        "ultrasound = 'yes', training_band, outcome FROM sub_serious",
        key,
    )
    con.execute(
        "INSERT INTO submitted_quality SELECT $c, $q, $v, measure, kind, CAST(value AS BIGINT) "
        "FROM sub_quality",
        key,
    )
    previous = con.execute(
        "SELECT treatments, events, serious_events FROM submissions "
        "WHERE clinic_id = $c AND quarter = $q AND current",
        {"c": sub.clinic_id, "q": sub.quarter},
    ).fetchone() or (None, None, None)
    con.execute(
        "UPDATE submissions SET current = false WHERE clinic_id = $c AND quarter = $q",
        {"c": sub.clinic_id, "q": sub.quarter},
    )
    con.execute(
        """
        INSERT INTO submissions
        SELECT $c, $q, $v, true, $file, $sha, $members, $at, $who, $created, $tool, $fv,
               (SELECT coalesce(sum(CAST(treatments AS BIGINT)), 0) FROM sub_treatments),
               (SELECT coalesce(sum(CAST(insertions AS BIGINT)), 0) FROM sub_treatments),
               (SELECT coalesce(sum(CAST(events AS BIGINT)), 0) FROM sub_events
                WHERE category IS NULL AND severity IS NULL),
               (SELECT coalesce(sum(CAST(treatments_affected AS BIGINT)), 0) FROM sub_events
                WHERE category IS NULL AND severity IS NULL),
               (SELECT count(*) FROM sub_serious),
               $p_t, $p_e, $p_s
        """,
        {
            **key, "file": str(sub.path), "sha": sub.sha256,
            "members": " ".join(sub.data_checksums), "at": receipt[1],
            "who": receipt[0], "created": sub.created_at, "tool": sub.tool_version,
            "fv": sub.format_version, "p_t": previous[0], "p_e": previous[1], "p_s": previous[2],
        },
    )  # fmt: skip
