"""One label dictionary: stored codes to the words every surface prints.

The database keeps codes (``pain_during``, ``in_and_out``, ``upper_trapezius``,
``years_dn_experience``); a reader should see words. Every table, chart, sentence and file
the dashboard, the reports and the command line's table format print goes through
``label`` (a value of a dimension) and ``heading`` (a column), so a category is named the
same way everywhere:

    label("category", "pain_during")        -> "pain during needling"
    label("technique", "in_and_out")        -> "in-and-out"
    label("body_region", "upper_trapezius") -> "upper trapezius"     (unknown code: _ -> space)
    heading("years_dn_experience")          -> "Years of dry-needling experience"

Machine-readable outputs (CSV, JSON, the report's tidy CSV) keep the codes: they are the
join keys of the data dictionary.
"""

from __future__ import annotations

#: Event categories (ingest.vocab.CATEGORIES' codes) as printed.
CATEGORY = {
    "bruising": "bruising",
    "bleeding": "bleeding",
    "pain_during": "pain during needling",
    "soreness": "soreness afterwards",
    "aggravation": "aggravation of symptoms",
    "fainting": "fainting",
    "dizziness": "dizziness",
    "drowsiness": "drowsiness",
    "fatigue": "fatigue",
    "headache": "headache",
    "nausea": "nausea",
    "numbness": "numbness or tingling",
    "skin_irritation": "skin irritation",
    "pneumothorax": "pneumothorax",
    "nerve_injury": "nerve injury",
    "vascular_injury": "vascular injury",
    "infection": "infection",
    "needle_breakage": "needle breakage",
    "forgotten_needle": "forgotten needle",
    "other": "other",
    "unmapped": "unmapped term",
}
TECHNIQUE = {"in_and_out": "in-and-out", "static": "static", "electrical": "electrical"}
SEVERITY = {
    "mild": "mild",
    "significant": "significant",
    "serious": "serious",
    "unspecified": "severity not given",
}
ULTRASOUND = {"yes": "ultrasound-guided", "no": "not ultrasound-guided"}
TRAINING = "h"  # training bands print with their unit: "21-60 h"
EXPERIENCE = "years"

#: Column names as printed (tables, chart axes, downloads for people).
HEADINGS = {
    "category": "Category",
    "severity": "Severity",
    "training_band": "Training (hours)",
    "experience_band": "Experience (years)",
    "years_dn_experience": "Years of dry-needling experience",
    "dn_training_hours": "Hours of dry-needling training",
    "ultrasound": "Ultrasound guidance",
    "body_region": "Body region",
    "clinic": "Clinic",
    "practitioner": "Practitioner",
    "profession": "Profession",
    "technique": "Technique",
    "month": "Month",
    "quarter": "Quarter",
    "year": "Year",
    "treatments": "Treatments",
    "insertions": "Needle insertions",
    "events": "Events",
    "treatments_affected": "Treatments with an event",
    "rate_per_1000": "Per 1,000 treatments",
    "ci_low_per_1000": "95% CI low",
    "ci_high_per_1000": "95% CI high",
    "rate_ratio": "Rate ratio",
    "irr": "Rate ratio",
    "ci_low": "95% CI low",
    "ci_high": "95% CI high",
    "p_value": "p",
    "missing_percent": "% blank",
    "table_name": "Table",
    "column_name": "Column",
    "event_type": "Reported as",
    "reference": "Reference",
    "level": "Level",
    "term": "Factor",
    "note": "Note",
}


def label(dim: str, code: object) -> str:
    """The words for ``code`` of dimension ``dim`` (unknown codes: underscores as spaces)."""
    text = "" if code is None else str(code)
    table = {"category": CATEGORY, "technique": TECHNIQUE, "severity": SEVERITY,
             "ultrasound": ULTRASOUND}.get(dim)  # fmt: skip
    if table is not None and text in table:
        return table[text]
    if dim == "training_band" and text and text != "unknown":
        return f"{text} {TRAINING}"
    if dim == "experience_band" and text and text != "unknown":
        return f"{text} {EXPERIENCE}"
    return text.replace("_", " ")


def heading(column: str) -> str:
    """A column's name as printed."""
    return HEADINGS.get(column, column.replace("_", " ").capitalize())
