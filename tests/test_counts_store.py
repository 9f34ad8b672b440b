"""The counts store gives exactly the counts of the rows.

``dashboard.store.counts.rate_counts`` sums the store (``ingest.countstore``), taking a
period's partial months from the rows. Here hypothesis draws dimensions, filters and
dates (partial months, one day, open ends) and compares every table with one computed
in pandas straight from the treatment and event rows, each treatment banded by the
profile in force on its date. The database is a copy of the fixture with some needle
counts and techniques missing and a second profile, from 2025-04-16, for ten
practitioners (so a band changes mid-month).
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.store.counts import rate_counts, split_span
from dashboard.store.filters import DIMS, Filters
from ingest.countstore import refresh_counts
from ingest.vocab import CATEGORY_CODES, SEVERITY_TIERS

CHANGE = date(2025, 4, 16)
FIRST, LAST = date(2023, 9, 20), date(2026, 10, 12)  # a little beyond the data each side


@pytest.fixture(scope="module")
def store_db(fixture_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("store") / "store.duckdb"
    shutil.copy(fixture_db, db)
    con = duckdb.connect(str(db))
    try:
        con.execute(
            "UPDATE treatments SET needle_insertions = NULL WHERE hash(treatment_id) % 7 = 0"
        )
        con.execute("UPDATE treatments SET technique = NULL WHERE hash(treatment_id) % 11 = 0")
        con.execute(
            """INSERT INTO practitioner_history
               SELECT practitioner_id, clinic_id, 'physician', dn_training_hours + 150,
                      coalesce(years_dn_experience, 0) + 3, $d, run_id
               FROM practitioners ORDER BY practitioner_id LIMIT 10""",
            {"d": CHANGE},
        )
        refresh_counts(con, everything=True)
    finally:
        con.close()
    return db


@pytest.fixture(scope="module")
def rows(store_db: Path) -> tuple[pd.DataFrame, pd.DataFrame, duckdb.DuckDBPyConnection]:
    """Every treatment with the profile in force on its date (found here with pandas,
    not with the store's view), and every event."""
    con = duckdb.connect(str(store_db), read_only=True)
    treatments = con.execute("SELECT * FROM treatments").df()
    history = con.execute("SELECT * FROM practitioner_history").df()
    events = con.execute("SELECT treatment_id, category, severity FROM adverse_events").df()
    history["start"] = pd.to_datetime(history["effective_from"]).fillna(pd.Timestamp("1900-01-01"))
    history = history.sort_values("start")
    treatments["treatment_date"] = pd.to_datetime(treatments["treatment_date"])
    banded = pd.merge_asof(
        treatments.sort_values("treatment_date"),
        history.drop(columns=["clinic_id", "run_id", "effective_from"]),
        left_on="treatment_date",
        right_on="start",
        by="practitioner_id",
    )
    assert banded["dn_training_hours"].notna().all()
    return banded, events, con


def _labels(frame: pd.DataFrame) -> pd.DataFrame:
    hours, years = frame["dn_training_hours"], frame["years_dn_experience"]
    training = pd.cut(hours, [-1, 20, 60, 100, 200, float("inf")], labels=False)
    experience = pd.cut(years, [-1, 2 - 1e-9, 5 - 1e-9, 10 - 1e-9, float("inf")], labels=False)
    day = frame["treatment_date"]
    return frame.assign(
        training_band=[["0-20", "21-60", "61-100", "101-200", ">200"][i] for i in training],
        experience_band=[
            "unknown" if pd.isna(i) else ["<2", "2-4", "5-9", ">=10"][int(i)] for i in experience
        ],
        ultrasound=frame["ultrasound_guided"].map({True: "yes", False: "no"}),
        clinic=frame["clinic_id"],
        practitioner=frame["practitioner_id"],
        profession=frame["profession"].fillna("unknown"),
        technique=frame["technique"].fillna("unknown"),
        month=day.dt.strftime("%Y-%m"),
        quarter=day.dt.year.astype(str) + "Q" + day.dt.quarter.astype(str),
        year=day.dt.year.astype(str),
    )


def expected_counts(rows, dims: tuple[str, ...], f: Filters, per: str) -> pd.DataFrame:
    """The rate_counts table computed in pandas from the rows."""
    treatments, events, _ = rows
    t = _labels(treatments)
    keep = pd.Series(True, index=t.index)
    if f.date_from:
        keep &= t["treatment_date"] >= pd.Timestamp(f.date_from)
    if f.date_to:
        keep &= t["treatment_date"] <= pd.Timestamp(f.date_to)
    for column, chosen in (
        ("clinic", f.clinics),
        ("profession", f.professions),
        ("body_region", f.regions),
        ("technique", f.techniques),
    ):
        if chosen:
            keep &= t[column].isin(chosen)
    if per == "insertions":
        keep &= t["needle_insertions"].notna()
    t = t[keep]
    tdims = [d for d in dims if d not in ("category", "severity")]
    edims = [d for d in dims if d in ("category", "severity")]
    e = events.merge(t, on="treatment_id")
    if f.category:
        e = e[e["category"] == f.category]
    if f.severity:
        e = e[e["severity"] == f.severity]
    den = (
        t.groupby(tdims, dropna=False)
        .agg(treatments=("treatment_id", "size"), insertions=("needle_insertions", "sum"))
        .reset_index()
        if tdims
        else pd.DataFrame(
            {"treatments": [len(t)], "insertions": [t["needle_insertions"].sum()]}
        ).iloc[: 1 if len(t) else 0]
    )
    levels = {
        "category": [f.category] if f.category else list(CATEGORY_CODES) + ["unmapped"],
        "severity": [f.severity] if f.severity else [*SEVERITY_TIERS, "unspecified"],
    }
    for d in edims:
        den = den.merge(pd.DataFrame({d: levels[d]}), how="cross")
    keys = [*tdims, *edims]
    ev = (
        e.groupby(keys).agg(
            events=("treatment_id", "size"), treatments_affected=("treatment_id", "nunique")
        )
        if keys
        else pd.DataFrame(
            {"events": [len(e)], "treatments_affected": [e["treatment_id"].nunique()]}
        )
    )
    out = (
        den.merge(ev.reset_index(), on=keys, how="left")
        if keys
        else den.assign(events=len(e), treatments_affected=e["treatment_id"].nunique())
    )
    out = out.fillna({"events": 0, "treatments_affected": 0})
    return _normal(out, dims)


def _normal(frame: pd.DataFrame, dims: tuple[str, ...]) -> pd.DataFrame:
    cols = ["treatments", "insertions", "events", "treatments_affected"]
    out = frame[[*dims, *cols]].astype({c: "int64" for c in cols})
    out = out.astype({d: str for d in dims})
    return out.sort_values(list(dims)).reset_index(drop=True) if dims else out


def test_split_span_cuts_partial_months_from_whole_ones() -> None:
    assert split_span(date(2025, 5, 17), date(2025, 8, 10)) == (
        date(2025, 6, 1),
        date(2025, 7, 1),
        [(date(2025, 5, 17), date(2025, 5, 31)), (date(2025, 8, 1), date(2025, 8, 10))],
    )
    assert split_span(date(2025, 5, 1), date(2025, 6, 30)) == (
        date(2025, 5, 1),
        date(2025, 6, 1),
        [],
    )
    assert split_span(date(2025, 5, 3), date(2025, 5, 9)) == (
        date(2025, 6, 1),
        date(2025, 4, 1),
        [(date(2025, 5, 3), date(2025, 5, 9))],
    )
    assert split_span(None, date(2024, 2, 28)) == (
        None,
        date(2024, 1, 1),
        [(date(2024, 2, 1), date(2024, 2, 28))],
    )
    assert split_span(None, None) == (None, None, [])


dates = st.one_of(
    st.none(),
    st.dates(FIRST, LAST),
    st.dates(FIRST, LAST).map(lambda d: d.replace(day=1)),  # month starts and ends, often
    st.dates(FIRST, LAST).map(
        lambda d: (d.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    ),
)


@st.composite
def requests(draw):
    dims = tuple(draw(st.lists(st.sampled_from(DIMS), max_size=3, unique=True)))
    start, end = draw(dates), draw(dates)
    if start and end and start > end:
        start, end = end, start
    f = Filters(
        date_from=start,
        date_to=end,
        clinics=tuple(draw(st.lists(st.sampled_from([f"C{i:02d}" for i in range(1, 15)]),
                                    max_size=3, unique=True))),
        professions=tuple(draw(st.lists(st.sampled_from(
            ["physiotherapist", "chiropractor", "osteopath", "physician", "unknown"]),
            max_size=2, unique=True))),
        regions=tuple(draw(st.lists(st.sampled_from(
            ["gluteals", "upper_trapezius", "hamstrings", "intercostals", "masseter"]),
            max_size=2, unique=True))),
        techniques=tuple(draw(st.lists(st.sampled_from(
            ["in_and_out", "static", "electrical", "unknown"]), max_size=2, unique=True))),
        category=draw(st.sampled_from([None, None, "bruising", "fainting", "needle_breakage"])),
        severity=draw(st.sampled_from([None, None, "mild", "serious", "unspecified"])),
    )  # fmt: skip
    return dims, f, draw(st.sampled_from(["treatments", "insertions"]))


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=requests())
def test_store_counts_equal_row_counts(rows, request) -> None:
    dims, f, per = request
    got = _normal(rate_counts(rows[2], dims, f, per), dims)
    pd.testing.assert_frame_equal(got, expected_counts(rows, dims, f, per))


month_starts = st.dates(FIRST, LAST).map(lambda d: d.replace(day=1))
month_ends = month_starts.map(
    lambda d: (d.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
)


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    request=requests(),
    start=st.one_of(st.none(), month_starts),
    end=st.one_of(st.none(), month_ends),
)
def test_counts_by_month_kept_by_the_dashboard_equal_row_counts(rows, request, start, end) -> None:
    """The dashboard cuts counts by month over whole months from every month's counts,
    kept per database state and other filters (``counts._months_of``): for random filters,
    dimensions and periods of whole months they are the counts of the rows, as a
    command's are."""
    from dashboard.store import db as store_db

    dims, f, per = request
    dims = tuple(dict.fromkeys(("month", *dims)))
    if start and end and start > end:
        start, end = (
            end.replace(day=1),
            (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1),
        )
    f = replace(f, date_from=start, date_to=end)
    before = store_db.keeps_per_state()
    store_db.keep_per_state(True)
    try:
        got = _normal(rate_counts(rows[2], dims, f, per), dims)
    finally:
        store_db.keep_per_state(before)
    pd.testing.assert_frame_equal(got, expected_counts(rows, dims, f, per))


def test_a_later_profile_bands_only_treatments_from_its_date(rows) -> None:
    """Ten practitioners moved to more hours from 2025-04-16: their treatments before it
    keep their first band, so totals by band for 2024 are those of the first profiles."""
    con = rows[2]
    before = Filters(date_from=date(2024, 1, 1), date_to=date(2025, 4, 15))
    by_band = rate_counts(con, ("training_band",), before)
    first = con.execute(
        """SELECT CASE WHEN h.dn_training_hours <= 20 THEN '0-20'
                       WHEN h.dn_training_hours <= 60 THEN '21-60'
                       WHEN h.dn_training_hours <= 100 THEN '61-100'
                       WHEN h.dn_training_hours <= 200 THEN '101-200' ELSE '>200' END AS band,
                  count(*) AS n
           FROM treatments t JOIN practitioner_history h
             ON h.practitioner_id = t.practitioner_id AND h.effective_from IS NULL
           WHERE t.treatment_date BETWEEN '2024-01-01' AND '2025-04-15' GROUP BY 1"""
    ).df()
    assert dict(zip(by_band["training_band"], by_band["treatments"], strict=True)) == dict(
        zip(first["band"], first["n"], strict=True)
    )
    after = rate_counts(con, ("profession",), Filters(date_from=CHANGE, date_to=CHANGE))
    moved = con.execute(
        """SELECT count(*) FROM treatments WHERE treatment_date = $d AND practitioner_id IN
           (SELECT practitioner_id FROM practitioner_history WHERE effective_from = $d)""",
        {"d": CHANGE},
    ).fetchone()[0]
    physicians = after.set_index("profession")["treatments"].get("physician", 0)
    assert moved > 0 and physicians >= moved


def _store(db: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return tuple(
            con.execute(f"SELECT * FROM {t} ORDER BY ALL").df()
            for t in ("counts_treatments", "counts_events")
        )
    finally:
        con.close()


def _recounted(db: Path, tmp_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    copy = tmp_path / "recount.duckdb"
    shutil.copy(db, copy)
    con = duckdb.connect(str(copy))
    try:
        refresh_counts(con, everything=True)
    finally:
        con.close()
    return _store(copy)


def test_follow_up_ingests_keep_the_store_equal_to_a_full_recount(
    base_db: Path, tmp_path: Path
) -> None:
    """Each follow-up recounts only the months it touched; the store then equals a recount
    of every month: new treatments in a new month, a treatment moved to another month, an
    event added, an event moved to another treatment, and events recategorised by a term
    mapping."""
    from ingest.api import IngestOptions, add_term_mappings, ingest_files

    from .conftest import TODAY

    header = (
        "treatment_id,treatment_date,practitioner_id,clinic_id,patient_id,body_region,"
        "ultrasound_guided,needle_insertions,technique,retention_minutes,"
        "electrical_stimulation,contraindications\n"
    )
    ev_header = "event_id,treatment_id,event_type,severity,onset,onset_date,outcome,hospitalised,narrative\n"
    steps = {
        "t_new.csv": header + "T90,2025-06-14,P1,,PAT-9,gluteals,no,5,static,,no,\n"
        "T91,2025-06-30,P2,,PAT-8,gluteals,yes,,,,no,\n",
        "t_moved.csv": header + "T1,2025-07-02,P1,,PAT-1,Upper Trapezius,Yes,8,in_and_out,,no,\n",
        "e_new.csv": ev_header + "E90,T90,bruise,mild,during,,resolved,no,\n",
        "e_moved.csv": ev_header + "E90,T91,wibble,mild,during,,resolved,no,\n",
    }
    totals = []
    for name, text in steps.items():
        path = tmp_path / name
        path.write_text(text)
        report = ingest_files(base_db, [path], IngestOptions(today=TODAY))
        assert report.rows_rejected == 0
        got = _store(base_db)
        for frame, again in zip(got, _recounted(base_db, tmp_path), strict=True):
            pd.testing.assert_frame_equal(frame, again)
        blanks = dict(((t, c), m) for t, c, m in _assert_blanks_are_a_recount(base_db, tmp_path))
        totals.append((int(got[0]["treatments"].sum()), blanks[("treatments", "technique")]))
    # T90 and T91 are new (T91 without a technique), T1 is re-sent with one
    assert totals == [(7, 1), (7, 1), (7, 1), (7, 1)]
    mapping = tmp_path / "map.csv"
    mapping.write_text("term,category\nwibble,bruising\n")
    assert add_term_mappings(base_db, mapping) == 1
    got = _store(base_db)
    for frame, again in zip(got, _recounted(base_db, tmp_path), strict=True):
        pd.testing.assert_frame_equal(frame, again)
    events = got[1]
    june = events[(events["month"] == pd.Timestamp("2025-06-01")) & events["severity"].isna()]
    june = june[june["category"].notna()]  # E90, now on T91, mapped from wibble to bruising
    assert june.set_index("category")["events"].to_dict() == {"bruising": 1}


def _assert_store_is_a_recount(db: Path, tmp_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    got = _store(db)
    for frame, again in zip(got, _recounted(db, tmp_path), strict=True):
        pd.testing.assert_frame_equal(frame, again)
    _assert_blanks_are_a_recount(db, tmp_path)
    return got


def _blanks(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int]]:
    return con.execute("SELECT * FROM column_blanks ORDER BY ALL").fetchall()


def _assert_blanks_are_a_recount(db: Path, tmp_path: Path) -> list[tuple[str, str, int]]:
    """The blank counts the ingests kept by difference (``ingest.blanks``) equal a count
    of the rows' blanks."""
    from ingest.blanks import recount_blanks

    copy = tmp_path / "blanks.duckdb"
    shutil.copy(db, copy)
    with duckdb.connect(str(copy)) as con:
        kept = _blanks(con)
        recount_blanks(con)
        assert kept == _blanks(con)
    return kept


def test_follow_ups_that_move_treatments_between_keys_keep_the_store_exact(
    base_db: Path, tmp_path: Path
) -> None:
    """The store is kept by difference (each follow-up counts the treatments it changed
    out as they were, in as they are): after each of these it equals a recount. A second
    event of a category a treatment already has (one more event, no more treatments
    affected); a treatment with events re-sent under another clinic, then another month;
    a profile change, then a treatment moved past its date (re-banded) and a new one
    after it; an event moved to another treatment."""
    from ingest.api import IngestOptions, ingest_files

    from .conftest import TODAY

    t_head = (
        "treatment_id,treatment_date,practitioner_id,clinic_id,patient_id,body_region,"
        "ultrasound_guided,needle_insertions,technique,retention_minutes,"
        "electrical_stimulation,contraindications\n"
    )
    e_head = "event_id,treatment_id,event_type,severity,onset,onset_date,outcome,hospitalised\n"
    p_head = (
        "practitioner_id,clinic_id,profession,dn_training_hours,years_dn_experience,"
        "effective_from\n"
    )

    def ingest(name: str, text: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        path = tmp_path / name
        path.write_text(text)
        assert ingest_files(base_db, [path], IngestOptions(today=TODAY)).rows_rejected == 0
        return _assert_store_is_a_recount(base_db, tmp_path)

    def bruising(events: pd.DataFrame, clinic: str) -> list[list[object]]:
        rows = events[(events["category"] == "bruising") & events["severity"].isna()]
        rows = rows[rows["clinic_id"] == clinic]
        return rows[["month", "events", "treatments_affected"]].values.tolist()

    march = pd.Timestamp("2025-03-01")
    _, events = ingest("e_same.csv", e_head + "E4,T1,bruise,mild,during,,resolved,no\n")
    assert bruising(events, "C01") == [[march, 2, 1]]  # E1 and E4, both on T1
    treatments, events = ingest(
        "t_clinic.csv", t_head + "T3,2025-04-10,P3,C02,PAT-1,upper_trapezius,N,6,electrical,,no,\n"
    )
    april = treatments[treatments["month"] == pd.Timestamp("2025-04-01")]
    assert april[["clinic_id", "treatments"]].values.tolist() == [["C02", 1]]
    moved = events[events["month"] == pd.Timestamp("2025-04-01")]
    moved = moved[moved["category"].isna() & moved["severity"].isna()]  # all events
    assert moved[["clinic_id", "events", "treatments_affected"]].values.tolist() == [
        ["C02", 1, 1]
    ]  # E3 followed T3 to C02
    treatments, events = ingest(
        "t_month.csv", t_head + "T1,2025-04-15,P1,,PAT-1,upper_trapezius,yes,8,in_and_out,,no,\n"
    )
    assert bruising(events, "C01") == [[pd.Timestamp("2025-04-01"), 2, 1]]
    assert int(treatments["treatments"].sum()) == 5
    ingest("p_change.csv", p_head + "P1,C01,physician,300,5,2025-07-01\n")
    treatments, _ = ingest(
        "t_after.csv",
        t_head + "T5,2025-07-02,P1,,,gluteals,no,,in_and_out,,,\n"
        "T92,2025-07-10,P1,,PAT-7,gluteals,no,3,static,,no,\n",
    )
    july = treatments[treatments["month"] == pd.Timestamp("2025-07-01")]
    assert sorted(
        july[["profession", "dn_training_hours", "treatments", "insertions"]].values.tolist()
    ) == [["physician", 300.0, 1, 0], ["physician", 300.0, 1, 3]]  # T5 re-banded, T92 new
    assert treatments[treatments["month"] == pd.Timestamp("2025-06-01")].empty
    _, events = ingest("e_moved.csv", e_head + "E4,T2,bruise,mild,during,,resolved,no\n")
    assert bruising(events, "C01") == [[pd.Timestamp("2025-04-01"), 1, 1]]
    assert bruising(events, "C02") == [[march, 1, 1]]


def test_an_older_database_asks_for_upgrade_then_counts_its_rows(tmp_path: Path, capsys) -> None:
    """A schema-1 database (before the store): readers say what to run, one line; the
    upgrade counts the rows already stored; a second upgrade does nothing."""
    from ingest.schema import MIGRATIONS
    from needlewatch.cli import main

    db = tmp_path / "v1.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute(MIGRATIONS[0])
        con.execute("INSERT INTO meta VALUES ('patient_key_secret', '00'), ('schema_version', '1')")
        con.execute("INSERT INTO clinics VALUES ('C1', 'A', 'B', 'C', 1)")
        con.execute("INSERT INTO practitioners VALUES ('P1', 'C1', 'physiotherapist', 40, 3, 1)")
        con.execute(
            "INSERT INTO treatments VALUES ('T1', '2025-03-04', 'P1', 'C1', NULL, 'gluteals', "
            "false, 5, NULL, NULL, NULL, NULL, 1), ('T2', '2025-04-30', 'P1', 'C1', NULL, "
            "'gluteals', true, NULL, 'static', NULL, NULL, NULL, 1)"
        )
        con.execute(
            "INSERT INTO adverse_events VALUES ('E1', 'T1', 'bruise', 'bruising', 'mild', "
            "'mild', NULL, NULL, NULL, NULL, NULL, 1)"
        )
    assert main(["rates", "--db", str(db)]) == 2
    assert capsys.readouterr().err == (
        f"needlewatch: {db}: written by an older NeedleWatch (schema version 1, this one reads "
        f"7): run `needlewatch upgrade --db {db}` once (it adds what this release stores "
        "beside your rows, which are kept)\n"
    )
    assert main(["upgrade", "--db", str(db)]) == 0
    assert capsys.readouterr().out == f"{db}: upgraded from schema version 1 to 7\n"
    treatments, events = _store(db)
    assert treatments[["month", "ultrasound_guided", "treatments", "insertions"]].to_dict(
        "records"
    ) == [
        {"month": pd.Timestamp("2025-03-01"), "ultrasound_guided": False, "treatments": 1,
         "insertions": 5},
        {"month": pd.Timestamp("2025-04-01"), "ultrasound_guided": True, "treatments": 1,
         "insertions": 0},
    ]  # fmt: skip
    assert sorted(events[["category", "severity", "events"]].fillna("all").values.tolist()) == [
        ["all", "all", 1], ["all", "mild", 1], ["bruising", "all", 1], ["bruising", "mild", 1],
    ]  # fmt: skip
    assert main(["upgrade", "--db", str(db)]) == 0
    assert capsys.readouterr().out == f"{db}: already at schema version 7; nothing to do\n"
