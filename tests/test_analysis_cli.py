"""`needlewatch compare`, `model`, `signals` and `rates --spread` on the fixture database.

The statistics themselves are tested against published references in test_stats_*; here
the commands must give exactly what those functions give on the counts `needlewatch
rates` prints, and find what the demo generator planted (ingest/demo.py: S2, the rise
at clinic C04 in 2025Q2; S3, ultrasound looking harmful until region is allowed for).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from dashboard.stats.funnel import funnel
from dashboard.stats.ratios import exact_rate_ratio, mantel_haenszel_rate_ratio
from needlewatch.cli import main


def run_json(capsys, *argv: str, notes: int = 0) -> object:
    """The command's JSON; ``notes``: how many "note:" lines (a method overridden) stderr
    must carry, and nothing else."""
    status = main([*map(str, argv), "--format", "json"])
    out, err = capsys.readouterr()
    assert status == 0
    lines = err.splitlines()
    assert len(lines) == notes and all(line.startswith("note: ") for line in lines), err
    return json.loads(out)


def rates(capsys, db, *argv: str) -> pd.DataFrame:
    return pd.DataFrame(run_json(capsys, "rates", "--db", db, *argv))


def test_compare_crude_row_is_the_exact_ratio_of_the_rates_counts(fixture_db, capsys) -> None:
    counts = rates(capsys, fixture_db, "--by", "ultrasound").set_index("ultrasound")
    rows = run_json(
        capsys, "compare", "--db", fixture_db, "--factor", "ultrasound", "--intervals", "exact",
        notes=1,
    )  # fmt: skip
    expected = exact_rate_ratio(
        int(counts.loc["yes", "events"]),
        int(counts.loc["yes", "treatments"]),
        int(counts.loc["no", "events"]),
        int(counts.loc["no", "treatments"]),
    )
    assert len(rows) == 1
    row = rows[0]
    assert (row["analysis"], row["level"], row["reference"]) == ("crude", "yes", "no")
    assert (row["events"], row["treatments"], row["ref_events"], row["ref_treatments"]) == (
        817,
        3330,
        5544,
        26670,
    )
    assert (row["rate_ratio"], row["ci_low"], row["ci_high"]) == pytest.approx(
        (expected.ratio, expected.low, expected.high), rel=1e-12
    )
    assert row["method"] == expected.method + "; does not allow for overdispersion (chosen here)"


def test_compare_by_default_clusters_by_practitioner_when_overdispersed(fixture_db, capsys) -> None:
    """The default (--intervals auto, as the dashboard and reports): practitioners differ
    more than chance on the fixture (chi2/df 10.89 for the crude model), so each ratio is
    the Poisson regression on practitioner cells with clustered errors, the estimator of
    `needlewatch model`. The crude ratio is the same number as the exact one (a model with
    the factor alone reproduces the rates), its interval wider."""
    from dashboard.stats.regression import fit_rate_model

    rows = run_json(
        capsys, "compare", "--db", fixture_db, "--factor", "ultrasound", "--adjust", "body_region"
    )
    crude, adjusted = rows
    cells = rates(
        capsys, fixture_db, "--by", "ultrasound,body_region,practitioner", "--practitioner-ids"
    )
    expected = {
        factors: fit_rate_model(cells, factors, {"ultrasound": "no"}, cluster="practitioner",
                                method="cluster").table.set_index(["term", "level"]).loc[("ultrasound", "yes")]
        for factors in (("ultrasound",), ("ultrasound", "body_region"))
    }  # fmt: skip
    for row, factors in ((crude, ("ultrasound",)), (adjusted, ("ultrasound", "body_region"))):
        e = expected[factors]
        assert (row["rate_ratio"], row["ci_low"], row["ci_high"], row["p_value"]) == pytest.approx(
            (e["irr"], e["ci_low"], e["ci_high"], e["p_value"]), rel=1e-9
        )
    assert crude["rate_ratio"] == pytest.approx(817 / 3330 / (5544 / 26670), rel=1e-9)
    assert (round(crude["ci_low"], 3), round(crude["ci_high"], 3)) == (1.017, 1.370)
    assert adjusted["analysis"] == "adjusted for body_region (Poisson regression)"
    assert (round(adjusted["rate_ratio"], 3), round(adjusted["ci_low"], 3)) == (0.938, 0.798)
    assert crude["method"].startswith(
        "Poisson regression on practitioner cells: Poisson GLM, log(treatments) offset; "
        "overdispersed (Pearson chi2/df = 10.89, p < 0.001); standard errors clustered by "
        "practitioner (96 clusters"
    )


def test_compare_adjusted_for_region_reverses_the_crude_ultrasound_ratio(
    fixture_db, capsys
) -> None:
    """Planted Simpson's paradox (S3): crude > 1, Mantel-Haenszel by region < 1."""
    rows = run_json(
        capsys, "compare", "--db", fixture_db, "--factor", "ultrasound", "--adjust", "body_region",
        "--intervals", "exact", notes=1,
    )  # fmt: skip
    crude, adjusted = rows
    assert adjusted["analysis"] == "adjusted for body_region (Mantel-Haenszel)"
    counts = rates(capsys, fixture_db, "--by", "body_region,ultrasound")
    wide = counts.pivot(index="body_region", columns="ultrasound", values=["events", "treatments"])
    strata = pd.DataFrame(
        {
            "stratum": wide.index,
            "events": wide[("events", "yes")].fillna(0).astype(int).to_numpy(),
            "exposure": wide[("treatments", "yes")].fillna(0).to_numpy(),
            "ref_events": wide[("events", "no")].fillna(0).astype(int).to_numpy(),
            "ref_exposure": wide[("treatments", "no")].fillna(0).to_numpy(),
        }
    )
    mh = mantel_haenszel_rate_ratio(strata)
    assert (adjusted["rate_ratio"], adjusted["ci_low"], adjusted["ci_high"]) == pytest.approx(
        (mh.ratio, mh.low, mh.high), rel=1e-12
    )
    assert (adjusted["strata_used"], adjusted["strata_dropped"]) == (
        mh.strata_used,
        mh.strata_dropped,
    )
    assert round(crude["rate_ratio"], 3) == 1.180
    assert round(adjusted["rate_ratio"], 3) == 0.938


def test_compare_with_a_chosen_reference_and_a_category(fixture_db, capsys) -> None:
    rows = run_json(
        capsys,
        "compare",
        "--db",
        fixture_db,
        "--factor",
        "training_band",
        "--reference",
        "0-20",
        "--category",
        "bruising",
    )
    assert [r["level"] for r in rows] == ["21-60", "61-100", "101-200", ">200"]
    assert {r["reference"] for r in rows} == {"0-20"}
    counts = rates(capsys, fixture_db, "--by", "training_band", "--category", "bruising")
    assert [r["events"] for r in rows] == counts["events"].tolist()[1:]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ("--factor", "ultrasound", "--reference", "maybe"),
            "needlewatch: reference level 'maybe' is not a level of ultrasound here; "
            "use one of no, yes\n",
        ),
        (
            ("--factor", "ultrasound", "--from", "2030-01-01"),
            "needlewatch: no treatments match these filters; widen the period or check the "
            "clinic ids (needlewatch rates --by clinic lists them)\n",
        ),
        (
            ("--factor", "ultrasound", "--category", "hiccups"),
            "needlewatch: unknown category 'hiccups'; use one of ",
        ),
    ],
)
def test_compare_bad_requests_get_one_line_messages(fixture_db, capsys, argv, message) -> None:
    status = main(["compare", "--db", str(fixture_db), *argv])
    out, err = capsys.readouterr()
    assert (status, out) == (2, "")
    assert err.startswith(message)
    assert err.count("\n") == 1


def test_model_reports_rate_ratios_dispersion_and_method(fixture_db, capsys) -> None:
    result = run_json(capsys, "model", "--db", fixture_db)
    assert result["method"] == (
        "Poisson GLM, log(treatments) offset; overdispersed (Pearson chi2/df = 1.57, "
        "p < 0.001); standard errors clustered by practitioner (96 clusters, G/(G-1) correction)"
    )
    assert result["overdispersion"]["overdispersed"] is True
    assert result["overdispersion"]["df"] == 1832
    table = pd.DataFrame(result["rate_ratios"])
    assert table["term"].unique().tolist() == [
        "training_band",
        "experience_band",
        "ultrasound",
        "body_region",
    ]
    us = table[(table["term"] == "ultrasound") & (table["level"] == "yes")].iloc[0]
    assert (us["reference"], us["events"], us["treatments"]) == ("no", 817, 3330)
    assert (round(us["irr"], 3), round(us["ci_low"], 3), round(us["ci_high"], 3)) == (
        0.906,
        0.774,
        1.060,
    )
    per_level = table.groupby("term")[["events", "treatments"]].sum()
    assert per_level["events"].unique().tolist() == [6361]  # every term covers every event
    assert per_level["treatments"].unique().tolist() == [30000]


def test_model_table_format_ends_with_method_and_check(fixture_db, capsys) -> None:
    status = main(["model", "--db", str(fixture_db), "--severity", "significant"])
    out, _ = capsys.readouterr()
    assert status == 0
    lines = out.splitlines()
    assert lines[-3].startswith("method: Poisson GLM, log(treatments) offset;")
    assert lines[-2].startswith("overdispersion check: Pearson chi2 goodness of fit")
    assert lines[-1] == (
        "reference levels: training_band 21-60, experience_band 2-4, ultrasound no, "
        "body_region upper_trapezius"
    )


def test_signals_find_the_planted_rise_and_list_funnel_outliers(fixture_db, capsys) -> None:
    """By quarter over all dates: the planted C04 2025Q2 rise (S2), a pain-during run in
    2026, and C09 (S1, x1.8) above the 95% funnel limit once the limits allow for the
    clinics' spread (additive random effects, the default everywhere)."""
    rows = pd.DataFrame(run_json(capsys, "signals", "--db", fixture_db, "--by", "quarter"))
    assert rows.columns.tolist() == [
        "kind", "series", "unit", "period", "value", "expected", "limit", "rule",
    ]  # fmt: skip
    trends = rows[rows["kind"] == "trend"]
    assert trends[["series", "unit", "period", "rule"]].values.tolist() == [
        ["pain during needling events", "all", "2026Q1 to 2026Q2", "2 of 3 beyond 2-sigma"],
        ["adverse events", "C04", "2025Q2", "beyond 3-sigma limit"],
    ]
    clinic = rates(capsys, fixture_db, "--by", "clinic")
    expected = funnel(
        clinic["clinic"].tolist(), clinic["events"], clinic["treatments"], overdispersion="additive"
    )
    outside = expected.units[expected.units["outside"] != ""]
    funnels = rows[rows["kind"] == "funnel"]
    assert funnels["unit"].tolist() == outside["unit"].tolist() == ["C09"]
    assert funnels["rule"].tolist() == [f"{o} limit" for o in outside["outside"]]
    assert funnels["value"].to_numpy() == pytest.approx(outside["rate"].to_numpy(), rel=1e-12)
    assert funnels["limit"].to_numpy() == pytest.approx(outside["hi95"].to_numpy(), rel=1e-12)
    assert set(funnels["expected"].round(3)) == {212.033}
    assert set(funnels["period"]) == {"all dates"}


def test_signals_in_the_planted_quarter_allow_for_the_spread_between_clinics(
    fixture_db, capsys
) -> None:
    """2025Q2, monthly over the 24 months to June 2025: C04's April and fainting in June
    signal. Exact Poisson limits (--overdispersion none) flag nine of fourteen clinics, C04
    and C09 (the planted ones) among those above 99.8%; allowing for the clinics' spread
    (the default) leaves only C03, far below."""
    rows = run_json(capsys, "signals", "--db", fixture_db, "--quarter", "2025Q2")
    assert [(r["kind"], r["series"], r["unit"], r["period"]) for r in rows] == [
        ("trend", "fainting events", "all", "2025-06"),
        ("trend", "adverse events", "C04", "2025-04"),
        ("funnel", "adverse events", "C03", "2025-04-01 to 2025-06-30"),
    ]
    exact = run_json(
        capsys, "signals", "--db", fixture_db, "--quarter", "2025Q2", "--overdispersion", "none",
        notes=1,
    )  # fmt: skip
    high = [r["unit"] for r in exact if r["kind"] == "funnel" and r["rule"] == "above 99.8% limit"]
    assert high == ["C04", "C09"]
    assert len([r for r in exact if r["kind"] == "funnel"]) == 9


def test_signals_quiet_table_says_so(fixture_db, capsys) -> None:
    status = main(["signals", "--db", str(fixture_db), "--severity", "serious", "--by", "quarter"])
    out, _ = capsys.readouterr()
    assert (status, out) == (0, "no signals: every point within its limits, no funnel outlier\n")


def test_rates_spread_shows_pooled_next_to_per_practitioner_rates(fixture_db, capsys) -> None:
    spread = rates(capsys, fixture_db, "--spread", "--by", "ultrasound").set_index("ultrasound")
    overall = rates(capsys, fixture_db, "--by", "ultrasound").set_index("ultrasound")
    per_pr = rates(capsys, fixture_db, "--by", "ultrasound,practitioner")
    for level in ("no", "yes"):
        mine = per_pr[per_pr["ultrasound"] == level]["rate_per_1000"].to_numpy()
        row = spread.loc[level]
        assert row["pooled_per_1000"] == pytest.approx(overall.loc[level, "rate_per_1000"])
        assert row["practitioners"] == len(mine)
        assert row["practitioner_mean_per_1000"] == pytest.approx(mine.mean(), rel=1e-12)
        assert row["practitioner_median_per_1000"] == pytest.approx(np.median(mine), rel=1e-12)
    assert round(spread.loc["no", "pooled_per_1000"], 3) == 207.874
    assert round(spread.loc["no", "practitioner_mean_per_1000"], 3) == 212.446


def test_serious_event_gchart_counts_treatments_between_events(base_db, tmp_path) -> None:
    """base data: T1..T5 in date order; serious events on T1 (pneumothorax), T3, T4 (two)
    and T5, so the gaps of event-free treatments are 0, 1, 0, 0 (same treatment), 0."""
    import duckdb

    from dashboard.analysis.signals import serious_gchart
    from dashboard.store.filters import Filters
    from ingest.api import IngestOptions, ingest_files

    from .conftest import TODAY

    events = tmp_path / "serious.csv"
    events.write_text(
        "event_id,treatment_id,event_type,severity,hospitalised\n"
        "S1,T3,fainting,serious,\nS2,T4,bleeding,mild,yes\nS3,T4,nerve injury,serious,\n"
        "S4,T5,infection,serious,\n"
    )
    ingest_files(base_db, [events], IngestOptions(today=TODAY))
    with duckdb.connect(str(base_db), read_only=True) as con:
        chart = serious_gchart(con, Filters())
        assert chart.points["gap"].tolist() == [0, 1, 0, 0, 0]
        assert chart.points["label"].tolist() == [
            "2025-03-01",
            "2025-04-10",
            "2025-05-20",
            "2025-05-20",
            "2025-06-30",
        ]
        assert chart.centre == pytest.approx(0.2)
        assert serious_gchart(con, Filters(clinics=("C02",))) is None  # fewer than 2 gaps


def test_rates_affected_share_with_both_binomial_intervals(fixture_db, capsys) -> None:
    from dashboard.stats.proportions import clopper_pearson, wilson

    rows = rates(capsys, fixture_db, "--affected", "--by", "category", "--category", "fainting")
    assert rows.columns.tolist() == [
        "category",
        "treatments",
        "treatments_affected",
        "affected_percent",
        "cp_low_percent",
        "cp_high_percent",
        "wilson_low_percent",
        "wilson_high_percent",
    ]
    row = rows.iloc[0]
    plain = rates(capsys, fixture_db, "--by", "category", "--category", "fainting").iloc[0]
    k, n = int(plain["treatments_affected"]), int(plain["treatments"])
    assert (row["treatments_affected"], row["treatments"]) == (k, n)
    cp, ws = clopper_pearson(k, n), wilson(k, n)
    assert [row["cp_low_percent"], row["cp_high_percent"]] == pytest.approx(
        [100 * cp.low, 100 * cp.high], rel=1e-12
    )
    assert [row["wilson_low_percent"], row["wilson_high_percent"]] == pytest.approx(
        [100 * ws.low, 100 * ws.high], rel=1e-12
    )
    overall = rates(capsys, fixture_db, "--affected").iloc[0]
    assert round(overall["affected_percent"], 2) == 19.18  # Brady 2014's 19.18%, by design


def test_signals_with_a_fixed_baseline_and_a_rebase(fixture_db, capsys) -> None:
    """C04 by quarter with limits fixed on 2023Q4-2024Q4: the centre line is those five
    quarters' events over their treatments (from `rates`), the 2025Q2 rise is judged
    against it, and the dizziness rise of 2025Q1-Q2 shows; a rebase at 2025Q1 gives the
    new quarters limits of their own, and the rise is no longer special cause."""
    args = ("--quarter", "2025Q2", "--clinic", "C04", "--by", "quarter")
    fixed = pd.DataFrame(
        run_json(capsys, "signals", "--db", fixture_db, *args, "--baseline", "2023Q4:2024Q4",
                 notes=1)
    )  # fmt: skip
    assert fixed[["series", "period"]].values.tolist() == [
        ["adverse events", "2025Q2"],
        ["bruising events", "2025Q2"],
        ["dizziness events", "2025Q1 to 2025Q2"],
        ["mild adverse events", "2025Q2"],
        ["adverse events with no severity given", "2025Q2"],
    ]
    base = rates(capsys, fixture_db, "--by", "quarter", "--clinic", "C04", "--from",
                 "2023-10-01", "--to", "2024-12-31")  # fmt: skip
    assert fixed["expected"][0] == pytest.approx(
        base["events"].sum() / base["treatments"].sum() * 1000, rel=1e-12
    )
    rebased = run_json(
        capsys, "signals", "--db", fixture_db, *args, "--baseline", "2023Q4:2024Q4",
        "--rebase", "2025Q1", notes=2,
    )  # fmt: skip
    assert rebased == []
