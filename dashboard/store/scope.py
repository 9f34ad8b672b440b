"""Which clinics a reader may see, applied to the connection itself.

A clinic's safety officer, signed in to a shared deployment, must see only their clinics on
every page, chart, listing, download and report, however the request was made (a shared
link, a page switch, a hand-edited URL). So the restriction is not a filter a query may
forget: :func:`apply_scope` shadows every table that holds a clinic's data with a
temporary view of the same name, restricted to the scope's clinics, on the read-only
connection the data functions then receive. Unqualified names resolve to the temporary
schema first, so every query of the read store reads the scoped rows without knowing.

    treatments (all clinics)  --temp view, clinic_id IN scope-->  treatments (C04 only)
    adverse_events            --their treatments in scope------>  adverse_events
    counts_*, practitioners*, clinics, submissions*  --clinic_id IN scope--> ...
    column_blanks             --recounted from the scoped rows-->  column_blanks
    rejects, ingest_runs      --nothing / no file names or counts--> (other clinics' rows)

The clinics are bound values in a temporary table, never formatted into SQL; table names
come from the fixed lists below. ``Scope()`` (every clinic) leaves the connection as it
is: a professional body, an admin, or the local single-user mode.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import duckdb

from ingest.blanks import BLANK_COLUMNS

_IN_SCOPE = "clinic_id IN (SELECT clinic_id FROM temp.main.scope_clinics)"

#: Tables holding a clinic's rows, and the condition that keeps the scope's. Order
#: matters: adverse_events reads the scoped treatments.
_SCOPED: dict[str, str] = {
    "clinics": _IN_SCOPE,
    "practitioners": _IN_SCOPE,
    "practitioner_history": _IN_SCOPE,
    "practitioner_profiles": _IN_SCOPE,
    "treatments": _IN_SCOPE,
    "adverse_events": "treatment_id IN (SELECT treatment_id FROM temp.main.treatments)",
    "event_versions": "treatment_id IN (SELECT treatment_id FROM temp.main.treatments)",
    "counts_treatments": _IN_SCOPE,
    "counts_events": _IN_SCOPE,
    "submissions": _IN_SCOPE,
    "submitted_quality": _IN_SCOPE,
    "submitted_serious_events": _IN_SCOPE,
    "rejects": "false",  # raw values of any clinic's rejected rows, no clinic to tell
}


#: A practitioner-only scope keeps these tables' rows of the practitioner alone (the
#: events follow their treatments); every other scoped table is empty to it.
_PRACTITIONER_ROWS: dict[str, str] = {
    "treatments": "practitioner_id IN (SELECT id FROM temp.main.scope_practitioners)",
    "practitioners": "practitioner_id IN (SELECT id FROM temp.main.scope_practitioners)",
    "clinics": "true",
}


@dataclass(frozen=True)
class Scope:
    """The clinics a reader may see: ``None`` for every clinic, else these (possibly none)."""

    clinics: tuple[str, ...] | None = None
    #: A practitioner-only reader (the incident form): their own treatments and events
    #: alone, in their clinics; no counts, submissions or other practitioners' rows.
    practitioners: tuple[str, ...] | None = None

    @property
    def everything(self) -> bool:
        return self.clinics is None and self.practitioners is None

    def describe(self) -> str:
        """'all clinics' or 'C04, C09', for notices and the audit log."""
        if self.practitioners is not None:
            return "practitioner " + (", ".join(self.practitioners) or "none")
        if self.clinics is None:
            return "all clinics"
        return ", ".join(self.clinics) if self.clinics else "no clinic"


EVERYTHING = Scope()
#: The scope each scoped connection was given: answers kept per database state
#: (``db.per_state``) are kept per scope too, so no reader is handed another's.
_GIVEN: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def scope_of(con: duckdb.DuckDBPyConnection) -> Scope:
    """The scope ``apply_scope`` gave ``con`` (every clinic when none)."""
    return _GIVEN.get(con, EVERYTHING)


def _tables(con: duckdb.DuckDBPyConnection, catalog: str) -> set[str]:
    return {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_catalog = ? AND table_schema = 'main'",
            [catalog],
        ).fetchall()
    }


def _blanks_view(tables: set[str]) -> str:
    """``column_blanks`` counted from the scoped rows (the ingest's running counts are for
    every clinic): one row per table and optional column, as the stored table."""
    parts = [
        f"SELECT '{table}' AS table_name, unnest([{', '.join(repr(c) for c in cols)}]) "
        f"AS column_name, unnest([{', '.join(f'count(*) - count({c})' for c in cols)}]) "
        f"AS missing FROM temp.main.{table}"
        for table, cols in BLANK_COLUMNS.items()
        if table in tables
    ]
    return " UNION ALL ".join(parts)


def apply_scope(con: duckdb.DuckDBPyConnection, scope: Scope) -> duckdb.DuckDBPyConnection:
    """Restrict ``con`` (a connection of its own: the views live as long as it) to the
    scope's clinics, in place; returns it. Every clinic: nothing changes."""
    if scope.everything:
        return con
    if con in _GIVEN:
        raise ValueError("this connection is scoped already; open another one")
    _GIVEN[con] = scope
    catalog = con.execute("SELECT current_database()").fetchone()[0]
    source = '"' + catalog.replace('"', '""') + '".main.'
    tables = _tables(con, catalog)
    con.execute("CREATE TEMP TABLE scope_clinics (clinic_id VARCHAR)")
    own = scope.practitioners
    if own is None:
        con.execute(
            "INSERT INTO scope_clinics SELECT unnest($clinics)", {"clinics": list(scope.clinics)}
        )
    else:  # the clinics of the practitioner's profile
        con.execute(
            f"INSERT INTO scope_clinics SELECT DISTINCT clinic_id FROM {source}practitioners "
            "WHERE list_contains($own, practitioner_id)",
            {"own": list(own)},
        )
        con.execute("CREATE TEMP TABLE scope_practitioners AS SELECT unnest($own) AS id",
                    {"own": list(own)})  # fmt: skip
    for table, condition in _SCOPED.items():
        if table in tables:
            if own is not None and table in _PRACTITIONER_ROWS:
                condition = f"{condition} AND {_PRACTITIONER_ROWS[table]}"
            elif own is not None and table not in ("adverse_events", "event_versions"):
                condition = "false"
            con.execute(
                f"CREATE TEMP VIEW {table} AS SELECT * FROM {source}{table} WHERE {condition}"
            )
    if "column_blanks" in tables:
        con.execute(f"CREATE TEMP VIEW column_blanks AS {_blanks_view(tables)}")
    if "ingest_runs" in tables:  # when data arrived, not whose files or how many rows
        con.execute(
            "CREATE TEMP VIEW ingest_runs AS SELECT * REPLACE (NULL::VARCHAR AS file, "
            "NULL::VARCHAR AS sha256, NULL::BIGINT AS rows_read, NULL::BIGINT AS "
            "rows_accepted, NULL::BIGINT AS rows_updated, NULL::BIGINT AS rows_unchanged, "
            f"NULL::BIGINT AS rows_rejected, NULL::VARCHAR AS options) FROM {source}ingest_runs"
        )
    return con
