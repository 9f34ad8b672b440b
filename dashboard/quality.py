"""Data-quality queries: event terms, rejected rows. Named functions returning DataFrames."""

from __future__ import annotations

import duckdb
import pandas as pd

from ingest.vocab import UNMAPPED


def term_counts(con: duckdb.DuckDBPyConnection, unmapped_only: bool = True) -> pd.DataFrame:
    """Reported event terms with their category and number of events, most frequent first.

    ``unmapped_only`` keeps the terms that matched no category (stored as ``unmapped``).
    """
    return con.execute(
        """
        SELECT event_type AS term, category, count(*) AS events
        FROM adverse_events WHERE NOT $unmapped_only OR category = $unmapped
        GROUP BY ALL ORDER BY events DESC, term
        """,
        {"unmapped_only": unmapped_only, "unmapped": UNMAPPED},
    ).df()


def reject_rows(con: duckdb.DuckDBPyConnection, runs: tuple[int, ...] = ()) -> pd.DataFrame:
    """Rejected rows (run, file, row, column, value, reason), of ``runs`` or of every run."""
    return con.execute(
        """
        SELECT run_id, file, row_number, column_name, value, reason
        FROM rejects WHERE len($runs) = 0 OR list_contains($runs, run_id)
        ORDER BY run_id, row_number, column_name
        """,
        {"runs": list(runs)},
    ).df()
