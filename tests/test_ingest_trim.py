"""The ingest's cheap trim (``ingest.loadsql.trimmed``) equals ``nullif(trim(c), '')``.

Reference: DuckDB's own ``trim``, which strips Unicode space separators (U+0020, U+00A0,
U+1680, U+2000-U+200A, U+202F, U+205F, U+3000) from both ends and leaves tabs and line
breaks; the expected values below are what it returns.
"""

from __future__ import annotations

import duckdb
import pytest

from ingest.loadsql import trimmed

BOTH = f"SELECT c, {trimmed('c')} AS fast, nullif(trim(c), '') AS slow FROM v"


def test_every_unicode_character_leading_trailing_and_alone() -> None:
    values = [""]
    for cp in [*range(1, 0xD800), *range(0xE000, 0x110000)]:
        ch = chr(cp)
        values += [ch, ch + "a", "a" + ch, ch + "ab" + ch, " " + ch, ch + " "]
    with duckdb.connect() as con:
        con.execute("CREATE TABLE v AS SELECT unnest(?) AS c", [values])
        differ = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE fast IS DISTINCT FROM slow) FROM ({BOTH})"
        ).fetchone()
    assert differ == (len(values), 0)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  C01 ", "C01"),
        ("\u00a0C01\u3000", "C01"),  # no-break and ideographic spaces: trimmed
        ("\tC01\t", "\tC01\t"),  # tabs: kept (and rejected by the id checks)
        ("   ", None),
        ("", None),
        (None, None),
        ("Zoë ", "Zoë"),
        ("C 01", "C 01"),
    ],
)
def test_known_values(raw: str | None, expected: str | None) -> None:
    with duckdb.connect() as con:
        con.execute("CREATE TABLE v AS SELECT ?::VARCHAR AS c", [raw])
        assert con.execute(BOTH).fetchone() == (raw, expected, expected)
