"""Named defaults for every NeedleWatch command, in one place.

Anything a user may want to change is read here once; the rest of the code takes
these values as parameters so tests can pass their own.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

#: Default database file, relative to the working directory (the repository root
#: when following the README).
DEFAULT_DB = Path("data/needlewatch.duckdb")
#: Environment variable that overrides DEFAULT_DB; ``--db`` overrides both.
DB_ENV_VAR = "NEEDLEWATCH_DB"

#: Where ``ingest --mapping NAME`` and the upload page look for NAME.toml (a path to a .toml
#: works anywhere); ``$NEEDLEWATCH_MAPPINGS`` overrides.
MAPPINGS_DIR = Path("data/mappings")
MAPPINGS_ENV_VAR = "NEEDLEWATCH_MAPPINGS"

#: Where ``needlewatch demo`` writes its CSV files.
DEFAULT_DEMO_DIR = Path("data/demo")
DEFAULT_DEMO_SEED = 20261121
DEFAULT_DEMO_TREATMENTS = 250_000
#: Where ``needlewatch demo --network`` writes a professional body's database, and the
#: folder of the member clinics' submissions (``submissions/``) and register.
DEFAULT_NETWORK_DB = Path("data/network.duckdb")
DEFAULT_NETWORK_DIR = Path("data/network")

#: Dates before this are rejected as typos (dry needling registries start later).
EARLIEST_DATE = date(1990, 1, 1)

#: Most plausible hours of dry-needling training: a value above it is rejected (a typing
#: error, or minutes given for hours). Published surveys' top band is "> 200 hours".
MAX_DN_TRAINING_HOURS = 5000
#: Most plausible years of dry-needling experience: above it the value is rejected (and
#: named as a year, e.g. 2015, when it looks like one).
MAX_YEARS_DN_EXPERIENCE = 60
#: A whole number of "years" from this to the current year reads as a calendar year.
FIRST_PLAUSIBLE_YEAR = 1900

#: A clinic's quarterly submission to a professional body is due this many days after
#: the quarter ends (NHS quarterly data collections: about a month); later is "late".
SUBMISSION_DUE_DAYS = 30
#: A submitted quarter whose treatments fall below this share of the clinic's usual
#: quarter (the median of its previous four) is flagged as a data problem to check: a
#: sudden drop in the denominator is a missing export before it is a safety improvement.
SUBMISSION_DROP_SHARE = 0.75

#: Training-hours bands: inclusive upper bounds. Labels come out as
#: ``0-20``, ``21-60``, ``61-100``, ``101-200``, ``>200``.
TRAINING_BAND_UPPER: tuple[int, ...] = (20, 60, 100, 200)
#: Experience bands: lower bounds of each band after the first. Labels come out as
#: ``<2``, ``2-4``, ``5-9``, ``>=10`` (years).
EXPERIENCE_BAND_CUTS: tuple[int, ...] = (2, 5, 10)

#: Confidence level of every interval NeedleWatch prints.
CONFIDENCE = 0.95

#: Public reports hide counts from 1 to this (NHS hospital statistics: 1-7; CMS: 1-10),
#: and anything from which such a count could be worked out.
SUPPRESSION_THRESHOLD = 7
#: A clinic feedback report needs at least this many other clinics with treatments in
#: the quarter, so that its anonymous peers cannot be picked out (k-anonymity's k).
FEEDBACK_MIN_PEERS = 3
#: Monthly points on a u-chart when a period is chosen: the period's end and the months
#: before it (a quarter and the 21 months before it), on every surface.
REPORT_TREND_MONTHS = 24

#: The analysis methods every surface uses (dashboard.analysis.methods.Methods reads these).
#: Funnel limits allow for overdispersion between units: "additive" random effects
#: (Spiegelhalter 2005; NHS England's FunnelPlotR, PHE), "multiplicative" or "none".
FUNNEL_OVERDISPERSION = "additive"
#: Rate-ratio intervals: "auto" (practitioner-clustered when counts are overdispersed
#: across practitioners, else exact / Mantel-Haenszel), "exact" or "clustered".
RATIO_INTERVALS = "auto"
#: Reference level of each factor in every comparison (forest plots, compare, model,
#: reports); a factor not listed, or whose reference is absent in scope, uses the level
#: with the most treatments, and says so.
REFERENCE_LEVELS: dict[str, str] = {
    "ultrasound": "no",
    "training_band": "21-60",
    "experience_band": "2-4",
}
#: A series is charted for signals only with at least this many events per period on
#: average; rarer events (pneumothorax) are watched on the g-chart instead.
TREND_MIN_EVENTS_PER_PERIOD = 1.0

#: Most rows of the significant and serious event listing printed in a PDF report
#: (serious and never events first, newest first): the PDF is for a governance meeting,
#: and a national quarter's 1,300 rows with narratives would run to 60 pages. A note
#: counts the rest by severity and category; the HTML and XLSX editions list every event.
PDF_LISTING_ROWS = 40
#: Most serious events (never events aside: all are printed) in the PDF's page-1 table,
#: the first by date; a note counts the rest. The HTML and XLSX editions list every one.
PDF_SERIOUS_ROWS = 10

#: DuckDB limits for the ingest process: the 2 GB peak-memory target with headroom.
INGEST_MEMORY_LIMIT = "1200MB"
INGEST_THREADS = 2

#: The dashboard listens on this computer only unless ``needlewatch serve --host`` says
#: otherwise, which needs sign-in configured (``dashboard.store.access``).
SERVE_HOST = "127.0.0.1"
#: The roles of a shared deployment (``dashboard.store.access``); ``$NEEDLEWATCH_ROLES`` overrides.
ROLES_FILE = Path(".streamlit/roles.toml")
ROLES_ENV_VAR = "NEEDLEWATCH_ROLES"

#: Seconds an ingest waits for another ingest on the same database before giving up.
LOCK_TIMEOUT_SECONDS = 600.0
#: An ingest writes the database file in place, and DuckDB lets no other process open a
#: file that one has open for writing. Seconds a reading command, a report or the
#: dashboard waits for a running ingest to finish before saying so (one line);
READ_WAIT_SECONDS = 600.0
#: seconds it waits for another program that has the file open for writing (a DuckDB
#: shell running a statement) before naming that program;
READ_WAIT_OTHER_WRITER_SECONDS = 5.0
#: and seconds an ingest waits for readers that have the file open (a report being
#: built, a page's queries) to close it before giving up.
READERS_WAIT_SECONDS = 300.0
#: Pause between two tries of a lock while waiting.
RETRY_PAUSE_SECONDS = 0.02

#: Free space an ingest wants beside the database on top of twice the input files' size
#: (what the rows add to the file; DuckDB's spill and any transcoded copy).
FREE_SPACE_MARGIN_BYTES = 64 * 1024 * 1024


def roles_path() -> Path:
    """The roles file: ``$NEEDLEWATCH_ROLES`` if set, else ``ROLES_FILE``."""
    return Path(os.environ.get(ROLES_ENV_VAR) or ROLES_FILE)


def mappings_dir() -> Path:
    """The folder of named mapping profiles: ``$NEEDLEWATCH_MAPPINGS`` if set, else
    ``MAPPINGS_DIR``."""
    return Path(os.environ.get(MAPPINGS_ENV_VAR) or MAPPINGS_DIR)


def resolve_db_path(cli_value: str | os.PathLike[str] | None = None) -> Path:
    """The database path: ``--db`` if given, else ``$NEEDLEWATCH_DB``, else the default."""
    if cli_value:
        return Path(cli_value)
    env = os.environ.get(DB_ENV_VAR)
    if env:
        return Path(env)
    return DEFAULT_DB
