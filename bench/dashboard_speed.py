"""Dashboard speed and memory: each page's rerun after a filter change against the time of
that page's DuckDB queries alone, and the resident memory of a real dashboard process.

Targets (issue 12), on a generated database of 10 million treatments:
  * per page, the median rerun after a filter change is under 300 ms; printed beside the
    page's queries alone (its ``dashboard.analysis.views`` function on a read-only connection, no
    Streamlit) and beside bare DuckDB counting the same treatments and events straight
    from the rows (by month and clinic, the period's or clinic's filters);
  * the first page (the Overview) at all dates, in a fresh session with empty caches,
    under 1 s;
  * the dashboard process stays under 400 MB resident (raw treatment rows never reach pandas).

The database is built once by the demo generator and ``needlewatch ingest`` (each in its own
process, timed) and cached in ``bench/out/`` (``--rebuild`` to force). Page reruns run in
this process with Streamlit's AppTest: one session per page, warmed up once, then the
sidebar's quarter (``--vary quarter``) or clinic (``--vary clinic``, all dates) is changed
and the script rerun, ``--repeat`` times with a different value each time, so the page's
cached view misses as it does for a user. Data quality takes no filters (a filter change
is a cache hit there), so its rerun is measured after the database file changes (as after
an ingest): that also reruns the sidebar's options query, which its queries-alone time
therefore includes. Memory: ``needlewatch serve`` in a subprocess, every page opened in
headless Chromium (Playwright, Debian's /usr/bin/chromium) until its charts are drawn, then
the peak RSS (VmHWM) of the Streamlit process and of the process tree.

    uv run python bench/dashboard_speed.py [--treatments 10000000] [--repeat 5]
        [--vary quarter|clinic|both] [--rebuild] [--skip-memory] [--skip-speed]
        [--max-load 2] [--max-wait 300]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.schema import SCHEMA_VERSION, migrate  # noqa: E402

OUT = ROOT / "bench" / "out"
SEED = 20261121
TODAY = date(2026, 11, 21)  # the generator's data end 2026-09-30; pinned like the tests
MAX_RERUN_S, MAX_FIRST_S, MAX_RSS_MB = 0.3, 1.0, 400.0
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip

#: slug, title shown in the table, what the browser waits for (selector, at least n).
PAGES: tuple[tuple[str, str, tuple[tuple[str, int], ...]], ...] = (
    ("overview", "Overview", (("stPlotlyChart", 1), ("stMetric", 5))),
    ("incidence", "Incidence", (("stPlotlyChart", 2),)),
    ("training", "Training and ultrasound", (("stPlotlyChart", 4),)),
    ("trends", "Trends", (("stPlotlyChart", 1),)),
    ("clinics", "Clinics", (("stPlotlyChart", 1), ("stDataFrame", 1))),
    ("serious", "Serious events", (("stDataFrame", 1),)),
    ("quality", "Data quality", (("stDataFrame", 4),)),
)

GENERATE = """
import sys
from ingest.demo import generate_demo
generate_demo(sys.argv[1], seed=int(sys.argv[2]), n_treatments=int(sys.argv[3]))
"""
INGEST = """
import sys
from datetime import date
from pathlib import Path
from ingest.api import IngestOptions, ingest_files
files = [Path(sys.argv[2]) / f"{k}.csv"
         for k in ("clinics", "practitioners", "treatments", "adverse_events")]
report = ingest_files(Path(sys.argv[1]), files, IngestOptions(today=date.fromisoformat(sys.argv[3])))
sys.exit(3 if report.rows_rejected else 0)
"""


# ----------------------------------------------------------------------------- database
def run_child(cmd: list[str], log: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one child process (output to ``log``)."""
    start = time.perf_counter()
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=out)
        _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed ({os.waitstatus_to_exitcode(status)}): {cmd[:3]} ..., see {log}")
    return elapsed, usage.ru_maxrss / 1024


def build_database(treatments: int, rebuild: bool) -> tuple[Path, dict]:
    """The cached benchmark database and how it was built (generated and ingested once).

    The demo generator holds the whole data set in memory (peak 0.8 GB for 1 million
    treatments, 6 GB for 10 million, about 2 minutes on two cores): it runs in one piece,
    in its own process, and its CSV files are deleted once ingested.
    """
    OUT.mkdir(parents=True, exist_ok=True)
    db = OUT / f"dashboard-{treatments}-seed{SEED}-schema{SCHEMA_VERSION}.duckdb"
    meta_path = db.with_suffix(".json")
    if db.exists() and meta_path.exists() and not rebuild:
        return db, json.loads(meta_path.read_text())
    # cached by an earlier release: the newest such copy, migrated (unsuffixed: schema 1)
    candidates = [
        *(OUT / f"dashboard-{treatments}-seed{SEED}-schema{v}.duckdb"
          for v in range(SCHEMA_VERSION - 1, 1, -1)),
        OUT / f"dashboard-{treatments}-seed{SEED}.duckdb",
    ]  # fmt: skip
    older = next((p for p in candidates if p.exists() and p.with_suffix(".json").exists()), None)
    if older is not None and not rebuild:
        print(f"migrating a copy of {older.name} to schema {SCHEMA_VERSION} ...", flush=True)
        building = db.with_name(db.name + ".building")
        shutil.copy(older, building)
        start = time.perf_counter()
        con = duckdb.connect(str(building))
        migrate(con)
        con.execute("CHECKPOINT")
        con.close()
        building.rename(db)
        meta = json.loads(older.with_suffix(".json").read_text())
        meta.update(migrate_s=round(time.perf_counter() - start, 1),
                    db_mb=round(db.stat().st_size / 1e6))  # fmt: skip
        meta_path.write_text(json.dumps(meta, indent=2))
        return db, meta
    for stale in (db, meta_path):
        stale.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(dir=OUT, prefix="csv-") as tmp:
        print(f"generating {treatments:,} demo treatments (seed {SEED}) ...", flush=True)
        log = OUT / "build.log"
        log.unlink(missing_ok=True)
        gen_s, gen_mb = run_child(
            [sys.executable, "-c", GENERATE, tmp, str(SEED), str(treatments)], log
        )
        csv_mb = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 1e6
        print(f"  {gen_s:.1f} s, peak {gen_mb:,.0f} MB, {csv_mb:,.0f} MB of CSV", flush=True)
        print("ingesting ...", flush=True)
        building = db.with_name(db.name + ".building")
        building.unlink(missing_ok=True)
        ing_s, ing_mb = run_child(
            [sys.executable, "-c", INGEST, str(building), tmp, TODAY.isoformat()], log
        )
        building.rename(db)
        building.with_name(building.name + ".lock").unlink(missing_ok=True)
    con = duckdb.connect(str(db), read_only=True)
    rows = {
        t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("treatments", "adverse_events", "practitioners", "clinics")
    }
    con.close()
    meta = {
        "treatments": treatments,
        "seed": SEED,
        "rows": rows,
        "generate_s": round(gen_s, 1),
        "generate_peak_mb": round(gen_mb),
        "csv_mb": round(csv_mb),
        "ingest_s": round(ing_s, 1),
        "ingest_peak_mb": round(ing_mb),
        "db_mb": round(db.stat().st_size / 1e6),
        "built": time.strftime("%Y-%m-%d %H:%M"),
    }
    meta_path.write_text(json.dumps(meta, indent=2))
    return db, meta


def describe(db: Path) -> dict:
    """The meta of a database built elsewhere (bench/scale_up.py): its rows and size."""
    con = duckdb.connect(str(db), read_only=True)
    rows = {
        t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("treatments", "adverse_events", "practitioners", "clinics")
    }
    con.close()
    return {"rows": rows, "db_mb": round(db.stat().st_size / 1e6), "built": "elsewhere",
            "generate_s": 0, "generate_peak_mb": 0, "csv_mb": 0, "ingest_s": 0,
            "ingest_peak_mb": 0}  # fmt: skip


# ----------------------------------------------------------------------------- speed
def page_script(slug: str) -> None:
    """One dashboard page with the sidebar, as tests/test_app.py runs it (AppTest)."""
    from dashboard.app import sidebar
    from dashboard.app.screens import PAGES

    ctx = sidebar.context()
    if ctx is not None:
        {p.SLUG: p for p in PAGES}[slug].render(ctx)


def view_calls(slug: str, filters) -> list[tuple[str, tuple]]:
    """The ``dashboard.analysis.views`` calls a page makes through ``dashboard.app.cache.load``, with the
    page's default widget values (all categories, per treatments, by month, clinics)."""
    return {
        "overview": [("overview", (filters,))],
        "incidence": [("incidence", (filters, "treatments"))],
        "training": [("training_ultrasound", (filters,))],
        "trends": [("trends", (filters, "month"))],
        "clinics": [("clinics", (filters, "clinic", None))],
        "serious": [("serious_page", (filters, False))],
        "quality": [("options", ()), ("quality", ())],
    }[slug]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def queries_alone(db: Path, slug: str, filters) -> tuple[float, float]:
    """(wall, CPU) seconds of what ``dashboard.app.cache`` runs on a miss, without Streamlit:
    ``cache.compute``, a fresh read-only connection per view call."""
    try:
        from dashboard.app.cache import compute
    except ImportError:  # a checkout from before cache.compute: what its cache ran
        from dashboard.analysis import views
        from dashboard.store.db import connect_readonly

        def compute(name: str, path: str, args: tuple) -> object:
            con = connect_readonly(Path(path))
            try:
                return getattr(views, name)(con, *args)
            finally:
                con.close()

    start, cpu = time.perf_counter(), cpu_seconds()
    for name, args in view_calls(slug, filters):
        compute(name, str(db), args)
    return time.perf_counter() - start, cpu_seconds() - cpu


BARE_SQL = """
    SELECT clinic_id, date_trunc('month', treatment_date) AS month, count(*) AS treatments,
           sum(needle_insertions) AS insertions
    FROM treatments WHERE ($d0 IS NULL OR treatment_date >= $d0)
      AND ($d1 IS NULL OR treatment_date <= $d1) AND (len($c) = 0 OR list_contains($c, clinic_id))
    GROUP BY ALL;
    SELECT t.clinic_id, date_trunc('month', t.treatment_date) AS month, count(*) AS events,
           count(DISTINCT e.treatment_id) AS affected
    FROM adverse_events e JOIN treatments t USING (treatment_id)
    WHERE ($d0 IS NULL OR t.treatment_date >= $d0) AND ($d1 IS NULL OR t.treatment_date <= $d1)
      AND (len($c) = 0 OR list_contains($c, t.clinic_id))
    GROUP BY ALL
"""


def bare_duckdb(db: Path, filters) -> float:
    """Seconds for bare DuckDB to count the filtered treatments and events by month and
    clinic straight from the rows (no store, no pandas): the floor a page is compared to."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        params = {"d0": filters.date_from, "d1": filters.date_to, "c": list(filters.clinics)}
        start = time.perf_counter()
        for sql in BARE_SQL.split(";"):
            con.execute(sql, params).fetchall()
        return time.perf_counter() - start
    finally:
        con.close()


@dataclass
class Timing:
    slug: str
    title: str
    vary: str
    queries: list[float]
    reruns: list[float]
    queries_cpu: list[float]
    reruns_cpu: list[float]
    errors: list[str]
    bare: list[float]
    load: float = 0.0  # 1-minute load average when the page's measurement started

    @property
    def q(self) -> float:
        return statistics.median(self.queries)

    @property
    def r(self) -> float:
        return statistics.median(self.reruns)

    @property
    def b(self) -> float:
        return statistics.median(self.bare)

    @property
    def ok(self) -> bool:
        return self.r < MAX_RERUN_S and not self.errors


def filters_for(options, quarter: str | None, clinic: str | None):
    """The Filters the sidebar builds for a quarter / clinic selection (same validation)."""
    from dashboard.app.state import Choices, filters_from_params

    params = {k: v for k, v in (("quarter", quarter), ("clinic", clinic)) if v}
    choices = Choices(options.clinics, options.professions, options.regions, options.techniques)
    state, notices = filters_from_params(params, choices)
    assert not notices, notices
    return state.filters


def time_alone(timing: Timing, db: Path, value: str, filters) -> None:
    try:
        wall, cpu = queries_alone(db, timing.slug, filters)
    except Exception as exc:  # reported in the table, as the page would show it
        timing.errors.append(f"{value}: {type(exc).__name__}: {exc}")
        wall, cpu = float("nan"), float("nan")
    timing.queries.append(wall)
    timing.queries_cpu.append(cpu)
    timing.bare.append(bare_duckdb(db, filters))


def time_rerun(timing: Timing, at, value: str) -> None:
    if timing.slug != "quality":
        if timing.vary == "quarter":
            next(s for s in at.selectbox if s.label == "Period (quarter)").set_value(value)
        else:
            next(m for m in at.multiselect if m.label == "Clinics").set_value([value])
    start, cpu = time.perf_counter(), cpu_seconds()
    at.run()
    timing.reruns.append(time.perf_counter() - start)
    timing.reruns_cpu.append(cpu_seconds() - cpu)
    if at.exception:
        timing.errors.append(f"{value}: page shows {at.exception[0].value}")


def time_page(db: Path, slug: str, title: str, vary: str, repeat: int, options) -> Timing:
    """Median page rerun after a filter change, beside the page's queries alone."""
    from streamlit.logger import set_log_level
    from streamlit.testing.v1 import AppTest

    values = list(options.quarters if vary == "quarter" else options.clinics)
    if len(values) < repeat + 1:
        sys.exit(f"only {len(values)} {vary} values: use --repeat {len(values) - 1} or less")
    at = AppTest.from_function(page_script, args=(slug,), default_timeout=600)
    at.query_params[vary] = values[0]
    at.run()  # warm-up: a first run in this session, not timed
    set_log_level("critical")  # AppTest resets it; a page's exception is in the table
    timing = Timing(slug, title, vary, [], [], [], [], [], [])
    for i, value in enumerate(values[1 : repeat + 1]):
        quarter, clinic = (value, None) if vary == "quarter" else (None, value)
        if slug == "quality":  # no filters: a change of the database is its cache miss
            quarter, clinic = None, None
            stamp = time.time_ns()
            os.utime(db, ns=(stamp, stamp))
        filters = filters_for(options, quarter, clinic)
        # alternate which goes first: the second of the two finds the database file's
        # pages warmer in the OS cache, so neither side always gets that advantage
        if i % 2:
            time_rerun(timing, at, value)
            time_alone(timing, db, value, filters)
        else:
            time_alone(timing, db, value, filters)
            time_rerun(timing, at, value)
    return timing


FIRST_PAGE = """
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
os.environ["NEEDLEWATCH_DB"] = sys.argv[2]
from streamlit.logger import set_log_level
from streamlit.testing.v1 import AppTest
from dashboard_speed import page_script
warm_s = None
if sys.argv[3] == "warm":
    from dashboard.app.warm import warm
    warm_s = warm(sys.argv[2])
at = AppTest.from_function(page_script, args=("overview",), default_timeout=600)
start = time.perf_counter()
at.run()
seconds = time.perf_counter() - start
if at.exception:
    sys.exit(f"the Overview failed: {at.exception[0].value}")
print("RESULT", json.dumps({"seconds": seconds, "warm_s": warm_s}))
"""


def first_page_all_dates(db: Path) -> tuple[float, float, float, float]:
    """(warmed s, warm-up s, cold s, bare DuckDB s): the Overview at all dates in a fresh
    session of a fresh process, as a user opening the dashboard sees it, beside bare
    DuckDB's counts. Warmed: the process first ran ``dashboard.app.warm.warm``, as
    ``needlewatch serve`` does while it starts (``dashboard.app.serve``); the target is
    for this one, the way the dashboard is run. Cold: without it (imports included)."""
    from dashboard.store.filters import Filters

    got = {}
    for mode in ("cold", "warm"):
        done = subprocess.run(
            [sys.executable, "-c", FIRST_PAGE, str(Path(__file__).resolve().parent), str(db),
             mode],
            capture_output=True, text=True, cwd=ROOT, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            sys.exit(f"the Overview failed ({mode} start): {done.stderr.strip()[-500:]}")
        if "RESULT " not in done.stdout:
            sys.exit(f"the Overview printed no result ({mode} start): {done.stdout[-500:]}")
        got[mode] = json.loads(done.stdout.rsplit("RESULT ", 1)[1].splitlines()[0])
    return (
        got["warm"]["seconds"],
        got["warm"]["warm_s"],
        got["cold"]["seconds"],
        bare_duckdb(db, Filters()),
    )


def wait_for_quiet(max_load: float, max_wait: float) -> float:
    """Wait (up to ``max_wait`` s) until the 1-minute load average is at most ``max_load``:
    this machine is shared, and other processes' work shows up as our wall-clock time."""
    deadline = time.time() + max_wait
    while os.getloadavg()[0] > max_load and time.time() < deadline:
        time.sleep(5)
    return os.getloadavg()[0]


def measure_speed(
    db: Path, varies: list[str], repeat: int, max_load: float, max_wait: float
) -> list[Timing]:
    from streamlit.logger import set_log_level

    from dashboard.analysis.views import options as view_options
    from dashboard.store.db import connect_readonly

    set_log_level("critical")  # bare-mode warnings; page exceptions go in the table
    os.environ["NEEDLEWATCH_DB"] = str(db)
    con = connect_readonly(db)
    options = view_options(con)
    con.close()
    timings = []
    for vary in varies:
        for slug, title, _ in PAGES:
            if slug == "quality" and vary != varies[0]:
                continue  # takes no filters: measured once
            load = wait_for_quiet(max_load, max_wait)
            timing = time_page(db, slug, title, vary, repeat, options)
            timing.load = load
            print(
                f"  {title:26} {vary:8} queries {timing.q:6.3f} s  rerun {timing.r:6.3f} s",
                flush=True,
            )
            timings.append(timing)
    return timings


# ----------------------------------------------------------------------------- memory
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status(pid: int, field: str) -> float:
    """A /proc/<pid>/status field in MB (VmHWM peak RSS, VmRSS current); 0 if gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0.0


def children(pid: int) -> list[int]:
    """Every descendant of ``pid``."""
    found = []
    try:
        direct = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return found
    for child in map(int, direct):
        found += [child, *children(child)]
    return found


def wait_for_page(page, needs: tuple[tuple[str, int], ...], timeout_s: float) -> float:
    """Seconds until the script has finished and every chart on the page is drawn (and at
    least the page's expected charts and tables are there)."""
    start = time.perf_counter()
    ms = timeout_s * 1000
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=ms)
    checks = [f"document.querySelectorAll(\"[data-testid='{t}']\").length >= {n}" for t, n in needs]
    checks.append(  # every chart placed is drawn
        "Array.from(document.querySelectorAll(\"[data-testid='stPlotlyChart']\"))"
        ".every(c => c.querySelector('.main-svg'))"
    )
    page.wait_for_function(" && ".join(checks), timeout=ms)
    return time.perf_counter() - start


def measure_memory(db: Path, quarters: tuple[str, ...]) -> dict:
    """Open every page in Chromium against ``needlewatch serve``; peak RSS per process."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} not found (apt-get install chromium); never `playwright install`")
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = (OUT / "serve.log").open("wb")
    serve = subprocess.Popen(
        [sys.executable, "-m", "needlewatch.cli", "serve", "--db", str(db), "--headless",
         "--port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True,
    )  # fmt: skip
    visits: list[tuple[str, float, float]] = []
    tree: list[int] = []
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read()
                break
            except OSError:
                if time.time() > deadline or serve.poll() is not None:
                    sys.exit(f"dashboard did not start: see {OUT / 'serve.log'}")
                time.sleep(0.3)
        tree = [serve.pid, *children(serve.pid)]  # `serve` execs Streamlit: one process
        streamlit = next(
            p
            for p in tree
            if re.search(
                rb"streamlit|dashboard\.app\.serve", Path(f"/proc/{p}/cmdline").read_bytes()
            )
        )
        idle_mb = proc_status(streamlit, "VmRSS")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            # every page with all dates (the default view), then with two quarters
            for query in ("", f"?quarter={quarters[0]}", f"?quarter={quarters[-1]}"):
                for slug, _, needs in PAGES:
                    page.goto(f"{url}/{slug}{query}")
                    seconds = wait_for_page(page, needs, 300)
                    visits.append((f"{slug}{query}", seconds, proc_status(streamlit, "VmHWM")))
            browser.close()
        peak = proc_status(streamlit, "VmHWM")
        tree = [serve.pid, *children(serve.pid)]
        tree_peak = sum(proc_status(p, "VmHWM") for p in tree)
        now = proc_status(streamlit, "VmRSS")
    finally:  # stop the whole session (and any process Streamlit started)
        os.killpg(serve.pid, signal.SIGTERM)
        try:
            serve.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
        deadline = time.time() + 20
        while any(Path(f"/proc/{p}").exists() for p in tree) and time.time() < deadline:
            time.sleep(0.2)
        log.close()
    return {
        "idle_mb": idle_mb,
        "peak_mb": peak,
        "after_mb": now,
        "tree_peak_mb": tree_peak,
        "tree_size": len(tree),
        "visits": visits,
    }


# ----------------------------------------------------------------------------- report
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--treatments", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="filter changes per page")
    parser.add_argument("--vary", choices=("quarter", "clinic", "both"), default="both")
    parser.add_argument("--rebuild", action="store_true", help="regenerate the database")
    parser.add_argument(
        "--db", type=Path, help="measure this database instead (e.g. bench/scale_up.py's 100M)"
    )
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument(
        "--max-load",
        type=float,
        default=float(os.cpu_count() or 1),
        help="before each page, wait until the 1-minute load average is at most this",
    )
    parser.add_argument("--max-wait", type=float, default=300, help="seconds to wait for that")
    args = parser.parse_args()

    load_start = f"{os.getloadavg()[0]:.1f}"
    if args.db is not None:
        db, meta = args.db.resolve(), describe(args.db)
    else:
        db, meta = build_database(args.treatments, args.rebuild)
    rows = meta["rows"]
    print(
        f"database: {db.relative_to(ROOT)} ({meta['db_mb']:,} MB): {rows['treatments']:,} "
        f"treatments, {rows['adverse_events']:,} events, {rows['practitioners']} "
        f"practitioners, {rows['clinics']} clinics"
    )
    print(
        f"built {meta['built']}: generate {meta['generate_s']:.0f} s (peak "
        f"{meta['generate_peak_mb']:,} MB, {meta['csv_mb']:,} MB CSV) + ingest "
        f"{meta['ingest_s']:.0f} s (peak {meta['ingest_peak_mb']:,} MB) = "
        f"{meta['generate_s'] + meta['ingest_s']:.0f} s"
    )
    if rows["treatments"] >= 50_000_000:  # the targets at a body's decade
        global MAX_RERUN_S, MAX_RSS_MB
        MAX_RERUN_S, MAX_RSS_MB = 1.0, 1000.0
        print(f"targets at 100M: every page under {MAX_RERUN_S:g} s, under {MAX_RSS_MB:g} MB")
    timings: list[Timing] = []
    first = None
    if not args.skip_speed:
        os.environ["NEEDLEWATCH_DB"] = str(db)
        wait_for_quiet(args.max_load, args.max_wait)
        first = first_page_all_dates(db)
        print(
            f"\nfirst page (Overview) at all dates, fresh session, server warmed at start "
            f"({first[1]:.2f} s, dashboard.app.warm): {first[0]:.3f} s (target < "
            f"{MAX_FIRST_S:g} s; bare DuckDB {first[3]:.3f} s)  "
            f"{'PASS' if first[0] < MAX_FIRST_S else 'FAIL'}\n"
            f"  without the warm-up (a cold process, imports included): {first[2]:.3f} s"
        )
        varies = ["quarter", "clinic"] if args.vary == "both" else [args.vary]
        print(f"\nmeasuring page reruns ({args.repeat} filter changes per page) ...")
        timings = measure_speed(db, varies, args.repeat, args.max_load, args.max_wait)
        print(
            f"\nmedian of {args.repeat} reruns after a filter change "
            f"(target: rerun < {MAX_RERUN_S:g} s)"
        )
        print(
            f"{'page':25}{'changed':>8}{'rerun s':>9}{'target':>8}{'queries s':>10}"
            f"{'bare DuckDB s':>14}{'cpu q':>7}{'cpu r':>7}{'load':>6}  result"
        )
        for t in timings:
            why = [w for w, bad in ((f"rerun >= {MAX_RERUN_S:g} s", t.r >= MAX_RERUN_S),) if bad]
            print(
                f"{t.title:25}{t.vary:>8}{t.r:9.3f}{MAX_RERUN_S:8.3f}{t.q:10.3f}{t.b:14.3f}"
                f"{statistics.median(t.queries_cpu):7.2f}{statistics.median(t.reruns_cpu):7.2f}"
                f"{t.load:6.1f}"
                f"  {'PASS' if t.ok else 'FAIL'}{' (' + ', '.join(why) + ')' if why else ''}"
            )
        print(
            "cpu q / cpu r: median CPU seconds of this process (all threads) for the same runs;"
            " load: 1-minute load average when the page started"
        )
        for t in timings:
            for error in dict.fromkeys(e.split(": ", 1)[1] for e in t.errors):
                where = ", ".join(e.split(": ", 1)[0] for e in t.errors if e.endswith(error))
                print(f"ERROR {t.title} ({t.vary} {where}): {error[:300]}")
    memory = None
    if not args.skip_memory:
        con = duckdb.connect(str(db), read_only=True)
        quarters = tuple(
            r[0]
            for r in con.execute(
                "SELECT DISTINCT strftime(treatment_date, '%Y') || 'Q' || "
                "quarter(treatment_date) FROM treatments ORDER BY 1 DESC"
            ).fetchall()
        )
        con.close()
        print("\nmeasuring memory: needlewatch serve + headless Chromium, every page ...")
        wait_for_quiet(args.max_load, args.max_wait)
        memory = measure_memory(db, quarters)
        print(f"{'page opened in the browser':34}{'s to drawn':>11}{'peak MB so far':>16}")
        for name, seconds, peak in memory["visits"]:
            print(f"{name:34}{seconds:11.2f}{peak:16.0f}")
        tree_label = f"process tree, sum of peaks ({memory['tree_size']} processes)"
        print(
            f"\n{'resident memory':44}{'MB':>8}{'target':>9}  result\n"
            f"{'streamlit process, idle after start':44}{memory['idle_mb']:8.0f}\n"
            f"{'streamlit process, peak (VmHWM)':44}{memory['peak_mb']:8.0f}"
            f"{MAX_RSS_MB:9.0f}  {'PASS' if memory['peak_mb'] < MAX_RSS_MB else 'FAIL'}\n"
            f"{'streamlit process, after the last page':44}{memory['after_mb']:8.0f}\n"
            f"{tree_label:44}"
            f"{memory['tree_peak_mb']:8.0f}{MAX_RSS_MB:9.0f}  "
            f"{'PASS' if memory['tree_peak_mb'] < MAX_RSS_MB else 'FAIL'}"
        )
    print(
        f"\nload average at the start {load_start}, at the end {os.getloadavg()[0]:.1f} "
        "(other processes share this machine: figures are wall-clock)"
    )
    print(
        f"machine: {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GB RAM, "
        f"DuckDB {duckdb.__version__}, Python {sys.version.split()[0]}"
    )
    if timings:
        passed = sum(t.ok for t in timings)
        print(
            f"speed: {passed}/{len(timings)} page measurements pass; slowest rerun "
            f"{max(t.r for t in timings):.3f} s (target < {MAX_RERUN_S:g} s)"
        )
    if memory:
        print(
            f"memory: streamlit peak {memory['peak_mb']:.0f} MB, tree {memory['tree_peak_mb']:.0f}"
            f" MB (target < {MAX_RSS_MB:.0f} MB)"
        )


if __name__ == "__main__":
    main()
