"""Database schema and migrations.

The schema version lives in ``meta``; ``MIGRATIONS[i]`` takes a database from version
``i`` to ``i + 1``. Only the writer (``ingest.store.write_transaction``) runs
migrations, inside its one transaction, so a reader (which waits out a write) never sees
a half-migrated file.

There are deliberately no PRIMARY KEY or UNIQUE constraints on the data tables: the
ingest enforces one row per id itself (delete-then-insert of each batch), which keeps
bulk loads fast and avoids DuckDB's over-eager unique checks on delete+reinsert in one
transaction. ``tests/test_ingest_*`` assert the uniqueness.
"""

from __future__ import annotations

import secrets

import duckdb

from .errors import SchemaTooNewError

_V1 = """
CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);

CREATE TABLE clinics (
    clinic_id VARCHAR NOT NULL,
    name VARCHAR,
    region VARCHAR,
    country VARCHAR,
    run_id INTEGER NOT NULL
);

CREATE TABLE practitioners (
    practitioner_id VARCHAR NOT NULL,
    clinic_id VARCHAR NOT NULL,
    profession VARCHAR,
    dn_training_hours DOUBLE NOT NULL,
    years_dn_experience DOUBLE,
    run_id INTEGER NOT NULL
);

CREATE TABLE treatments (
    treatment_id VARCHAR NOT NULL,
    treatment_date DATE NOT NULL,
    practitioner_id VARCHAR NOT NULL,
    clinic_id VARCHAR NOT NULL,
    patient_key VARCHAR,
    body_region VARCHAR NOT NULL,
    ultrasound_guided BOOLEAN NOT NULL,
    needle_insertions INTEGER,
    technique VARCHAR,
    retention_minutes DOUBLE,
    electrical_stimulation BOOLEAN,
    contraindications VARCHAR,
    run_id INTEGER NOT NULL
);

CREATE TABLE adverse_events (
    event_id VARCHAR NOT NULL,
    treatment_id VARCHAR NOT NULL,
    event_type VARCHAR NOT NULL,
    category VARCHAR NOT NULL,
    severity_reported VARCHAR,
    severity VARCHAR NOT NULL,
    onset VARCHAR,
    onset_date DATE,
    outcome VARCHAR,
    hospitalised BOOLEAN,
    narrative VARCHAR,
    run_id INTEGER NOT NULL
);

CREATE TABLE ingest_runs (
    run_id INTEGER PRIMARY KEY,
    batch_id INTEGER NOT NULL,
    file VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    rows_read BIGINT NOT NULL,
    rows_accepted BIGINT NOT NULL,
    rows_updated BIGINT NOT NULL,
    rows_unchanged BIGINT NOT NULL,
    rows_rejected BIGINT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL,
    status VARCHAR NOT NULL,
    options VARCHAR
);

CREATE TABLE rejects (
    run_id INTEGER NOT NULL,
    file VARCHAR NOT NULL,
    row_number BIGINT NOT NULL,
    column_name VARCHAR,
    value VARCHAR,
    reason VARCHAR NOT NULL
);

CREATE TABLE term_mappings (
    term VARCHAR PRIMARY KEY,
    category VARCHAR NOT NULL,
    added_at TIMESTAMP NOT NULL
);
"""

#: Version 2: practitioner history and the counts store (``ingest.countstore``).
#: ``practitioner_history`` keeps every profile a practitioner has had, from the date it
#: holds (NULL on a first profile: it holds from the practitioner's first treatment);
#: ``practitioner_profiles`` adds the span each holds, so a treatment is banded by the
#: profile in force on its date. The count tables hold, per month and every dimension a
#: rate is split or filtered by, the treatments, insertions, events and treatments
#: affected (``data/dictionary.md``, "Counts store"); ``source`` names where the counts
#: come from ('rows': this database's treatment and event rows).
_V2 = """
CREATE TABLE practitioner_history (
    practitioner_id VARCHAR NOT NULL,
    clinic_id VARCHAR NOT NULL,
    profession VARCHAR,
    dn_training_hours DOUBLE NOT NULL,
    years_dn_experience DOUBLE,
    effective_from DATE,
    run_id INTEGER NOT NULL
);
INSERT INTO practitioner_history
    SELECT practitioner_id, clinic_id, profession, dn_training_hours, years_dn_experience,
           NULL, run_id
    FROM practitioners;

CREATE VIEW practitioner_profiles AS
SELECT practitioner_id, clinic_id, profession, dn_training_hours, years_dn_experience,
       effective_from, run_id,
       CASE WHEN row_number() OVER w = 1 THEN DATE '0001-01-01' ELSE effective_from END
           AS valid_from,
       coalesce(lead(effective_from) OVER w, DATE '9999-12-31') AS valid_to
FROM practitioner_history
WINDOW w AS (PARTITION BY practitioner_id ORDER BY effective_from NULLS FIRST);

CREATE TABLE counts_treatments (
    source VARCHAR NOT NULL,
    month DATE NOT NULL,
    clinic_id VARCHAR NOT NULL,
    practitioner_id VARCHAR,
    profession VARCHAR,
    dn_training_hours DOUBLE,
    years_dn_experience DOUBLE,
    body_region VARCHAR NOT NULL,
    ultrasound_guided BOOLEAN NOT NULL,
    technique VARCHAR,
    insertions_recorded BOOLEAN NOT NULL,
    treatments BIGINT NOT NULL,
    insertions BIGINT NOT NULL
);

CREATE TABLE counts_events (
    source VARCHAR NOT NULL,
    month DATE NOT NULL,
    clinic_id VARCHAR NOT NULL,
    practitioner_id VARCHAR,
    profession VARCHAR,
    dn_training_hours DOUBLE,
    years_dn_experience DOUBLE,
    body_region VARCHAR NOT NULL,
    ultrasound_guided BOOLEAN NOT NULL,
    technique VARCHAR,
    insertions_recorded BOOLEAN NOT NULL,
    category VARCHAR,
    severity VARCHAR,
    events BIGINT NOT NULL,
    treatments_affected BIGINT NOT NULL
);
"""

#: Version 3: practitioner files may date a profile (``effective_from``, see
#: ``ingest.history``). ``practitioners`` gains the column before ``run_id`` (the loader
#: relies on ``run_id`` being last, so the table is rebuilt, not altered) holding the date
#: of the profile in force, the latest in ``practitioner_history`` (NULL: a first profile,
#: held from the first treatment). Any practitioner without a history row gets its
#: profile as a first one, so every treatment keeps a profile to be banded by.
_V3 = """
CREATE TABLE practitioners_v3 (
    practitioner_id VARCHAR NOT NULL,
    clinic_id VARCHAR NOT NULL,
    profession VARCHAR,
    dn_training_hours DOUBLE NOT NULL,
    years_dn_experience DOUBLE,
    effective_from DATE,
    run_id INTEGER NOT NULL
);
INSERT INTO practitioner_history
    SELECT practitioner_id, clinic_id, profession, dn_training_hours, years_dn_experience,
           NULL, run_id
    FROM practitioners
    WHERE practitioner_id NOT IN (SELECT practitioner_id FROM practitioner_history);
INSERT INTO practitioners_v3
    SELECT p.practitioner_id, p.clinic_id, p.profession, p.dn_training_hours,
           p.years_dn_experience, h.effective_from, p.run_id
    FROM practitioners p
    LEFT JOIN (
        SELECT practitioner_id, max(effective_from) AS effective_from
        FROM practitioner_history GROUP BY practitioner_id
    ) h USING (practitioner_id);
DROP TABLE practitioners;
ALTER TABLE practitioners_v3 RENAME TO practitioners;
"""

#: Version 4: the blanks of each optional column, kept by the ingest by difference
#: (``ingest.blanks``), so the Data quality page and the reports read 10 numbers instead
#: of scanning the rows. ``migrate`` counts a database's rows once.
_V4 = """
CREATE TABLE column_blanks (
    table_name VARCHAR NOT NULL,
    column_name VARCHAR NOT NULL,
    missing BIGINT NOT NULL
);
"""

#: Version 5: clinic submissions received by a professional body (``ingest.submissions``).
#: ``submissions`` keeps every version of a clinic's quarter (the newest is ``current``),
#: with its totals and the current version's totals it replaced; the counts of the
#: current version are in the counts store under source 'submission'. The de-identified
#: serious events and data-quality measures of every version are kept beside it.
_V5 = """
CREATE TABLE submissions (
    clinic_id VARCHAR NOT NULL,
    quarter VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    current BOOLEAN NOT NULL,
    file VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    members_sha256 VARCHAR NOT NULL,
    received_at TIMESTAMP NOT NULL,
    received_by VARCHAR,
    created_at VARCHAR,
    tool_version VARCHAR,
    format_version INTEGER NOT NULL,
    treatments BIGINT NOT NULL,
    insertions BIGINT NOT NULL,
    events BIGINT NOT NULL,
    treatments_affected BIGINT NOT NULL,
    serious_events BIGINT NOT NULL,
    replaced_treatments BIGINT,
    replaced_events BIGINT,
    replaced_serious_events BIGINT
);

CREATE TABLE submitted_serious_events (
    clinic_id VARCHAR NOT NULL,
    quarter VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    month DATE NOT NULL,
    category VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,
    body_region VARCHAR NOT NULL,
    ultrasound_guided BOOLEAN NOT NULL,
    training_band VARCHAR NOT NULL,
    outcome VARCHAR
);

CREATE TABLE submitted_quality (
    clinic_id VARCHAR NOT NULL,
    quarter VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    measure VARCHAR NOT NULL,
    kind VARCHAR,
    value BIGINT NOT NULL
);
"""

#: Version 6: the date a clinic joined a body's network (``clinics.joined_on``, optional):
#: a submission for a quarter that ended before it is refused. The table is rebuilt so the
#: column sits before ``run_id``, in the order of the clinics file's columns.
_V6 = """
CREATE TABLE clinics_v6 AS
    SELECT clinic_id, name, region, country, CAST(NULL AS DATE) AS joined_on, run_id
    FROM clinics;
DROP TABLE clinics;
ALTER TABLE clinics_v6 RENAME TO clinics;
ALTER TABLE clinics ALTER COLUMN clinic_id SET NOT NULL;
ALTER TABLE clinics ALTER COLUMN run_id SET NOT NULL;
"""

#: Version 7: every version of an event filed through the incident report form
#: (``ingest.form``): the row as stored after that filing, who filed it and when. Version 1
#: of an event first loaded from a file is that row, filed by "file (ingest run N)".
_V7 = """
CREATE TABLE event_versions (
    event_id VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    filed_by VARCHAR NOT NULL,
    filed_at TIMESTAMP NOT NULL,
    treatment_id VARCHAR NOT NULL,
    event_type VARCHAR NOT NULL,
    category VARCHAR NOT NULL,
    severity_reported VARCHAR,
    severity VARCHAR NOT NULL,
    onset VARCHAR,
    onset_date DATE,
    outcome VARCHAR,
    hospitalised BOOLEAN,
    narrative VARCHAR,
    run_id INTEGER NOT NULL,
    PRIMARY KEY (event_id, version)
);
"""

#: Each entry upgrades the schema by one version. Append; never edit a released one.
MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, _V4, _V5, _V6, _V7)
SCHEMA_VERSION = len(MIGRATIONS)


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """Schema version of an open database; 0 for an empty file."""
    has_meta = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'"
    ).fetchone()
    if not has_meta or has_meta[0] == 0:
        return 0
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Bring a writable connection to SCHEMA_VERSION; returns the version found.

    Raises SchemaTooNewError rather than touch a file from a newer release.
    """
    found = current_version(con)
    if found > SCHEMA_VERSION:
        raise SchemaTooNewError(
            f"database schema version {found} is newer than this NeedleWatch "
            f"({SCHEMA_VERSION}): upgrade NeedleWatch"
        )
    for version in range(found, SCHEMA_VERSION):
        con.execute(MIGRATIONS[version])
        if version == 1:
            from .countstore import refresh_counts  # the store of the rows already loaded

            refresh_counts(con, everything=True)
        if version == 3:
            from .blanks import recount_blanks  # the blanks of the rows already loaded

            recount_blanks(con)
        if version == 0:
            # Per-database secret for the keyed patient hash (see ingest.validate).
            con.execute(
                "INSERT INTO meta VALUES ('patient_key_secret', ?)", [secrets.token_hex(32)]
            )
            con.execute("INSERT INTO meta VALUES ('schema_version', '0')")
        con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(version + 1)])
    return found
