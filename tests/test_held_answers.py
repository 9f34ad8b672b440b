"""What the dashboard keeps per database state, and the shared counts of the factor pages.

The dashboard keeps the serious-event rows and the event levels stored per database
state (``dashboard.store.db.per_state``); a command computes them inline. Both must give
the same answer, and an ingest must never leave the dashboard an answer older than the
data. ``compare_tables`` and ``factor_analyses`` count once for several comparisons and the
model; each must equal its one-at-a-time function.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dashboard.analysis.comparisons import (
    compare_table,
    compare_tables,
    factor_analyses,
    rate_model,
)
from dashboard.store import db as store_db
from dashboard.store.counts import rate_counts
from dashboard.store.filters import Filters
from dashboard.store.listing import serious_event_positions, serious_listing

FILTERS = (
    Filters(),
    Filters(date_from=date(2025, 4, 1), date_to=date(2025, 6, 30)),
    Filters(clinics=("C02",), regions=("lumbar_paraspinals",)),
    Filters(professions=("physiotherapist",), date_from=date(2025, 1, 1)),
    Filters(category="pneumothorax"),
)


@pytest.fixture()
def keeping() -> Iterator[None]:
    """Keep answers per state, as the dashboard does; restore the command's default."""
    before = store_db.keeps_per_state()
    store_db.forget_states()
    store_db.keep_per_state(True)
    yield
    store_db.keep_per_state(before)
    store_db.forget_states()


def _both(fixture_db: Path, query, filters: Filters) -> tuple[pd.DataFrame, pd.DataFrame]:
    before = store_db.keeps_per_state()
    try:
        with duckdb.connect(str(fixture_db), read_only=True) as con:
            store_db.keep_per_state(False)
            inline = query(con, filters)
            store_db.keep_per_state(True)
            held = query(con, filters)
            again = query(con, filters)  # from what was kept
    finally:
        store_db.keep_per_state(before)
        store_db.forget_states()
    pd.testing.assert_frame_equal(held, again)
    return inline, held


@pytest.mark.parametrize("filters", FILTERS, ids=range(len(FILTERS)))
def test_kept_rows_give_the_inline_listing_and_g_chart_positions(
    fixture_db: Path, filters: Filters
) -> None:
    for query in (serious_listing, serious_event_positions):
        inline, held = _both(fixture_db, query, filters)
        pd.testing.assert_frame_equal(inline, held)


MONTH_DIMS = (
    ("month",),
    ("clinic", "month", "category", "severity"),
    ("month", "ultrasound", "category"),
)
MONTH_FILTERS = (
    Filters(),
    Filters(date_from=date(2025, 4, 1), date_to=date(2025, 6, 30)),
    Filters(date_from=date(2024, 7, 1), date_to=date(2025, 6, 30), clinics=("C02",)),
    Filters(date_to=date(2025, 2, 28), category="bruising"),
    Filters(date_from=date(2025, 6, 1), regions=("lumbar_paraspinals",)),
    Filters(date_from=date(2031, 1, 1), date_to=date(2031, 3, 31)),  # no treatments
)


@pytest.mark.parametrize("dims", MONTH_DIMS, ids=range(len(MONTH_DIMS)))
def test_counts_by_month_cut_from_every_month_equal_the_period_counted(
    fixture_db: Path, dims: tuple[str, ...]
) -> None:
    """The dashboard cuts counts by month over whole months from every month's counts,
    kept (``counts._months_of``); a command counts the period. Whole frames are equal, for
    periods of whole months with other filters, and for a period with no treatments."""
    for filters in MONTH_FILTERS:
        for per in ("treatments", "insertions"):
            inline, held = _both(
                fixture_db, lambda con, f, per=per: rate_counts(con, dims, f, per), filters
            )
            pd.testing.assert_frame_equal(inline, held)
    with duckdb.connect(str(fixture_db), read_only=True) as con:
        assert rate_counts(con, dims, MONTH_FILTERS[-1]).empty


def test_only_the_newest_every_month_counts_are_kept(fixture_db: Path, keeping) -> None:
    """Every-month count frames are kept per other filters, the newest HELD_MONTHLY only."""
    from dashboard.store.counts import HELD_MONTHLY

    with duckdb.connect(str(fixture_db), read_only=True) as con:
        clinics = [r[0] for r in con.execute("SELECT clinic_id FROM clinics ORDER BY 1").fetchall()]
        assert len(clinics) > HELD_MONTHLY
        for clinic in clinics:
            rate_counts(con, ("month",), Filters(clinics=(clinic,)))
    kept = [k[1] for k in store_db._HELD if k[1][0] == "rate_counts"]
    assert [k[2].clinics for k in kept] == [(c,) for c in clinics[-HELD_MONTHLY:]]


def test_an_ingest_is_seen_at_once_by_the_kept_rows(base_db: Path, tmp_path: Path, keeping) -> None:
    """base_db's one significant event (E2, PTX, graded serious by hospital admission) is
    listed; a follow-up adds a serious event and moves T3 to another clinic: the next
    listing has both, with T3's new clinic, though the first was kept."""
    from ingest.api import IngestOptions, ingest_files

    from .conftest import TODAY

    def listed() -> list[tuple[str, str, str]]:
        with duckdb.connect(str(base_db), read_only=True) as con:
            frame = serious_listing(con, Filters())
        return sorted(zip(frame["event_id"], frame["clinic"], frame["severity"], strict=True))

    first = listed()
    assert first == [("E2", "C01", "serious")]
    follow_up = tmp_path / "events.csv"
    follow_up.write_text(
        "event_id,treatment_id,event_type,severity,onset,onset_date,outcome,hospitalised,narrative\n"
        "E9,T3,pneumothorax,serious,after,2025-04-11,admitted,yes,\n"
    )
    moved = tmp_path / "treatments.csv"
    moved.write_text(
        "treatment_id,treatment_date,practitioner_id,clinic_id,patient_id,body_region,"
        "ultrasound_guided,needle_insertions,technique,retention_minutes,"
        "electrical_stimulation,contraindications\n"
        "T3,2025-04-10,P2,C02,PAT-1,upper_trapezius,N,6,electrical,15,yes,\n"
    )
    report = ingest_files(base_db, [moved, follow_up], IngestOptions(today=TODAY))
    assert report.rows_rejected == 0
    assert listed() == [("E2", "C01", "serious"), ("E9", "C02", "serious")]


@pytest.mark.parametrize("filters", FILTERS[:4], ids=range(4))
def test_one_count_gives_each_comparison_and_the_model(fixture_con, filters: Filters) -> None:
    factors = ("ultrasound", "training_band", "experience_band")
    tables = compare_tables(fixture_con, factors, filters, "body_region")
    model, shared = factor_analyses(fixture_con, factors, filters, "body_region")
    for factor in factors:
        alone = compare_table(fixture_con, factor, filters, adjust="body_region")
        pd.testing.assert_frame_equal(tables[factor], alone)
        pd.testing.assert_frame_equal(shared[factor], alone)
    alone_model = rate_model(fixture_con, filters)
    pd.testing.assert_frame_equal(model.table, alone_model.table)
    assert model.method == alone_model.method


@pytest.mark.parametrize("filters", FILTERS, ids=range(len(FILTERS)))
def test_the_training_page_reads_its_rate_tables_from_its_one_count(
    fixture_con, filters: Filters
) -> None:
    """The Training page's four rate tables, summed from the model's count
    (``counts.summed_counts``), equal ``incidence_table`` counted for each (whole frames,
    an empty period too)."""
    from dashboard.analysis.rates import incidence_table
    from dashboard.analysis.views import training_ultrasound

    page = training_ultrasound(fixture_con, filters)
    for got, dims in (
        (page.by_training, ("training_band",)),
        (page.by_experience, ("experience_band",)),
        (page.by_ultrasound, ("ultrasound",)),
        (page.by_region_ultrasound, ("body_region", "ultrasound")),
    ):
        pd.testing.assert_frame_equal(got, incidence_table(fixture_con, dims, filters))


def test_summed_counts_takes_treatment_dimensions_of_its_count_only(fixture_con) -> None:
    """Summed from an empty count, the empty frame ``rate_counts`` gives; event dimensions
    or dimensions the count lacks are refused."""
    from dashboard.store.counts import summed_counts

    empty = Filters(date_from=date(1990, 1, 1), date_to=date(1990, 1, 31))
    wide = rate_counts(fixture_con, ("ultrasound", "body_region", "practitioner"), empty)
    pd.testing.assert_frame_equal(
        summed_counts(wide, ("body_region",), empty),
        rate_counts(fixture_con, ("body_region",), empty),
    )
    wide = rate_counts(fixture_con, ("ultrasound", "body_region"), Filters())
    for dims in ((), ("category",), ("clinic",)):
        with pytest.raises(ValueError, match="dims must be treatment dimensions"):
            summed_counts(wide, dims, Filters())


def test_compare_tables_says_no_data_for_every_factor(fixture_con) -> None:
    empty = Filters(date_from=date(1990, 1, 1), date_to=date(1990, 1, 31))
    tables = compare_tables(fixture_con, ("ultrasound", "technique"), empty, "body_region")
    assert sorted(tables) == ["technique", "ultrasound"]
    assert all("no treatments match these filters" in str(t) for t in tables.values())


def test_a_new_database_state_drops_what_was_kept_for_the_old_one(tmp_path: Path, keeping) -> None:
    """What was kept for a file's earlier state is let go when its next state is kept: a
    dashboard over a growing database holds one state's answers, not every ingest's."""
    db = tmp_path / "d.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE t (x INTEGER)")
    calls = []
    for rows in (1, 2):
        with duckdb.connect(str(db)) as con:
            con.execute("INSERT INTO t VALUES (?)", [rows])
        with duckdb.connect(str(db), read_only=True) as con:
            first = store_db.per_state(
                con,
                ("n",),
                lambda c=con: calls.append(1) or c.execute("SELECT count(*) FROM t").fetchone()[0],
            )
            again = store_db.per_state(con, ("n",), lambda: calls.append(1) or -1)
            assert first == again == rows
    assert len(calls) == 2
    held = [k for k in store_db._HELD if k[0][0] == str(db)]
    assert len(held) == 1 and held[0][1] == ("n",)
