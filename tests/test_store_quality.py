"""Blank shares of the optional columns (the report's and the Data quality page's table)
equal a plain count of NULLs per column."""

from __future__ import annotations

from dashboard.store.quality import OPTIONAL_COLUMNS, missing_rates


def test_missing_rates_count_the_nulls_of_every_optional_column(fixture_con) -> None:
    frame = missing_rates(fixture_con)
    expected = []
    for table, cols in OPTIONAL_COLUMNS.items():
        rows = fixture_con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for col in cols:
            blank = fixture_con.execute(f"SELECT count(*) FROM {table} WHERE {col} IS NULL")
            expected.append((table, col, rows, blank.fetchone()[0]))
    assert list(frame[["table_name", "column_name", "rows", "missing"]].itertuples(
        index=False, name=None
    )) == expected  # fmt: skip
    assert any(m for *_, m in expected) and any(m == 0 for *_, m in expected)
    assert frame["missing_percent"].tolist() == [100 * m / r for *_, r, m in expected]
