"""Counts shared within a page equal fresh queries, table for table.

``dashboard.cache`` runs each page's data function inside ``counts.shared_counts()``,
where ``rate_counts`` answers from counts it already fetched (finer dimensions, a wider
span of days, events split by category and severity). Every answer must be the frame a
fresh query returns: same rows, order, values and dtypes. The faster formulations for
large filtered sets (events counted per treatment first) and the counted g-chart
positions are checked against their direct SQL the same way, as is the bisection behind
exact rate-ratio p-values.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

from dashboard import count_scan, counts, queries
from dashboard.filters import TREATMENT_WHERE, Filters, parse_quarter
from dashboard.stats import ratios

Q2, Q1 = parse_quarter("2025Q2"), parse_quarter("2025Q1")
MODEL = ("training_band", "experience_band", "ultrasound", "body_region", "practitioner")

#: Request sequences as pages make them: (dims, filters) in order.
PAGES = {
    "overview": [
        ((), Filters(*Q1)),
        ((), Filters(*Q1, severity="serious")),
        ((), Filters(*Q2)),
        ((), Filters(*Q2, severity="serious")),
        (("month",), Filters(*Q2)),
    ],
    "incidence": [(("category",), Filters(*Q2)), (("severity",), Filters(*Q2))],
    "training": [
        (MODEL, Filters(*Q2, category="bruising")),
        (("training_band",), Filters(*Q2, category="bruising")),
        (("body_region", "ultrasound"), Filters(*Q2, category="bruising")),
        (("experience_band", "body_region"), Filters(*Q2, category="bruising")),
    ],
    "trends": [
        (("clinic", "quarter"), Filters()),
        (("quarter",), Filters()),
        (("year",), Filters()),
    ],
    "mixed": [
        ((), Filters(clinics=("C04",), date_from=date(2025, 3, 17), date_to=date(2025, 5, 2))),
        (
            ("month",),
            Filters(clinics=("C04",), date_from=date(2025, 4, 1), date_to=date(2025, 4, 30)),
        ),
        (("year", "severity"), Filters(clinics=("C04",), date_from=date(2025, 3, 17))),
        ((), Filters(clinics=("C04",), category="fainting", severity="significant")),
        (("category", "severity"), Filters(techniques=("static",))),
        (("quarter", "category"), Filters(techniques=("static",), severity="mild")),
        ((), Filters(date_from=date(2030, 1, 1))),
        (("clinic", "category"), Filters(date_from=date(2030, 1, 1))),
    ],
}


def fresh(con, dims, filters, per="treatments") -> pd.DataFrame:
    return counts.rate_counts(con, dims, filters, per)


@pytest.mark.parametrize("page", sorted(PAGES))
@pytest.mark.parametrize("per", ["treatments", "insertions"])
def test_shared_answers_equal_fresh_queries(fixture_con, page: str, per: str) -> None:
    expected = [fresh(fixture_con, dims, f, per) for dims, f in PAGES[page]]
    with counts.shared_counts():
        shared = [counts.rate_counts(fixture_con, dims, f, per) for dims, f in PAGES[page]]
    for want, got in zip(expected, shared, strict=True):
        pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_every_period_inside_a_shared_span_is_exact(fixture_con) -> None:
    """Totals fetched for one quarter cover the next one by day: any sub-period sums."""
    spans = [Q1, Q2, (Q2[0] + timedelta(days=9), Q2[1] - timedelta(days=20))]
    spans += [(Q2[0], Q2[0]), (date(2025, 3, 31), date(2025, 4, 1))]
    with counts.shared_counts():
        counts.rate_counts(fixture_con, (), Filters(*Q1))
        for start, end in spans:
            for dims in [(), ("month",), ("quarter",), ("category",), ("severity",)]:
                f = Filters(date_from=start, date_to=end)
                got = counts.rate_counts(fixture_con, dims, f)
                pd.testing.assert_frame_equal(got, fresh(fixture_con, dims, f), check_exact=True)


@pytest.mark.parametrize(("share_up_to", "per_treatment_above"), [(0, 0), (0, 10**9), (10**9, 0)])
def test_formulations_for_large_sets_give_the_same_counts(
    fixture_con, monkeypatch, share_up_to: int, per_treatment_above: int
) -> None:
    """The thresholds only choose how events are counted, never what is counted."""
    cases = [(dims, f) for sequence in PAGES.values() for dims, f in sequence]
    expected = [fresh(fixture_con, dims, f) for dims, f in cases]
    monkeypatch.setattr(count_scan, "SHARED_EVENT_SETS_UP_TO", share_up_to)
    monkeypatch.setattr(count_scan, "EVENTS_PER_TREATMENT_FIRST_ABOVE", per_treatment_above)
    with counts.shared_counts():
        shared = [counts.rate_counts(fixture_con, dims, f) for dims, f in cases]
    direct = [fresh(fixture_con, dims, f) for dims, f in cases]
    for want, got_shared, got_direct in zip(expected, shared, direct, strict=True):
        pd.testing.assert_frame_equal(got_shared, want, check_exact=True)
        pd.testing.assert_frame_equal(got_direct, want, check_exact=True)


@pytest.mark.parametrize(
    "filters",
    [Filters(), Filters(*Q2), Filters(clinics=("C04", "C09")), Filters(category="fainting")],
)
@pytest.mark.parametrize("severity", ["serious", "significant"])
def test_counted_positions_equal_row_numbers(fixture_con, filters: Filters, severity) -> None:
    """Positions counted from daily totals equal numbering every treatment in order."""
    sql = f"""
        WITH tf AS (
            SELECT t.treatment_id, t.treatment_date,
                   row_number() OVER (ORDER BY t.treatment_date, t.treatment_id) AS position
            FROM treatments t JOIN practitioners p USING (practitioner_id)
            WHERE {" AND ".join(TREATMENT_WHERE)}
        ),
        ev AS (
            SELECT treatment_id, count(*) AS events FROM adverse_events
            WHERE severity = $severity AND ($category IS NULL OR category = $category)
            GROUP BY treatment_id
        )
        SELECT tf.treatment_date AS event_date, tf.position, ev.events,
               (SELECT count(*) FROM tf) AS total
        FROM tf JOIN ev USING (treatment_id) ORDER BY tf.position
    """
    params = {**filters.treatment_params(), "severity": severity, "category": filters.category}
    expected = fixture_con.execute(sql, params).df()
    got = queries.serious_event_positions(fixture_con, filters, severity)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def _p_every_term(x: int, n: int, p: float) -> float:
    """R's binom.test p-value, summing over every term (the definition)."""
    d = float(binom.pmf(x, n, p))
    m = n * p
    if x == m:
        return 1.0
    if x < m:
        i = np.arange(int(np.ceil(m)), n + 1)
        y = int(np.sum(binom.pmf(i, n, p) <= d * ratios.R_RELATIVE_TOLERANCE))
        return min(1.0, float(binom.cdf(x, n, p) + binom.sf(n - y, n, p)))
    i = np.arange(0, int(np.floor(m)) + 1)
    y = int(np.sum(binom.pmf(i, n, p) <= d * ratios.R_RELATIVE_TOLERANCE))
    return min(1.0, float(binom.cdf(y - 1, n, p) + binom.sf(x - 1, n, p)))


def test_bisected_p_value_equals_summing_every_term() -> None:
    rng = random.Random(20261128)
    cases = [(3, 2_000_000, 0.5), (999_000, 2_000_000, 0.5), (1_000_001, 2_000_000, 0.5)]
    cases += [(70, 200_000, 0.0003), (52_938, 140_000, 0.4)]
    for _ in range(60):
        n = rng.randint(ratios.VECTOR_TAIL, 300_000)
        cases.append((rng.randint(0, n), n, rng.random()))
    for x, n, p in cases:
        assert ratios._binom_two_sided_p(x, n, p) == _p_every_term(x, n, p), (x, n, p)


def test_shared_counts_do_not_leak_between_scopes(fixture_con) -> None:
    with counts.shared_counts():
        counts.rate_counts(fixture_con, (), Filters(*Q2))
    assert counts._SHARED.get() is None
    got = counts.rate_counts(fixture_con, ("month",), replace(Filters(*Q2), clinics=("C04",)))
    want = fresh(fixture_con, ("month",), replace(Filters(*Q2), clinics=("C04",)))
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_the_overview_scans_the_join_three_times(fixture_con, monkeypatch) -> None:
    """The Overview of a quarter (headline against the previous quarter and the four
    quarters, the trend window's u-charts, three region-adjusted comparisons) scans the
    treatment-event join three times on the fixture: once by day over the four quarters
    (serious events are a slice of it at this size), once by clinic and month over the
    24 months, once for the practitioner x factor x region cells of the comparisons. The
    statements are those of fresh queries."""
    from dashboard import views

    calls: list[tuple[str, ...]] = []
    real = counts.fetch

    def counted(con, key, filters, per, grain, edims, share):
        calls.append(grain)
        return real(con, key, filters, per, grain, edims, share)

    monkeypatch.setattr(counts, "fetch", counted)
    with counts.shared_counts():
        shared = views.overview(fixture_con, Filters(*Q2))
    assert calls == [("day",), ("clinic", "month"), views.FACTOR_CELLS]
    fresh_view = views.overview(fixture_con, Filters(*Q2))
    assert [s.text for s in shared.statements] == [s.text for s in fresh_view.statements]
