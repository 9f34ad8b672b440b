"""Adverse events for the synthetic demo data (see ``ingest.demo`` for the assumptions).

What: per-category event probabilities for every treatment (baseline x effects,
normalised so each category's overall rate equals its published baseline), then the
reported fields of each event in realistic, messy wording: synonyms with varied case
and plurals, severity words from several schemes, a few blank values and a few terms
outside the vocabulary that the ingest keeps as ``unmapped``.

Why a separate module: ``ingest.demo`` builds the people and the treatments; this one
holds the event vocabulary and the effect model, so the assumptions sit in one place.
Everything is vectorised over treatments; loops run over the ~20 categories only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# ----------------------------------------------------------------------------- effects
#: Assumed effects (documented in ingest.demo's docstring; change both together).
TRAINING_IRR = (1.40, 1.25, 1.12, 1.05, 1.00)  # bands 0-20, 21-60, 61-100, 101-200, >200 h
EXPERIENCE_IRR_PER_YEAR = 0.99
INSERTIONS_EXPONENT = 0.3  # (insertions / 8) ** 0.3
CHEST_WALL_BLEED_IRR = 2.0
ULTRASOUND_BLEED_IRR = 0.85
ULTRASOUND_PTX_IRR = 0.10
ELECTRICAL_SORENESS_IRR = 1.3
STATIC_DROWSINESS_IRR = 1.5
HOT_CLINIC, HOT_IRR = "C09", 1.8
RISE_CLINIC, RISE_QUARTER = "C04", (2025, 2)
RISE_IRR = {"fainting": 4.0, "dizziness": 4.0, "bruising": 2.5}
CONTRA_IRR = {
    ("anticoagulants", "bruising"): 2.0,
    ("anticoagulants", "bleeding"): 2.5,
    ("needle_phobia", "fainting"): 3.0,
    ("needle_phobia", "dizziness"): 2.0,
    ("pregnancy", "fainting"): 1.5,
    ("pregnancy", "nausea"): 2.0,
    ("diabetes", "infection"): 3.0,
}
#: Relative pneumothorax risk by chest-wall region (thin muscle over the pleura).
PTX_REGION_WEIGHT = {
    "upper_trapezius": 1.0,
    "lower_trapezius": 1.0,
    "rhomboids": 1.0,
    "thoracic_paraspinals": 1.0,
    "scalenes": 1.5,
    "pectorals": 1.5,
    "serratus_anterior": 1.5,
    "intercostals": 3.0,
}
#: Pneumothoraces per treatment over all treatments (within the brief's 0.8-1.6 / 100,000).
PTX_RATE = 1.0e-5


@dataclass(frozen=True)
class Category:
    """One event category: baseline rate, tier split, onset and reported wording."""

    code: str
    rate: float  # expected events per treatment over the whole data set
    p_significant: float  # share of its events reported as significant
    p_serious: float  # share of its events that are serious (hospital admission)
    p_during: float  # share with onset during the treatment (rest: after)
    terms: tuple[tuple[str, int], ...]  # reported wording and its weight
    mild_notes: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # narratives for significant events ({site} = body site)
    serious_notes: tuple[str, ...] = ()


def _t(*pairs: str | int) -> tuple[tuple[str, int], ...]:
    return tuple(zip(pairs[::2], pairs[1::2], strict=True))  # type: ignore[arg-type]


# The event table: one row per category. Wording weights are relative frequencies.
# fmt: off
CATEGORIES: tuple[Category, ...] = (
    Category(
        "bruising", rate=0.075, p_significant=0.002, p_serious=0.0, p_during=0.4,
        terms=_t("Bruising", 30, "bruising", 15, "bruise", 10, "Bruise", 5, "bruises", 5,
                 "Haematoma", 8, "haematoma", 5, "hematoma", 4, "hematomas", 2,
                 "Ecchymosis", 2, "bruised", 2, "BRUISING", 1),
        mild_notes=("Small bruise at needle site.", "Bruise noticed next day."),
        notes=("Large haematoma over {site}; patient unable to train for several days.",
               "Extensive bruising over {site}, painful to touch; advised to see GP."),
    ),
    Category(
        "bleeding", rate=0.060, p_significant=0.002, p_serious=0.0, p_during=0.95,
        terms=_t("Bleeding", 30, "bleeding", 15, "minor bleeding", 12, "Minor Bleeding", 3,
                 "blood spot", 8, "Blood spots", 3, "Bleeding at needle site", 5, "bleed", 3),
        mild_notes=("Pinpoint bleeding, pressure applied.", "Drop of blood on withdrawal."),
        notes=("Prolonged bleeding at {site} needle site (over 10 minutes); GP informed.",),
    ),
    Category(
        "pain_during", rate=0.030, p_significant=0.004, p_serious=0.0, p_during=1.0,
        terms=_t("pain during needling", 30, "Pain during treatment", 20,
                 "Painful insertion", 15, "painful insertions", 5, "pain_during", 10,
                 "Pain During Needling", 3),
        mild_notes=("Sharp pain on insertion, settled.",),
        notes=("Severe pain on needling {site}; treatment stopped, could not work that day.",),
    ),
    Category(
        "soreness", rate=0.022, p_significant=0.008, p_serious=0.0, p_during=0.0,
        terms=_t("post-needling soreness", 25, "Soreness", 15, "soreness", 10, "DOMS", 10,
                 "Muscle soreness", 15, "pain after treatment", 10, "Post needling pain", 5,
                 "post-treatment soreness", 5, "pain after", 5),
        mild_notes=("Sore for a day after.",),
        notes=("Marked soreness of {site} for three days, interfering with sleep and work.",),
    ),
    Category(
        "aggravation", rate=0.009, p_significant=0.03, p_serious=0.0, p_during=0.0,
        terms=_t("Aggravation of symptoms", 30, "flare-up", 20, "Flare up", 10,
                 "worsening of symptoms", 15, "aggravation", 20),
        mild_notes=("Symptoms a little worse that evening.",),
        notes=("Flare-up of pain after needling of {site}; off work for two days, saw GP.",
               "Prolonged aggravation of symptoms after treatment of {site}; GP analgesia."),
    ),
    Category(
        "fainting", rate=0.002, p_significant=0.12, p_serious=0.0015, p_during=0.95,
        terms=_t("Vasovagal reaction", 25, "syncope", 15, "fainted", 15, "Passed out", 10,
                 "Fainting", 15, "faint", 5, "vasovagal syncope", 10, "Vasovagal", 5),
        mild_notes=("Brief vasovagal episode, recovered lying down.",),
        notes=("Fainted during needling of {site}; slow recovery, driven home by a relative.",
               "Vasovagal syncope during needling of {site}; observed 1 hour, GP follow-up."),
        serious_notes=("Fainted during needling of {site}, fell and struck head; taken to "
                       "the emergency department and admitted overnight for observation.",),
    ),
    Category(
        "dizziness", rate=0.003, p_significant=0.015, p_serious=0.0, p_during=0.7,
        terms=_t("Dizziness", 30, "dizzy", 25, "light-headed", 20, "Lightheaded", 15,
                 "Light headed", 10),
        mild_notes=("Light-headed on sitting up, settled.",),
        notes=("Dizziness for several hours after needling of {site}; could not drive.",),
    ),
    Category(
        "drowsiness", rate=0.0026, p_significant=0.005, p_serious=0.0, p_during=0.3,
        terms=_t("Drowsiness", 40, "drowsy", 25, "tiredness", 20, "Sleepiness", 15),
        notes=("Marked drowsiness after treatment of {site}; patient unable to drive home.",),
    ),
    Category(
        "fatigue", rate=0.0015, p_significant=0.01, p_serious=0.0, p_during=0.0,
        terms=_t("Fatigue", 50, "tired", 25, "exhaustion", 25),
        notes=("Exhaustion for the rest of the day after needling of {site}; missed work.",),
    ),
    Category(
        "headache", rate=0.0014, p_significant=0.03, p_serious=0.0, p_during=0.1,
        terms=_t("Headache", 60, "headache", 20, "head ache", 10, "Headaches", 10),
        notes=("Severe headache the evening after needling of {site}; took time off work.",),
    ),
    Category(
        "nausea", rate=0.0013, p_significant=0.02, p_serious=0.0, p_during=0.5,
        terms=_t("Nausea", 50, "nauseous", 25, "Nausea/vomiting", 15, "vomiting", 10),
        notes=("Nausea and vomiting after needling of {site}; rested in clinic an hour.",),
    ),
    Category(
        "numbness", rate=0.0010, p_significant=0.04, p_serious=0.0, p_during=0.5,
        terms=_t("Numbness", 40, "tingling", 30, "Paraesthesia", 20, "paresthesia", 10),
        notes=("Tingling and numbness distal to {site} lasting two days; reviewed by GP.",),
    ),
    Category(
        "skin_irritation", rate=0.0010, p_significant=0.02, p_serious=0.0, p_during=0.5,
        terms=_t("Skin irritation", 30, "rash", 20, "Redness", 25, "local skin reaction", 15,
                 "itching", 10),
        notes=("Itchy rash spreading around {site}; GP prescribed antihistamine.",),
    ),
    Category(
        "pneumothorax", rate=PTX_RATE, p_significant=0.0, p_serious=1.0, p_during=0.0,
        terms=_t("Pneumothorax", 70, "PTX", 30),
        serious_notes=(
            "Patient reported sharp chest pain and shortness of breath 2 hours after needling "
            "of {site}; chest X-ray confirmed small apical pneumothorax; admitted overnight.",
            "Increasing breathlessness the evening after needling of {site}; pneumothorax "
            "confirmed in the emergency department; chest drain inserted, admitted 3 days.",
        ),
    ),
    Category(
        "nerve_injury", rate=0.00003, p_significant=0.8, p_serious=0.08, p_during=0.6,
        terms=_t("nerve damage", 50, "Nerve palsy", 25, "nerve lesion", 25),
        notes=("Persistent tingling and weakness after needling of {site}; referred by GP "
               "for nerve conduction studies.",),
        serious_notes=("Marked weakness after deep needling of {site}; admitted for "
                       "neurological investigation.",),
    ),
    Category(
        "vascular_injury", rate=0.00002, p_significant=0.9, p_serious=0.08, p_during=1.0,
        terms=_t("Arterial puncture", 50, "vascular injury", 30, "collapsed vein", 20),
        notes=("Arterial puncture while needling {site}; pressure for 15 minutes, GP review.",),
        serious_notes=("Arterial puncture while needling {site} with expanding haematoma; "
                       "admitted for observation.",),
    ),
    Category(
        "infection", rate=0.00002, p_significant=0.75, p_serious=0.12, p_during=0.0,
        terms=_t("Local infection", 40, "cellulitis", 40, "Abscess", 20),
        notes=("Red, hot, swollen area at {site} needle site; antibiotics from GP.",),
        serious_notes=("Spreading cellulitis from {site} needle site; admitted for "
                       "intravenous antibiotics.",),
    ),
    Category(
        "needle_breakage", rate=0.00001, p_significant=0.5, p_serious=0.0, p_during=1.0,
        terms=_t("Broken needle", 60, "needle fracture", 40),
        notes=("Needle broke in {site}; fragment removed with forceps, GP informed.",),
    ),
    Category(
        "forgotten_needle", rate=0.00002, p_significant=0.6, p_serious=0.0, p_during=0.0,
        terms=_t("Needle left in", 40, "retained needle", 30, "forgotten needle", 30),
        notes=("Needle found in {site} by patient at home; returned, incident reported.",),
    ),
    # Terms outside the vocabulary: the ingest keeps them as ``unmapped`` (~0.5% of events).
    Category(
        "unlisted", rate=0.0010, p_significant=0.0, p_serious=0.0, p_during=0.7,
        terms=_t("altered emotions", 20, "shaking", 20, "sweating", 20, "felt cold", 15,
                 "claustrophobia", 10, "emotional release", 15),
    ),
)
# fmt: on

#: Categories hit by clinic/practitioner frailty, experience and the hot clinic C09.
MILD_TYPE = frozenset(
    ("bruising", "bleeding", "pain_during", "soreness", "aggravation", "fainting", "dizziness",
     "drowsiness", "fatigue", "headache", "nausea", "numbness", "skin_irritation", "unlisted")
)  # fmt: skip
DOSE_SENSITIVE = ("bruising", "bleeding", "pain_during")

MILD_WORDS = _t("mild", 55, "Minor", 20, "mild ", 10, "Mild", 10, "", 5)
SIGNIFICANT_WORDS = _t("moderate", 40, "Significant", 25, "major", 15, "severe", 20)
SERIOUS_WORDS = _t("serious", 70, "life-threatening", 30)
MILD_OUTCOMES = _t("resolved", 45, "resolved within 24h", 30, "resolved within 48h", 15, "", 10)
SIGNIFICANT_OUTCOMES = _t(
    "referred to GP", 35, "resolved within 48h", 25, "ongoing", 20, "resolved", 20
)


def multiplier(cat: Category, t: pd.DataFrame) -> np.ndarray:
    """Relative risk of ``cat`` for every treatment in the simulation frame ``t``."""
    code = cat.code
    if code == "pneumothorax":
        weight = t["body_region"].map(PTX_REGION_WEIGHT).fillna(0.0).to_numpy()
        return weight * np.where(t["us"], ULTRASOUND_PTX_IRR, 1.0)
    m = np.ones(len(t))
    if code in MILD_TYPE:
        m *= t["clinic_frailty"].to_numpy() * t["prac_frailty"].to_numpy()
        m *= EXPERIENCE_IRR_PER_YEAR ** t["years_true"].to_numpy()
        m *= np.where(t["clinic_id"] == HOT_CLINIC, HOT_IRR, 1.0)
    if code in DOSE_SENSITIVE:
        m *= np.asarray(TRAINING_IRR)[t["training_band"].to_numpy()]
        m *= (t["needle_insertions"].to_numpy() / 8.0) ** INSERTIONS_EXPONENT
    if code in ("bruising", "bleeding"):
        m *= np.where(t["chest_wall"], CHEST_WALL_BLEED_IRR, 1.0)
        m *= np.where(t["us"], ULTRASOUND_BLEED_IRR, 1.0)
    if code == "soreness":
        m *= np.where(t["technique"] == "electrical", ELECTRICAL_SORENESS_IRR, 1.0)
    if code == "drowsiness":
        m *= np.where(t["technique"] == "static", STATIC_DROWSINESS_IRR, 1.0)
    for (contra, target), irr in CONTRA_IRR.items():
        if target == code:
            m *= np.where(t["contraindications"] == contra, irr, 1.0)
    if code in RISE_IRR:
        year, q = RISE_QUARTER
        rise = (t["clinic_id"] == RISE_CLINIC) & (t["quarter"] == year * 4 + q - 1)
        m *= np.where(rise, RISE_IRR[code], 1.0)
    return m


def serial_ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """``serial_ids("E", [1, 2], 7)`` -> ``["E0000001", "E0000002"]`` (vectorised)."""
    if len(numbers) == 0:
        return np.array([], dtype=object)
    return np.char.add(prefix, np.char.zfill(np.asarray(numbers).astype(str), width))


def _pick(rng: np.random.Generator, choices: tuple[tuple[str, int], ...], size: int) -> np.ndarray:
    """``size`` draws from weighted wording ``choices`` (an object array of strings)."""
    words = np.array([w for w, _ in choices], dtype=object)
    weights = np.array([p for _, p in choices], dtype=float)
    return words[rng.choice(len(words), size=size, p=weights / weights.sum())]


def _narratives(
    rng: np.random.Generator, templates: tuple[str, ...], site: np.ndarray
) -> np.ndarray:
    """One narrative per event: a random template with ``{site}`` replaced (vectorised)."""
    parts = [tpl.split("{site}", 1) + [""] for tpl in templates]
    pre = np.array([p[0] for p in parts], dtype=object)
    post = np.array([p[1] for p in parts], dtype=object)
    k = rng.integers(0, len(templates), size=len(site))
    has_site = np.array(["{site}" in tpl for tpl in templates])[k]
    return np.where(has_site, pre[k] + site + post[k], pre[k])


def simulate_events(rng: np.random.Generator, t: pd.DataFrame) -> pd.DataFrame:
    """Adverse events for the treatments in ``t`` (sorted; treatment_id, treatment_date ...).

    Each category is an independent Bernoulli draw per treatment with probability
    ``rate * m / mean(m)``, so a treatment can carry several events of different
    categories. Returns the adverse_events columns in file order plus ``category``.
    """
    n = len(t)
    rows, cats = [], []
    for k, cat in enumerate(CATEGORIES):
        m = multiplier(cat, t)
        mean = m.mean()
        p = np.minimum(cat.rate * m / mean, 0.95) if mean > 0 else np.zeros(n)
        hit = np.flatnonzero(rng.random(n) < p)
        rows.append(hit)
        cats.append(np.full(len(hit), k))
    row, ci = np.concatenate(rows), np.concatenate(cats)
    order = np.lexsort((ci, row))
    row, ci = row[order], ci[order]
    ne = len(row)

    p_sig = np.array([c.p_significant for c in CATEGORIES])[ci]
    p_ser = np.array([c.p_serious for c in CATEGORIES])[ci]
    u = rng.random(ne)
    tier = np.where(u < p_ser, 2, np.where(u < p_ser + p_sig, 1, 0))
    severity = np.empty(ne, dtype=object)
    for level, words in enumerate((MILD_WORDS, SIGNIFICANT_WORDS, SERIOUS_WORDS)):
        sel = tier == level
        severity[sel] = _pick(rng, words, int(sel.sum()))
    is_ptx = ci == next(i for i, c in enumerate(CATEGORIES) if c.code == "pneumothorax")
    severity[is_ptx] = "serious"

    event_type = np.empty(ne, dtype=object)
    narrative = np.full(ne, "", dtype=object)
    regions = t["body_region"].to_numpy()[row].astype(object)
    side = np.where(rng.random(ne) < 0.5, "left ", "right ").astype(object)
    site = side + pd.Series(regions, dtype=object).str.replace("_", " ").to_numpy(dtype=object)
    for k, cat in enumerate(CATEGORIES):
        sel = ci == k
        event_type[sel] = _pick(rng, cat.terms, int(sel.sum()))
        for level, templates in ((1, cat.notes), (2, cat.serious_notes)):
            s = sel & (tier == level)
            if templates and s.any():
                narrative[s] = _narratives(rng, templates, site[s])
        s = np.flatnonzero(sel & (tier == 0))
        if cat.mild_notes and len(s):
            noted = s[rng.random(len(s)) < 0.08]
            narrative[noted] = _narratives(rng, cat.mild_notes, site[noted])

    p_during = np.array([c.p_during for c in CATEGORIES])[ci]
    during = rng.random(ne) < p_during
    onset = np.where(during, "during", "after").astype(object)
    delay = np.where(during, 0, rng.choice(3, size=ne, p=[0.55, 0.30, 0.15]))
    blank_onset = rng.random(ne) < 0.03
    onset[blank_onset] = ""
    onset_known = ~(blank_onset & (rng.random(ne) < 0.5))

    outcome = np.empty(ne, dtype=object)
    outcome[tier == 0] = _pick(rng, MILD_OUTCOMES, int((tier == 0).sum()))
    outcome[tier == 1] = _pick(rng, SIGNIFICANT_OUTCOMES, int((tier == 1).sum()))
    outcome[tier == 2] = "admitted to hospital"

    treated = t["treatment_date"].to_numpy().astype("datetime64[D]")[row]
    onset_date = np.datetime_as_string(treated + delay.astype("timedelta64[D]"), unit="D")
    return pd.DataFrame(
        {
            "event_id": serial_ids("E", np.arange(1, ne + 1), 7),
            "treatment_id": t["treatment_id"].to_numpy()[row],
            "event_type": event_type,
            "severity": severity,
            "onset": onset,
            "onset_date": np.where(onset_known, onset_date, "").astype(object),
            "outcome": outcome,
            "hospitalised": np.where(tier == 2, "yes", "no"),
            "narrative": narrative,
            "category": np.array([c.code for c in CATEGORIES], dtype=object)[ci],
        }
    )
