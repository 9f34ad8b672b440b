"""Plural event terms match their category; look-alike words do not.

"pneumothoraces" once stayed ``unmapped``, so the most serious complication fell outside
the serious counts: matching dropped only a final "s".
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pandas.testing as pdt
import pytest

from ingest.api import IngestOptions, ingest_files
from ingest.terms import categorise
from ingest.vocab import BUILTIN_TERMS, CATEGORIES, match_term

from .conftest import TODAY

PLURALS = [
    ("pneumothoraces", "pneumothorax"),
    ("Pneumothoraces", "pneumothorax"),
    ("pneumo-thoraces", "pneumothorax"),
    ("pneumothoraxes", "pneumothorax"),
    ("PTXs", "pneumothorax"),
    ("collapsed lungs", "pneumothorax"),
    ("punctured lungs", "pneumothorax"),
    ("haematomas", "bruising"),
    ("Haematomata", "bruising"),
    ("hematomata", "bruising"),
    ("ecchymoses", "bruising"),
    ("Ecchymoses", "bruising"),
    ("bruises", "bruising"),
    ("broken needles", "needle_breakage"),
    ("needle fractures", "needle_breakage"),
    ("retained needles", "forgotten_needle"),
    ("collapsed veins", "vascular_injury"),
    ("vascular injuries", "vascular_injury"),
    ("arterial punctures", "vascular_injury"),
    ("abscesses", "infection"),
    ("local infections", "infection"),
    ("rashes", "skin_irritation"),
    ("itches", "skin_irritation"),
    ("nerve palsies", "nerve_injury"),
    ("nerve lesions", "nerve_injury"),
    ("paraesthesiae", "numbness"),
    ("paraesthesias", "numbness"),
    ("blood spots", "bleeding"),
    ("bleeds", "bleeding"),
    ("faints", "fainting"),
    ("headaches", "headache"),
    ("flare-ups", "aggravation"),
    ("vasovagal reactions", "fainting"),
]

NOT_EVENT_TERMS = [
    "faces",  # -aces -> -ax needs a stem: not "fax"
    "spaces",
    "apices",
    "thoracic pain",
    "chest pains",
    "needless worry",  # not "needle"
    "veins",  # only "collapsed vein" is a term
    "lungs",
    "crises",
    "analyses",
    "tires",  # not "tired"
    "bruisers",
    "passes",
    "pneumonias",
    "",
]


@pytest.mark.parametrize(("term", "category"), PLURALS)
def test_plural_matches_its_category(term: str, category: str) -> None:
    assert match_term(term, BUILTIN_TERMS) == category


@pytest.mark.parametrize("term", NOT_EVENT_TERMS)
def test_look_alike_words_stay_unmapped(term: str) -> None:
    assert match_term(term, BUILTIN_TERMS) is None


def test_every_vocabulary_term_matches_in_its_regular_plural() -> None:
    """The last word of every code and synonym, pluralised as English does, still matches
    (words that have no plural of that shape, e.g. "symptoms", are left as they are)."""

    def plural(word: str) -> str:
        if word.endswith(("sis", "tis", "ous", "ms", "MS")):
            return word
        if word.endswith(("s", "x", "z", "ch", "sh")):
            return word + "es"
        if word.endswith("y") and word[-2] not in "aeiou":
            return word[:-1] + "ies"
        return word + "s"

    for code, synonyms in CATEGORIES.items():
        for term in (code.replace("_", " "), *synonyms):
            *head, last = term.split()
            assert match_term(" ".join([*head, plural(last)]), BUILTIN_TERMS) == code, term


def test_user_mapping_of_the_written_form_beats_the_plural_reading() -> None:
    """The term as written is tried first: a user's ``rashes -> allergy`` wins over
    ``rash -> skin_irritation``, and the singular keeps the built-in category."""
    lookup = {**BUILTIN_TERMS, "rashe": "allergy"}
    assert categorise(["rashes", "rash", "felt odd"], lookup) == [
        "allergy",
        "skin_irritation",
        "unmapped",
    ]


def test_plural_pneumothorax_is_stored_as_a_serious_pneumothorax(
    base_db: Path, tmp_path: Path
) -> None:
    path = tmp_path / "events_plural.csv"
    path.write_text(
        "event_id,treatment_id,event_type,severity\n"
        "E40,T1,Pneumothoraces,mild\n"
        "E41,T2,Ecchymoses,minor\n"
        "E42,T3,broken needles,\n"
        "E43,T4,collapsed veins,moderate\n"
        "E44,T5,faces,mild\n",
        encoding="utf-8",
    )
    run = ingest_files(base_db, [path], IngestOptions(today=TODAY)).runs[0]
    assert (run.rows_read, run.rows_accepted, run.rows_rejected) == (5, 5, 0)
    with duckdb.connect(str(base_db), read_only=True) as con:
        got = con.execute(
            "SELECT event_id, event_type, category, severity_reported, severity "
            "FROM adverse_events WHERE run_id = ? ORDER BY event_id",
            [run.run_id],
        ).df()
    expected = pd.DataFrame(
        [
            ("E40", "Pneumothoraces", "pneumothorax", "mild", "serious"),
            ("E41", "Ecchymoses", "bruising", "minor", "mild"),
            ("E42", "broken needles", "needle_breakage", None, "unspecified"),
            ("E43", "collapsed veins", "vascular_injury", "moderate", "significant"),
            ("E44", "faces", "unmapped", "mild", "mild"),
        ],
        columns=["event_id", "event_type", "category", "severity_reported", "severity"],
    )
    pdt.assert_frame_equal(got, expected, check_dtype=False)
