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
