"""Controlled vocabularies: event categories, severity tiers, onset, yes/no words.

The category table is ../shared/domain.md's, verbatim. Matching ignores case,
spacing, hyphens, underscores and plurals (see ``normalise_term`` and ``term_keys``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping

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
    joins the words with nothing, so "head ache" and "headache" match. This is the key
    under which vocabulary entries and user mappings are stored; ``term_keys`` adds the
    other plural readings of a reported term.
    """
    words = _SEPARATORS.split(text.strip().lower())
    return "".join(_drop_s(w) for w in words if w)


#: Plural endings other than a final "s", as (plural, singular), each tried on a word only
#: when the term as written (with the "s" rule of ``normalise_term``) matched nothing.
PLURAL_ENDINGS: tuple[tuple[str, str], ...] = (
    ("aces", "ax"),  # pneumothoraces -> pneumothorax (Latin -ax)
    ("ices", "ex"),  # apices -> apex (Latin -ex)
    ("ices", "ix"),  # cervices -> cervix (Latin -ix)
    ("ses", "sis"),  # ecchymoses -> ecchymosis (Greek -sis)
    ("ies", "y"),  # nerve palsies -> palsy, vascular injuries -> injury
    ("sses", "ss"),  # abscesses -> abscess
    ("shes", "sh"),  # rashes -> rash
    ("ches", "ch"),  # itches -> itch
    ("xes", "x"),  # pneumothoraxes -> pneumothorax
    ("zes", "z"),
    ("ata", "a"),  # haematomata -> haematoma (Greek -ata)
    ("ae", "a"),  # paraesthesiae -> paraesthesia (Latin -ae)
)
#: A plural ending is taken off only if this many letters stay in front of it.
MIN_STEM = 2
#: Most spellings of one term tried (words x plural readings), so a long term stays cheap.
MAX_TERM_KEYS = 256


def _word_keys(word: str) -> list[str]:
    """Matching keys of one word: the "s" rule of ``normalise_term`` first, then each
    singular the other plural endings give (normalised the same way)."""
    keys = [_drop_s(word)]
    if len(word) == 3 and word.endswith("s"):  # a three-letter word: flare-ups -> flare up
        keys.append(word[:-1])
    for plural, singular in PLURAL_ENDINGS:
        if word.endswith(plural) and len(word) - len(plural) >= MIN_STEM:
            key = _drop_s(word[: -len(plural)] + singular)
            if key not in keys:
                keys.append(key)
    return keys


def _drop_s(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def term_keys(text: str) -> Iterator[str]:
    """Every matching key of a reported term, ``normalise_term(text)`` first.

    A term matches a vocabulary entry when any key does; the first key that matches
    wins, so a term that matched before keeps its category and irregular plurals are
    only a fallback: ``'Pneumothoraces'`` -> ``'pneumothorace'``, ``'pneumothorax'``.
    """
    words = [w for w in _SEPARATORS.split(text.strip().lower()) if w]
    combos = itertools.product(*(_word_keys(w) for w in words))
    for combo in itertools.islice(combos, MAX_TERM_KEYS):
        yield "".join(combo)


def match_term(text: str, lookup: Mapping[str, str]) -> str | None:
    """The category of the first key of ``text`` found in ``lookup``; None if none is."""
    return next((lookup[key] for key in term_keys(text) if key in lookup), None)


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
