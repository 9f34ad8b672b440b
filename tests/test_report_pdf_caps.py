"""The PDF's capped event lists: page 1 prints every never event and the first serious
events by date, the listing prints serious and never events first; notes count what is
left out and say which editions list every event (the HTML edition, uncapped, does)."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from dashboard.report.html import _listing_block
from dashboard.report.html_tables import _serious_table

XLSX = (
    'The XLSX edition of this report (sheet "Serious events": needlewatch report --out '
    "FILE.xlsx) and the HTML edition list"
)


def _listing() -> pd.DataFrame:
    """Six events in April 2026: three serious pneumothoraces, a significant forgotten
    needle (a never event), two significant faintings."""
    rows = [
        ("2026-04-05", "C01", "pneumothorax", "serious"),
        ("2026-04-02", "C02", "fainting", "significant"),
        ("2026-04-09", "C03", "pneumothorax", "serious"),
        ("2026-04-20", "C01", "forgotten_needle", "significant"),
        ("2026-04-01", "C02", "pneumothorax", "serious"),
        ("2026-04-25", "C04", "fainting", "significant"),
    ]
    frame = pd.DataFrame(rows, columns=["event_date", "clinic", "category", "severity"])
    return frame.assign(
        event_date=pd.to_datetime(frame["event_date"]),
        practitioner="P-0000abcd", training_band="21-60", body_region="thorax",
        ultrasound="no", technique="deep", event_type="ptx", outcome="recovered",
        narrative="text",
    )  # fmt: skip


def test_page_one_prints_every_never_event_and_the_first_serious_ones() -> None:
    table, note = _serious_table(SimpleNamespace(listing=_listing()), limit=2)
    assert [(row[0], row[1], row[2]) for row in table.rows] == [
        ("2026-04-01", "C02", "pneumothorax"),
        ("2026-04-05", "C01", "pneumothorax"),
        ("2026-04-20", "C01", "forgotten needle"),
    ]
    assert note == (
        "The first 2 serious events of the quarter by date and every never event are printed "
        "here; the other 1 of its 3 serious events are not. The listing of significant and "
        "serious events below prints serious and never events first; "
        + XLSX[0].lower()
        + XLSX[1:]
        + " every one."
    )


def test_page_one_uncapped_lists_all_and_says_nothing() -> None:
    for limit in (None, 3):
        table, note = _serious_table(SimpleNamespace(listing=_listing()), limit=limit)
        assert [row[0] for row in table.rows] == [
            "2026-04-01", "2026-04-05", "2026-04-09", "2026-04-20",
        ]  # fmt: skip
        assert note == ""


def test_capped_listing_prints_serious_and_never_events_first_and_counts_the_rest() -> None:
    block = _listing_block(_listing(), limit=4)
    assert [(row[0], row[7]) for row in block.table.rows] == [
        ("2026-04-20", "forgotten needle"),
        ("2026-04-09", "pneumothorax"),
        ("2026-04-05", "pneumothorax"),
        ("2026-04-01", "pneumothorax"),
    ]
    assert block.note == (
        "Printed here: the first 4 of the quarter's 6 events. Not printed: 2 significant "
        f"(fainting 2). {XLSX} all 6."
    )
    assert block.title == "Significant and serious events (6)"
    assert block.intro.endswith(
        "This PDF prints the first 4 of 6; the note after the table counts the rest, which "
        "the XLSX and HTML editions list."
    )
    assert block.capped


def test_listing_cut_inside_the_serious_events_counts_both_tiers() -> None:
    block = _listing_block(_listing(), limit=2)
    assert block.note == (
        "Printed here: the first 2 of the quarter's 6 events. Not printed: 2 serious "
        f"(pneumothorax 2) and 2 significant (fainting 2). {XLSX} all 6."
    )


def test_uncapped_listing_prints_every_event_without_a_note() -> None:
    block = _listing_block(_listing(), limit=None)
    assert [row[0] for row in block.table.rows] == [
        "2026-04-20", "2026-04-09", "2026-04-05", "2026-04-01", "2026-04-25", "2026-04-02",
    ]  # fmt: skip
    assert block.note == ""
    assert block.intro.endswith("Confidential: clinic edition only.")
    assert not block.capped
