"""Ingest speed: a cost that follows the input, not the database.

Three ingests, each timed in its own process (``needlewatch ingest``) on a copy of the
cached 10-million-treatment benchmark database (at this release's schema, counts store
included) and on a near-empty one, beside bare
DuckDB (``CREATE TABLE t AS SELECT * FROM read_csv(...)`` of the same file, in a process
of its own, into a new file):

- a follow-up of one event (target < 0.5 s; the issue: well under a second),
- a follow-up of 1,000 events,
- 5,000,000 new treatments (targets: <= 3x bare, >= 1,000,000 rows/s, peak < 2 GB).

The files come from the cached database (new ids; the events name stored treatments). The
near-empty database holds its clinics, practitioners and the 1,000 treatments the events
name; for the 5M ingest, its clinics and practitioners only. Every run starts from a fresh
copy (not timed, so the file is in the page cache, as for a database in use). "process"
is the command's wall time, Python's start included; "ingest_files" the library call
alone. The cached database is never written: build it with bench/dashboard_speed.py.

    uv run python bench/ingest_speed.py [--db bench/out/dashboard-10000000-seed20261121-schema2.duckdb]
                                        [--rows 5000000] [--repeat 3]
                                        [--only one,thousand,bulk] [--keep-files DIR]

``--keep-files DIR`` makes the CSV files there once and reuses them (same --db and --rows).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from ingest.schema import SCHEMA_VERSION  # noqa: E402

#: Built (and kept) by bench/dashboard_speed.py; never written here.
CACHED = ROOT / "bench" / "out" / f"dashboard-10000000-seed20261121-schema{SCHEMA_VERSION}.duckdb"
FOLLOW_UP_EVENTS = 1000
#: The three cases, in order, as ``--only`` names them.
CASE_NAMES = ("one", "thousand", "bulk")

BARE = """
import duckdb, sys
con = duckdb.connect(sys.argv[2])
con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [sys.argv[1]])
con.close()
"""

#: ``needlewatch ingest`` as the command line runs it, timing the library call too.
INGEST = """
import json, sys, time
sys.path.insert(0, {root!r})
import ingest.api as api  # the command imports it when it runs; patched before
from needlewatch.cli import main
timing, db, *files = sys.argv[1:]
real = api.ingest_files
def timed(*args, **kwargs):
    start = time.perf_counter()
    try:
        return real(*args, **kwargs)
    finally:
        with open(timing, "w") as fh:
            json.dump(time.perf_counter() - start, fh)
api.ingest_files = timed
sys.exit(main(["ingest", "--db", db, *files]))
"""


def make_files(cached: Path, folder: Path, rows: int) -> dict[str, Path]:
    """CSV files from the cached database: its clinics and practitioners, 1,000 of its
    treatments (and one and 1,000 new events naming them), ``rows`` new treatments."""
    files = {
        name: folder / f"{name}.csv"
        for name in ("clinics", "practitioners", "named", "event_1", "events_1000", "treatments")
    }
    bool_text = "CASE WHEN {0} THEN 'yes' WHEN NOT {0} THEN 'no' END AS {0}"
    treatment_cols = ", ".join(
        [
            "treatment_date, practitioner_id, clinic_id",
            "'PT' || left(patient_key, 12) AS patient_id, body_region",
            bool_text.format("ultrasound_guided"),
            "needle_insertions, technique, retention_minutes",
            bool_text.format("electrical_stimulation"),
            "contraindications",
        ]
    )
    events = (
        "SELECT 'FU' || lpad(row_number() OVER (ORDER BY treatment_id)::VARCHAR, 6, '0') "
        "AS event_id, treatment_id, 'bruising' AS event_type, 'mild' AS severity, "
        "'after' AS onset, treatment_date + 1 AS onset_date, 'resolved' AS outcome, "
        "'no' AS hospitalised FROM named_rows"
    )
    with duckdb.connect(str(cached), read_only=True) as con:
        con.execute(
            "CREATE TEMP TABLE named_rows AS SELECT * FROM treatments "
            f"USING SAMPLE reservoir({FOLLOW_UP_EVENTS} ROWS) REPEATABLE (42)"
        )
        for table in ("clinics", "practitioners"):
            con.execute(f"COPY (SELECT * EXCLUDE (run_id) FROM {table}) TO '{files[table]}'")
        con.execute(
            f"COPY (SELECT treatment_id, {treatment_cols} FROM named_rows) TO '{files['named']}'"
        )
        con.execute(f"COPY ({events} ORDER BY event_id LIMIT 1) TO '{files['event_1']}'")
        con.execute(f"COPY ({events} ORDER BY event_id) TO '{files['events_1000']}'")
        con.execute(
            f"COPY (SELECT 'N' || treatment_id AS treatment_id, {treatment_cols} "
            f"FROM treatments LIMIT {rows}) TO '{files['treatments']}'"
        )
    return files


def run(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"command failed ({os.waitstatus_to_exitcode(status)}): {' '.join(cmd)}")
    return elapsed, usage.ru_maxrss / 1024


def ingest(db: Path, files: list[Path], work: Path) -> tuple[float, float, float]:
    """(process seconds, ingest_files seconds, peak MB) of one ``needlewatch ingest``."""
    script, timing = work / "ingest_child.py", work / "timing.json"
    script.write_text(INGEST.format(root=str(ROOT)))
    wall, peak = run([sys.executable, str(script), str(timing), str(db), *map(str, files)])
    return wall, json.loads(timing.read_text()), peak


def fresh_copy(source: Path, target: Path) -> Path:
    for stale in target.parent.glob(target.name + "*"):
        stale.unlink()
    shutil.copyfile(source, target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db",
        type=Path,
        default=CACHED,
        help="the database to ingest into (copied; default: the 10M bench database)",
    )
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--only",
        default="one,thousand,bulk",
        help="comma-separated cases to run: one, thousand, bulk (default: all three)",
    )
    parser.add_argument(
        "--keep-files", type=Path, help="write the CSV files here and reuse them if present"
    )
    parser.add_argument("--make-files", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    only = set(args.only.split(","))
    if only - set(CASE_NAMES):
        parser.error(f"--only: use some of {', '.join(CASE_NAMES)}")
    if args.make_files:  # in a child: a child's peak RSS counts its parent's at the fork
        make_files(args.db, args.make_files, args.rows)
        return
    if not args.db.exists():
        sys.exit(f"no {args.db}: build it with bench/dashboard_speed.py (about 5 minutes)")
    cli = [sys.executable, "-m", "needlewatch.cli"]
    with tempfile.TemporaryDirectory(prefix="ingest-speed-") as tmp:
        work = Path(tmp)
        made = args.keep_files or work
        made.mkdir(parents=True, exist_ok=True)
        if not (made / "treatments.csv").exists():
            _make_files(args, made)
        files = {p.stem: p for p in made.glob("*.csv")}
        with duckdb.connect(str(args.db), read_only=True) as con:
            n_big = con.execute("SELECT count(*) FROM treatments").fetchone()[0]
        # The near-empty databases, built once through the normal ingest (not timed).
        small = {"events": work / "small_events.duckdb", "treatments": work / "small_t.duckdb"}
        for key, extra in (("events", [files["named"]]), ("treatments", [])):
            base = [files["clinics"], files["practitioners"], *extra]
            subprocess.run(
                [*cli, "ingest", "--db", str(small[key]), *map(str, base)],
                check=True,
                stdout=subprocess.DEVNULL,
                cwd=ROOT,
            )
        cases = [
            ("one event (follow-up)", "event_1", "events", 1, "< 0.5 s"),
            (f"{FOLLOW_UP_EVENTS:,} events (follow-up)", "events_1000", "events", 1000, ""),
            # the targets: 5 million within 3x bare at 10M; a quarter (2.5 million)
            # under a minute at 100M
            (
                f"{args.rows:,} treatments",
                "treatments",
                "treatments",
                args.rows,
                "<= 3x bare" if n_big < 50_000_000 else "< 60 s",
            ),  # fmt: skip
        ]
        cases = [c for c, name in zip(cases, CASE_NAMES, strict=True) if name in only]
        print(
            f"databases: {n_big:,} treatments ({args.db.stat().st_size / 1e6:,.0f} MB, "
            f"{args.db.name}) and near-empty; median of {args.repeat} runs, each on a fresh "
            "copy\n"
        )
        big = f"{n_big / 1e6:g}M"  # the database's size as its label: 10M, 100M
        head = (
            f"{'ingest':26}{'database':>14}{'process s':>11}{'ingest_files s':>16}"
            f"{'rows/s':>12}{'peak MB':>9}{'bare s':>8}{'x bare':>8}  target"
        )
        print(head)
        print("-" * len(head))
        results = {}
        for label, file_key, small_key, n_rows, target in cases:
            path = files[file_key]
            bare = [
                run([sys.executable, "-c", BARE, str(path), str(fresh_copy_empty(work, i))])
                for i in range(args.repeat)
            ]
            bare_s = statistics.median(t for t, _ in bare)
            for db_label, source in ((big, args.db), ("near-empty", small[small_key])):
                runs = []
                for _ in range(args.repeat):
                    db = fresh_copy(source, work / "run.duckdb")
                    runs.append(ingest(db, [path], work))
                wall = statistics.median(r[0] for r in runs)
                lib = statistics.median(r[1] for r in runs)
                peak = max(r[2] for r in runs)
                results[(file_key, db_label)] = wall
                print(
                    f"{label if db_label == big else '':26}{db_label:>14}{wall:11.2f}"
                    f"{lib:16.2f}{n_rows / wall:12,.0f}{peak:9.0f}{bare_s:8.2f}"
                    f"{wall / bare_s:8.1f}  {target if db_label == big else ''}"
                )
        print()
        for label, file_key, _, _, _ in cases:
            ratio = results[(file_key, big)] / results[(file_key, "near-empty")]
            print(f"{label}: {big} / near-empty = {ratio:.2f}")


def _make_files(args: argparse.Namespace, folder: Path) -> None:
    """The CSV files, made in a child process (see ``--make-files``)."""
    subprocess.run(
        [
            sys.executable,
            __file__,
            "--db",
            str(args.db),
            "--rows",
            str(args.rows),
            "--make-files",
            str(folder),
        ],
        check=True,
    )


def fresh_copy_empty(work: Path, i: int) -> Path:
    """A path for bare DuckDB's new database (removed first)."""
    db = work / f"bare{i}.duckdb"
    for stale in work.glob(db.name + "*"):
        stale.unlink()
    return db


if __name__ == "__main__":
    main()
