"""Full-page screenshots of every dashboard page on a database, for a person to read.

Serves ``needlewatch serve --headless`` on ``--db`` (default the demo database), opens each
page at the links below in Debian's chromium (Playwright) and writes PNGs to ``--out``
(default ``bench/out/screenshots/demo``), printing each file with the charts and tables it
waited for and any error shown on the page.

    python3 -m uv run python bench/page_shots.py [--db data/needlewatch.duckdb] [--out DIR]
    python3 -m uv run python bench/page_shots.py --network --db data/network.duckdb
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.test_browser import (  # noqa: E402  (after the path)
    CHROMIUM,
    CHROMIUM_ARGS,
    STEP_MS,
    VIEWPORT,
    App,
    _free_port,
    _healthy,
    _stop,
)

#: (file name, link, charts, tables) on the demo data: the planted C04 rise, the newest
#: quarter with its pneumothorax and forgotten needle, and every page once.
LINKS = (
    ("overview-C04-2025Q2", "/?quarter=2025Q2&clinic=C04", 1, 0),
    ("overview-all-2026Q3", "/?quarter=2026Q3", 1, 0),
    ("overview-C04-2026Q3", "/?quarter=2026Q3&clinic=C04", 1, 0),
    ("incidence-2026Q3", "/incidence?quarter=2026Q3", 2, 0),
    ("incidence-2026Q3-insertions", "/incidence?quarter=2026Q3&per=insertions", 2, 0),
    ("training-all-dates", "/training", 5, 0),
    ("training-2026Q3", "/training?quarter=2026Q3", 5, 0),
    ("trends-C04-2025Q2", "/trends?quarter=2025Q2&clinic=C04", 1, 1),
    ("trends-C04-2026Q3-fainting", "/trends?quarter=2026Q3&clinic=C04&category=fainting", 0, 0),
    ("trends-all-2026Q3-quarterly", "/trends?quarter=2026Q3&by=quarter", 1, 1),
    ("clinics-2026Q3", "/clinics?quarter=2026Q3", 1, 1),
    ("clinics-C04-practitioners", "/clinics?quarter=2026Q3&compare=practitioners&within=C04", 1, 1),
    ("serious-2026Q3", "/serious?quarter=2026Q3", 0, 1),
    ("quality", "/quality", 0, 4),
    ("submissions", "/submissions", 0, 0),
    ("report", "/report?quarter=2026Q3", 0, 0),
)
#: On a body's database (``needlewatch demo --network``): the pages a body reads first.
NETWORK_LINKS = (
    ("network-submissions", "/submissions", 0, 4),
    ("network-overview-2026Q3", "/?quarter=2026Q3", 1, 0),
    ("network-training-2026Q3", "/training?quarter=2026Q3", 5, 0),
    ("network-clinics-2026Q3", "/clinics?quarter=2026Q3", 1, 1),
    ("network-trends-quarterly", "/trends?by=quarter", 1, 1),
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default=str(ROOT / "data" / "needlewatch.duckdb"))
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "screenshots" / "demo"))
    ap.add_argument("--network", action="store_true", help="a body's database: its pages")
    args = ap.parse_args()
    links = NETWORK_LINKS if args.network else LINKS
    os.environ["NEEDLEWATCH_SCREENSHOTS"] = args.out
    port = _free_port()
    url = f"http://localhost:{port}"
    command = [sys.executable, "-m", "needlewatch.cli", "serve", "--db", args.db,
               "--port", str(port), "--headless"]  # fmt: skip
    env = {**os.environ, "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"}
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    from playwright.sync_api import sync_playwright

    try:
        deadline = time.monotonic() + 60
        while not _healthy(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                print(f"needlewatch serve did not answer {url}", file=sys.stderr)
                return 1
            time.sleep(0.3)
        with sync_playwright() as pw:
            chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            for name, link, charts, tables in links:
                context = chromium.new_context(viewport=VIEWPORT)
                context.set_default_timeout(STEP_MS * 3)
                app = App(context.new_page(), url)
                app.open(link)
                app.draw(charts=charts, tables=tables)
                path = app.screenshot(name)
                print(f"{path}  {link}  problems: {app.problems() or 'none'}")
                context.close()
            chromium.close()
    finally:
        _stop(proc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
