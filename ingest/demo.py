"""Synthetic demo data: four CSV files in NeedleWatch's canonical input format.

What: ``generate_demo`` writes clinics.csv, practitioners.csv, treatments.csv and
adverse_events.csv for 14 clinics (Ireland, United Kingdom, Spain), 96 practitioners and
``n_treatments`` treatments from 2023-10-01 to 2026-09-30 (12 full quarters, 2023Q4 to
2026Q3). Why: the dashboard, reports and tests need data that looks like a real registry
(messy wording, missing values, uneven volumes, overdispersion) and that carries known
signals, so that every method can be shown finding them. The same seed and size give
byte-identical files (one ``numpy.random.default_rng(seed)``, fixed iteration orders).
Each practitioner keeps one profile throughout (no ``effective_from`` column).

Calibration (published; see shared/domain.md): expected events per treatment over the
whole data set are bruising 7.5%, bleeding 6%, pain during 3%, soreness 2.2%, aggravation
0.9%, drowsiness 0.26%, dizziness 0.3%, fainting 0.2%, fatigue 0.15%, headache 0.14%,
nausea 0.13%, numbness 0.1%, skin irritation 0.1% (Brady 2014, Boyce 2020); significant
events about 1.3 per 1,000 (MacPherson 2001, White 2001); serious events other than
pneumothorax about 1 per 100,000 and pneumothorax 1.0 per 100,000 treatments (Witt 2009,
Baeumler 2021). Each category's probability is ``baseline * m / mean(m)`` where ``m`` is
the product of the effects below, so the effects move risk between treatments without
changing the overall rate. Categories are independent draws (a treatment can have
several events, of different categories).

ASSUMPTIONS (invented for the demo: no published study measures these effects):
- A1 training hours (bruising, bleeding, pain during): incidence rate ratio 1.40 for
  0-20 h, 1.25 for 21-60 h, 1.12 for 61-100 h, 1.05 for 101-200 h, 1.00 for >200 h.
- A2 experience (all mild-type categories, i.e. bruising to skin irritation in the list
  above plus the terms outside the vocabulary): x0.99 per year of dry-needling experience
  (10 years -> 0.90); years are blanked in the file for 3 practitioners, not in the model.
- A3 needle insertions (bruising, bleeding, pain during): x(insertions / 8) ** 0.3.
- A4 chest-wall regions (upper/lower trapezius, rhomboids, scalenes, intercostals,
  pectorals, serratus anterior, thoracic paraspinals): bruising and bleeding x2.0.
- A5 ultrasound guidance, within a region: bruising and bleeding x0.85; pneumothorax x0.10.
- A6 ultrasound is used at 5 clinics (C02, C05, C07, C11, C13; 90% of their
  practitioners: 60% of chest-wall and 4% of other treatments) and occasionally elsewhere
  (15% of practitioners: 8% chest-wall, 1% other): about 12% of treatments overall, and
  about half the practitioners never use it (85.5% in the 2024 survey).
  Because it is concentrated on the chest wall (A4), the crude ultrasound-vs-none
  bruising ratio comes out above 1 while the region-adjusted one is below 1 (Simpson's
  paradox, on purpose).
- A7 pneumothorax only in chest-wall regions, relative risk 1 (trapezius, rhomboids,
  thoracic paraspinals), 1.5 (scalenes, pectorals, serratus anterior), 3 (intercostals).
- A8 clinic frailty (all mild-type categories): gamma, shape 12 (SD 0.29), scaled to a
  volume-weighted mean of 1 within ultrasound clinics and within the other clinics
  except C09 (so C09 is 1.8x its peers), then all non-ultrasound clinics are scaled
  together so that their mean, C09's factor included, is 1: the ultrasound contrast is
  confounded by region, not by clinic. Practitioner frailty: gamma, shape 10 (SD 0.32),
  volume-weighted mean 1 within each clinic.
- A9 technique: electrical stimulation soreness x1.3; static retention drowsiness x1.5.
- A10 contraindications (patient-level, about 4% of patients): anticoagulants bruising x2.0
  and bleeding x2.5; needle phobia fainting x3.0 and dizziness x2.0; pregnancy fainting
  x1.5 and nausea x2.0; diabetes infection x3.0. No profession effect.
- A11 share of events reported significant (serious): bruising and bleeding 0.2%, pain
  during 0.4%, soreness 0.8%, aggravation 3%, fainting 12% (0.15%), dizziness 1.5%,
  drowsiness 0.5%, fatigue 1%, headache 3%, nausea 2%, numbness 4%, skin irritation 2%,
  nerve injury 80% (8%), vascular injury 90% (8%), infection 75% (12%), needle breakage
  50%, forgotten needle 60%; pneumothorax always serious. Rare categories per 100,000
  treatments: nerve injury 3, vascular injury 2, infection 2, needle breakage 1,
  forgotten needle 2; terms outside the vocabulary 100 (about 0.5% of events).

PLANTED SIGNALS (for the dashboard to find):
- S1 clinic C09 runs x1.8 on every mild-type category for the whole period (its own
  frailty is 1 before the A8 scaling): a funnel-plot outlier.
- S2 clinic C04, quarter 2025Q2 (2025-04-01 to 2025-06-30) only: fainting x4, dizziness
  x4, bruising x2.5.
- S3 Simpson's paradox for ultrasound and bruising (A4-A6).
Volumes and patients (not effects on risk): practitioners' rates are log-normal (SD 0.8
on the log scale) times a clinic scale; 20% of practitioners join and 10% leave during
the period; daily volume grows 15% over the three years, with quiet weekends, Christmas
and August. A patient has one episode of about 9 roughly weekly sessions with one
practitioner; 70% of a patient's sessions treat the same (main) body region.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from needlewatch.settings import TRAINING_BAND_UPPER

from .demo_events import HOT_CLINIC, HOT_IRR, serial_ids, simulate_events
from .kinds import KINDS
from .vocab import CHEST_WALL_REGIONS

DEMO_START = date(2023, 10, 1)
DEMO_END = date(2026, 9, 30)

#: id, name, region, country, practitioners, ultrasound available, volume scale
CLINICS: tuple[tuple[str, str, str, str, int, bool, float], ...] = (
    ("C01", "Harbour Physio", "Dublin", "Ireland", 8, False, 1.0),
    ("C02", "Liffey Sports Clinic", "Dublin", "Ireland", 9, True, 1.2),
    ("C03", "Claddagh Physiotherapy", "Galway", "Ireland", 5, False, 0.6),
    ("C04", "Northgate Physio & Rehab", "Greater Manchester", "United Kingdom", 12, False, 1.4),
    ("C05", "Thames Valley Spine Centre", "Berkshire", "United Kingdom", 8, True, 1.1),
    ("C06", "Clyde Movement Clinic", "Glasgow", "United Kingdom", 6, False, 0.8),
    ("C07", "Severn Musculoskeletal", "Bristol", "United Kingdom", 7, True, 1.0),
    ("C08", "Fisioterapia Retiro", "Madrid", "Spain", 6, False, 0.9),
    ("C09", "Shannon Physio Centre", "Limerick", "Ireland", 7, False, 1.0),
    ("C10", "Clínica Fisio Mediterrània", "Valencia", "Spain", 5, False, 0.5),
    ("C11", "Clínica Bahía Sport", "Andalucía", "Spain", 8, True, 1.1),
    ("C12", "Ouseburn Physio", "Tyne and Wear", "United Kingdom", 4, False, 0.4),
    ("C13", "Lee Valley Physio & Chiro", "Cork", "Ireland", 7, True, 0.9),
    ("C14", "Fisioterapia Triana", "Andalucía", "Spain", 4, False, 0.3),
)
PROFESSIONS = ("physiotherapist", "chiropractor", "physician", "osteopath")
#: Training bands (hours, inclusive) and their share of practitioners (Valera-Calero 2024).
TRAINING_BANDS = ((6, 20, 0.08), (21, 60, 0.40), (61, 100, 0.22), (101, 200, 0.20),
                  (201, 400, 0.10))  # fmt: skip
#: Body regions (codes) and their share of treatments; chest wall about 38%.
REGIONS: tuple[tuple[str, float], ...] = (
    ("upper_trapezius", 0.18), ("lower_trapezius", 0.04), ("rhomboids", 0.04),
    ("scalenes", 0.03), ("intercostals", 0.01), ("pectorals", 0.02),
    ("serratus_anterior", 0.02), ("thoracic_paraspinals", 0.04),
    ("cervical_paraspinals", 0.08), ("lumbar_paraspinals", 0.13), ("gluteals", 0.11),
    ("hamstrings", 0.05), ("quadriceps", 0.04), ("gastrocnemius", 0.07),
    ("shoulder_rotator_cuff", 0.08), ("forearm", 0.04), ("masseter", 0.02),
)  # fmt: skip
TECHNIQUES = ("in_and_out", "static", "electrical")
#: Patient-level cautions recorded on every treatment of the patient ("" = none).
CONTRAINDICATIONS = (
    ("", 0.958), ("anticoagulants", 0.012), ("diabetes", 0.015), ("pregnancy", 0.003),
    ("needle_phobia", 0.008), ("metal_allergy", 0.004),
)  # fmt: skip
#: P(ultrasound) by practitioner type (never, clinic with ultrasound, occasional user):
#: (chest-wall treatments, other treatments). Assumption A6.
US_PROB = np.array([[0.0, 0.0], [0.60, 0.04], [0.08, 0.01]])
MEAN_TREATMENTS_PER_PATIENT = 9.0


def _day_weights(n_days: int) -> np.ndarray:
    """Relative clinic activity per day: 15% growth, weekends, Christmas and August."""
    days = np.datetime64(DEMO_START) + np.arange(n_days).astype("timedelta64[D]")
    weekday = (days.astype("int64") + 3) % 7  # 0 = Monday (1970-01-01 was a Thursday)
    w = 1.0 + 0.15 * np.arange(n_days) / n_days
    w *= np.array([1, 1, 1, 1, 1, 0.3, 0.03])[weekday]
    month = days.astype("datetime64[M]").astype("int64") % 12 + 1
    dom = (days - days.astype("datetime64[M]")).astype("int64") + 1
    w *= np.where(month == 8, 0.8, 1.0)
    w *= np.where(((month == 12) & (dom >= 24)) | ((month == 1) & (dom == 1)), 0.2, 1.0)
    return w


def _practitioners(rng: np.random.Generator, n_days: int, w: np.ndarray) -> pd.DataFrame:
    """One row per practitioner with file columns and the hidden simulation parameters."""
    clinic_of = np.repeat(np.arange(len(CLINICS)), [c[4] for c in CLINICS])
    n = len(clinic_of)
    has_us = np.array([c[5] for c in CLINICS])[clinic_of]
    band = rng.choice(len(TRAINING_BANDS), size=n, p=[b[2] for b in TRAINING_BANDS])
    lo, hi = np.array([b[0] for b in TRAINING_BANDS]), np.array([b[1] for b in TRAINING_BANDS])
    hours = rng.integers(lo[band], hi[band] + 1)
    years = np.clip(np.round(rng.gamma(2.0, 1.6, n) + hours / 50, 1), 0.0, 25.0)
    chiro = np.array([c[0] == "C13" for c in CLINICS])[clinic_of]
    u = rng.random(n)
    profession = np.where(
        chiro,
        np.searchsorted(np.cumsum([0.5, 0.4, 0.05, 0.05]), u, side="right"),
        np.searchsorted(np.cumsum([0.85, 0.05, 0.06, 0.04]), u, side="right"),
    ).clip(0, 3)
    u = rng.random(n)
    us_type = np.where(has_us, np.where(u < 0.9, 1, 0), np.where(u < 0.15, 2, 0))
    start = np.where(rng.random(n) < 0.2, rng.integers(60, 800, n), 0)
    end = np.where(rng.random(n) < 0.1, rng.integers(start + 250, n_days), n_days - 1)
    rate = rng.lognormal(0.0, 0.8, n) * np.array([c[6] for c in CLINICS])[clinic_of]
    cw = np.concatenate([[0.0], np.cumsum(w)])
    volume = rate * (cw[end + 1] - cw[start])
    technique_p = rng.dirichlet(np.array([0.55, 0.30, 0.15]) * 8, size=n)
    frailty = rng.gamma(10.0, 0.1, n)
    clinic_frailty = rng.gamma(12.0, 1 / 12, len(CLINICS))
    ids = np.array([c[0] for c in CLINICS], dtype=object)
    clinic_frailty[ids == HOT_CLINIC] = 1.0
    hot = np.where(ids == HOT_CLINIC, HOT_IRR, 1.0)
    clinic_volume = np.bincount(clinic_of, weights=volume, minlength=len(CLINICS))
    clinic_us = np.array([c[5] for c in CLINICS])
    for group in (clinic_us, ~clinic_us & (hot == 1.0), ~clinic_us):  # A8 scaling
        f, v = clinic_frailty[group] * hot[group], clinic_volume[group]
        clinic_frailty[group] *= v.sum() / (f * v).sum()
    for c in range(len(CLINICS)):  # practitioner frailty: volume-weighted mean 1 per clinic
        s = clinic_of == c
        frailty[s] = frailty[s] / (frailty[s] * volume[s]).sum() * volume[s].sum()
    years_shown = np.char.mod("%.1f", years).astype(object)
    years_shown[rng.choice(n, size=3, replace=False)] = ""
    return pd.DataFrame(
        {
            "practitioner_id": [f"P{i + 1:03d}" for i in range(n)],
            "clinic_id": ids[clinic_of],
            "profession": np.array(PROFESSIONS, dtype=object)[profession],
            "dn_training_hours": hours,
            "years_dn_experience": years_shown,
            "years_true": years,
            "training_band": np.searchsorted(TRAINING_BAND_UPPER, hours, side="left"),
            "us_type": us_type,
            "start": start,
            "end": end,
            "volume": volume,
            "prac_frailty": frailty,
            "clinic_frailty": clinic_frailty[clinic_of],
            "tech_cum": list(np.cumsum(technique_p, axis=1)),
        }
    )


def _patients(
    rng: np.random.Generator, who: np.ndarray, day: np.ndarray, weeks: np.ndarray
) -> np.ndarray:
    """Patient number per treatment: episodes of ~9 weekly sessions with one practitioner.

    A practitioner's treatments, in date order, are dealt round-robin to as many "slots"
    as they give treatments per week; each slot is a chain of patients whose episode
    lengths are 1 + negative binomial (mean 9), so a patient comes back about weekly.
    """
    patient = np.empty(len(day), dtype=np.int64)
    offset = 0
    p = 1.5 / (1.5 + MEAN_TREATMENTS_PER_PATIENT - 1)
    for k in range(len(weeks)):  # a loop over practitioners; each step is vectorised
        idx = np.flatnonzero(who == k)
        if len(idx) == 0:
            continue
        idx = idx[np.argsort(day[idx], kind="stable")]
        stride = max(1, round(len(idx) / weeks[k]))
        slot, cycle = np.arange(len(idx)) % stride, np.arange(len(idx)) // stride
        n_cycles = int(cycle.max()) + 1
        ends = np.cumsum(1 + rng.negative_binomial(1.5, p, size=(stride, n_cycles)), axis=1)
        span = int(ends.max()) + 1
        flat = (ends + np.arange(stride)[:, None] * span).ravel()
        patient[idx] = offset + np.searchsorted(flat, slot * span + cycle, side="right")
        offset += stride * n_cycles
    used, patient = np.unique(patient, return_inverse=True)
    return rng.permutation(len(used))[patient]


def _treatments(rng: np.random.Generator, prac: pd.DataFrame, n: int) -> pd.DataFrame:
    """The treatments frame: file columns plus what the event model needs."""
    n_days = (DEMO_END - DEMO_START).days + 1
    w = _day_weights(n_days)
    vol = prac["volume"].to_numpy()
    who = rng.choice(len(prac), size=n, p=vol / vol.sum())
    cdf = np.cumsum(w) / w.sum()
    cdf0 = np.concatenate([[0.0], cdf[:-1]])
    start, end = prac["start"].to_numpy()[who], prac["end"].to_numpy()[who]
    u = cdf0[start] + rng.random(n) * (cdf[end] - cdf0[start])
    day = np.clip(np.searchsorted(cdf, u, side="right"), start, end)
    clinic_id = prac["clinic_id"].to_numpy()
    weeks = (prac["end"].to_numpy() - prac["start"].to_numpy() + 1) / 7
    patient = _patients(rng, who, day, weeks)

    n_pat = int(patient.max()) + 1
    region_p = np.array([r[1] for r in REGIONS])
    main_region = rng.choice(len(REGIONS), size=n_pat, p=region_p / region_p.sum())
    other = rng.choice(len(REGIONS), size=n, p=region_p / region_p.sum())
    region = np.where(rng.random(n) < 0.7, main_region[patient], other)
    is_cw = np.array([r[0] in CHEST_WALL_REGIONS for r in REGIONS])[region]
    contra_p = np.array([c[1] for c in CONTRAINDICATIONS])
    contra = rng.choice(len(CONTRAINDICATIONS), size=n_pat, p=contra_p / contra_p.sum())
    us_p = US_PROB[prac["us_type"].to_numpy()[who], np.where(is_cw, 0, 1)]
    us = rng.random(n) < us_p
    insertions = 1 + rng.negative_binomial(2, 2 / 9, size=n)
    tech_cum = np.stack(prac["tech_cum"].to_list())[who]
    technique = (rng.random(n)[:, None] >= tech_cum[:, :2]).sum(axis=1)
    retention = rng.choice([10, 15, 20, 25, 30], size=n, p=[0.15, 0.3, 0.3, 0.1, 0.15])

    order = np.lexsort((rng.random(n), day))
    dates = np.datetime64(DEMO_START) + day.astype("timedelta64[D]")
    year = dates.astype("datetime64[Y]").astype("int64") + 1970
    month = dates.astype("datetime64[M]").astype("int64") % 12
    t = pd.DataFrame(
        {
            "treatment_date": np.datetime_as_string(dates, unit="D"),
            "practitioner_id": prac["practitioner_id"].to_numpy()[who],
            "clinic_id": clinic_id[who],
            "patient_id": serial_ids("PT", patient + 1, 6),
            "body_region": np.array([r[0] for r in REGIONS], dtype=object)[region],
            "ultrasound_guided": np.where(us, "yes", "no"),
            "needle_insertions": insertions,
            "technique": np.array(TECHNIQUES, dtype=object)[technique],
            "retention_minutes": pd.array(np.where(technique > 0, retention, 0), dtype="Int64"),
            "electrical_stimulation": np.where(technique == 2, "yes", "no"),
            "contraindications": np.array([c[0] for c in CONTRAINDICATIONS], dtype=object)[
                contra[patient]
            ],
            "day": day,
            "quarter": year * 4 + month // 3,
            "chest_wall": is_cw,
            "us": us,
        }
    )
    t.loc[t["technique"] == "in_and_out", "retention_minutes"] = pd.NA
    hidden = ["years_true", "training_band", "prac_frailty", "clinic_frailty"]
    t = t.join(prac.set_index("practitioner_id")[hidden], on="practitioner_id")
    t = t.iloc[order].reset_index(drop=True)
    t.insert(0, "treatment_id", serial_ids("T", np.arange(1, n + 1), 7))
    return t


def generate_demo(
    out_dir: Path, seed: int = 20261121, n_treatments: int = 250_000
) -> dict[str, Path]:
    """Write the four demo CSV files into ``out_dir`` (created) and return {kind: path}.

    Deterministic: the same ``seed`` and ``n_treatments`` give byte-identical files.
    """
    if n_treatments < 1:
        raise ValueError("n_treatments must be at least 1")
    rng = np.random.default_rng(seed)
    n_days = (DEMO_END - DEMO_START).days + 1
    prac = _practitioners(rng, n_days, _day_weights(n_days))
    t = _treatments(rng, prac, n_treatments)
    events = simulate_events(rng, t)
    # a clinic's own database: no joined_on (a body's register gives it; see network_demo)
    clinics = pd.DataFrame([c[:4] for c in CLINICS], columns=list(KINDS["clinics"].names[:4]))
    frames = {"clinics": clinics, "practitioners": prac, "treatments": t, "adverse_events": events}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for kind, frame in frames.items():
        path = out_dir / f"{kind}.csv"
        columns = [c for c in KINDS[kind].names if c in frame]  # profiles are undated
        frame[columns].to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
        paths[kind] = path
    return paths
