"""The public edition against an attacker who holds every public CSV ever published.

The attacker (tests/attacker.py) is written from the CSV files alone, not from the code
that suppresses them. On the fixture database it reads the all-clinic public edition of
every quarter with data, and clinic C04's own public edition of three quarters, writes down
every sum and ordering a reader knows, and solves an integer programme for the least and
greatest value of each suppressed count. No count from 1 to 7 may be printed, and none may
be narrowed to fewer than 7 possible values (the issue's standard: not worked out, nor
confined to fewer values than the suppression range holds).
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from dashboard.report.content import build_report
from dashboard.report.csvout import write_csv
from dashboard.report.model import ReportRequest
from dashboard.report.public import round_count

from .attacker import Publication

C04_QUARTERS = ("2024Q2", "2025Q2", "2026Q3")


def fixture_quarters(con) -> list[str]:
    rows = con.execute(
        "SELECT DISTINCT strftime(treatment_date, '%Y') || 'Q' || quarter(treatment_date) "
        "FROM treatments ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


@pytest.fixture(scope="module")
def editions(fixture_db) -> dict[tuple[str | None, str], tuple[bytes, bytes, object]]:
    """(clinic, quarter) -> (public CSV, the same report unsuppressed as CSV, public report)."""
    out = {}
    with duckdb.connect(str(fixture_db), read_only=True) as con:
        scopes = [(None, q) for q in fixture_quarters(con)] + [("C04", q) for q in C04_QUARTERS]
        for clinic, quarter in scopes:
            request = ReportRequest(quarter, clinic, "public")
            public = build_report(con, request)
            raw = build_report(con, request, suppressed=False)
            out[clinic, quarter] = (write_csv(public), write_csv(raw), public)
    return out


def test_the_fixture_spans_twelve_quarters(editions) -> None:
    assert [q for c, q in editions if c is None] == [
        f"{y}Q{n}" for y, n in [(2023, 4), *((2024, i) for i in range(1, 5)),
                                 *((2025, i) for i in range(1, 5)), *((2026, i) for i in range(1, 4))]
    ]  # fmt: skip


def test_no_public_edition_prints_a_count_from_1_to_7(editions) -> None:
    for (clinic, quarter), (csv, _, _) in editions.items():
        table = pd.read_csv(__import__("io").BytesIO(csv), encoding="utf-8-sig")
        counts = table.loc[table["measure"] != "count", ["events", "ref_events"]].stack()
        assert not counts.between(1, 7).any(), (clinic, quarter)


def test_every_suppressed_small_count_keeps_seven_values_against_all_publications(editions) -> None:
    """Everything ever published at once: all twelve all-clinic editions and C04's three.
    Every suppressed count whose true value is 1..7 keeps at least 7 possible values."""
    seen, truth = Publication(), Publication()
    for (clinic, quarter), (csv, raw, _) in editions.items():
        seen.add(csv, f"{clinic or 'all'} {quarter}")
        truth.add(raw, f"{clinic or 'all'} {quarter}")
    small = sorted(k for k in seen.hidden if 1 <= truth.known[k] <= 7)
    assert len(small) >= 20  # pneumothorax, forgotten needles, small clinics' months...
    ranges = seen.ranges(small)
    narrow = {k: r for k, r in ranges.items() if r[1] - r[0] + 1 < 7}
    assert narrow == {}, {seen.where[k]: r for k, r in narrow.items()}
    for key, (low, high) in ranges.items():
        assert low <= truth.known[key] <= high, key


@pytest.mark.parametrize("quarter", ["2024Q1", "2025Q2", "2026Q3"])
def test_one_report_alone_survives_too(editions, quarter) -> None:
    """The attack a single report's reader can make (the issue's 2026Q3 demo failure:
    headline minus the printed categories gave the two hidden ones as exactly 1 each)."""
    csv, raw, _ = editions[None, quarter]
    seen, truth = Publication(), Publication()
    seen.add(csv, quarter)
    truth.add(raw, quarter)
    small = sorted(k for k in seen.hidden if 1 <= truth.known[k] <= 7)
    for key, (low, high) in seen.ranges(small).items():
        assert high - low + 1 >= 7, (seen.where[key], low, high)


def test_the_report_states_the_rule_what_was_hidden_and_the_attack(editions) -> None:
    """Every suppressed row is named in the report's own words; primary and secondary
    cells are printed alike (marking them apart would narrow what a reader can work
    out), and the attacker test's result is printed."""
    report = editions[None, "2025Q2"][2]
    text = dict(report.disclosure)
    hidden = [
        f"{s.title}: {str(level).replace('_', ' ')}"
        for s in report.sections
        for level, h in zip(s.frame["level"], s.frame["suppressed"], strict=True)
        if h and s.key != "ratios"
    ]
    assert hidden and all(h in text["Suppressed cells"] for h in hidden)
    assert "primary" not in text["Suppressed cells"] and "secondary" not in text["Suppressed cells"]
    assert text["Attacker test"].startswith(
        "An attacker's integer programme over every number printed by this report, the "
        "public editions of the 6 earlier quarters, with all their sums, leaves every small "
        "suppressed count at least "
    )
    assert text["Attacker test"].endswith("the rule needs at least 7.")
    methods = dict(report.methods)["Suppression (public edition)"]
    assert "Counts from 1 to 7 are not printed" in methods


# OpenSAFELY's rule, ehrql measures/disclosure_control.py apply_sdc(): counts <= 7 become
# 0 (NeedleWatch hides them instead), then int(5 * round(value / 5)).
OPENSAFELY = {8: 10, 12: 10, 13: 15, 22: 20, 23: 25, 1657: 1655, 1448: 1450, 0: 0}


@pytest.mark.parametrize(("value", "expected"), sorted(OPENSAFELY.items()))
def test_rounding_follows_opensafely(value, expected) -> None:
    """Source: opensafely-core/ehrql, ehrql/measures/disclosure_control.py, apply_sdc."""
    assert round_count(value, 5) == expected


def test_rounded_edition_prints_multiples_of_five_and_rates_from_them(fixture_db) -> None:
    with duckdb.connect(str(fixture_db), read_only=True) as con:
        exact = build_report(con, ReportRequest("2025Q2", edition="public"))
        rounded = build_report(con, ReportRequest("2025Q2", edition="public", rounding=5))
    a, b = exact.long_table(), rounded.long_table()
    assert a["suppressed"].tolist() == b["suppressed"].tolist()  # the same cells hidden
    counted = b["events"].notna() & (b["measure"] != "count")
    assert (b.loc[counted, "events"] % 5 == 0).all()
    assert (b.loc[counted, "events"] - a.loc[counted, "events"]).abs().max() <= 2
    rates = b[counted & (b["measure"] == "rate per 1,000 treatments") & (b["section"] != "units")]
    assert rates["value"].tolist() == pytest.approx(
        (rates["events"] / rates["treatments"] * 1000).tolist(), rel=1e-12
    )
    ratios = b[b["section"] == "ratios"]
    assert ratios["value"].isna().all()  # not shown: they would need unrounded strata
    trend = b[b["section"] == "trend"]
    assert trend["expected"].iloc[0] == pytest.approx(
        trend["events"].sum() / trend["treatments"].sum() * 1000, rel=1e-12
    )  # the centre line from the rounded months, not the exact total
    assert dict(rounded.disclosure)["Rounding"].startswith(
        "Every event count printed is rounded to the nearest 5 after suppression"
    )


def test_the_attacker_finds_the_leak_when_only_small_counts_are_hidden(editions) -> None:
    """Without secondary suppression (every hidden count above 7 printed again, as the
    first round's report did) the attacker pins or narrows small counts: it has teeth."""
    import io

    csv, raw, _ = editions[None, "2026Q3"]
    public = pd.read_csv(io.BytesIO(csv), encoding="utf-8-sig")
    truth = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig")
    big = public["suppressed"] & (truth["events"] > 7)
    assert big.any()
    public.loc[big, "events"] = truth.loc[big, "events"]
    public.loc[big, "suppressed"] = False
    leaky = public.to_csv(index=False).encode("utf-8-sig")
    seen, known = Publication(), Publication()
    seen.add(leaky, "2026Q3 without secondary suppression")
    known.add(raw, "2026Q3")
    small = sorted(k for k in seen.hidden if 1 <= known.known[k] <= 7)
    ranges = seen.ranges(small)
    assert any(high - low + 1 < 7 for low, high in ranges.values()), ranges
