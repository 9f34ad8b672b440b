"""The board's SPC summary (NHS Making Data Count's table) from the charted series.

Pure: the series ``trends.chart_series`` charted in, one row per event category and
severity tier out, so the Trends page, the reports and ``needlewatch signals`` print the
same table.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from dashboard.analysis.trends import ChartedSeries

SUMMARY_COLUMNS = (
    "kind", "level", "series", "latest", "value", "mean", "lower", "upper", "variation",
    "signals", "note",
)  # fmt: skip


def spc_summary(charted: Sequence[ChartedSeries]) -> pd.DataFrame:
    """The board's SPC summary (NHS Making Data Count's table): one row per event category
    and per severity tier, with the latest complete period's rate, the centre line (mean)
    and 3-sigma limits there, its variation (common cause, or special cause of concern or
    of improvement) and how many signals touch the chosen period. A series too rare or
    short to chart has a row that says why.

        [ChartedSeries(category ...), ChartedSeries(severity ...)] -> SUMMARY_COLUMNS
    """
    rows = []
    for c in charted:
        kind = c.series.kind
        if kind == "all":
            continue
        level = c.series.category if kind == "category" else c.series.severity
        if c.chart is None:
            rows.append({"kind": kind, "level": level, "series": c.series.what,
                         "variation": "not charted", "signals": 0, "note": c.reason})  # fmt: skip
            continue
        pts = c.chart.points
        done = pts[~pts["incomplete"]]
        last = done.iloc[-1]
        rows.append(
            {"kind": kind, "level": level, "series": c.series.what, "latest": last["period"],
             "value": float(last["rate"]), "mean": float(last["centre"]),
             "lower": float(last["lcl3"]), "upper": float(last["ucl3"]),
             "variation": str(last["point_type"]), "signals": len(c.statements), "note": ""}
        )  # fmt: skip
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
