"""Training and experience bands: labels, validation, SQL assignment; quarter parsing."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from dashboard.store.bands import Bands, experience_labels, training_labels
from dashboard.store.filters import Filters, parse_quarter
from dashboard.store.sql_fragments import EXPERIENCE_CASE, TRAINING_CASE


def test_default_labels() -> None:
    bands = Bands()
    assert bands.training == ("0-20", "21-60", "61-100", "101-200", ">200")
    assert bands.experience == ("<2", "2-4", "5-9", ">=10")


def test_default_params() -> None:
    assert Bands().params() == {
        "tb_bounds": [20.0, 60.0, 100.0, 200.0],
        "tb_labels": ["0-20", "21-60", "61-100", "101-200", ">200"],
        "eb_bounds": [2.0, 5.0, 10.0],
        "eb_labels": ["<2", "2-4", "5-9", ">=10"],
    }


def test_custom_labels() -> None:
    assert training_labels((10, 50)) == ("0-10", "11-50", ">50")
    assert training_labels((40,)) == ("0-40", ">40")
    assert training_labels((20.0, 60.0, 100.0, 200.0)) == Bands().training
    assert experience_labels((1, 3)) == ("<1", "1-2", ">=3")
    assert experience_labels((5,)) == ("<5", ">=5")
    assert experience_labels((2.0, 5.0, 10.0)) == Bands().experience
    custom = Bands(training_upper=(10, 50), experience_cuts=(1, 3))
    assert custom.training == ("0-10", "11-50", ">50")
    assert custom.experience == ("<1", "1-2", ">=3")
    assert custom.params()["tb_bounds"] == [10.0, 50.0]
    assert custom.params()["eb_bounds"] == [1.0, 3.0]


@pytest.mark.parametrize("bounds", [(), (60, 20), (20, 20), (0, 20), (0,), (-5, 20), (20, 60, 50)])
def test_invalid_bounds_raise(bounds: tuple) -> None:
    with pytest.raises(ValueError, match="positive and increasing"):
        training_labels(bounds)
    with pytest.raises(ValueError, match="positive and increasing"):
        experience_labels(bounds)
    with pytest.raises(ValueError):
        Bands(training_upper=bounds)
    with pytest.raises(ValueError):
        Bands(experience_cuts=bounds)


def _assign(case_sql: str, column: str, values: list, bands: Bands, keys: tuple[str, str]):
    con = duckdb.connect()
    try:
        con.execute(
            "CREATE TABLE practitioners (i INTEGER, dn_training_hours DOUBLE, "
            "years_dn_experience DOUBLE)"
        )
        con.executemany(
            f"INSERT INTO practitioners (i, {column}) VALUES (?, ?)",
            [[i, v] for i, v in enumerate(values)],
        )
        params = {k: v for k, v in bands.params().items() if k in keys}
        rows = con.execute(
            f"SELECT {case_sql} AS band FROM practitioners p ORDER BY i", params
        ).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


def test_training_band_boundaries_in_sql() -> None:
    hours = [0, 20, 20.5, 21, 60, 61, 100, 200, 200.5, 1000]
    got = _assign(TRAINING_CASE, "dn_training_hours", hours, Bands(), ("tb_bounds", "tb_labels"))
    assert got == [
        "0-20",
        "0-20",
        "21-60",
        "21-60",
        "21-60",
        "61-100",
        "61-100",
        "101-200",
        ">200",
        ">200",
    ]


def test_experience_band_boundaries_in_sql() -> None:
    years = [None, 0, 1.9, 2, 4.5, 5, 9.99, 10, 30]
    got = _assign(
        EXPERIENCE_CASE, "years_dn_experience", years, Bands(), ("eb_bounds", "eb_labels")
    )
    assert got == ["unknown", "<2", "<2", "2-4", "2-4", "5-9", "5-9", ">=10", ">=10"]


def test_custom_band_boundaries_in_sql() -> None:
    bands = Bands(training_upper=(10, 50), experience_cuts=(1, 3))
    got = _assign(
        TRAINING_CASE,
        "dn_training_hours",
        [0, 10, 10.5, 50, 51],
        bands,
        ("tb_bounds", "tb_labels"),
    )
    assert got == ["0-10", "0-10", "11-50", "11-50", ">50"]
    got = _assign(
        EXPERIENCE_CASE,
        "years_dn_experience",
        [None, 0.5, 1, 2.9, 3, 40],
        bands,
        ("eb_bounds", "eb_labels"),
    )
    assert got == ["unknown", "<1", "1-2", "1-2", ">=3", ">=3"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026Q3", (date(2026, 7, 1), date(2026, 9, 30))),
        ("2024q4", (date(2024, 10, 1), date(2024, 12, 31))),
        ("2025-Q1", (date(2025, 1, 1), date(2025, 3, 31))),
        ("2024Q1", (date(2024, 1, 1), date(2024, 3, 31))),
        ("2025Q2", (date(2025, 4, 1), date(2025, 6, 30))),
        (" 2026Q3 ", (date(2026, 7, 1), date(2026, 9, 30))),
    ],
)
def test_parse_quarter(text: str, expected: tuple[date, date]) -> None:
    assert parse_quarter(text) == expected


@pytest.mark.parametrize("text", ["2026Q5", "Q3 2026", "2026Q0", "2026", "26Q3", "", "2026Q3x"])
def test_parse_quarter_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="2026Q3"):
        parse_quarter(text)


def test_filters_reject_reversed_period() -> None:
    with pytest.raises(ValueError, match="after it ends"):
        Filters(date_from=date(2025, 2, 1), date_to=date(2025, 1, 31))
    same_day = Filters(date_from=date(2025, 1, 31), date_to=date(2025, 1, 31))
    assert same_day.date_from == same_day.date_to
