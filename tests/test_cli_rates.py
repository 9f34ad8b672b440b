"""The ``needlewatch`` entry point: rates, terms and rejects on the fixture database."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from dashboard.analysis.rates import incidence_table
from needlewatch.cli import main

RATE_COLUMNS = [
    "category",
    "treatments",
    "events",
    "treatments_affected",
    "rate_per_1000",
    "ci_low_per_1000",
    "ci_high_per_1000",
    "ci_method",
]
FLOATS = ["rate_per_1000", "ci_low_per_1000", "ci_high_per_1000"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_line_error(status: int, out: str, err: str, *fragments: str) -> None:
    assert status == 2
    assert out == ""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("needlewatch: ")
    for fragment in fragments:
        assert fragment in lines[0]


def read_csv(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), keep_default_na=False)


def category_table(fixture_db: Path) -> pd.DataFrame:
    con = duckdb.connect(str(fixture_db), read_only=True)
    try:
        return incidence_table(con, ("category",))
    finally:
        con.close()


def sql(db: Path, query: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(query, params or []).fetchall()
    finally:
        con.close()


# --- rates ---------------------------------------------------------------------------


def test_rates_csv_equals_library_table(capsys, fixture_db: Path) -> None:
    status, out, err = run(
        capsys, "rates", "--by", "category", "--format", "csv", "--db", fixture_db
    )
    assert (status, err) == (0, "")
    assert out.splitlines()[0] == ",".join(RATE_COLUMNS)
    got = read_csv(out)
    expected = category_table(fixture_db)
    assert list(got.columns) == RATE_COLUMNS
    assert_frame_equal(got, expected, check_dtype=False, check_exact=False, rtol=0, atol=1e-12)
    for col in FLOATS:
        assert np.array_equal(got[col].to_numpy(), expected[col].to_numpy())


def test_rates_json_gives_the_same_numbers(capsys, fixture_db: Path) -> None:
    status, out, err = run(
        capsys, "rates", "--by", "category", "--format", "json", "--db", fixture_db
    )
    assert (status, err) == (0, "")
    records = json.loads(out)
    expected = category_table(fixture_db)
    assert [list(r) for r in records] == [RATE_COLUMNS] * len(expected)
    got = pd.DataFrame(records)
    assert_frame_equal(got, expected, check_dtype=False, check_exact=False, rtol=0, atol=1e-12)
    assert all(isinstance(r["events"], int) for r in records)


def test_rates_table_format(capsys, fixture_db: Path) -> None:
    """The table format prints words (dashboard.analysis.labels), rates to 3 decimals."""
    status, out, err = run(capsys, "rates", "--by", "category", "--db", fixture_db)
    assert (status, err) == (0, "")
    lines = out.splitlines()
    header = (
        "Category", "Treatments", "Events", "Treatments with an event", "Per 1,000 treatments",
        "95% CI low", "95% CI high", "CI method",
    )  # fmt: skip
    assert re.split(r"\s{2,}|(?<=[a-z)]) (?=[A-Z9])", lines[0].strip()) == list(header)
    expected = category_table(fixture_db)
    assert len(lines) == 1 + len(expected)
    words = {"pain_during": "pain during needling", "soreness": "soreness afterwards",
             "aggravation": "aggravation of symptoms", "numbness": "numbness or tingling",
             "skin_irritation": "skin irritation", "nerve_injury": "nerve injury",
             "vascular_injury": "vascular injury", "needle_breakage": "needle breakage",
             "forgotten_needle": "forgotten needle", "unmapped": "unmapped term"}  # fmt: skip
    for line, row in zip(lines[1:], expected.itertuples(index=False), strict=True):
        name = words.get(row.category, row.category)
        assert line.lstrip().startswith(name + " ")
        tokens = line.lstrip()[len(name) :].split()
        assert tokens[0:3] == [str(row.treatments), str(row.events), str(row.treatments_affected)]
        assert tokens[3:6] == [
            f"{row.rate_per_1000:.3f}",
            f"{row.ci_low_per_1000:.3f}",
            f"{row.ci_high_per_1000:.3f}",
        ]
        assert " ".join(tokens[6:]) == row.ci_method


def test_rates_table_format_prints_words_for_codes_and_headers(capsys, fixture_db: Path) -> None:
    status, out, err = run(
        capsys, "rates", "--by", "severity", "--quarter", "2025Q2", "--clinic", "C04",
        "--db", fixture_db,
    )  # fmt: skip
    assert (status, err) == (0, "")
    assert out == (
        "          Severity  Treatments  Events  Treatments with an event Per 1,000 treatments"
        " 95% CI low 95% CI high                                         CI method\n"
        "              mild         235      69                        61              293.617"
        "    228.452     371.591                           exact Poisson (Garwood)\n"
        "       significant         235       1                         1                4.255"
        "      0.108      23.709                           exact Poisson (Garwood)\n"
        "           serious         235       0                         0                0.000"
        "      0.000      15.697 exact Poisson (Garwood), 0 events: upper = 3.69/n\n"
        "severity not given         235       9                         9               38.298"
        "     17.512      72.701                           exact Poisson (Garwood)\n"
    )
    status, csv_out, _ = run(
        capsys, "rates", "--by", "severity", "--quarter", "2025Q2", "--clinic", "C04",
        "--format", "csv", "--db", fixture_db,
    )  # fmt: skip
    assert csv_out.splitlines()[0] == ",".join(["severity", *RATE_COLUMNS[1:]])
    assert [line.split(",")[0] for line in csv_out.splitlines()[1:]] == [
        "mild", "significant", "serious", "unspecified",
    ]  # fmt: skip  # csv keeps the codes: they are join keys


def test_compare_table_format_names_levels_in_words(capsys, fixture_db: Path) -> None:
    status, out, err = run(
        capsys, "compare", "--factor", "ultrasound", "--quarter", "2025Q2", "--db", fixture_db
    )
    assert (status, err) == (0, "")
    header, row = out.splitlines()
    assert header.split("  ")[0] == "Analysis"
    assert re.sub(r" {2,}", "|", header.strip()).split("|")[:3] == [
        "Analysis", "Level", "Reference",
    ]  # fmt: skip
    assert row.startswith("   crude ultrasound-guided not ultrasound-guided      73         317 ")
    assert row.split(") ")[-1].split() == ["0.8770", "503", "2227"]


def test_rates_quarter_clinic_by_month(capsys, fixture_db: Path) -> None:
    status, out, err = run(
        capsys,
        "rates",
        "--quarter",
        "2025Q2",
        "--clinic",
        "C04",
        "--by",
        "month",
        "--format",
        "csv",
        "--db",
        fixture_db,
    )
    assert (status, err) == (0, "")
    got = read_csv(out)
    assert list(got["month"]) == ["2025-04", "2025-05", "2025-06"]
    counts = sql(
        fixture_db,
        """SELECT strftime(treatment_date, '%Y-%m'), count(*) FROM treatments
           WHERE clinic_id = 'C04' AND treatment_date BETWEEN '2025-04-01' AND '2025-06-30'
           GROUP BY 1 ORDER BY 1""",
    )
    assert list(got["treatments"]) == [n for _, n in counts]


def test_rates_without_dims_and_per_insertions(capsys, fixture_db: Path) -> None:
    status, out, err = run(
        capsys, "rates", "--per", "insertions", "--format", "csv", "--db", fixture_db
    )
    assert (status, err) == (0, "")
    got = read_csv(out)
    [(n_treatments, n_insertions, n_events)] = sql(
        fixture_db,
        "SELECT count(*), sum(needle_insertions), "
        "(SELECT count(*) FROM adverse_events) FROM treatments",
    )
    assert list(got.columns) == [
        "treatments",
        "insertions",
        "events",
        "treatments_affected",
        *FLOATS,
        "ci_method",
    ]
    assert got.loc[0, ["treatments", "insertions", "events"]].tolist() == [
        n_treatments,
        n_insertions,
        n_events,
    ]
    assert got.loc[0, "rate_per_1000"] == pytest.approx(n_events / n_insertions * 1000, rel=1e-12)


def test_rates_custom_training_bands(capsys, fixture_db: Path) -> None:
    status, out, err = run(
        capsys,
        "rates",
        "--by",
        "training_band",
        "--training-bands",
        "50,150",
        "--format",
        "csv",
        "--db",
        fixture_db,
    )
    assert (status, err) == (0, "")
    got = read_csv(out)
    counts = dict(
        sql(
            fixture_db,
            """SELECT CASE WHEN p.dn_training_hours <= 50 THEN '0-50'
                           WHEN p.dn_training_hours <= 150 THEN '51-150' ELSE '>150' END,
                      count(*)
               FROM treatments t JOIN practitioners p USING (practitioner_id) GROUP BY 1""",
        )
    )
    order = [b for b in ("0-50", "51-150", ">150") if b in counts]
    assert list(got["training_band"]) == order
    assert list(got["treatments"]) == [counts[b] for b in order]


def test_missing_database(capsys, tmp_path: Path) -> None:
    missing = tmp_path / "nothing-here.duckdb"
    status, out, err = run(capsys, "rates", "--db", missing)
    assert_one_line_error(status, out, err, str(missing))
    assert not missing.exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--quarter", "2026Q5"], "2026Q5"),
        (["--quarter", "2025Q1", "--from", "2025-01-01"], "--quarter"),
        (["--by", "nonsense"], "nonsense"),
        (["--by", "clinic,nonsense"], "nonsense"),
        (["--category", "nonsense"], "nonsense"),
        (["--clinic", "NOPE"], "no treatments match"),
        (["--clinic", "NOPE", "--by", "clinic"], "no treatments match"),
        (["--clinic", "NOPE", "--by", "category"], "no treatments match"),
        (["--from", "2030-01-01"], "no treatments match"),
        (["--from", "2030-01-01", "--by", "month"], "no treatments match"),
        (["--from", "2025-02-01", "--to", "2025-01-01"], "after it ends"),
        (["--training-bands", "60,20"], "increasing"),
    ],
    ids=lambda v: "_".join(v).replace("--", "") if isinstance(v, list) else "",
)
def test_rates_usage_errors(capsys, fixture_db: Path, args: list[str], fragment: str) -> None:
    status, out, err = run(capsys, "rates", "--db", fixture_db, *args)
    assert_one_line_error(status, out, err, fragment)


def test_env_var_names_the_database(capsys, fixture_db: Path, monkeypatch) -> None:
    status, by_flag, _ = run(capsys, "rates", "--by", "clinic", "--db", fixture_db)
    assert status == 0
    monkeypatch.setenv("NEEDLEWATCH_DB", str(fixture_db))
    monkeypatch.chdir(fixture_db.parent)  # no data/needlewatch.duckdb here
    status, by_env, err = run(capsys, "rates", "--by", "clinic")
    assert (status, err) == (0, "")
    assert by_env == by_flag


def test_db_flag_overrides_env_var(capsys, fixture_db: Path, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("NEEDLEWATCH_DB", str(tmp_path / "absent.duckdb"))
    status, _, err = run(capsys, "rates", "--db", fixture_db)
    assert (status, err) == (0, "")
    status, out, err = run(capsys, "rates")
    assert_one_line_error(status, out, err, "absent.duckdb")


# --- terms ---------------------------------------------------------------------------


def test_terms_lists_unmapped(capsys, fixture_db: Path) -> None:
    status, out, err = run(capsys, "terms", "--format", "csv", "--db", fixture_db)
    assert (status, err) == (0, "")
    got = read_csv(out)
    assert list(got.columns) == ["term", "category", "events"]
    assert set(got["category"]) == {"unmapped"}
    [(unmapped,)] = sql(
        fixture_db, "SELECT count(*) FROM adverse_events WHERE category = 'unmapped'"
    )
    assert unmapped > 0
    assert got["events"].sum() == unmapped
    expected = sql(
        fixture_db,
        "SELECT event_type, count(*) FROM adverse_events WHERE category = 'unmapped' "
        "GROUP BY 1 ORDER BY 2 DESC, 1",
    )
    assert list(zip(got["term"], got["events"], strict=True)) == expected


def test_terms_all(capsys, fixture_db: Path) -> None:
    status, out, err = run(capsys, "terms", "--all", "--format", "csv", "--db", fixture_db)
    assert (status, err) == (0, "")
    got = read_csv(out)
    expected = pd.DataFrame(
        sql(
            fixture_db,
            "SELECT event_type, category, count(*) FROM adverse_events "
            "GROUP BY 1, 2 ORDER BY 3 DESC, 1",
        ),
        columns=["term", "category", "events"],
    )
    assert_frame_equal(got, expected, check_dtype=False)
    [(total,)] = sql(fixture_db, "SELECT count(*) FROM adverse_events")
    assert got["events"].sum() == total
    assert len(set(got["category"])) > 1


def test_terms_add_recategorises_events(capsys, fixture_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "copy.duckdb"
    shutil.copy(fixture_db, db)
    [(shaking,)] = sql(db, "SELECT count(*) FROM adverse_events WHERE event_type = 'shaking'")
    [(unmapped,)] = sql(db, "SELECT count(*) FROM adverse_events WHERE category = 'unmapped'")
    assert shaking > 0
    mapping = tmp_path / "mapping.csv"
    mapping.write_text("term,category\nshaking,shaking\n")

    status, out, err = run(capsys, "terms", "--add", mapping, "--format", "csv", "--db", db)
    assert (status, err) == (0, "")
    first, *rest = out.splitlines()
    assert first == f"mappings added from {mapping}; {shaking} stored event(s) re-categorised"
    listed = read_csv("\n".join(rest))
    assert "shaking" not in set(listed["term"])
    assert listed["events"].sum() == unmapped - shaking

    assert sql(db, "SELECT DISTINCT category FROM adverse_events WHERE event_type = 'shaking'") == [
        ("shaking",)
    ]
    assert sql(db, "SELECT count(*) FROM adverse_events WHERE category = 'unmapped'") == [
        (unmapped - shaking,)
    ]
    assert sql(db, "SELECT term, category FROM term_mappings") == [("shaking", "shaking")]
    # The shared fixture is untouched.
    assert sql(fixture_db, "SELECT count(*) FROM adverse_events WHERE category = 'unmapped'") == [
        (unmapped,)
    ]

    # Adding the same mapping again changes nothing.
    status, out, err = run(capsys, "terms", "--add", mapping, "--format", "csv", "--db", db)
    assert (status, err) == (0, "")
    assert out.splitlines()[0].endswith("; 0 stored event(s) re-categorised")


@pytest.mark.parametrize(
    "content",
    ["term,cat\nshaking,shaking\n", "term;kind\nshaking;shaking\n"],
)
def test_terms_add_rejects_mapping_without_category_column(
    capsys, fixture_db: Path, tmp_path: Path, content: str
) -> None:
    db = tmp_path / "copy.duckdb"
    shutil.copy(fixture_db, db)
    before = db.read_bytes()
    mapping = tmp_path / "bad.csv"
    mapping.write_text(content)
    status, out, err = run(capsys, "terms", "--add", mapping, "--db", db)
    assert_one_line_error(status, out, err, str(mapping), "category")
    assert db.read_bytes() == before


def test_terms_add_one_column_file_names_the_missing_column(
    capsys, fixture_db: Path, tmp_path: Path
) -> None:
    """A mapping file with only a ``term`` column lacks ``category`` - and only that."""
    db = tmp_path / "copy.duckdb"
    shutil.copy(fixture_db, db)
    mapping = tmp_path / "bad.csv"
    mapping.write_text("term\nshaking\nsweating\n")
    status, out, err = run(capsys, "terms", "--add", mapping, "--db", db)
    assert_one_line_error(status, out, err, "lacks column(s) category;")


def test_terms_add_rejects_bad_category_code(capsys, fixture_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "copy.duckdb"
    shutil.copy(fixture_db, db)
    mapping = tmp_path / "bad.csv"
    mapping.write_text("term,category\nshaking,Not A Code!\n")
    status, out, err = run(capsys, "terms", "--add", mapping, "--db", db)
    assert_one_line_error(status, out, err, "row 2")
    assert sql(db, "SELECT count(*) FROM term_mappings") == [(0,)]


def test_terms_missing_database(capsys, tmp_path: Path) -> None:
    status, out, err = run(capsys, "terms", "--db", tmp_path / "none.duckdb")
    assert_one_line_error(status, out, err, "none.duckdb")


# --- rejects -------------------------------------------------------------------------


def test_rejects_on_clean_demo_data(capsys, fixture_db: Path) -> None:
    status, out, err = run(capsys, "rejects", "--db", fixture_db)
    assert (status, out, err) == (0, "no rejected rows\n", "")
    assert sql(fixture_db, "SELECT count(*) FROM rejects") == [(0,)]
