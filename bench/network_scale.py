"""A professional body at scale (issue 13): 1,000 member clinics, 40 quarters of submissions.

Targets, on this machine: one quarter's 1,000 submissions ingested in under a minute;
every body page's rerun after a filter change under 1 s. Printed beside each target:
- ingest: bare DuckDB loading the same 1,000 x 2 cell CSV files (unzipped beforehand)
  with one ``CREATE TABLE AS SELECT * FROM read_csv(glob)`` each, no checks;
- pages: each page's queries alone (its ``views`` call, no Streamlit), and bare DuckDB
  summing the counts store by clinic and month for the same quarter.

The database (cached in ``bench/out/network-<clinics>x<quarters>.duckdb``): a register of
the clinics, then quarters 1 to 39 of synthetic cells written straight into the counts
store and the ``submissions`` table by set-based SQL (the rows a received submission
leaves, source 'submission'), then quarter 40 as real zips, one per clinic, through
``ingest_submissions`` (the figure timed). Cells: per clinic 64 fixed key combinations
(profession, training band, experience band, region, ultrasound, technique) x 3 months,
a clinic's quarter about 300 treatments (the demo's mean), events at about 20 per 100.

    uv run python bench/network_scale.py [--clinics 1000] [--quarters 40] [--repeat 3]
        [--rebuild]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from dashboard.report.submission import (  # noqa: E402
    FORMAT,
    FORMAT_VERSION,
    Submission,
    seal,
    submission_bytes,
)
from dashboard.store.filters import parse_quarter, quarter_of  # noqa: E402
from ingest.api import IngestOptions, ingest_files  # noqa: E402
from ingest.schema import SCHEMA_VERSION  # noqa: E402
from ingest.store import write_transaction  # noqa: E402
from ingest.submission_file import MEMBER_COLUMNS  # noqa: E402
from ingest.submissions import ingest_submissions  # noqa: E402

OUT = ROOT / "bench" / "out"
INGEST_TARGET_S, PAGE_TARGET_S = 60.0, 1.0
FIRST_QUARTER = date(2017, 1, 1)
TODAY = date(2027, 2, 1)

#: The cells of one clinic's month: 64 key combinations, treatments ~ 100 / 64 each.
CELLS_SQL = """
WITH keys AS (
    SELECT k, ['physiotherapist', 'chiropractor'][1 + k % 2] AS profession,
           [20.0, 60.0, 100.0, 200.0, 201.0][1 + k % 5] AS hours,
           [0.0, 2.0, 5.0, 10.0][1 + (k // 5) % 4] AS years,
           ['upper_trapezius', 'lumbar_paraspinals', 'gluteals', 'cervical_paraspinals',
            'shoulder_rotator_cuff', 'hamstrings', 'calf', 'thoracic_paraspinals'][1 + k % 8]
               AS region,
           k % 7 = 0 AS ultrasound, ['in_and_out', 'static'][1 + (k // 3) % 2] AS technique
    FROM range(64) r(k)
), months AS (
    SELECT c.clinic, m.month
    FROM (SELECT printf('N%04d', i) AS clinic FROM range(1, $clinics + 1) r(i)) c,
         (SELECT CAST(CAST($first AS DATE) + to_months(CAST(i AS INTEGER)) AS DATE) AS month
          FROM range($months) r(i)) m
)
SELECT m.month, m.clinic AS clinic_id, k.profession, k.hours, k.years, k.region,
       k.ultrasound, k.technique,
       CAST(floor(random() * 3.2) AS BIGINT) AS treatments,
       k.k AS key
FROM months m, keys k
"""


def build(db: Path, clinics: int, quarters: int) -> dict[str, float]:
    """Register, quarters 1..quarters-1 by SQL, and quarter ``quarters``'s zips; returns
    the zips' folder and the timings."""
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        register = Path(tmp) / "clinics.csv"
        register.write_text(
            "clinic_id,name\n" + "".join(f"N{i:04d},Clinic {i}\n" for i in range(1, clinics + 1)),
            encoding="utf-8",
        )
        ingest_files(db, [register], IngestOptions(today=TODAY), replace=True)
    start = time.perf_counter()
    with write_transaction(db) as session:
        con = session.con
        con.execute("SELECT setseed(0.26)")
        con.execute(
            f"CREATE TEMP TABLE cells AS {CELLS_SQL}",
            {"clinics": clinics, "first": FIRST_QUARTER, "months": 3 * (quarters - 1)},
        )
        con.execute("DELETE FROM cells WHERE treatments = 0")
        con.execute(
            "INSERT INTO counts_treatments SELECT 'submission', month, clinic_id, NULL, "
            "profession, hours, years, region, ultrasound, technique, true, treatments, "
            "treatments * 6 FROM cells"
        )
        # events: about 1 in 5 treatments; the four groupings the store keeps
        con.execute(
            "CREATE TEMP TABLE ev AS SELECT *, CAST(floor(treatments * 0.2 + random()) AS BIGINT) "
            "AS events, ['bruising', 'soreness', 'bleeding'][1 + key % 3] AS category, "
            "['mild', 'significant'][1 + (key // 2) % 2] AS severity FROM cells"
        )
        con.execute("DELETE FROM ev WHERE events = 0")
        for cat, sev in (("NULL", "NULL"), ("category", "NULL"), ("NULL", "severity"),
                         ("category", "severity")):  # fmt: skip
            con.execute(
                "INSERT INTO counts_events SELECT 'submission', month, clinic_id, NULL, "
                f"profession, hours, years, region, ultrasound, technique, true, {cat}, {sev}, "
                "events, least(events, treatments) FROM ev"
            )
        con.execute(
            """
            INSERT INTO submissions
            SELECT clinic_id, strftime(month, '%Y') || 'Q' || quarter(month), 1, true,
                   'synthetic', 'synthetic', 'synthetic',
                   CAST(max(month) + INTERVAL 45 DAY AS TIMESTAMP), 'bench', NULL, NULL, 1,
                   sum(treatments), sum(treatments) * 6, 0, 0, 0, NULL, NULL, NULL
            FROM cells GROUP BY clinic_id, strftime(month, '%Y') || 'Q' || quarter(month)
            """
        )
    history_s = time.perf_counter() - start
    return {"history_s": history_s}


def last_quarter_zips(folder: Path, clinics: int, quarters: int) -> list[Path]:
    """Quarter ``quarters``'s submission of every clinic, sealed as ``needlewatch submit``
    seals them."""
    first = parse_quarter(quarter_of(FIRST_QUARTER))[0]
    month = date(first.year + (first.month - 1 + 3 * (quarters - 1)) // 12,
                 (first.month - 1 + 3 * (quarters - 1)) % 12 + 1, 1)  # fmt: skip
    quarter = quarter_of(month)
    con = duckdb.connect()
    con.execute("SELECT setseed(0.4)")
    cells = con.execute(
        f"SELECT * FROM ({CELLS_SQL}) WHERE treatments > 0",
        {"clinics": clinics, "first": month, "months": 3},
    ).df()
    labels = {20.0: "0-20", 60.0: "21-60", 100.0: "61-100", 200.0: "101-200", 201.0: ">200"}
    years = {0.0: "<2", 2.0: "2-4", 5.0: "5-9", 10.0: ">=10"}
    keys = cells.assign(
        month=cells["month"].map(lambda d: d.strftime("%Y-%m")),
        training_band=cells["hours"].map(labels), experience_band=cells["years"].map(years),
        body_region=cells["region"], ultrasound_guided=cells["ultrasound"],
        insertions_recorded=True,
    )[["month", "clinic_id", "profession", "training_band", "experience_band", "body_region",
       "ultrasound_guided", "technique", "insertions_recorded", "treatments", "key"]]  # fmt: skip
    keys["insertions"] = keys["treatments"] * 6
    paths = []
    created = datetime(2027, 1, 15, tzinfo=UTC)
    for clinic, part in keys.groupby("clinic_id", sort=True):
        treatment_cells = part.drop(columns="key")
        events = part.assign(
            events=(part["treatments"] * 0.2 + 0.5).astype(int), category=None, severity=None,
        )[lambda f: f["events"] > 0]  # fmt: skip
        events = events.assign(treatments_affected=events["events"])[
            [*treatment_cells.columns[:-2], "category", "severity", "events", "treatments_affected"]
        ]
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "database_schema": SCHEMA_VERSION,
            "clinic_id": clinic, "quarter": quarter, "to": "BENCH", "tool_version": "bench",
            "created_at": created.isoformat(timespec="seconds"),
            "bands": {"training_upper": [20, 60, 100, 200], "experience_cuts": [2, 5, 10]},
        }  # fmt: skip
        tables = {
            "treatment_cells.csv": treatment_cells,
            "event_cells.csv": events,
            "serious_events.csv": pd.DataFrame(columns=MEMBER_COLUMNS["serious_events.csv"]),
            "quality.csv": pd.DataFrame(
                {"measure": ["events"], "kind": [""], "value": [int(events["events"].sum())]}
            ),  # fmt: skip
        }
        sub = seal(Submission(clinic, quarter, {}, {}, manifest), tables)
        path = folder / f"{clinic}-{quarter}.zip"
        path.write_bytes(submission_bytes(sub))
        paths.append(path)
    return paths


def bare_load(zips: list[Path], folder: Path) -> float:
    """Seconds for DuckDB to load the zips' two cell files each (unzipped first, untimed)."""
    for path in zips:
        with zipfile.ZipFile(path) as archive:
            for name in ("treatment_cells.csv", "event_cells.csv"):
                (folder / f"{path.stem}_{name}").write_bytes(archive.read(name))
    con = duckdb.connect()
    start = time.perf_counter()
    for name in ("treatment_cells", "event_cells"):
        con.execute(
            f"CREATE TABLE {name} AS SELECT * FROM read_csv($g)",
            {"g": str(folder / f"*_{name}.csv")},
        )
    return time.perf_counter() - start


def pages(db: Path, repeat: int) -> list[tuple[str, float, float, float]]:
    """(page, median rerun after a quarter change, queries alone, bare DuckDB) per page."""
    import os

    from dashboard_speed import PAGES, time_page
    from streamlit.logger import set_log_level
    from streamlit.testing.v1 import AppTest

    from dashboard.analysis import views
    from dashboard.store.db import connect_readonly

    set_log_level("critical")
    os.environ["NEEDLEWATCH_DB"] = str(db)
    con = connect_readonly(db)
    options = views.options(con)
    con.close()
    rows = []
    for slug, title, _ in PAGES:
        if slug == "quality":
            continue
        t = time_page(db, slug, title, "quarter", repeat, options)
        rows.append((title, t.r, t.q, bare_store(db, options.quarters[-1]), "; ".join(t.errors)))
    # Submissions: no filters; its miss is a changed database (an ingest)
    from dashboard_speed import page_script

    at = AppTest.from_function(page_script, args=("submissions",), default_timeout=600)
    at.run()
    reruns, alone = [], []
    for _ in range(repeat):
        stamp = time.time_ns()
        os.utime(db, ns=(stamp, stamp))
        start = time.perf_counter()
        at.run()
        reruns.append(time.perf_counter() - start)
        start = time.perf_counter()
        c = connect_readonly(db)
        views.submissions(c)
        c.close()
        alone.append(time.perf_counter() - start)
    error = at.exception[0].value if at.exception else ""
    rows.append(("Submissions", statistics.median(reruns), statistics.median(alone),
                 bare_store(db, options.quarters[-1]), error))  # fmt: skip
    return rows


def bare_store(db: Path, quarter: str) -> float:
    """Seconds for bare DuckDB to sum the counts store's treatments and events by clinic
    and month for ``quarter`` (no labels, no statistics, no pandas)."""
    first, last = parse_quarter(quarter)
    con = duckdb.connect(str(db), read_only=True)
    try:
        start = time.perf_counter()
        for table, count in (("counts_treatments", "treatments"), ("counts_events", "events")):
            extra = " AND category IS NULL AND severity IS NULL" if table == "counts_events" else ""
            con.execute(
                f"SELECT clinic_id, month, sum({count}) FROM {table} "
                f"WHERE month BETWEEN $a AND $b{extra} GROUP BY ALL",
                {"a": first, "b": last},
            ).fetchall()
        return time.perf_counter() - start
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clinics", type=int, default=1000)
    parser.add_argument("--quarters", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    db = OUT / f"network-{args.clinics}x{args.quarters}-schema{SCHEMA_VERSION}.duckdb"
    base = db.with_name(db.stem + "-base.duckdb")
    if args.rebuild or not base.exists():
        print(f"building {args.quarters - 1} quarters of {args.clinics} clinics ...", flush=True)
        info = build(base, args.clinics, args.quarters)
        print(f"  {info['history_s']:.1f} s", flush=True)
    shutil.copy(base, db)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        zips = last_quarter_zips(folder, args.clinics, args.quarters)
        start = time.perf_counter()
        report = ingest_submissions(db, zips, today=TODAY, received_by="bench")
        ingest_s = time.perf_counter() - start
        assert not report.rejected, report.rejected[0]
        (folder / "bare").mkdir()
        bare_s = bare_load(zips, folder / "bare")
    con = duckdb.connect(str(db), read_only=True)
    t_rows, e_rows, subs = con.execute(
        "SELECT (SELECT count(*) FROM counts_treatments), (SELECT count(*) FROM counts_events), "
        "(SELECT count(*) FROM submissions)"
    ).fetchone()
    con.close()
    print(f"\nbody database: {db} ({db.stat().st_size / 2**20:,.0f} MB); {args.clinics:,} "
          f"clinics, {args.quarters} quarters, {subs:,} submissions; counts store "
          f"{t_rows:,} treatment rows, {e_rows:,} event rows")  # fmt: skip
    verdict = "pass" if ingest_s < INGEST_TARGET_S else "FAIL"
    print(f"\ningest of one quarter's {len(zips):,} submissions: {ingest_s:.1f} s "
          f"(target {INGEST_TARGET_S:.0f} s: {verdict}); bare DuckDB loading their cell "
          f"files as text columns, no checks: {bare_s:.2f} s ({ingest_s / bare_s:.1f}x)")  # fmt: skip
    print(f"\n{'page':26} {'rerun s':>8} {'target':>7} {'queries':>8} {'bare':>7}  result")
    for title, rerun, alone, bare, error in pages(db, args.repeat):
        verdict = "pass" if rerun < PAGE_TARGET_S and not error else "FAIL"
        print(f"{title:26} {rerun:8.3f} {PAGE_TARGET_S:7.1f} {alone:8.3f} {bare:7.3f}  "
              f"{verdict} {error}")  # fmt: skip


if __name__ == "__main__":
    main()
