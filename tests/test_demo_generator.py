"""The synthetic demo data: format, determinism, calibration and the planted signals.

Why these checks: the dashboard's demo and several feature tests lean on the demo data
carrying published-looking rates and a few known signals (ingest.demo's docstring lists
them). The 250,000-treatment default is generated once per module (about 2 s).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from ingest.demo import DEMO_END, DEMO_START, generate_demo
from ingest.vocab import BUILTIN_TERMS, CHEST_WALL_REGIONS, normalise_term

HEADERS = {
    "clinics": ["clinic_id", "name", "region", "country"],
    "practitioners": [
        "practitioner_id",
        "clinic_id",
        "profession",
        "dn_training_hours",
        "years_dn_experience",
    ],
    "treatments": [
        "treatment_id",
        "treatment_date",
        "practitioner_id",
        "clinic_id",
        "patient_id",
        "body_region",
        "ultrasound_guided",
        "needle_insertions",
        "technique",
        "retention_minutes",
        "electrical_stimulation",
        "contraindications",
    ],
    "adverse_events": [
        "event_id",
        "treatment_id",
        "event_type",
        "severity",
        "onset",
        "onset_date",
        "outcome",
        "hospitalised",
        "narrative",
    ],
}
#: Reported severity wording -> tier (White 2001 tiers); blank is "unspecified".
TIERS = {
    "mild": "mild",
    "minor": "mild",
    "moderate": "significant",
    "significant": "significant",
    "major": "significant",
    "severe": "significant",
    "serious": "serious",
    "life-threatening": "serious",
    "": "unspecified",
}
UNLISTED = {"altered emotions", "shaking", "sweating", "felt cold", "claustrophobia",
            "emotional release"}  # fmt: skip
MILD_CATEGORIES = [
    "bruising", "bleeding", "pain_during", "soreness", "aggravation", "fainting", "dizziness",
    "drowsiness", "fatigue", "headache", "nausea", "numbness", "skin_irritation",
]  # fmt: skip
SMALL_N = 60_000


def _read(paths: dict[str, Path]) -> dict[str, pd.DataFrame]:
    frames = {k: pd.read_csv(p, dtype=str, keep_default_na=False) for k, p in paths.items()}
    e = frames["adverse_events"]
    e["category"] = [BUILTIN_TERMS.get(normalise_term(x), "unmapped") for x in e["event_type"]]
    e["tier"] = e["severity"].str.strip().str.lower().map(TIERS)
    return frames


def _digest(paths: dict[str, Path]) -> dict[str, str]:
    return {k: hashlib.sha256(p.read_bytes()).hexdigest() for k, p in paths.items()}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return generate_demo(tmp_path_factory.mktemp("small"), n_treatments=SMALL_N)


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    """The default: seed 20261121, 250,000 treatments."""
    return _read(generate_demo(tmp_path_factory.mktemp("full")))


@pytest.fixture(scope="module")
def flagged(full: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Treatments with a 0/1 column per category (at most one event per category)."""
    t = full["treatments"].copy()
    e = full["adverse_events"]
    for cat in ("bruising", "fainting"):
        t[cat] = t["treatment_id"].isin(e.loc[e["category"] == cat, "treatment_id"]).astype(int)
    t["us"] = t["ultrasound_guided"] == "yes"
    return t


def test_same_seed_gives_identical_bytes(small: dict[str, Path], tmp_path: Path) -> None:
    again = generate_demo(tmp_path / "again", n_treatments=SMALL_N)
    assert set(again) == {"clinics", "practitioners", "treatments", "adverse_events"}
    assert _digest(again) == _digest(small)


def test_different_seed_gives_different_files(small: dict[str, Path], tmp_path: Path) -> None:
    other = _digest(generate_demo(tmp_path / "other", seed=7, n_treatments=SMALL_N))
    first = _digest(small)
    # The clinic list is fixed; everything drawn at random differs.
    for kind in ("practitioners", "treatments", "adverse_events"):
        assert other[kind] != first[kind]


def test_headers_and_sizes(small: dict[str, Path]) -> None:
    for kind, path in small.items():
        assert path.name == f"{kind}.csv"
        assert path.read_text(encoding="utf-8").split("\n", 1)[0] == ",".join(HEADERS[kind])
    f = _read(small)
    assert len(f["treatments"]) == SMALL_N
    assert len(f["clinics"]) >= 12
    assert len(f["practitioners"]) >= 80
    assert f["treatments"]["treatment_id"].is_unique
    assert f["adverse_events"]["event_id"].is_unique
    assert f["treatments"]["treatment_id"].iloc[0] == "T0000001"
    assert f["adverse_events"]["event_id"].iloc[0] == "E0000001"


def test_references_and_dates(small: dict[str, Path]) -> None:
    f = _read(small)
    c, p, t, e = (f[k] for k in ("clinics", "practitioners", "treatments", "adverse_events"))
    assert set(p["clinic_id"]) <= set(c["clinic_id"])
    clinic_of = p.set_index("practitioner_id")["clinic_id"]
    assert t["practitioner_id"].isin(clinic_of.index).all()
    assert (t["practitioner_id"].map(clinic_of) == t["clinic_id"]).all()
    assert e["treatment_id"].isin(t["treatment_id"]).all()
    dates = pd.to_datetime(t["treatment_date"], format="%Y-%m-%d")
    assert dates.min() >= pd.Timestamp(DEMO_START)
    assert dates.max() <= pd.Timestamp(DEMO_END)
    assert dates.dt.to_period("Q").nunique() == 12
    # Onset dates: not before the treatment, not after the end + 3 days.
    treated = e["treatment_id"].map(t.set_index("treatment_id")["treatment_date"])
    dated = e["onset_date"] != ""
    onset = pd.to_datetime(e.loc[dated, "onset_date"], format="%Y-%m-%d")
    assert (onset >= pd.to_datetime(treated[dated])).all()
    assert onset.max() <= pd.Timestamp(DEMO_END + timedelta(days=3))
    during = dated & (e["onset"] == "during")
    assert (e.loc[during, "onset_date"] == treated[during]).all()
    # One clinic per patient.
    assert (t.groupby("patient_id")["clinic_id"].nunique() == 1).all()


def test_value_vocabularies(small: dict[str, Path]) -> None:
    f = _read(small)
    p, t, e = f["practitioners"], f["treatments"], f["adverse_events"]
    assert set(p["profession"]) <= {"physiotherapist", "chiropractor", "physician", "osteopath"}
    assert (p["profession"] == "physiotherapist").mean() > 0.6
    hours = p["dn_training_hours"].astype(int)
    bands = pd.cut(hours, [-1, 20, 60, 100, 200, 10_000]).value_counts()
    assert bands.idxmax().right == 60  # 21-60 h is the most common band
    assert 2 <= (p["years_dn_experience"] == "").sum() <= 3
    years = p.loc[p["years_dn_experience"] != "", "years_dn_experience"].astype(float)
    assert years.between(0, 25).all()
    assert t["ultrasound_guided"].isin(["yes", "no"]).all()
    assert 0.08 <= (t["ultrasound_guided"] == "yes").mean() <= 0.16
    assert (t["needle_insertions"].astype(int) >= 1).all()
    assert 7 <= t["needle_insertions"].astype(int).mean() <= 9
    assert set(t["technique"]) == {"in_and_out", "static", "electrical"}
    assert ((t["retention_minutes"] == "") == (t["technique"] == "in_and_out")).all()
    kept = t.loc[t["retention_minutes"] != "", "retention_minutes"].astype(int)
    assert kept.between(10, 30).all()
    assert ((t["electrical_stimulation"] == "yes") == (t["technique"] == "electrical")).all()
    assert 0.01 <= (t["contraindications"] != "").mean() <= 0.08
    assert 8 <= len(t) / t["patient_id"].nunique() <= 10
    # Every event term maps to a category except the deliberate few outside the vocabulary.
    assert set(e.loc[e["category"] == "unmapped", "event_type"]) <= UNLISTED
    assert 0.002 <= (e["category"] == "unmapped").mean() <= 0.01
    assert e["tier"].notna().all()
    assert 0.02 <= (e["tier"] == "unspecified").mean() <= 0.08
    assert ((e["hospitalised"] == "yes") == (e["tier"] == "serious")).all()
    assert e["onset"].isin(["during", "after", ""]).all()
    assert (e.loc[e["category"] == "pain_during", "onset"] != "after").all()
    assert (e.loc[e["category"] == "soreness", "onset"] != "during").all()


def test_calibration(full: dict[str, pd.DataFrame]) -> None:
    n = len(full["treatments"])
    e = full["adverse_events"]
    assert n == 250_000
    assert 0.06 <= (e["category"] == "bruising").sum() / n <= 0.095
    assert 0.045 <= (e["category"] == "bleeding").sum() / n <= 0.075
    assert 0.8 <= (e["tier"] == "significant").sum() / n * 1000 <= 2.0
    serious_other = (e["tier"] == "serious") & (e["category"] != "pneumothorax")
    assert serious_other.sum() / n * 100_000 <= 4
    assert (e.loc[e["tier"] == "serious", "narrative"] != "").all()


def test_pneumothorax(full: dict[str, pd.DataFrame]) -> None:
    e, t = full["adverse_events"], full["treatments"]
    ptx = e[e["category"] == "pneumothorax"].merge(t, on="treatment_id")
    assert 2 <= len(ptx) <= 6
    assert ptx["body_region"].isin(CHEST_WALL_REGIONS).all()
    assert (ptx["severity"] == "serious").all()
    assert (ptx["hospitalised"] == "yes").all()


def test_simpsons_paradox_for_ultrasound_and_bruising(flagged: pd.DataFrame) -> None:
    rate = flagged.groupby("us")["bruising"].mean()
    crude = rate[True] / rate[False]
    s = flagged.groupby(["body_region", "us"])["bruising"].agg(["sum", "count"])
    s = s.unstack("us", fill_value=0)
    total = s["count"].sum(axis=1)
    numerator = (s["sum"][True] * s["count"][False] / total).sum()
    denominator = (s["sum"][False] * s["count"][True] / total).sum()
    mantel_haenszel = numerator / denominator
    assert crude > 1.05
    assert mantel_haenszel < 0.95


def test_planted_rise_at_c04_in_2025q2(flagged: pd.DataFrame) -> None:
    c04 = flagged[flagged["clinic_id"] == "C04"]
    in_quarter = c04["treatment_date"].between("2025-04-01", "2025-06-30")
    ratio = c04.loc[in_quarter, "fainting"].mean() / c04.loc[~in_quarter, "fainting"].mean()
    assert ratio >= 3


def test_c09_runs_hot_on_mild_events(full: dict[str, pd.DataFrame]) -> None:
    t, e = full["treatments"], full["adverse_events"]
    mild = e[e["category"].isin(MILD_CATEGORIES)]
    clinic = mild["treatment_id"].map(t.set_index("treatment_id")["clinic_id"])
    is_c09 = t["clinic_id"] == "C09"
    c09_rate = (clinic == "C09").sum() / is_c09.sum()
    other_rate = (clinic != "C09").sum() / (~is_c09).sum()
    assert c09_rate > 1.5 * other_rate
