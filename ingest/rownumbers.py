"""Spreadsheet row numbers for CSV rows that failed validation.

DuckDB's CSV reader keeps file order (table rowid k is the k-th record it accepted)
but skips blank lines and the malformed records it logs as rejects, while its reject
log numbers records counting both. To name the right row for a value that failed
validation, the missing records ("gaps") are found and the k-th accepted record's
number is recovered as

    row(k) = 2 + k + #{ i : s_i <= k },   s_i = (g_i - 2) - i      (k counted from 0)

where g_0 < g_1 < ... are the gap row numbers and s_i counts accepted records before
gap i. This runs only when a value failed validation; a clean file never pays for it.
"""

from __future__ import annotations

import duckdb

from .readers import CsvLayout

#: Longest physical line the row numbering reads. Records over the reader's 2 MB limit
#: are rejects, yet their lines still have to be counted to number the rows after them.
PHYSICAL_LINE_LIMIT = 1 << 28


def _blank_record_rows(con: duckdb.DuckDBPyConnection, layout: CsvLayout) -> None:
    """Fill temp table ``gaps`` with row numbers of blank records (quote-aware).

    Reads the file as physical lines (no quoting), tracks whether each line starts
    inside a quoted value by the parity of quote characters before it, and numbers the
    lines that start a record: the header is record 1. Only each line's quote count and
    emptiness are kept, not its text.

        lines  (p = physical line, q = quotes, empty)  -> starts (p, record number)
               -> blank ones
    """
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE physical_lines AS
        SELECT coalesce(length(l) - length(replace(l, '"', '')), 0) AS q,
               coalesce(rtrim(l, chr(13)), '') = '' AS empty
        FROM read_csv(?, columns={'l': 'VARCHAR'}, auto_detect=false, header=false,
                      delim=chr(31), quote='', escape='', strict_mode=false,
                      max_line_size=?, buffer_size=?)
        """,
        [str(layout.path), PHYSICAL_LINE_LIMIT, 2 * PHYSICAL_LINE_LIMIT],
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE gaps AS
        WITH lines AS (SELECT rowid AS p, q, empty FROM physical_lines),
        parity AS (
            SELECT p, empty,
                   coalesce(sum(q) OVER (
                       ORDER BY p ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) % 2
                       AS inside
            FROM lines
        ),
        starts AS (
            SELECT p, empty, row_number() OVER (ORDER BY p) AS rec FROM parity WHERE inside = 0
        )
        SELECT rec AS g FROM starts WHERE empty AND rec > 1
        """
    )


def csv_row_numbers(con: duckdb.DuckDBPyConnection, layout: CsvLayout) -> None:
    """Create temp table ``rownum(_k, _row)`` for every ``_k`` in ``errs``.

    Needs temp tables ``errs`` (validation failures, by 1-based position ``_k``) and ``reader_rej``
    (rows DuckDB's CSV reader logged, by record number).
    """
    _blank_record_rows(con, layout)
    con.execute("INSERT INTO gaps SELECT line FROM reader_rej")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE gap_steps AS
        SELECT s, max(i) AS gaps_before
        FROM (SELECT g - 2 - (row_number() OVER (ORDER BY g) - 1) AS s,
                     row_number() OVER (ORDER BY g) AS i
              FROM (SELECT DISTINCT g FROM gaps))
        GROUP BY s
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE rownum AS
        SELECT k._k, 1 + k._k + coalesce(gs.gaps_before, 0) AS _row
        FROM (SELECT DISTINCT _k FROM errs) k
        ASOF LEFT JOIN gap_steps gs ON k._k - 1 >= gs.s
        """
    )
