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

An ingest notes the months it touched (``note_touched``: the months of the rows it added,
of the rows it replaced, and of the treatments a changed profile re-bands) and, in the
same transaction, recounts only those months (``refresh_counts``). The same SQL
(``counts_sql``) counts a few days straight from the rows, which is how the read side
answers a period that starts or ends inside a month.
"""

from __future__ import annotations

from datetime import date

import duckdb

from .history import PROFILE_JOIN, sync_history

#: Where counts come from. Rows loaded into this database; clinic submissions will add
#: their own sources (one per submitting clinic and quarter).
ROWS_SOURCE = "rows"

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


def treatment_keys_sql(where: str) -> str:
    """Each treatment matching ``where`` (SQL over ``treatments t``, values bound by the
    caller) with its store keys and needle count; banded by the profile in force."""
    return f"""
        SELECT t.treatment_id, CAST(date_trunc('month', t.treatment_date) AS DATE) AS month,
               t.clinic_id, t.practitioner_id, p.profession, p.dn_training_hours,
               p.years_dn_experience, t.body_region, t.ultrasound_guided, t.technique,
               t.needle_insertions IS NOT NULL AS insertions_recorded, t.needle_insertions
        FROM treatments t {PROFILE_JOIN}
        WHERE {where}
    """


def counts_sql(table: str, where: str) -> str:
    """SELECT of ``table``'s rows (without ``source``) counted from the treatment and
    event rows whose treatment matches ``where``."""
    keys = treatment_keys_sql(where)
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
                FROM adverse_events e
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


def _touched_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TEMP TABLE IF NOT EXISTS touched_months (month DATE)")


def note_touched(con: duckdb.DuckDBPyConnection, kind: str, run_id: int, today: date) -> None:
    """Remember the months run ``run_id`` changed, for ``refresh_counts``.

    Needs ``old`` (the stored versions this run replaced, ``ingest.load``). Treatments: the
    months of the new and the replaced rows. Events: the months of their treatments, new
    and replaced. Practitioners: a profile that differs from the one in force becomes a
    new profile from its effective_from or ``today`` (``ingest.history.sync_history``);
    the months of that practitioner's treatments from then on (none: the checks reject a
    change dated on or before a stored treatment; kept so the store can never go stale).
    """
    _touched_table(con)
    month = "CAST(date_trunc('month', treatment_date) AS DATE)"
    if kind == "treatments":
        con.execute(
            f"INSERT INTO touched_months SELECT DISTINCT {month} FROM ("
            "SELECT treatment_date FROM treatments WHERE run_id = $r "
            "UNION ALL SELECT treatment_date FROM old)",
            {"r": run_id},
        )
    elif kind == "adverse_events":
        con.execute(
            f"INSERT INTO touched_months SELECT DISTINCT {month} FROM treatments "
            "WHERE treatment_id IN (SELECT treatment_id FROM adverse_events WHERE run_id = $r "
            "UNION ALL SELECT treatment_id FROM old)",
            {"r": run_id},
        )
    elif kind == "practitioners":
        changed = sync_history(con, run_id, today)
        if changed:
            con.execute(
                f"INSERT INTO touched_months SELECT DISTINCT {month} FROM treatments t "
                "JOIN practitioner_history h ON h.practitioner_id = t.practitioner_id "
                "AND h.run_id = $r AND t.treatment_date >= h.effective_from",
                {"r": run_id},
            )


def note_months(con: duckdb.DuckDBPyConnection, treatment_ids_sql: str) -> None:
    """Remember the months of the treatments ``treatment_ids_sql`` selects (a fixed query
    of the caller's, e.g. the treatments of events about to be recategorised)."""
    _touched_table(con)
    con.execute(
        "INSERT INTO touched_months SELECT DISTINCT CAST(date_trunc('month', treatment_date) "
        f"AS DATE) FROM treatments WHERE treatment_id IN ({treatment_ids_sql})"
    )


def refresh_counts(con: duckdb.DuckDBPyConnection, *, everything: bool = False) -> None:
    """Recount the months noted in ``touched_months`` (``everything``: every month).

    Deletes this database's counts for those months and inserts them again from the
    rows, in month order (so a read of a few months skips the rest of the table).
    Recounting a month costs its rows: the treatments are read between the first and the
    last touched month only (bound dates, so DuckDB skips the row groups outside them),
    and a one-event follow-up recounts one month.
    """
    params: dict[str, object] = {"s": ROWS_SOURCE}
    if not everything:
        _touched_table(con)
        lo, hi = con.execute("SELECT min(month), max(month) FROM touched_months").fetchone()
        if lo is None:
            return
        params.update(lo=lo, hi=hi)
    for table in ("counts_treatments", "counts_events"):
        # event rows grouped by how they are split, then by month: a read of one split
        # (all events, by category ...) skips the row groups of the others
        order = (
            "category IS NOT NULL, severity IS NOT NULL, month"
            if table == "counts_events"
            else "month"
        )
        if everything:
            con.execute(f"DELETE FROM {table} WHERE source = $s", {"s": ROWS_SOURCE})
            where = "true"
        else:
            con.execute(
                f"DELETE FROM {table} WHERE source = $s "
                "AND month IN (SELECT month FROM touched_months)",
                {"s": ROWS_SOURCE},
            )
            where = (
                "t.treatment_date >= $lo AND t.treatment_date < $hi + INTERVAL 1 MONTH "
                "AND CAST(date_trunc('month', t.treatment_date) AS DATE) "
                "IN (SELECT month FROM touched_months)"
            )
        sql = f"INSERT INTO {table} SELECT $s, * FROM ({counts_sql(table, where)}) ORDER BY {order}"
        con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql})
    if not everything:
        con.execute("DELETE FROM touched_months")
