"""Analysis commands end to end on a 10-million-treatment database (issue 12).

Target: each analysis command (``rates``, ``compare``, ``model``, ``signals``) under 1 s
end to end: a fresh ``needlewatch`` process, imports, the counts store's queries, the
statistics and the printed table. Printed beside the target, beside the same process
doing nothing but start (``needlewatch --version``: the interpreter and the parser),
beside the libraries every analysis command needs and nothing else (``import duckdb,
pandas, scipy.special``: the floor while the commands compute with these libraries), and
beside bare DuckDB counting the same rows straight from the treatment and event rows
(the command's numerator and denominator by its dimensions, no statistics).

    uv run python bench/cli_speed.py [--treatments 10000000] [--repeat 5] [--db PATH]

The database is the dashboard bench's (``bench/out/``), built on first use, or ``--db``.
The commands run from this checkout (its ``needlewatch``, whatever the working directory).
Timings on a shared machine vary with its load: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dashboard_speed import build_database, describe  # noqa: E402

TARGET_S = 1.0
ROOT = Path(__file__).resolve().parent.parent
#: What every analysis command imports before it can count or print anything.
LIBRARIES = "import duckdb, pandas, scipy.special"

#: command, its arguments, and bare DuckDB's counts for the same question.
CASES: tuple[tuple[str, list[str], str], ...] = (
    (
        "rates --by category",
        ["rates", "--by", "category"],
        "SELECT category, count(*), count(DISTINCT treatment_id) FROM adverse_events "
        "GROUP BY ALL; SELECT count(*) FROM treatments",
    ),
    (
        "rates --by clinic,quarter",
        ["rates", "--by", "clinic,quarter"],
        "SELECT t.clinic_id, year(t.treatment_date), quarter(t.treatment_date), count(*) "
        "FROM adverse_events e JOIN treatments t USING (treatment_id) GROUP BY ALL; "
        "SELECT clinic_id, year(treatment_date), quarter(treatment_date), count(*) "
        "FROM treatments GROUP BY ALL",
    ),
    (
        "compare --factor ultrasound",
        ["compare", "--factor", "ultrasound", "--quarter", "2026Q2"],
        "SELECT t.practitioner_id, t.ultrasound_guided, t.body_region, count(*) FROM "
        "adverse_events e JOIN treatments t USING (treatment_id) WHERE t.treatment_date "
        "BETWEEN '2026-04-01' AND '2026-06-30' GROUP BY ALL; SELECT practitioner_id, "
        "ultrasound_guided, body_region, count(*) FROM treatments WHERE treatment_date "
        "BETWEEN '2026-04-01' AND '2026-06-30' GROUP BY ALL",
    ),
    (
        "model",
        ["model", "--quarter", "2026Q2"],
        "SELECT t.practitioner_id, t.ultrasound_guided, t.body_region, count(*) FROM "
        "adverse_events e JOIN treatments t USING (treatment_id) WHERE t.treatment_date "
        "BETWEEN '2026-04-01' AND '2026-06-30' GROUP BY ALL; SELECT practitioner_id, "
        "ultrasound_guided, body_region, count(*) FROM treatments WHERE treatment_date "
        "BETWEEN '2026-04-01' AND '2026-06-30' GROUP BY ALL",
    ),
    (
        "signals --quarter 2026Q2",
        ["signals", "--quarter", "2026Q2"],
        "SELECT t.clinic_id, date_trunc('month', t.treatment_date), e.category, count(*) "
        "FROM adverse_events e JOIN treatments t USING (treatment_id) GROUP BY ALL; "
        "SELECT clinic_id, date_trunc('month', treatment_date), count(*) FROM treatments "
        "GROUP BY ALL",
    ),
)


def run(db: Path, args: list[str], repeat: int) -> float:
    """Median wall seconds of ``needlewatch ARGS --db DB`` in a fresh process."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "needlewatch.cli", *args, "--db", str(db)],
            capture_output=True, text=True, cwd=ROOT,
        )  # fmt: skip
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            sys.exit(f"needlewatch {' '.join(args)} failed: {done.stderr.strip()}")
    return statistics.median(times)


def bare(db: Path, sql: str, repeat: int) -> float:
    """Median seconds for bare DuckDB (an open connection) to run the same counts."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            for part in sql.split(";"):
                con.execute(part).fetchall()
            times.append(time.perf_counter() - start)
        return statistics.median(times)
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--treatments", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", type=Path, help="measure this database (opened read-only)")
    args = parser.parse_args()
    if args.db is not None:
        db, treatments = args.db.resolve(), describe(args.db)["rows"]["treatments"]
    else:
        db, treatments = build_database(args.treatments, False)[0], args.treatments
    load = f"{os.getloadavg()[0]:.1f}"
    start = _start(["-m", "needlewatch.cli", "--version"], args.repeat)
    floor = _start(["-c", LIBRARIES], args.repeat)
    print(f"database: {db} ({treatments:,} treatments); median of {args.repeat} runs")
    print(f"\n{'command':30}{'end to end s':>13}{'target':>8}{'start only':>11}"
          f"{'libraries':>10}{'bare DuckDB s':>14}  result")  # fmt: skip
    passed = 0
    for name, argv, sql in CASES:
        seconds = run(db, argv, args.repeat)
        bare_s = bare(db, sql, args.repeat)
        ok = seconds < TARGET_S
        passed += ok
        print(f"{name:30}{seconds:13.2f}{TARGET_S:8.2f}{start:11.2f}{floor:10.2f}"
              f"{bare_s:14.3f}  {'PASS' if ok else 'FAIL'}")  # fmt: skip
    print(
        f"\n{passed}/{len(CASES)} commands under {TARGET_S:g} s end to end; 'start only' is "
        "`needlewatch --version` (interpreter and parser, no database); 'libraries' is "
        f"`python -c '{LIBRARIES}'`; load average {load} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end ({os.cpu_count()} cores)"
    )


def _start(argv: list[str], repeat: int) -> float:
    """Median wall seconds of a fresh interpreter running ``python ARGV``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, *argv], check=True, capture_output=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


if __name__ == "__main__":
    main()
