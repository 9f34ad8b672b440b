"""The report's SPC summary table as printed (HTML and PDF): measures too rare to chart
named in a note, not a row of dashes; the public edition, which publishes no monthly
count, prints the variation only, with no columns of dashes."""

from __future__ import annotations

import math

import pandas as pd

from dashboard.report.html_tables import summary_table
from dashboard.report.model import Section

NAN = math.nan


def _section(values: list[float]) -> Section:
    return Section(
        "spc",
        "SPC summary",
        pd.DataFrame(
            {
                "dimension": ["category", "category", "severity"],
                "level": ["bruising", "pneumothorax", "mild"],
                "method": ["2026-09", "2026-09", "2026-09"],
                "value": values,
                "expected": [70.7 if not math.isnan(v) else NAN for v in values],
                "limit_low": [48.6 if not math.isnan(v) else NAN for v in values],
                "limit_high": [92.8 if not math.isnan(v) else NAN for v in values],
                "signal": ["special cause of concern (higher)", "not charted", "common cause"],
            }
        ),
        kind="summary",
    )


def test_summary_rows_and_the_note_of_measures_not_charted() -> None:
    table, note = summary_table(_section([171.38, NAN, 190.0]))
    assert [h.text for h in table.headers] == [
        "", "Measure", "Latest", "Per 1,000", "Mean", "3-sigma limits", "Variation",
    ]  # fmt: skip
    assert [row[1:] for row in table.rows] == [
        ("Category: bruising", "2026-09", "171.38", "70.70", "48.60 to 92.80",
         "special cause of concern (higher)"),
        ("Severity: mild", "2026-09", "190.00", "70.70", "48.60 to 92.80", "common cause"),
    ]  # fmt: skip
    assert note == "Too few events over the 24 months to chart: pneumothorax."


def test_public_summary_prints_the_variation_without_columns_of_dashes() -> None:
    table, _ = summary_table(_section([NAN, NAN, NAN]))
    assert [h.text for h in table.headers] == ["", "Measure", "Latest", "Variation"]
    assert [row[1:] for row in table.rows] == [
        ("Category: bruising", "2026-09", "special cause of concern (higher)"),
        ("Severity: mild", "2026-09", "common cause"),
    ]
