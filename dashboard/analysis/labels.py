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
join keys of the data dictionary. ``headings`` names a whole table's columns (a rate is per
needle insertions when the table counts them), ``p_text`` prints a p-value ("0.015",
"<0.001") and ``per_text`` a denominator: the dashboard shows rates per 10,000 needle
insertions, where per 1,000 the rare categories would read 0.001.
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
    # the command line's tables and the dashboard's other tables
    "ci_method": "CI method",
    "affected_percent": "% of treatments with an event",
    "cp_low_percent": "95% CI low (Clopper-Pearson, %)",
    "cp_high_percent": "95% CI high (Clopper-Pearson, %)",
    "wilson_low_percent": "95% CI low (Wilson, %)",
    "wilson_high_percent": "95% CI high (Wilson, %)",
    "pooled_per_1000": "Pooled per 1,000 treatments",
    "practitioners": "Practitioners",
    "practitioner_mean_per_1000": "Practitioners' mean per 1,000",
    "practitioner_median_per_1000": "Practitioners' median per 1,000",
    "practitioner_q1_per_1000": "Practitioners' lower quartile per 1,000",
    "practitioner_q3_per_1000": "Practitioners' upper quartile per 1,000",
    "practitioner_min_per_1000": "Practitioners' lowest per 1,000",
    "practitioner_max_per_1000": "Practitioners' highest per 1,000",
    "analysis": "Analysis",
    "method": "Method",
    "ref_events": "Reference events",
    "ref_treatments": "Reference treatments",
    "strata_used": "Strata used",
    "strata_dropped": "Strata dropped",
    "homogeneity_p": "Homogeneity p",
    "kind": "Kind",
    "series": "Series",
    "unit": "Unit",
    "period": "Period",
    "value": "Value",
    "expected": "Expected",
    "limit": "Limit",
    "rule": "Rule",
    "run_id": "Run",
    "batch_id": "Batch",
    "file": "File",
    "row_number": "Row",
    "reason": "Reason",
    "rows_read": "Rows read",
    "rows_accepted": "Rows accepted",
    "rows_updated": "Rows updated",
    "rows_rejected": "Rows rejected",
    "status": "Status",
    "started_at": "Started",
    "finished_at": "Finished",
    "rows": "Rows",
    "missing": "Blank",
    "exposure": "Treatments",
    "rate": "Per 1,000 treatments",
    "outside": "Outside",
    "event_date": "Date",
    "outcome": "Outcome",
    "narrative": "Narrative",
    "patient_key": "Patient key",
    "needle_insertions": "Needle insertions",
    "retention_minutes": "Retention (minutes)",
    "severity_reported": "Severity as reported",
    "onset": "Onset",
    "onset_date": "Onset date",
}
#: Stored table names as printed.
TABLES = {
    "treatments": "treatments",
    "practitioners": "practitioners",
    "adverse_events": "adverse events",
    "clinics": "clinics",
}


def label(dim: str, code: object) -> str:
    """The words for ``code`` of dimension ``dim`` (unknown codes: underscores as spaces)."""
    text = "" if code is None else str(code)
    table = {"category": CATEGORY, "technique": TECHNIQUE, "severity": SEVERITY,
             "ultrasound": ULTRASOUND, "table": TABLES}.get(dim)  # fmt: skip
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


#: Rates per 10,000 when the denominator is needle insertions (about eight a treatment):
#: per 1,000 they would print as 0.001-0.004 for the rare categories.
PER = {"treatments": 1000, "insertions": 10000}
UNIT = {"treatments": "treatments", "insertions": "needle insertions"}


def per_text(per: str = "treatments") -> str:
    """'per 1,000 treatments' or 'per 10,000 needle insertions'."""
    return f"per {PER[per]:,} {UNIT[per]}"


def headings(columns: list[str] | tuple[str, ...]) -> list[str]:
    """The printed names of a table's columns, read together: a rate is per needle
    insertions when the table counts insertions, and ``term`` is the regression's factor
    beside ``level`` but the reported wording in a list of event terms."""
    cols = list(columns)
    per = "insertions" if "insertions" in cols else "treatments"
    out = []
    for col in cols:
        if col == "term" and "level" not in cols:
            out.append(HEADINGS["event_type"])
        elif col in ("rate_per_1000", "rate") and per == "insertions":
            out.append("Per 1,000 needle insertions")
        else:
            out.append(heading(col))
    return out


def p_text(p: object) -> str:
    """A p-value as people read it: '0.015', '<0.001'; '' when there is none."""
    try:
        value = float(p)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    if value != value:  # NaN
        return ""
    return "<0.001" if value < 0.001 else f"{value:.3f}"
