"""Ingest speed and memory: `needlewatch ingest` of an N-row treatments CSV against a bare
``CREATE TABLE ... AS SELECT * FROM read_csv(...)`` of the same file.

Targets (issue 2): >= 1,000,000 rows/s, <= 3x the bare load, peak memory < 2 GB.
Each measurement runs in its own process; peak memory is that process's max RSS.

    uv run python bench/ingest_speed.py [--rows 5000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

BARE = """
import duckdb, sys
con = duckdb.connect(sys.argv[2])
con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [sys.argv[1]])
con.close()
"""


def make_files(folder: Path, rows: int) -> tuple[Path, Path, Path]:
    """A clinics file, 400 practitioners and `rows` realistic treatments (DuckDB COPY)."""
    clinics, practitioners, treatments = (folder / f for f in ("c.csv", "p.csv", "t.csv"))
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT 'C' || lpad(i::VARCHAR, 2, '0') AS clinic_id, 'Clinic ' || i AS name, "
        f"'Region' AS region, 'Ireland' AS country FROM range(20) r(i)) TO '{clinics}'"
    )
    con.execute(
        f"COPY (SELECT 'P' || lpad(i::VARCHAR, 4, '0') AS practitioner_id, "
        f"'C' || lpad((i % 20)::VARCHAR, 2, '0') AS clinic_id, 'physiotherapist' AS profession, "
        f"(i * 7) % 300 AS dn_training_hours, (i % 25) AS years_dn_experience "
        f"FROM range(400) r(i)) TO '{practitioners}'"
    )
    con.execute(
        f"""COPY (SELECT 'T' || lpad(i::VARCHAR, 9, '0') AS treatment_id,
            (DATE '2020-01-01' + CAST(i % 2000 AS INTEGER)) AS treatment_date,
            'P' || lpad((i % 400)::VARCHAR, 4, '0') AS practitioner_id,
            'C' || lpad(((i % 400) % 20)::VARCHAR, 2, '0') AS clinic_id,
            'PT' || lpad((i // 9)::VARCHAR, 8, '0') AS patient_id,
            ['upper_trapezius', 'gluteals', 'lumbar_paraspinals', 'rhomboids'][1 + i % 4]
                AS body_region,
            CASE WHEN i % 9 = 0 THEN 'yes' ELSE 'no' END AS ultrasound_guided,
            1 + i % 15 AS needle_insertions,
            ['in_and_out', 'static', 'electrical'][1 + i % 3] AS technique,
            CASE WHEN i % 3 = 0 THEN NULL ELSE 10 + i % 20 END AS retention_minutes,
            CASE WHEN i % 3 = 2 THEN 'yes' ELSE 'no' END AS electrical_stimulation,
            CASE WHEN i % 50 = 0 THEN 'anticoagulants' ELSE NULL END AS contraindications
            FROM range({rows}) r(i)) TO '{treatments}'"""
    )
    return clinics, practitioners, treatments


def run(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0, 3):
        sys.exit(f"command failed: {' '.join(cmd)}")
    return elapsed, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cli = [sys.executable, "-m", "needlewatch.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clinics, practitioners, treatments = make_files(folder, args.rows)
        size_mb = treatments.stat().st_size / 1e6
        print(f"treatments CSV: {args.rows:,} rows, {size_mb:,.0f} MB")
        bare, ours = [], []
        for i in range(args.repeat):
            db = folder / f"bare{i}.duckdb"
            bare.append(run([sys.executable, "-c", BARE, str(treatments), str(db)]))
            db = folder / f"nw{i}.duckdb"
            run([*cli, "ingest", "--db", str(db), str(clinics), str(practitioners)])
            ours.append(run([*cli, "ingest", "--db", str(db), str(treatments)]))
        bare_s = statistics.median(t for t, _ in bare)
        ours_s = statistics.median(t for t, _ in ours)
        print(f"{'':28}{'seconds':>10}{'rows/s':>14}{'peak MB':>10}")
        print(
            f"{'bare CREATE TABLE AS':28}{bare_s:10.2f}{args.rows / bare_s:14,.0f}"
            f"{max(m for _, m in bare):10.0f}"
        )
        print(
            f"{'needlewatch ingest':28}{ours_s:10.2f}{args.rows / ours_s:14,.0f}"
            f"{max(m for _, m in ours):10.0f}"
        )
        print(f"ratio ingest / bare: {ours_s / bare_s:.2f}  (target <= 3.0)")
        print(f"ingest rows/s: {args.rows / ours_s:,.0f}  (target >= 1,000,000)")


if __name__ == "__main__":
    main()
