"""Event-term and severity mapping, applied set-based to the distinct reported values.

Reported wording is kept as is (adverse_events.event_type, severity_reported); the
category and tier are looked up from the *distinct* values only, so a file with a
million events and forty spellings costs forty dictionary look-ups.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import duckdb

from .countstore import count_out_events, refresh_counts
from .errors import BadHeaderError, FileUnreadableError, MissingColumnsError
from .kinds import normalise_header
from .vocab import (
    ALWAYS_SERIOUS,
    BUILTIN_TERMS,
    SEVERITY_WORDS,
    UNMAPPED,
    match_term,
    normalise_term,
    normalise_words,
)

_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def term_lookup(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Normalised term -> category: built-in vocabulary, overridden by user mappings."""
    lookup = dict(BUILTIN_TERMS)
    lookup.update(dict(con.execute("SELECT term, category FROM term_mappings").fetchall()))
    return lookup


def categorise(terms: list[str], lookup: dict[str, str]) -> list[str]:
    """Category for each reported term (plurals included, see ``vocab.term_keys``);
    ``unmapped`` when nothing matches."""
    return [match_term(t, lookup) or UNMAPPED for t in terms]


def load_mapping_tables(con: duckdb.DuckDBPyConnection, params: dict, scan_sql: str) -> None:
    """term_map(raw, category) and severity_map(raw, tier) for the distinct values in a scan.

    ``scan_sql`` is a FROM item aliased ``src`` whose parameters are in ``params``. The
    tables are made from two lists of distinct values (no pandas: a follow-up of one
    event should not pay for importing it).
    """
    distinct = con.execute(
        f"SELECT list(DISTINCT event_type), list(DISTINCT lower(severity)) FROM {scan_sql}",
        params,
    ).fetchone()
    raw_terms = [t for t in distinct[0] or [] if t is not None]
    _pairs_table(con, "term_map", "category", raw_terms, categorise(raw_terms, term_lookup(con)))
    raw_sev = [v for v in distinct[1] or [] if v is not None]
    tiers = [SEVERITY_WORDS.get(normalise_words(s)) for s in raw_sev]
    known = [(s, t) for s, t in zip(raw_sev, tiers, strict=True) if t]
    _pairs_table(con, "severity_map", "tier", [s for s, _ in known], [t for _, t in known])


def _pairs_table(
    con: duckdb.DuckDBPyConnection, table: str, column: str, raw: list[str], values: list[str]
) -> None:
    """TEMP TABLE ``table``(raw, ``column``) from two parallel lists, in one statement."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT unnest($raw::VARCHAR[]) AS raw, "
        f"unnest($values::VARCHAR[]) AS {column}",
        {"raw": raw, "values": values},
    )


def read_mapping_file(path: Path) -> list[tuple[str, str]]:
    """(normalised term, category) pairs from a CSV with columns ``term,category``."""
    import pandas as pd  # deferred: ~1.4 s to import, CSV ingest never needs it

    try:
        with path.open(encoding="utf-8-sig") as fh:
            header = fh.readline()
        delimiter = max((",", ";", "\t"), key=header.count)
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, sep=delimiter)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise FileUnreadableError(f"{path}: cannot read the mapping file ({exc})") from None
    frame.columns = [normalise_header(c) for c in frame.columns]
    missing = {"term", "category"} - set(frame.columns)
    if missing:
        raise MissingColumnsError(
            f"{path}: mapping file lacks column(s) {', '.join(sorted(missing))}; "
            "it needs term,category"
        )
    pairs = []
    for row_no, (term, category) in enumerate(
        zip(frame["term"], frame["category"], strict=True), start=2
    ):
        code = category.strip().lower()
        if not term.strip() or not _CODE.match(code):
            raise BadHeaderError(
                f"{path} row {row_no}, column category: '{category}' is not a category code "
                "(lower-case letters, digits, _): fix the row"
            )
        pairs.append((normalise_term(term), code))
    return pairs


def add_mappings(con: duckdb.DuckDBPyConnection, pairs: list[tuple[str, str]]) -> int:
    """Store user mappings and re-categorise stored events; returns events re-categorised."""
    import pandas as pd  # deferred: ~1.4 s to import, CSV ingest never needs it

    now = datetime.now()
    frame = pd.DataFrame(
        {"term": [t for t, _ in pairs], "category": [c for _, c in pairs]}, dtype="string"
    ).drop_duplicates("term", keep="last")
    frame["added_at"] = now
    con.register("new_terms", frame)
    con.execute("DELETE FROM term_mappings WHERE term IN (SELECT term FROM new_terms)")
    con.execute("INSERT INTO term_mappings SELECT term, category, added_at FROM new_terms")
    con.unregister("new_terms")
    raw = [r[0] for r in con.execute("SELECT DISTINCT event_type FROM adverse_events").fetchall()]
    remap = pd.DataFrame(
        {"raw": raw, "category": categorise(raw, term_lookup(con))}, dtype="string"
    )
    con.register("remap", remap)
    count_out_events(
        con,
        "SELECT e.treatment_id FROM adverse_events e JOIN remap r ON e.event_type = r.raw "
        "AND e.category <> r.category",
    )
    changed = con.execute(
        """
        UPDATE adverse_events SET category = remap.category,
            severity = CASE WHEN list_contains(?, remap.category) THEN 'serious' ELSE severity END
        FROM remap WHERE adverse_events.event_type = remap.raw
          AND adverse_events.category <> remap.category
        """,
        [sorted(ALWAYS_SERIOUS)],
    ).fetchone()[0]
    con.unregister("remap")
    refresh_counts(con)
    return int(changed)
