"""The two steps only a treatments file takes, around its typed INSERT (``ingest.load``).

file.patient_id --before--> pkeys: each distinct id's keyed hash (and the record count)
INSERT of the good rows (a blank clinic_id as ``loadsql.CLINIC_TO_FILL``)
  --after--> those rows' clinic_id: the clinic of the profile in force on their date
"""

from __future__ import annotations

import duckdb

from .errors import IngestBookkeepingError
from .history import PROFILE_IN_FORCE
from .loadsql import CLINIC_TO_FILL, hmac_pads, named, trimmed
from .progress import Progress, run
from .readers import Source


def patient_keys(
    con: duckdb.DuckDBPyConnection, source: Source, params: dict, progress: Progress | None
) -> int | None:
    """pkeys(patient_id, n, patient_key): HMAC-SHA256 of each *distinct* patient_id, and
    how many records name it; returns the records the scan delivered (None: no column).

        src.patient_id (N rows, ~N/5 distinct) -> pkeys (one row per distinct id, and
        one for the records without an id: patient_key NULL; sum(n) = N)

    HMAC(k, m) = SHA256((k ^ opad) || SHA256((k ^ ipad) || m)) (RFC 2104), with the
    per-database secret k. Hashing distinct ids and joining costs a third of hashing
    every row. The raw id never reaches the database file: pkeys is a temp table.
    sum(n) counts the records as ``ingest.load._count_records`` would, without a scan of
    its own (0.45 s of a 5-million-row load).
    """
    secret = con.execute("SELECT value FROM meta WHERE key = 'patient_key_secret'").fetchone()
    params["ipad"], params["opad"] = hmac_pads(secret[0])
    if "patient_id" not in source.columns:  # an optional column: no ids to key
        con.execute(
            "CREATE OR REPLACE TEMP TABLE pkeys (patient_id VARCHAR, n BIGINT, patient_key VARCHAR)"
        )
        return None
    # the file's patient_id column alone, trimmed as scan_sql trims it: the whole scan
    # trims every column first (0.8 s more for 5 million rows)
    ids = f"(SELECT {trimmed('patient_id')} AS patient_id FROM {source.relation})"
    sql = (
        "CREATE OR REPLACE TEMP TABLE pkeys AS SELECT patient_id, n, "
        "CASE WHEN patient_id IS NOT NULL THEN "
        "sha256($opad || unhex(sha256($ipad || encode(patient_id)))) END AS patient_key "
        f"FROM (SELECT patient_id, count(*) AS n FROM {ids} src GROUP BY patient_id)"
    )
    run(con, sql, named(source, params, sql), progress, "keying patient ids")
    return int(con.execute("SELECT coalesce(sum(n), 0) FROM pkeys").fetchone()[0])


def fill_clinics(con: duckdb.DuckDBPyConnection, source: Source, run_id: int) -> None:
    """Treatments inserted without a clinic_id take the clinic of the practitioner's
    profile in force on the treatment's date.

        treatments (this run, clinic_id = CLINIC_TO_FILL) --UPDATE joined to the profile
        in force--> the profile's clinic_id

    Only those rows are joined (``loadsql.target_select`` says why). Every known
    practitioner has a profile on every date (the first one holds from 0001-01-01), so a
    row left unfilled is a bug, never a guess.
    """
    if source.kind.name != "treatments":
        return
    to_fill = con.execute(
        "SELECT count(*) FROM treatments WHERE run_id = ? AND clinic_id = ?",
        [run_id, CLINIC_TO_FILL],
    ).fetchone()[0]
    if not to_fill:
        return
    filled = con.execute(
        "UPDATE treatments t SET clinic_id = p.clinic_id FROM practitioner_profiles p "
        f"WHERE t.run_id = $r AND t.clinic_id = $fill AND {PROFILE_IN_FORCE}",
        {"r": run_id, "fill": CLINIC_TO_FILL},
    ).fetchone()[0]
    if filled != to_fill:
        raise IngestBookkeepingError(
            f"{source.label}: {to_fill - filled} treatment(s) without a clinic_id found no "
            "profile of their practitioner; nothing was written, please report this as a bug"
        )
