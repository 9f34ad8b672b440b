"""Every dashboard page shows exactly the numbers of the command line for the same filters.

Each page runs in-process (AppTest) on the fixture database; its chart data (the Plotly
JSON Streamlit receives) and tables are compared with `needlewatch rates`, `compare`,
`model`, `signals`, `rejects` and `terms` run on the same database with the same filters.
"""

from __future__ import annotations

import json
import re

import pytest

from needlewatch.cli import main

from .test_app import run_page

Q = "2025Q2"


@pytest.fixture(autouse=True)
def _db(fixture_db, monkeypatch) -> None:
    monkeypatch.setenv("NEEDLEWATCH_DB", str(fixture_db))


@pytest.fixture()
def cli(capsys):
    """Run a needlewatch command with --format json and return the parsed output."""

    def run(*args: str):
        assert main([*args, "--format", "json"]) == 0
        return json.loads(capsys.readouterr().out)

    return run


def figures(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def bars(figure: dict) -> dict[str, tuple[float, float, float]]:
    """{x label: (rate, low, high)} from a rate_bars figure (one trace, error bars)."""
    out = {}
    for trace in figure["data"]:
        err = trace["error_y"]
        for x, y, up, down in zip(
            trace["x"], trace["y"], err["array"], err["arrayminus"], strict=True
        ):
            out[x] = (y, y - down, y + up)
    return out


def dots(figure: dict) -> dict[str, tuple[float, float, float]]:
    """{y code: (rate, low, high)} from a rate_dots figure: points with whiskers, and
    zero-event rows as a marker at the upper bound."""
    out = {}
    for trace in figure["data"]:
        if trace.get("mode") != "markers":
            continue
        err = trace.get("error_x")
        for i, (x, y) in enumerate(zip(trace["x"], trace["y"], strict=True)):
            out[y] = (x, x - err["arrayminus"][i], x + err["array"][i]) if err else (0.0, 0.0, x)
    return out


def expected_rates(
    rows: list[dict], dim: str, factor: float = 1.0
) -> dict[str, tuple[float, float, float]]:
    return {
        str(r[dim]): tuple(
            r[c] * factor for c in ("rate_per_1000", "ci_low_per_1000", "ci_high_per_1000")
        )
        for r in rows
    }


def assert_same(shown: dict, expected: dict) -> None:
    assert shown.keys() == expected.keys()
    for key, values in expected.items():
        assert shown[key] == pytest.approx(values, rel=1e-12), key


def test_incidence_page_equals_rates_by_category_and_severity(cli) -> None:
    at = run_page("incidence", {"quarter": Q, "clinic": "C04,C09"})
    assert not at.exception
    by_category, by_severity = figures(at)
    common = ("--quarter", Q, "--clinic", "C04", "--clinic", "C09")
    assert_same(
        dots(by_category), expected_rates(cli("rates", "--by", "category", *common), "category")
    )
    assert_same(
        dots(by_severity), expected_rates(cli("rates", "--by", "severity", *common), "severity")
    )
    assert "per 1,000 treatments" in by_category["layout"]["title"]["text"]
    assert by_category["layout"]["xaxis"]["type"] == "log"
    assert "log scale" in by_category["layout"]["xaxis"]["title"]["text"]
    assert by_severity["layout"]["yaxis"]["ticktext"] == [
        "mild", "significant", "serious", "severity not given",
    ]  # fmt: skip
    names = [b.label for b in at.get("download_button")]
    assert names == [
        "Data behind this chart (CSV): c04-c09-2025Q2-incidence-by-category.csv",
        "Data behind this chart (CSV): c04-c09-2025Q2-incidence-by-severity.csv",
    ]


def test_incidence_page_per_insertions_equals_rates_per_insertions(cli) -> None:
    """Per needle insertions the page shows per 10,000: ten times `rates --per insertions`
    (per 1,000), said on the axis, in the table and in the download's columns."""
    at = run_page("incidence", {"quarter": Q})
    at.radio[0].set_value("insertions").run()
    assert not at.exception
    shown = dots(figures(at)[0])
    expected = expected_rates(
        cli("rates", "--by", "category", "--quarter", Q, "--per", "insertions"), "category", 10
    )
    assert_same(shown, expected)
    assert figures(at)[0]["layout"]["xaxis"]["title"]["text"].startswith(
        "Events per 10,000 needle insertions (log scale"
    )
    table = at.dataframe[0].value
    assert list(table.columns) == [
        "Category", "Needle insertions", "Events", "Per 10,000 needle insertions", "95% CI",
    ]  # fmt: skip
    assert at.query_params["per"] == "insertions"
    names = [b.label for b in at.get("download_button")]
    assert names[0] == (
        "Data behind this chart (CSV): all-clinics-2025Q2-incidence-by-category-per-10000-"
        "insertions.csv"
    )


def test_training_page_equals_rates_compare_and_model(cli) -> None:
    at = run_page("training", {"severity": "mild"})
    at.selectbox(key="training-category").set_value("bruising").run()
    assert not at.exception
    figs = figures(at)
    f = ("--severity", "mild", "--category", "bruising")
    assert_same(
        bars(figs[0]), expected_rates(cli("rates", "--by", "training_band", *f), "training_band")
    )
    assert_same(
        bars(figs[1]),
        expected_rates(cli("rates", "--by", "experience_band", *f), "experience_band"),
    )
    assert_same(bars(figs[2]), expected_rates(cli("rates", "--by", "ultrasound", *f), "ultrasound"))
    compare = cli(
        "compare", "--factor", "ultrasound", "--adjust", "body_region", "--reference", "no", *f
    )
    forest = figs[4]
    points = [t for t in forest["data"] if t.get("mode") != "lines" and t.get("x")]
    plotted = sorted(x for t in points for x in t["x"])
    assert plotted == pytest.approx(sorted(r["rate_ratio"] for r in compare), rel=1e-12)
    model = cli("model", *f)
    table = at.dataframe[0].value
    assert list(table["Rate ratio"].round(9).dropna()) == [
        round(r["irr"], 9) for r in model["rate_ratios"] if r["irr"] is not None
    ]
    assert any(model["method"] in c.value for c in at.main.caption)
    assert list(table.columns) == [
        "Factor", "Level", "Compared with", "Rate ratio", "95% CI", "p", "Events",
        "Treatments", "Note",
    ]  # fmt: skip
    refs = table[table["Level"] == table["Compared with"]]
    assert len(refs) == 4 and set(refs["95% CI"]) == {"reference"} == set(refs["p"])
    assert set(refs["Rate ratio"]) == {1.0} and set(refs["Note"]) == {""}
    expected_p = [
        "reference" if r["level"] == r["reference"]
        else "<0.001" if r["p_value"] < 0.001 else f"{r['p_value']:.3f}"
        for r in model["rate_ratios"]
    ]  # fmt: skip
    assert table["p"].tolist() == expected_p
    assert all(re.fullmatch(r"reference|<0\.001|[01]\.\d{3}", p) for p in table["p"])
    assert table["Factor"].tolist()[0] == "Training (hours)"
    assert "upper trapezius" in table["Level"].tolist()
    assert "None" not in table.astype(str).to_numpy()
    names = [
        b.label.removeprefix("Data behind this chart (CSV): ") for b in at.get("download_button")
    ]
    assert names[0] == "all-clinics-all-dates-bruising-mild-rates-by-training-band.csv"


def test_trends_page_equals_rates_by_month_and_signals(cli) -> None:
    """Fainting at every clinic in 2025Q2: the page's u-chart is `rates --by month` over
    the 24 months to June 2025, and its signal sentences are exactly `signals`' rows."""
    at = run_page("trends", {"quarter": Q})
    at.selectbox(key="trends-category").set_value("fainting").run()
    assert not at.exception
    u = figures(at)[0]
    rate = next(t for t in u["data"] if t["name"].startswith("Events per"))
    expected = cli(
        "rates", "--by", "month", "--category", "fainting", "--from", "2023-07-01", "--to",
        "2025-06-30",
    )  # fmt: skip
    assert rate["x"] == [r["month"] for r in expected]
    assert rate["y"] == pytest.approx([r["rate_per_1000"] for r in expected], rel=1e-12)
    signals = cli("signals", "--quarter", Q, "--category", "fainting")
    trend = [(s["series"], s["period"], s["rule"]) for s in signals if s["kind"] == "trend"]
    assert trend == [
        ("fainting events", "2025-06", "beyond 3-sigma limit"),
        ("mild fainting events", "2025-06", "beyond 3-sigma limit"),  # its severity tiers' charts
    ]
    lists = [m.value for m in at.markdown if m.value.startswith("- ")]
    sentences = [line[2:].replace("\\", "") for b in lists for line in b.splitlines()]
    assert len(sentences) == len(trend)  # the chart's signal, then the severity tiers'
    assert sentences[0].startswith("Rise in fainting events overall in Jun 2025: 8.53 per 1,000")
    assert sentences[1].startswith("Rise in mild fainting events overall in Jun 2025: 7.31 per")


def test_trends_page_says_why_a_rare_series_has_no_chart() -> None:
    """Fainting at one clinic is under one event a month: no u-chart (as `signals` and
    the report skip it), and the page says why instead of claiming nothing matches."""
    at = run_page("trends", {"clinic": "C04"})
    at.selectbox(key="trends-category").set_value("fainting").run()
    assert not at.exception
    (info,) = [i.value for i in at.info if i.value.startswith("No u-chart")]
    assert info.startswith("No u-chart for this view: too few fainting events for a u-chart: ")
    assert "rare events are watched on the g-chart" in info


def test_trends_page_shows_a_chosen_quarter_in_its_24_month_context(cli) -> None:
    at = run_page("trends", {"quarter": Q, "clinic": "C04"})
    assert not at.exception
    rate = next(t for t in figures(at)[0]["data"] if t["name"].startswith("Events per"))
    expected = cli(
        "rates", "--by", "month", "--clinic", "C04", "--from", "2023-07-01", "--to", "2025-06-30"
    )
    assert rate["x"] == [r["month"] for r in expected] and rate["x"][-1] == "2025-06"
    assert rate["y"] == pytest.approx([r["rate_per_1000"] for r in expected], rel=1e-12)
    bullets = [m.value for m in at.markdown if m.value.startswith("- ")][0].replace("\\", "")
    assert "Rise in adverse events at C04 in Apr 2025" in bullets  # the planted rise


def test_clinics_page_funnel_equals_rates_by_clinic_and_practitioner(cli) -> None:
    at = run_page("clinics", {"quarter": Q})
    assert not at.exception
    expected = {
        r["clinic"]: (r["events"], r["treatments"])
        for r in cli("rates", "--by", "clinic", "--quarter", Q)
    }
    units = funnel_units(figures(at)[0])
    assert {u: (c[1], c[2]) for u, (c, _) in units.items()} == expected
    flagged = cli("signals", "--quarter", Q)
    page = at.dataframe[0].value
    assert list(zip(page["Clinic"], page["Outside"], strict=True)) == [
        (r["unit"], r["rule"].removesuffix(" limit")) for r in flagged if r["kind"] == "funnel"
    ]  # the page flags what `signals` flags, with the same (default) method
    at.selectbox(key="clinics-funnel-limits").set_value(
        "none"
    ).run()  # exact Poisson limits, no overdispersion allowance
    assert not at.exception
    plain = at.dataframe[0].value
    exact = cli("signals", "--quarter", Q, "--overdispersion", "none")
    assert list(plain["Clinic"]) == [r["unit"] for r in exact if r["kind"] == "funnel"]
    assert "C09" in set(plain["Clinic"]) and set(page["Clinic"]) <= set(plain["Clinic"])
    assert any("chosen here" in w.value for w in at.warning)  # the override is said
    labelled = {u for u, (_, text) in funnel_units(figures(at)[0]).items() if text}
    assert labelled == set(plain["Clinic"])  # the chart names exactly the outliers
    at.selectbox(key="clinics-funnel-limits").set_value("additive").run()
    at.radio(key="clinics-compare").set_value("practitioners").run()
    at.selectbox(key="clinics-within").set_value("C04").run()
    assert not at.exception
    rows = cli("rates", "--by", "practitioner", "--quarter", Q, "--clinic", "C04")
    shown = {u: (c[1], c[2]) for u, (c, _) in funnel_units(figures(at)[0]).items()}
    assert shown == {r["practitioner"]: (r["events"], r["treatments"]) for r in rows}
    assert at.get("download_button")[0].label == (
        "Data behind this chart (CSV): c04-2025Q2-funnel-practitioners.csv"
    )


def funnel_units(figure: dict) -> dict[str, tuple[list, str | None]]:
    """{unit: (hover customdata, text label or None)} from a funnel figure."""
    out = {}
    for t in figure["data"]:
        if t.get("mode") not in ("markers", "markers+text") or not t.get("customdata"):
            continue
        texts = t.get("text") or [None] * len(t["customdata"])
        for c, text in zip(t["customdata"], texts, strict=True):
            out[c[0]] = (c, text)
    return out


def test_serious_page_lists_every_significant_and_serious_event(cli) -> None:
    at = run_page("serious", {"quarter": Q})
    assert not at.exception
    listing = at.dataframe[0].value
    counts = {r["severity"]: r["events"] for r in cli("rates", "--by", "severity", "--quarter", Q)}
    assert len(listing) == counts["significant"] + counts["serious"]
    assert set(listing["Severity"]) == {"significant", "serious"} or counts["serious"] == 0
    assert listing["Practitioner"].str.fullmatch(r"P-[0-9A-F]{8}").all()  # keyed codes
    assert list(listing.columns) == [
        "Date", "Clinic", "Practitioner", "Training (hours)", "Body region",
        "Ultrasound guidance", "Technique", "Category", "Severity", "Reported as", "Outcome",
        "Narrative",
    ]  # fmt: skip
    words = " ".join(listing[["Body region", "Technique", "Category"]].to_numpy().ravel())
    assert "_" not in words
    assert set(listing["Ultrasound guidance"]) <= {"ultrasound-guided", "not ultrasound-guided"}
    assert listing["Training (hours)"].str.endswith((" h", "unknown")).all()
    assert at.get("download_button")[0].label == (
        "Download the listing (CSV): all-clinics-2025Q2-serious-events.csv"
    )


def test_quality_page_equals_rejects_and_terms(cli, base_db, monkeypatch) -> None:
    from ingest.api import IngestOptions, ingest_files

    from .conftest import DATA, TODAY

    report = ingest_files(base_db, [DATA / "events_bad_values.csv"], IngestOptions(today=TODAY))
    assert report.rows_rejected > 0
    monkeypatch.setenv("NEEDLEWATCH_DB", str(base_db))
    at = run_page("quality")
    assert not at.exception
    runs, rejects, unmapped, missing = (d.value for d in at.dataframe)
    expected = cli("rejects")
    assert len(rejects) == len(expected) > 0
    assert rejects["Reason"].tolist() == [r["reason"] for r in expected]
    assert rejects["Column"].tolist() == [r["column_name"] for r in expected]  # as in the file
    assert unmapped.to_dict("records") == [
        {"Reported as": t["term"], "Category": "unmapped term", "Events": t["events"]}
        for t in cli("terms")
    ]
    assert len(runs) == 5  # four files in the first batch, one in the second
    assert list(missing.columns) == ["Table", "Column", "Rows", "Blank", "% blank"]
    assert set(missing["Table"]) == {"treatments", "practitioners", "adverse events"}
    assert "Years of dry-needling experience" in set(missing["Column"])
    assert "_" not in "".join(missing["Column"])
    assert list(runs.columns)[:4] == ["Run", "Batch", "File", "Kind"]
