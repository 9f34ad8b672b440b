"""Controlled vocabularies: event categories, severity tiers, onset, yes/no words.

The category table is ../shared/domain.md's, verbatim. Matching ignores case,
spacing, hyphens, underscores and a plural "s" (see ``normalise_term``).
"""

from __future__ import annotations

import re

#: Canonical category code -> accepted synonyms (domain.md, "Adverse-event categories").
CATEGORIES: dict[str, tuple[str, ...]] = {
    "bruising": ("bruise", "bruised", "haematoma", "hematoma", "ecchymosis"),
    "bleeding": ("bleed", "minor bleeding", "blood spot", "bleeding at needle site"),
    "pain_during": ("pain during treatment", "pain during needling", "painful insertion"),
    "soreness": (
        "pain after",
        "pain after treatment",
        "post-needling soreness",
        "post needling pain",
        "muscle soreness",
        "post-treatment soreness",
        "DOMS",
    ),
    "aggravation": (
        "aggravation of symptoms",
        "worsening of symptoms",
        "flare-up",
        "flare up",
    ),
    "fainting": (
        "faint",
        "fainted",
        "syncope",
        "vasovagal",
        "vasovagal reaction",
        "vasovagal syncope",
        "passed out",
    ),
    "dizziness": ("dizzy", "light-headed", "lightheaded"),
    "drowsiness": ("drowsy", "tiredness", "sleepiness"),
    "fatigue": ("tired", "exhaustion"),
    "headache": ("head ache",),
    "nausea": ("nauseous", "nausea/vomiting", "vomiting"),
    "numbness": ("paraesthesia", "paresthesia", "tingling"),
    "skin_irritation": (
        "skin irritation",
        "rash",
        "redness",
        "local skin reaction",
        "itching",
        "itch",
    ),
    "pneumothorax": ("ptx", "collapsed lung", "punctured lung"),
    "nerve_injury": ("nerve damage", "nerve lesion", "nerve palsy"),
    "vascular_injury": ("collapsed vein", "vascular injury", "arterial puncture"),
    "infection": ("local infection", "cellulitis", "abscess"),
    "needle_breakage": ("broken needle", "needle fracture", "needle broke"),
    "forgotten_needle": (
        "needle left in",
        "retained needle",
        "forgotten needle",
        "needle not removed",
    ),
    "other": (),
}
UNMAPPED = "unmapped"
#: Every category a rate table lists, in display order.
CATEGORY_CODES: tuple[str, ...] = tuple(CATEGORIES)

#: Severity tiers (White et al. BMJ 2001; Physiotherapy Alberta), in order.
SEVERITY_TIERS: tuple[str, ...] = ("mild", "significant", "serious")
#: Tier recorded when no severity was reported (kept, shown, never guessed).
UNSPECIFIED = "unspecified"
SEVERITY_WORDS: dict[str, str] = {
    "mild": "mild",
    "minor": "mild",
    "slight": "mild",
    "significant": "significant",
    "moderate": "significant",
    "major": "significant",
    "severe": "significant",
    "serious": "serious",
    "life threatening": "serious",
    "lifethreatening": "serious",
    "hospitalisation": "serious",
    "hospitalization": "serious",
    "hospitalised": "serious",
    "hospitalized": "serious",
    "disability": "serious",
    "death": "serious",
    "fatal": "serious",
}
#: Categories that are serious whatever was reported (domain.md, "Severity").
ALWAYS_SERIOUS: frozenset[str] = frozenset({"pneumothorax"})

ONSET_WORDS: dict[str, str] = {
    "during": "during",
    "during treatment": "during",
    "during needling": "during",
    "after": "after",
    "after treatment": "after",
    "post treatment": "after",
    "post": "after",
}

TRUE_WORDS: tuple[str, ...] = ("yes", "y", "true", "t", "1")
FALSE_WORDS: tuple[str, ...] = ("no", "n", "false", "f", "0")

#: Body regions over the chest wall, where a needle can reach the pleura (domain.md).
CHEST_WALL_REGIONS: frozenset[str] = frozenset(
    {
        "upper_trapezius",
        "lower_trapezius",
        "rhomboids",
        "scalenes",
        "intercostals",
        "pectorals",
        "serratus_anterior",
        "thoracic_paraspinals",
    }
)

_SEPARATORS = re.compile(r"[\s\-_]+")


def normalise_term(text: str) -> str:
    """Matching key for an event term: ``'Post-needling  Soreness'`` -> ``'postneedlingsoreness'``.

    Lower-cases, splits on spaces, hyphens and underscores, drops one trailing "s"
    from each word longer than three letters (plurals: "bruises" -> "bruise"), and
    joins the words with nothing, so "head ache" and "headache" match.
    """
    words = _SEPARATORS.split(text.strip().lower())
    return "".join(w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words if w)


def _builtin_terms() -> dict[str, str]:
    terms: dict[str, str] = {}
    for code, synonyms in CATEGORIES.items():
        for term in (code, *synonyms):
            terms[normalise_term(term)] = code
    return terms


#: Normalised term -> category for the built-in vocabulary.
BUILTIN_TERMS: dict[str, str] = _builtin_terms()


def normalise_words(text: str) -> str:
    """Key for severity and onset words: lower case, single spaces, no hyphens."""
    return " ".join(text.strip().lower().replace("-", " ").replace("_", " ").split())
