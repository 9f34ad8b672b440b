"""The counts store: treatments, insertions, events and treatments affected per month and
every dimension a rate is split or filtered by, kept by the ingest in its own write.

Every count the dashboard, the reports and the command line print is a sum over these two
tables (``dashboard`` reads them through one module), so no surface re-counts rows:

    treatments (10 million rows) + adverse_events + practitioner_profiles
      --> counts_treatments  (source, month, clinic_id, practitioner_id, profession,
                              dn_training_hours, years_dn_experience, body_region,
                              ultrasound_guided, technique, insertions_recorded)
                             -> treatments, insertions
      --> counts_events      (the same keys, category, severity)
                             -> events, treatments_affected

A treatment is counted under the practitioner profile in force on its date
(``practitioner_profiles``), so a later profile never moves it. ``category`` or
``severity`` NULL in ``counts_events`` means "all": each treatment's events are counted
four ways (overall, by category, by severity, by both), because the treatments affected
by *any* event are not the sum of those affected by each kind (a treatment with a bruise
and a faint is one treatment affected, not two).

An ingest keeps the store by difference, at a cost that follows what it changed. Each
load (``note_touched``) counts the treatments it changed twice, out as they were and back
in as they are now, into two temp tables of signed counts with the store's columns:

    rows a run added, replaced or re-banded (+ their events)
      --counted as before, sign -1; as now, sign +1--> count_delta_t, count_delta_e
      --summed per key, ``refresh_counts``--> + the store's rows of those keys
      --> those rows deleted and inserted again (a key left with none: dropped)

Every count is a sum over treatments (``treatments_affected`` too: each treatment adds 1
to each (key, category, severity) it has events of), so the difference is exact. A bulk
load into empty months is the plain aggregate of its rows. The same SQL
(``counts_sql``) counts a few days straight from the rows, which is how the read side
answers a period that starts or ends inside a month, and recounts everything
(``refresh_counts(everything=True)``: the upgrade to schema 2).
"""

from __future__ import annotations

from contextlib import suppress
from datetime import date

import duckdb

from .errors import IngestBookkeepingError
from .history import PROFILE_JOIN, commit_profiles, stage_profiles
from .validate import COUNTED_COLUMNS

#: Where counts come from: rows loaded into this database, or clinics' submissions
#: received by a professional body (``ingest.submissions``).
ROWS_SOURCE = "rows"
SUBMISSION_SOURCE = "submission"

#: The store's keys, in table order (after ``source``).
KEYS = (
    "month",
    "clinic_id",
    "practitioner_id",
    "profession",
    "dn_training_hours",
    "years_dn_experience",
    "body_region",
    "ultrasound_guided",
    "technique",
    "insertions_recorded",
)
EVENT_KEYS = ("category", "severity")

_KEY_LIST = ", ".join(KEYS)

#: Per counts table: its keys (after ``source``), its counts, and the temp table of
#: signed counts an ingest gathers for it.
_TABLES = {
    "counts_treatments": (KEYS, ("treatments", "insertions"), "count_delta_t"),
    "counts_events": ((*KEYS, *EVENT_KEYS), ("events", "treatments_affected"), "count_delta_e"),
}

#: The events a count reads (``counts_sql``): the stored ones, or, for an events run
#: ``$r`` (``note_touched``), the ones stored before it (its rows out, those it replaced in).
EVENTS = "adverse_events"
_EVENTS_BEFORE = "(SELECT * FROM adverse_events WHERE run_id <> $r UNION ALL SELECT * FROM old)"


def treatment_keys_sql(where: str, rows: str = "treatments") -> str:
    """Each treatment of ``rows`` (a table, or a fixed subquery in parentheses) matching
    ``where`` (SQL over ``t``, values bound by the caller) with its store keys and needle
    count; banded by the profile in force."""
    return f"""
        SELECT t.treatment_id, CAST(date_trunc('month', t.treatment_date) AS DATE) AS month,
               t.clinic_id, t.practitioner_id, p.profession, p.dn_training_hours,
               p.years_dn_experience, t.body_region, t.ultrasound_guided, t.technique,
               t.needle_insertions IS NOT NULL AS insertions_recorded, t.needle_insertions
        FROM {rows} t {PROFILE_JOIN}
        WHERE {where}
    """


def counts_sql(table: str, where: str, *, rows: str = "treatments", events: str = EVENTS) -> str:
    """SELECT of ``table``'s rows (without ``source``) counted from the treatment rows of
    ``rows`` that match ``where`` and their events in ``events`` (both fixed SQL:
    ``treatment_keys_sql``)."""
    keys = treatment_keys_sql(where, rows)
    if table == "counts_treatments":
        return f"""
            SELECT {_KEY_LIST}, CAST(count(*) AS BIGINT) AS treatments,
                   CAST(coalesce(sum(needle_insertions), 0) AS BIGINT) AS insertions
            FROM ({keys}) GROUP BY ALL
        """
    if table == "counts_events":
        return f"""
            WITH tk AS ({keys}),
            pe AS (
                SELECT e.treatment_id, e.category, e.severity, count(*) AS n
                FROM {events} e
                WHERE e.treatment_id IN (SELECT treatment_id FROM tk)
                GROUP BY GROUPING SETS ((e.treatment_id), (e.treatment_id, e.category),
                                        (e.treatment_id, e.severity),
                                        (e.treatment_id, e.category, e.severity))
            )
            SELECT {", ".join(f"tk.{k}" for k in KEYS)}, pe.category, pe.severity,
                   CAST(sum(pe.n) AS BIGINT) AS events,
                   CAST(count(*) AS BIGINT) AS treatments_affected
            FROM pe JOIN tk USING (treatment_id) GROUP BY ALL
        """
    raise ValueError(f"not a counts table: {table}")


def _delta_tables(con: duckdb.DuckDBPyConnection) -> None:
    """count_delta_t, count_delta_e: the store's columns (without ``source``), empty."""
    for table, (_keys, _counts, delta) in _TABLES.items():
        con.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {delta} AS "
            f"SELECT * EXCLUDE (source) FROM {table} LIMIT 0"
        )


def _count(
    con: duckdb.DuckDBPyConnection,
    sign: int,
    rows: str,
    *,
    events: str | None = EVENTS,
    treatments: bool = True,
    params: dict[str, object] | None = None,
) -> None:
    """Add the counts of the treatment rows ``rows`` (and their ``events``) times ``sign``
    (+1: counted in, -1: counted out) to the delta tables; ``treatments=False``: their
    events only (the treatment rows did not change); ``events=None``: the treatments only
    (they have no events).

        rows (one per treatment) --counts_sql--> (keys, counts) * sign --> count_delta_*
    """
    _delta_tables(con)
    for table, (_keys, counts, delta) in _TABLES.items():
        if (table == "counts_treatments" and not treatments) or (
            table == "counts_events" and events is None
        ):
            continue
        sql = (
            f"INSERT INTO {delta} SELECT * EXCLUDE ({', '.join(counts)}), "
            + ", ".join(f"$sign * {c}" for c in counts)
            + f" FROM ({counts_sql(table, 'true', rows=rows, events=events or EVENTS)})"
        )
        # one thread for the events: their GROUPING SETS per treatment and the join back
        # to the treatments' keys, on two threads, ran out of the ingest's 1.2 GB now and
        # then on a first load of 10 million treatments with their events (4 of 15 runs;
        # none of 8 on one thread, where it takes 14-18 s instead of 6)
        single = table == "counts_events"
        if single:
            threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
            con.execute("SET threads = 1")
        try:
            con.execute(
                sql, {"sign": sign, **{k: v for k, v in (params or {}).items() if f"${k}" in sql}}
            )
        finally:  # after a failed statement the batch is rolled back anyway
            if single:
                with suppress(duckdb.Error):
                    con.execute("SET threads = ?", [threads])


def note_touched(con: duckdb.DuckDBPyConnection, kind: str, run_id: int, today: date) -> None:
    """Count the treatments run ``run_id`` changed out as they were and in as they are,
    for ``refresh_counts``.

    Needs ``old`` (the stored versions this run replaced, ``ingest.load``). Treatments:
    the run's rows in, the replaced ones out, each with the events it has (a new id has
    none). Events: the treatments of the run's events and of the ones they replaced, with
    their events before the run out and now in. Practitioners: a profile that differs from the one in force
    becomes a new profile from its effective_from or ``today``
    (``ingest.history.stage_profiles``); that practitioner's treatments from then on are
    counted out before it lands and in after (none: the checks reject a change dated on or
    before a stored treatment; kept so the store can never go stale), and so are the
    treatments of a new practitioner (unbanded before: counted out as nothing).
    """
    r = {"r": run_id}
    if kind == "treatments":
        # a new id has no events (an event needs a stored treatment, ingest.validate):
        # only the replaced treatments take events with them, out of the old keys and
        # into the new ones (a bulk load into empty months: the plain aggregate of its rows)
        _count(con, 1, "(SELECT * FROM treatments WHERE run_id = $r)", events=None, params=r)
        if con.execute("SELECT count(*) FROM (SELECT 1 FROM old LIMIT 1)").fetchone()[0]:
            _count(con, -1, "old")
            replaced = (
                "(SELECT * FROM treatments WHERE run_id = $r "
                "AND treatment_id IN (SELECT treatment_id FROM old))"
            )
            _count(con, 1, replaced, treatments=False, params=r)
    elif kind == "adverse_events":
        # the run's events name known_treatments (ingest.validate); an event it replaced
        # may name another treatment, looked up only if there is one
        # (a query, not a copy: a first load of 10 million treatments' events names 1.4
        # million of them, and a second copy of those ran out of the ingest's memory)
        ids = "SELECT treatment_id FROM adverse_events WHERE run_id = $r UNION SELECT treatment_id FROM old"
        touched = f"(SELECT * FROM known_treatments WHERE treatment_id IN ({ids}))"
        other = "SELECT treatment_id FROM old EXCEPT SELECT treatment_id FROM known_treatments"
        if con.execute(f"SELECT count(*) FROM ({other})").fetchone()[0]:
            con.execute(
                "CREATE OR REPLACE TEMP TABLE touched_rows AS "
                f"SELECT * FROM {touched} UNION ALL SELECT {COUNTED_COLUMNS} FROM treatments "
                f"WHERE treatment_id IN ({other})",
                r,
            )
            touched = "touched_rows"
        _count(con, -1, touched, events=_EVENTS_BEFORE, treatments=False, params=r)
        _count(con, 1, touched, treatments=False, params=r)
    elif kind == "practitioners":
        stage_profiles(con, run_id, today)
        con.execute(
            "CREATE OR REPLACE TEMP TABLE touched_rows AS SELECT t.* FROM treatments t "
            "JOIN new_profiles h ON h.practitioner_id = t.practitioner_id "
            "AND (NOT h.is_change OR t.treatment_date >= h.effective_from)"
        )
        rebanded = con.execute("SELECT count(*) FROM touched_rows").fetchone()[0]
        if rebanded:
            _count(con, -1, "touched_rows")
        commit_profiles(con, run_id)
        if rebanded:
            _count(con, 1, "touched_rows")


def count_out_events(con: duckdb.DuckDBPyConnection, treatment_ids_sql: str) -> None:
    """Count out the events of the treatments ``treatment_ids_sql`` selects (a fixed query
    of the caller's, e.g. the treatments of events about to be recategorised), as they are
    now; ``refresh_counts`` counts them back in as they are then."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE recount_rows AS SELECT * FROM treatments "
        f"WHERE treatment_id IN ({treatment_ids_sql})"
    )
    _count(con, -1, "recount_rows", treatments=False)


def refresh_counts(con: duckdb.DuckDBPyConnection, *, everything: bool = False) -> None:
    """Apply the counts gathered since the last call (``note_touched``, ``count_out_events``)
    to the store; ``everything``: recount the whole store from the rows instead.

    Per table: the signed counts summed per key, added to the store's rows of those keys;
    those rows deleted and inserted again, in store order, a key left without treatments
    (or events) dropped. Costs what the ingest changed plus a scan of the store's rows
    between the first and the last month it changed.
    """
    if everything:  # whatever was gathered is in the recount: dropped
        con.execute("DROP TABLE IF EXISTS recount_rows")
        _delta_tables(con)
        for table, (_keys, _counts, delta) in _TABLES.items():
            con.execute(f"DELETE FROM {delta}")
            con.execute(f"DELETE FROM {table} WHERE source = $s", {"s": ROWS_SOURCE})
            con.execute(
                f"INSERT INTO {table} SELECT $s, * FROM ({counts_sql(table, 'true')}) "
                f"ORDER BY {_order(table)}",
                {"s": ROWS_SOURCE},
            )
        return
    if con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = 'recount_rows'"
    ).fetchone()[0]:
        _count(con, 1, "recount_rows", treatments=False)
        con.execute("DROP TABLE recount_rows")
    _delta_tables(con)
    for table in _TABLES:
        _apply(con, table)


def _order(table: str) -> str:
    """The store's row order: by month; event rows grouped by how they are split first (a
    read of one split, all events or by category ..., skips the row groups of the others)."""
    if table == "counts_events":
        return "category IS NOT NULL, severity IS NOT NULL, month"
    return "month"


def _apply(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Add ``table``'s delta to the store and empty the delta.

    count_delta_* (signed, many rows per key) --sum per key--> count_sum
      + store rows of those keys (NULL keys match NULL) --> rows deleted, re-inserted
    """
    keys, counts, delta = _TABLES[table]
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE count_sum AS SELECT {', '.join(keys)}, "
        + ", ".join(f"CAST(sum({c}) AS BIGINT) AS {c}" for c in counts)
        + f" FROM {delta} GROUP BY ALL HAVING "
        + " OR ".join(f"sum({c}) <> 0" for c in counts)
    )
    con.execute(f"DELETE FROM {delta}")
    if not con.execute("SELECT count(*) FROM (SELECT 1 FROM count_sum LIMIT 1)").fetchone()[0]:
        return
    # the store's rows between the first and last month changed (bound dates: the row
    # groups of other months are skipped)
    lo, hi = con.execute("SELECT min(month), max(month) FROM count_sum").fetchone()
    s = {"s": ROWS_SOURCE, "lo": lo, "hi": hi}
    stored = f"SELECT * FROM {table} WHERE source = $s AND month BETWEEN $lo AND $hi"
    same = " AND ".join(f"c.{k} IS NOT DISTINCT FROM d.{k}" for k in keys)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE count_new AS SELECT "
        + ", ".join(f"d.{k}" for k in keys)
        + ", "
        + ", ".join(f"coalesce(c.{n}, 0) + d.{n} AS {n}" for n in counts)
        + f" FROM count_sum d LEFT JOIN ({stored}) c ON {same}",
        s,
    )
    negative = con.execute(
        "SELECT count(*) FROM count_new WHERE " + " OR ".join(f"{n} < 0" for n in counts)
    ).fetchone()[0]
    if negative:
        raise IngestBookkeepingError(
            f"{table}: {negative} count(s) would fall below zero; nothing was written, "
            "please report this as a bug"
        )
    con.execute(
        f"DELETE FROM {table} c USING count_sum d WHERE c.source = $s "
        f"AND c.month BETWEEN $lo AND $hi AND {same}",
        s,
    )
    con.execute(
        f"INSERT INTO {table} SELECT $s, * FROM count_new WHERE {counts[0]} > 0 "
        f"ORDER BY {_order(table)}",
        {"s": ROWS_SOURCE},
    )
