"""Incident report form: one event filed on a 10-million-treatment database.

Issue 14's target: a form submission under a second, without copying the database. Timed
on a copy of the cached benchmark database (bench/dashboard_speed.py builds it; the cached
file is never written), the copy in the page cache as a database in use is:

- "page's job": ``python -m ingest.job --event JSON --filed-by WHO`` in a process of its
  own, as the dashboard's Report an event page runs it (Python's start included);
- "file_event": the library call alone (``ingest.form.file_event``: validation, the
  filer's scope and a serious event's fields, the version row, the counts store);
- "follow-up": the same call with the event's id (a second version);
- "bare DuckDB": one INSERT of a row into adverse_events on a connection of its own
  (connect, insert, commit, close), no validation.

The database file's size is printed before and after: an in-place write, not a copy.

    uv run python bench/form_speed.py [--treatments 10000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))

from dashboard_speed import build_database  # noqa: E402

from ingest.form import EventReport, Filer, file_event  # noqa: E402

TARGET_S = 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--treatments", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cached, _ = build_database(args.treatments, False)
    with tempfile.TemporaryDirectory(prefix="nw-form-", dir=cached.parent) as folder:
        db = Path(folder) / "copy.duckdb"
        shutil.copy(cached, db)
        with duckdb.connect(str(db), read_only=True) as con:
            treatments = [r[0] for r in con.execute(
                "SELECT treatment_id FROM treatments USING SAMPLE 50 ROWS (reservoir, 7)"
            ).fetchall()]  # fmt: skip
        size_before = db.stat().st_size
        job, library, follow, bare = [], [], [], []
        for i in range(args.repeat):
            fields = {"treatment_id": treatments[i], "event_type": "fainting",
                      "severity": "mild", "onset": "during", "outcome": "resolved"}  # fmt: skip
            t0 = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "ingest.job", "--db", str(db), "--event",
                 json.dumps(fields), "--filed-by", "bench"],  # fmt: skip
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            job.append(time.perf_counter() - t0)
            assert json.loads(done.stdout)["ok"], done.stdout
            report = EventReport(treatments[10 + i], "bruising", "mild", outcome="resolved")
            t0 = time.perf_counter()
            filed = file_event(db, report, Filer("bench"))
            library.append(time.perf_counter() - t0)
            again = EventReport(treatments[10 + i], "bruising", "significant",
                                outcome="resolved in a week", event_id=filed.event_id)  # fmt: skip
            t0 = time.perf_counter()
            assert file_event(db, again, Filer("bench")).version == 2
            follow.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            con = duckdb.connect(str(db))
            con.execute(
                "INSERT INTO adverse_events SELECT 'BARE-' || ?, ?, 'fainting', 'fainting', "
                "'mild', 'mild', 'during', NULL, 'resolved', NULL, NULL, 1",
                [i, treatments[20 + i]],
            )
            con.close()
            bare.append(time.perf_counter() - t0)
        size_after = db.stat().st_size
    print(f"database: {cached.name} ({args.treatments:,} treatments), a copy; "
          f"{args.repeat} filings each")  # fmt: skip
    print(
        f"\n{'filing':34} {'median':>8} {'max':>7} {'target':>7} {'verdict':>8} {'bare DuckDB':>12}"
    )
    for name, runs in (("page's job (own process)", job), ("file_event (library)", library),
                       ("follow-up (library, version 2)", follow)):  # fmt: skip
        median = statistics.median(runs)
        verdict = "PASS" if median < TARGET_S else "FAIL"
        print(f"{name:34} {median:>7.3f}s {max(runs):>6.3f}s {TARGET_S:>6.1f}s {verdict:>8} "
              f"{statistics.median(bare):>11.3f}s")  # fmt: skip
    print(
        f"\nfile size: {size_before / 1e6:,.1f} MB before, {size_after / 1e6:,.1f} MB after "
        f"{3 * args.repeat} filings and {args.repeat} bare inserts (written in place, no copy)"
    )


if __name__ == "__main__":
    main()
