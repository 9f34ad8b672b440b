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
from .countstore import ROWS_SOURCE, SUBMISSION_SOURCE
from .quarters import parse_quarter, quarter_months
from .store import write_transaction
from .submission_checks import first_problems, stage
from .submission_file import AGAIN, SubmissionFile, SubmissionRejected, open_submission


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
    min_cell: int | None = None,
    received_by: str | None = None,
    now: datetime | None = None,
    arrived: Mapping[Path, datetime] | None = None,
) -> SubmissionReport:
    """Receive ``files`` (submission zips) into ``db_path``, each whole or not at all.

    The bands are the body's (its profile; the settings' by default): a file banded any
    other way is rejected, since its band labels could not be read back as this
    database's hours and years. With the body's ``min_cell`` (its profile's disclosure
    policy), a file pooled to a smaller minimum, or not pooled, is rejected. ``received_by`` is recorded with each version (the
    signed-in user; the operating-system user by default); ``now`` the time of receipt
    (the clock's by default), or per file ``arrived`` (the demo network replays a
    history of arrivals in one write). Files are taken in the order given: a later file
    for the same clinic and quarter is the later version.
    """
    now = (now or datetime.now()).replace(microsecond=0)
    today = today or now.date()
    who = received_by if received_by is not None else _user()
    bands = (tuple(map(float, training_upper)), tuple(map(float, experience_cuts)))
    opened: list[SubmissionFile | SubmissionRejected] = []
    for path in files:
        try:
            opened.append(open_submission(Path(path)))
        except SubmissionRejected as exc:
            opened.append(exc)
    size = sum(Path(f).stat().st_size for f in files if Path(f).is_file())
    with write_transaction(db_path, input_bytes=size) as session:
        con = session.con
        problems = _file_problems(con, opened, today, bands, min_cell)
        good = {
            i: sub for i, sub in enumerate(opened)
            if isinstance(sub, SubmissionFile) and i not in problems
        }  # fmt: skip
        labels = _labels(*bands)
        if good:
            months = {i: [f"{m:%Y-%m}" for m in quarter_months(s.quarter)] for i, s in good.items()}
            stage(con, good, months, session.workdir)
            found = first_problems(con, good, labels)
            problems.update({i: f"{why}; {AGAIN}" for i, why in found.items()})
        taken = {i: sub for i, sub in good.items() if i not in problems}
        times = {
            i: (arrived or {}).get(sub.path, now).replace(microsecond=0) for i, sub in taken.items()
        }
        received = _take_in(con, taken, labels, who, times) if taken else {}
    rejected = []
    for i, sub in enumerate(opened):
        if isinstance(sub, SubmissionRejected):
            rejected.append(sub)
        elif i in problems:
            rejected.append(SubmissionRejected(f"{sub.path}: {problems[i]}"))
    return SubmissionReport(
        Path(db_path), tuple(received[i] for i in sorted(received)), tuple(rejected)
    )


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def _labels(training_upper: tuple[float, ...], experience_cuts: tuple[float, ...]) -> dict:
    """The body's band labels and the store values that stand for them (``ingest.bands``)."""
    return {
        "tb_labels": list(training_labels(training_upper)),
        "tb_values": list(training_values(training_upper)),
        "eb_labels": list(experience_labels(experience_cuts)),
        "eb_values": list(experience_values(experience_cuts)),
    }


def _bounds(values: tuple[float, ...]) -> str:
    return "[" + ", ".join(f"{v:g}" for v in values) + "]"


def _file_problems(
    con: duckdb.DuckDBPyConnection,
    opened: list[SubmissionFile | SubmissionRejected],
    today: date,
    bands: tuple[tuple[float, ...], tuple[float, ...]],
    min_cell: int | None = None,
) -> dict[int, str]:
    """What rejects a whole file before its rows are read (the text after its name, and
    what to do): the quarter, the bands, the register and the date the clinic joined, a
    quarter held as rows."""
    subs = {i: s for i, s in enumerate(opened) if isinstance(s, SubmissionFile)}
    members = dict(  # clinic -> the date it joined the network (None: not recorded)
        con.execute(
            "SELECT clinic_id, max(joined_on) FROM clinics WHERE list_contains($c, clinic_id) "
            "GROUP BY clinic_id",
            {"c": sorted({s.clinic_id for s in subs.values()})},
        ).fetchall()
    )
    as_rows = {
        (r[0], r[1])
        for r in con.execute(
            "SELECT DISTINCT clinic_id, strftime(month, '%Y') || 'Q' || quarter(month) "
            "FROM counts_treatments WHERE source = $s AND list_contains($c, clinic_id)",
            {"s": ROWS_SOURCE, "c": sorted(members)},
        ).fetchall()
    }
    problems = {}
    for i, sub in subs.items():
        first, last_day = parse_quarter(sub.quarter)
        if last_day >= today:
            problems[i] = (
                f"{sub.quarter} has not ended (it ends {last_day:%d %b %Y}); send it once the "
                "quarter is over"
            )
        elif first < settings.EARLIEST_DATE:
            problems[i] = f"{sub.quarter} is before {settings.EARLIEST_DATE:%Y}; check the quarter"
        elif (sub.training_upper, sub.experience_cuts) != bands:
            problems[i] = (
                f"banded with training bands {_bounds(sub.training_upper)} and experience cuts "
                f"{_bounds(sub.experience_cuts)}, but this body bands by {_bounds(bands[0])} "
                f"and {_bounds(bands[1])}; ask the clinic to submit again with the body's "
                "profile (--profile)"
            )
        elif min_cell is not None and (sub.min_cell or 0) < min_cell:
            problems[i] = (
                f"pooled to a minimum cell of {sub.min_cell or 'none'}, but this body asks for "
                f"{min_cell}; ask the clinic to submit again with the body's profile (--profile)"
            )
        elif sub.clinic_id not in members:
            problems[i] = (
                f"clinic {sub.clinic_id} is not in this body's member register (the clinics "
                "table); ingest the register with the clinic in it first, or check the clinic id"
            )
        elif (joined := members[sub.clinic_id]) is not None and last_day < joined:
            problems[i] = (
                f"clinic {sub.clinic_id} joined on {joined:%Y-%m-%d}, after {sub.quarter} "
                "ended; check the quarter, or the clinic's joined_on in the member register"
            )
        elif (sub.clinic_id, sub.quarter) in as_rows:
            problems[i] = (
                f"clinic {sub.clinic_id}'s {sub.quarter} is held here as treatment rows "
                "already; a clinic's quarter is counted from its rows or from its submission, "
                "not both"
            )
    return problems


def _totals(con: duckdb.DuckDBPyConnection) -> dict[int, tuple[int, int, int, int, int]]:
    """Per staged file: treatments, insertions, events, treatments affected, serious events."""
    rows = con.execute(
        """
        SELECT f.file_idx,
               (SELECT coalesce(sum(CAST(treatments AS BIGINT)), 0) FROM stage_treatments t
                WHERE t.file_idx = f.file_idx),
               (SELECT coalesce(sum(CAST(insertions AS BIGINT)), 0) FROM stage_treatments t
                WHERE t.file_idx = f.file_idx),
               (SELECT coalesce(sum(CAST(events AS BIGINT)), 0) FROM stage_events e
                WHERE e.file_idx = f.file_idx AND category IS NULL AND severity IS NULL),
               (SELECT coalesce(sum(CAST(treatments_affected AS BIGINT)), 0) FROM stage_events e
                WHERE e.file_idx = f.file_idx AND category IS NULL AND severity IS NULL),
               (SELECT count(*) FROM stage_serious s WHERE s.file_idx = f.file_idx)
        FROM stage_files f
        """
    ).fetchall()
    return {int(r[0]): tuple(int(x) for x in r[1:]) for r in rows}


def _take_in(
    con: duckdb.DuckDBPyConnection,
    taken: dict[int, SubmissionFile],
    labels: dict,
    who: str | None,
    times: dict[int, datetime],
) -> dict[int, Received]:
    """Record each file as the next version of its clinic's quarter (or as unchanged),
    and put the last version of each quarter's counts in the store, set by set."""
    totals = _totals(con)
    keys = sorted({(s.clinic_id, s.quarter) for s in taken.values()})
    held = {
        (r[0], r[1]): {"version": r[2], "members": r[3], "totals": (r[4], r[5], r[6]), "max": r[7]}
        for r in con.execute(
            """
            SELECT clinic_id, quarter, max(version) FILTER (WHERE current),
                   any_value(members_sha256) FILTER (WHERE current),
                   any_value(treatments) FILTER (WHERE current),
                   any_value(events) FILTER (WHERE current),
                   any_value(serious_events) FILTER (WHERE current), max(version)
            FROM submissions
            WHERE list_contains($k, clinic_id || ' ' || quarter)
            GROUP BY 1, 2
            """,
            {"k": [f"{c} {q}" for c, q in keys]},
        ).fetchall()
    }
    received: dict[int, Received] = {}
    versions: list[tuple] = []  # file_idx, clinic, quarter, version, replaced totals
    last_of: dict[tuple[str, str], int] = {}
    for i in sorted(taken):
        sub = taken[i]
        key, members = (sub.clinic_id, sub.quarter), " ".join(sub.data_checksums)
        mine = (totals[i][0], totals[i][2], totals[i][4])
        now = held.get(key)
        if now is not None and now["members"] == members:
            received[i] = Received(sub.path, *key, now["version"], "unchanged", mine)
            continue
        version = (now["max"] if now else 0) + 1
        before = now["totals"] if now and now["version"] is not None else None
        status = "new" if before is None else "replaced"
        received[i] = Received(sub.path, *key, version, status, mine, before)
        versions.append((i, *key, version, *(before or (None, None, None))))
        held[key] = {"version": version, "members": members, "totals": mine, "max": version}
        last_of[key] = i
    if not versions:
        return received
    columns = list(zip(*versions, strict=True))
    con.execute(
        "CREATE OR REPLACE TEMP TABLE taken AS SELECT unnest($i) AS file_idx, "
        "unnest($c) AS clinic_id, unnest($q) AS quarter, unnest($v) AS version, "
        "unnest($pt) AS p_t, unnest($pe) AS p_e, unnest($ps) AS p_s",
        {"i": list(columns[0]), "c": list(columns[1]), "q": list(columns[2]),
         "v": list(columns[3]), "pt": list(columns[4]), "pe": list(columns[5]),
         "ps": list(columns[6])},
    )  # fmt: skip
    winners = sorted(last_of.values())
    spans = [quarter_months(taken[i].quarter) for i in winners]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE winners AS SELECT unnest($i) AS file_idx, "
        "unnest($c) AS clinic_id, unnest($m1) AS m1, unnest($m3) AS m3",
        {"i": winners, "c": [taken[i].clinic_id for i in winners],
         "m1": [s[0] for s in spans], "m3": [s[2] for s in spans]},
    )  # fmt: skip
    _store(con, labels)
    _record(con, taken, [v[0] for v in versions], who, times, totals)
    return received


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


def _store(con: duckdb.DuckDBPyConnection, labels: dict) -> None:
    """The winners' counts in place of their quarters' submitted counts."""
    for table in ("counts_treatments", "counts_events"):
        con.execute(
            f"DELETE FROM {table} c USING winners w WHERE c.source = $s "
            "AND c.clinic_id = w.clinic_id AND c.month BETWEEN w.m1 AND w.m3",
            _PLACE,
        )
    con.execute(
        f"INSERT INTO counts_treatments SELECT $s, {_STORE_KEYS}, "
        "sum(CAST(treatments AS BIGINT)), sum(CAST(insertions AS BIGINT)) "
        "FROM stage_treatments WHERE file_idx IN (SELECT file_idx FROM winners) GROUP BY ALL",
        {**_PLACE, **labels},
    )
    con.execute(
        f"INSERT INTO counts_events SELECT $s, {_STORE_KEYS}, category, severity, "
        "sum(CAST(events AS BIGINT)), sum(CAST(treatments_affected AS BIGINT)) "
        "FROM stage_events WHERE file_idx IN (SELECT file_idx FROM winners) GROUP BY ALL",
        {**_PLACE, **labels},
    )


def _record(
    con: duckdb.DuckDBPyConnection,
    taken: dict[int, SubmissionFile],
    order: list[int],
    who: str | None,
    times: dict[int, datetime],
    totals: dict[int, tuple[int, int, int, int, int]],
) -> None:
    """Every new version: its serious events, quality measures and ``submissions`` row;
    the versions before it no longer current."""
    con.execute(
        "INSERT INTO submitted_serious_events SELECT t.clinic_id, t.quarter, t.version, "
        "CAST(strptime(s.month, '%Y-%m') AS DATE), s.category, s.severity, s.body_region, "
        "s.ultrasound = 'yes', s.training_band, s.outcome "
        "FROM stage_serious s JOIN taken t USING (file_idx)"
    )
    con.execute(
        "INSERT INTO submitted_quality SELECT t.clinic_id, t.quarter, t.version, q.measure, "
        "q.kind, CAST(q.value AS BIGINT) FROM stage_quality q JOIN taken t USING (file_idx)"
    )
    con.execute(
        "UPDATE submissions s SET current = false FROM taken t "
        "WHERE s.clinic_id = t.clinic_id AND s.quarter = t.quarter"
    )
    newest = {(taken[i].clinic_id, taken[i].quarter): i for i in order}  # the last wins
    con.execute(
        """
        INSERT INTO submissions
        SELECT t.clinic_id, t.quarter, t.version, list_contains($newest, t.file_idx),
               m.file, m.sha, m.members, m.at, $who, m.created, m.tool, m.fv,
               m.treatments, m.insertions, m.events, m.affected, m.serious, t.p_t, t.p_e, t.p_s
        FROM taken t JOIN (
            SELECT unnest($i) AS file_idx, unnest($file) AS file, unnest($sha) AS sha,
                   unnest($members) AS members, unnest($at) AS at, unnest($created) AS created,
                   unnest($tool) AS tool, unnest($fv) AS fv, unnest($tr) AS treatments,
                   unnest($ins) AS insertions, unnest($ev) AS events, unnest($af) AS affected,
                   unnest($se) AS serious
        ) m USING (file_idx)
        ORDER BY t.file_idx
        """,
        {
            "newest": list(newest.values()), "who": who, "i": order,
            "file": [str(taken[i].path) for i in order],
            "sha": [taken[i].sha256 for i in order],
            "members": [" ".join(taken[i].data_checksums) for i in order],
            "at": [times[i] for i in order],
            "created": [taken[i].created_at for i in order],
            "tool": [taken[i].tool_version for i in order],
            "fv": [taken[i].format_version for i in order],
            "tr": [totals[i][0] for i in order], "ins": [totals[i][1] for i in order],
            "ev": [totals[i][2] for i in order], "af": [totals[i][3] for i in order],
            "se": [totals[i][4] for i in order],
        },
    )  # fmt: skip
