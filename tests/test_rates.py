"""Incidence tables on the fixture database against independent plain-SQL computations."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal, assert_series_equal
from scipy.stats import chi2

from dashboard.analysis.rates import incidence_table
from dashboard.store.filters import Filters, parse_quarter
from ingest.countstore import refresh_counts
from ingest.vocab import CATEGORY_CODES

EXACT = "exact Poisson (Garwood)"
ZERO = "exact Poisson (Garwood), 0 events: upper = 3.69/n"
UNDEFINED = "no needle insertions recorded: rate undefined"
RATE_COLS = ["rate_per_1000", "ci_low_per_1000", "ci_high_per_1000"]

#: Band labels written out here, independently of dashboard.store.bands.
TRAINING_SQL = """CASE
    WHEN p.dn_training_hours <= 20 THEN '0-20'
    WHEN p.dn_training_hours <= 60 THEN '21-60'
    WHEN p.dn_training_hours <= 100 THEN '61-100'
    WHEN p.dn_training_hours <= 200 THEN '101-200'
    ELSE '>200' END"""
TRAINING_ORDER = ["0-20", "21-60", "61-100", "101-200", ">200"]


def with_rates(frame: pd.DataFrame, exposure: str = "treatments") -> pd.DataFrame:
    """Add exact Poisson (Garwood) 95% rate columns computed straight from scipy."""
    out = frame.copy()
    k = out["events"].to_numpy(dtype=float)
    n = out[exposure].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(n > 0, 1000.0 / n, np.nan)
    low = np.where(k > 0, chi2.ppf(0.025, 2 * k) / 2, 0.0)
    high = chi2.ppf(0.975, 2 * k + 2) / 2
    out["rate_per_1000"] = k * scale
    out["ci_low_per_1000"] = low * scale
    out["ci_high_per_1000"] = high * scale
    out["ci_method"] = pd.Series(
        [UNDEFINED if m <= 0 else (ZERO if e == 0 else EXACT) for e, m in zip(k, n, strict=True)],
        index=out.index,
        dtype="str",
    )
    return out


def assert_tables_equal(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(got.columns) == list(expected.columns)
    assert_frame_equal(got, expected, check_exact=False, rtol=1e-12, atol=0)


def grouped(
    con: duckdb.DuckDBPyConnection,
    dims: dict[str, str],
    where: str = "true",
    event_where: str = "true",
    params: dict | None = None,
    per: str = "treatments",
) -> pd.DataFrame:
    """Independent plain-SQL counts: treatments (and insertions) and events by ``dims``."""
    params = params or {}
    sel = "".join(f"{sql} AS {name}, " for name, sql in dims.items())
    keys = list(dims)
    group = f"GROUP BY {', '.join(keys)}" if keys else ""
    if per == "insertions":
        where = f"({where}) AND t.needle_insertions IS NOT NULL"
    den = con.execute(
        f"""SELECT {sel} count(*) AS treatments, sum(t.needle_insertions) AS insertions
            FROM treatments t, practitioners p
            WHERE p.practitioner_id = t.practitioner_id AND {where} {group}""",
        params,
    ).df()
    ev = con.execute(
        f"""SELECT {sel} count(*) AS events,
                   count(DISTINCT e.treatment_id) AS treatments_affected
            FROM adverse_events e, treatments t, practitioners p
            WHERE e.treatment_id = t.treatment_id AND p.practitioner_id = t.practitioner_id
              AND {where} AND {event_where} {group}""",
        params,
    ).df()
    frame = den.merge(ev, on=keys, how="left") if keys else pd.concat([den, ev], axis=1)
    for col in ("events", "treatments_affected", "treatments"):
        frame[col] = frame[col].fillna(0).astype("int64")
    frame["insertions"] = frame["insertions"].fillna(0).astype("int64")
    cols = [*keys, "treatments"] + (["insertions"] if per == "insertions" else [])
    out = with_rates(frame[[*cols, "events", "treatments_affected"]], per)
    return out.reset_index(drop=True)


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: dict | list | None = None):
    return con.execute(sql, params or []).fetchone()[0]


# --- no dimensions -------------------------------------------------------------------


def test_overall_incidence_equals_plain_sql_and_scipy(fixture_con) -> None:
    treatments = scalar(fixture_con, "SELECT count(*) FROM treatments")
    events = scalar(fixture_con, "SELECT count(*) FROM adverse_events")
    affected = scalar(fixture_con, "SELECT count(DISTINCT treatment_id) FROM adverse_events")
    k, n = float(events), float(treatments)
    expected = pd.DataFrame(
        {
            "treatments": np.array([treatments], dtype="int64"),
            "events": np.array([events], dtype="int64"),
            "treatments_affected": np.array([affected], dtype="int64"),
            "rate_per_1000": [k / n * 1000],
            "ci_low_per_1000": [chi2.ppf(0.025, 2 * k) / 2 / n * 1000],
            "ci_high_per_1000": [chi2.ppf(0.975, 2 * k + 2) / 2 / n * 1000],
            "ci_method": pd.Series([EXACT], dtype="str"),
        }
    )
    assert_tables_equal(incidence_table(fixture_con), expected)
    # The fixture is the seeded generator: pin its size so a changed fixture is noticed.
    assert treatments == 30_000


# --- by category ---------------------------------------------------------------------


def test_by_category_lists_every_category_over_all_treatments(fixture_con) -> None:
    got = incidence_table(fixture_con, ("category",))
    stored = [
        r[0]
        for r in fixture_con.execute(
            "SELECT DISTINCT category FROM adverse_events ORDER BY category"
        ).fetchall()
    ]
    extra = [c for c in stored if c not in CATEGORY_CODES]
    assert extra == ["unmapped"]
    assert list(got["category"]) == [*CATEGORY_CODES, *extra]

    total = scalar(fixture_con, "SELECT count(*) FROM treatments")
    assert (got["treatments"] == total).all()

    counts = dict(
        fixture_con.execute(
            "SELECT category, count(*) FROM adverse_events GROUP BY category"
        ).fetchall()
    )
    affected = dict(
        fixture_con.execute(
            "SELECT category, count(DISTINCT treatment_id) FROM adverse_events GROUP BY category"
        ).fetchall()
    )
    categories = [*CATEGORY_CODES, *extra]
    expected = with_rates(
        pd.DataFrame(
            {
                "category": pd.Series(categories, dtype="str"),
                "treatments": np.full(len(categories), total, dtype="int64"),
                "events": np.array([counts.get(c, 0) for c in categories], dtype="int64"),
                "treatments_affected": np.array(
                    [affected.get(c, 0) for c in categories], dtype="int64"
                ),
            }
        )
    )
    assert_tables_equal(got, expected)


def test_category_with_zero_events_gets_exact_upper_bound(fixture_con) -> None:
    got = incidence_table(fixture_con, ("category",)).set_index("category")
    total = scalar(fixture_con, "SELECT count(*) FROM treatments")
    zero = [
        c
        for c in CATEGORY_CODES
        if scalar(fixture_con, "SELECT count(*) FROM adverse_events WHERE category = ?", [c]) == 0
    ]
    assert "pneumothorax" in zero
    for category in zero:
        row = got.loc[category]
        assert row["events"] == 0
        assert row["treatments_affected"] == 0
        assert row["rate_per_1000"] == 0.0
        assert row["ci_low_per_1000"] == 0.0
        # R: poisson.test(0)$conf.int[2] = 3.688879
        assert row["ci_high_per_1000"] == pytest.approx(3.688879 / total * 1000, rel=1e-6)
        assert "3.69/n" in row["ci_method"]
    for category in set(got.index) - set(zero):
        assert "3.69/n" not in got.loc[category, "ci_method"]


def test_by_category_and_severity_crosses_every_level(fixture_con) -> None:
    got = incidence_table(fixture_con, ("category", "severity"))
    categories = list(incidence_table(fixture_con, ("category",))["category"])
    severities = ["mild", "significant", "serious", "unspecified"]
    assert list(zip(got["category"], got["severity"], strict=True)) == [
        (c, s) for c in categories for s in severities
    ]
    counts = dict(
        (tuple(k), v)
        for *k, v in fixture_con.execute(
            "SELECT category, severity, count(*) FROM adverse_events GROUP BY ALL"
        ).fetchall()
    )
    assert list(got["events"]) == [counts.get((c, s), 0) for c in categories for s in severities]


def test_by_clinic_and_category(fixture_con) -> None:
    got = incidence_table(fixture_con, ("clinic", "category"))
    clinics = sorted(
        r[0] for r in fixture_con.execute("SELECT DISTINCT clinic_id FROM treatments").fetchall()
    )
    categories = list(incidence_table(fixture_con, ("category",))["category"])
    assert list(zip(got["clinic"], got["category"], strict=True)) == [
        (c, k) for c in clinics for k in categories
    ]
    ev = (
        fixture_con.execute(
            """SELECT t.clinic_id AS clinic, e.category, count(*) AS n
               FROM adverse_events e JOIN treatments t USING (treatment_id) GROUP BY ALL"""
        )
        .df()
        .set_index(["clinic", "category"])["n"]
    )
    events = [ev.get((c, k), 0) for c, k in zip(got["clinic"], got["category"], strict=True)]
    assert list(got["events"]) == events
    den = dict(
        fixture_con.execute("SELECT clinic_id, count(*) FROM treatments GROUP BY 1").fetchall()
    )
    assert list(got["treatments"]) == [den[c] for c in got["clinic"]]


# --- multi-dimension tables against plain SQL -----------------------------------------


def test_by_clinic_quarter_bruising(fixture_con) -> None:
    got = incidence_table(fixture_con, ("clinic", "quarter"), Filters(category="bruising"))
    expected = grouped(
        fixture_con,
        {
            "clinic": "t.clinic_id",
            "quarter": "CAST(year(t.treatment_date) AS VARCHAR) || 'Q' || "
            "CAST((month(t.treatment_date) + 2) // 3 AS VARCHAR)",
        },
        event_where="e.category = 'bruising'",
    )
    expected = expected.sort_values(["clinic", "quarter"], kind="stable").reset_index(drop=True)
    assert_tables_equal(got, expected)
    assert len(got) == 14 * 12  # 14 clinics x 12 quarters (2023Q4 .. 2026Q3)
    assert got["events"].sum() == scalar(
        fixture_con, "SELECT count(*) FROM adverse_events WHERE category = 'bruising'"
    )


def test_by_training_band_ultrasound_mild(fixture_con) -> None:
    got = incidence_table(fixture_con, ("training_band", "ultrasound"), Filters(severity="mild"))
    expected = grouped(
        fixture_con,
        {
            "training_band": TRAINING_SQL,
            "ultrasound": "CASE WHEN t.ultrasound_guided THEN 'yes' ELSE 'no' END",
        },
        event_where="e.severity = 'mild'",
    )
    rank = expected["training_band"].map(TRAINING_ORDER.index)
    expected = (
        expected.assign(_rank=rank)
        .sort_values(["_rank", "ultrasound"], kind="stable")
        .drop(columns="_rank")
        .reset_index(drop=True)
    )
    assert_tables_equal(got, expected)
    assert got["treatments"].sum() == 30_000


def test_training_bands_match_pandas_cut(fixture_con) -> None:
    """Band assignment cross-checked with pandas.cut on the practitioners' hours."""
    got = incidence_table(fixture_con, ("training_band",))
    rows = fixture_con.execute(
        """SELECT p.dn_training_hours AS hours FROM treatments t
           JOIN practitioners p ON p.practitioner_id = t.practitioner_id"""
    ).df()
    bands = pd.cut(
        rows["hours"],
        bins=[-np.inf, 20, 60, 100, 200, np.inf],
        right=True,
        labels=TRAINING_ORDER,
    )
    counts = bands.value_counts()
    present = [b for b in TRAINING_ORDER if counts[b] > 0]
    assert list(got["training_band"]) == present
    assert list(got["treatments"]) == [int(counts[b]) for b in present]


def test_experience_band_with_unknown(fixture_con) -> None:
    got = incidence_table(fixture_con, ("experience_band",))
    rows = fixture_con.execute(
        """SELECT p.years_dn_experience AS y FROM treatments t
           JOIN practitioners p ON p.practitioner_id = t.practitioner_id"""
    ).df()["y"]
    labels = np.select(
        [rows.isna(), rows < 2, rows < 5, rows < 10],
        ["unknown", "<2", "2-4", "5-9"],
        default=">=10",
    )
    counts = pd.Series(labels).value_counts()
    order = [b for b in ["<2", "2-4", "5-9", ">=10", "unknown"] if b in counts.index]
    assert "unknown" in order
    assert list(got["experience_band"]) == order
    assert list(got["treatments"]) == [int(counts[b]) for b in order]


# --- per insertions ------------------------------------------------------------------


def test_per_insertions_overall(fixture_con) -> None:
    got = incidence_table(fixture_con, per="insertions")
    expected = grouped(fixture_con, {}, per="insertions")
    assert_tables_equal(got, expected)
    assert got.loc[0, "insertions"] == scalar(
        fixture_con, "SELECT sum(needle_insertions) FROM treatments"
    )


@pytest.fixture()
def partly_counted_db(fixture_db: Path, tmp_path: Path) -> Path:
    """A copy of the fixture with needle counts missing for clinics C03 and C12, missing
    for every other treatment of C05, and recorded as 0 for all of C14."""
    db = tmp_path / "partly.duckdb"
    shutil.copy(fixture_db, db)
    con = duckdb.connect(str(db))
    try:
        con.execute(
            """UPDATE treatments SET needle_insertions = NULL
               WHERE clinic_id IN ('C03', 'C12')
                  OR (clinic_id = 'C05' AND hash(treatment_id) % 2 = 0)"""
        )
        con.execute("UPDATE treatments SET needle_insertions = 0 WHERE clinic_id = 'C14'")
        refresh_counts(con, everything=True)  # rows changed behind the ingest's back
    finally:
        con.close()
    return db


def test_per_insertions_counts_only_treatments_with_a_recorded_count(
    partly_counted_db: Path,
) -> None:
    con = duckdb.connect(str(partly_counted_db), read_only=True)
    try:
        got = incidence_table(con, ("clinic",), per="insertions")
        expected = grouped(con, {"clinic": "t.clinic_id"}, per="insertions")
        expected = expected.sort_values("clinic").reset_index(drop=True)
        assert_tables_equal(got, expected)
        assert "C03" not in set(got["clinic"]) and "C12" not in set(got["clinic"])
        c05 = got.set_index("clinic").loc["C05"]
        assert (
            0
            < c05["treatments"]
            < scalar(con, "SELECT count(*) FROM treatments WHERE clinic_id = 'C05'")
        )
        assert c05["treatments"] == scalar(
            con,
            "SELECT count(*) FROM treatments WHERE clinic_id = 'C05' "
            "AND needle_insertions IS NOT NULL",
        )
        assert c05["insertions"] == scalar(
            con, "SELECT sum(needle_insertions) FROM treatments WHERE clinic_id = 'C05'"
        )
        assert c05["events"] == scalar(
            con,
            "SELECT count(*) FROM adverse_events e JOIN treatments t USING (treatment_id) "
            "WHERE t.clinic_id = 'C05' AND t.needle_insertions IS NOT NULL",
        )
        c14 = got.set_index("clinic").loc["C14"]
        assert c14["insertions"] == 0
        assert c14["ci_method"] == UNDEFINED
        assert all(pd.isna(c14[c]) for c in RATE_COLS)

        overall = incidence_table(con, per="insertions")
        assert overall.loc[0, "insertions"] == scalar(
            con, "SELECT sum(needle_insertions) FROM treatments"
        )
        assert overall.loc[0, "treatments"] == scalar(
            con, "SELECT count(needle_insertions) FROM treatments"
        )
        # Per treatments, every treatment still counts.
        assert incidence_table(con).loc[0, "treatments"] == 30_000
    finally:
        con.close()


# --- filters -------------------------------------------------------------------------


def test_date_filter(fixture_con) -> None:
    f = Filters(date_from=date(2024, 3, 15), date_to=date(2025, 1, 31))
    got = incidence_table(fixture_con, ("year",), f)
    expected = grouped(
        fixture_con,
        {"year": "strftime(t.treatment_date, '%Y')"},
        where="t.treatment_date BETWEEN DATE '2024-03-15' AND DATE '2025-01-31'",
    )
    assert_tables_equal(got, expected.sort_values("year").reset_index(drop=True))
    assert list(got["year"]) == ["2024", "2025"]


def test_open_ended_date_filters(fixture_con) -> None:
    after = incidence_table(fixture_con, (), Filters(date_from=date(2026, 1, 1)))
    before = incidence_table(fixture_con, (), Filters(date_to=date(2025, 12, 31)))
    assert after.loc[0, "treatments"] == scalar(
        fixture_con, "SELECT count(*) FROM treatments WHERE treatment_date >= DATE '2026-01-01'"
    )
    assert before.loc[0, "treatments"] + after.loc[0, "treatments"] == 30_000
    assert before.loc[0, "events"] + after.loc[0, "events"] == scalar(
        fixture_con, "SELECT count(*) FROM adverse_events"
    )


def test_clinic_filter(fixture_con) -> None:
    got = incidence_table(fixture_con, (), Filters(clinics=("C01",)))
    expected = grouped(fixture_con, {}, where="t.clinic_id = 'C01'")
    assert_tables_equal(got, expected)
    two = incidence_table(fixture_con, ("clinic",), Filters(clinics=("C04", "C01")))
    assert list(two["clinic"]) == ["C01", "C04"]
    assert two.loc[0, "treatments"] == got.loc[0, "treatments"]


def test_quarter_filter(fixture_con) -> None:
    got = incidence_table(fixture_con, ("month",), Filters(*parse_quarter("2025Q2")))
    expected = grouped(
        fixture_con,
        {"month": "strftime(t.treatment_date, '%Y-%m')"},
        where="t.treatment_date >= DATE '2025-04-01' AND t.treatment_date < DATE '2025-07-01'",
    )
    assert_tables_equal(got, expected.sort_values("month").reset_index(drop=True))
    assert list(got["month"]) == ["2025-04", "2025-05", "2025-06"]


@pytest.mark.parametrize("dims", [(), ("clinic",), ("training_band", "ultrasound")])
def test_event_filters_never_change_the_denominator(fixture_con, dims) -> None:
    base = incidence_table(fixture_con, dims)
    for f in (
        Filters(category="bruising"),
        Filters(severity="significant"),
        Filters(category="pneumothorax", severity="serious"),
    ):
        got = incidence_table(fixture_con, dims, f)
        assert_series_equal(got["treatments"], base["treatments"])
        assert (got["events"] <= base["events"]).all()
    bruising = incidence_table(fixture_con, dims, Filters(category="bruising"))
    assert bruising["events"].sum() == scalar(
        fixture_con, "SELECT count(*) FROM adverse_events WHERE category = 'bruising'"
    )


def test_filters_matching_nothing_give_an_empty_table(fixture_con) -> None:
    got = incidence_table(fixture_con, ("clinic",), Filters(clinics=("NOPE",)))
    assert got.empty
    assert list(got.columns) == [
        "clinic",
        "treatments",
        "events",
        "treatments_affected",
        *RATE_COLS,
        "ci_method",
    ]


def test_filters_matching_nothing_without_treatment_dims_give_an_empty_table(fixture_con) -> None:
    """No treatment matches: there is no rate to report, not a row with 0 treatments and
    a method that blames missing needle counts."""
    for dims in ((), ("category",), ("severity",)):
        for per in ("treatments", "insertions"):
            got = incidence_table(fixture_con, dims, Filters(clinics=("NOPE",)), per=per)
            assert got.empty, (dims, per, got.head(2).to_dict("records"))


def test_unknown_dimension_raises(fixture_con) -> None:
    with pytest.raises(ValueError, match="nonsense"):
        incidence_table(fixture_con, ("nonsense",))
    with pytest.raises(ValueError, match="nonsense"):
        incidence_table(fixture_con, ("clinic", "nonsense"))


def test_unknown_per_unit_raises(fixture_con) -> None:
    with pytest.raises(ValueError, match="per"):
        incidence_table(fixture_con, (), per="needles")
