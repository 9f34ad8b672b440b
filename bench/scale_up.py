"""A body's decade: the 10-million-treatment bench database copied ten times into one of
100 million treatments (not in CI; cached in ``bench/out/``).

The demo generator holds its data in memory (6 GB at 10 million treatments), so 100
million are made in SQL from the 10-million database instead: copy k (0-9) of every
clinic, practitioner, treatment and event gets ids suffixed ``-k`` (140 clinics, 960
practitioners) and its dates moved back 3 x (k // 3) years, so the copies tile twelve
years. The counts store and the blank counts are then recounted once
(``refresh_counts(everything=True)``, ``recount_blanks``).

    uv run python bench/scale_up.py [--copies 10]

prints the time of each step and the rows and sizes: the store's rows against the rows.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dashboard_speed import OUT, build_database  # noqa: E402

from ingest.blanks import recount_blanks  # noqa: E402
from ingest.countstore import refresh_counts  # noqa: E402
from ingest.schema import SCHEMA_VERSION, migrate  # noqa: E402

SUFFIXED = {
    "clinics": ("clinic_id",),
    "practitioners": ("practitioner_id", "clinic_id"),
    "practitioner_history": ("practitioner_id", "clinic_id"),
    "treatments": ("treatment_id", "practitioner_id", "clinic_id"),
    "adverse_events": ("event_id", "treatment_id"),
}
DATES = {"treatments": ("treatment_date",), "adverse_events": ("onset_date",)}


def scaled_path(copies: int) -> Path:
    return OUT / f"scale-{copies}x-of-10000000.duckdb"


def build(copies: int) -> Path:
    source, _ = build_database(10_000_000, False)
    target = scaled_path(copies)
    if target.exists():  # cached: brought to this release's schema if it is older
        with duckdb.connect(str(target)) as con:
            if migrate(con) < SCHEMA_VERSION:
                print(f"{target.name}: upgraded to schema {SCHEMA_VERSION}", flush=True)
        return target
    building = target.with_name(target.name + ".building")
    building.unlink(missing_ok=True)
    shutil.copy(source, building)
    con = duckdb.connect(
        str(building), config={"preserve_insertion_order": False, "memory_limit": "8GB"}
    )
    try:
        for table, ids in SUFFIXED.items():
            cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
            start = time.perf_counter()
            con.execute(f"CREATE TEMP TABLE base AS SELECT * FROM {table}")
            for k in range(1, copies):
                years = 3 * (k // 3)
                select = []
                for c in cols:
                    if c in ids:
                        select.append(f"{c} || '-{k}'")
                    elif c in DATES.get(table, ()):
                        select.append(f"CAST({c} - INTERVAL {years} YEAR AS DATE)")
                    else:
                        select.append(c)
                con.execute(f"INSERT INTO {table} SELECT {', '.join(select)} FROM base")
            con.execute("DROP TABLE base")
            n = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            print(f"{table:22} {n:>12,} rows  {time.perf_counter() - start:7.1f} s", flush=True)
        start = time.perf_counter()
        refresh_counts(con, everything=True)
        recount_blanks(con)
        print(f"{'counts store':22} recounted  {time.perf_counter() - start:7.1f} s", flush=True)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    building.rename(target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=10)
    args = parser.parse_args()
    db = build(args.copies)
    con = duckdb.connect(str(db), read_only=True)
    sizes = {
        t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("treatments", "adverse_events", "counts_treatments", "counts_events")
    }
    con.close()
    print(f"\n{db} ({db.stat().st_size / 1e9:.2f} GB)")
    print(f"rows:   {sizes['treatments']:>12,} treatments, {sizes['adverse_events']:>12,} events")
    print(f"store:  {sizes['counts_treatments']:>12,} treatment rows, "
          f"{sizes['counts_events']:>12,} event rows")  # fmt: skip


if __name__ == "__main__":
    main()
