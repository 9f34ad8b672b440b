"""The clinic feedback report: what a professional body sends each member clinic.

One clinic's quarter against the network of every clinic in the database (rows and
submissions alike), with the other clinics anonymous:

    headline, serious, affected, breakdowns   the clinic's own, as its clinic edition
    peers     the clinic's standardised ratio to the network (observed / expected at the
              network's rates by body region) for all events, serious events and each
              category (``dashboard.analysis.peers``)
    trend     the clinic's monthly u-chart and signals, as its clinic edition
    units     the funnel of every clinic (``signals.funnel_verdict``, as the Clinics page,
              ``needlewatch signals`` and the all-clinic report): the clinic named, its
              peers unlabelled points, counted by where they sit but never named

No listing (a body holds no narratives), no practitioner, no data-quality table of the
body's database. Needs ``settings.FEEDBACK_MIN_PEERS`` other clinics with treatments in
the quarter, so the network is not one or two identifiable peers.
"""

from __future__ import annotations

from dataclasses import replace

import duckdb
import pandas as pd

from dashboard.analysis.labels import label
from dashboard.analysis.peers import funnel_position, peer_ratios
from dashboard.analysis.rates import rate_table
from dashboard.analysis.signals import funnel_verdict, trend_window
from dashboard.analysis.statements import Statement
from dashboard.store.counts import rate_counts
from dashboard.store.cube import load_cube
from dashboard.store.filters import Filters, parse_quarter, shift_quarter
from dashboard.store.queries import data_coverage
from needlewatch import settings

from . import tables
from .answer import with_answer
from .cells import Period, months_of_quarter, window_months
from .common import NoTreatmentsError, data_as_of, notices, opening_sections
from .methods import methods_text
from .model import Report, ReportRequest, Section

SIR = "standardised ratio to the network (body region)"
ALL_EVENTS = "all events"


class TooFewPeersError(ValueError):
    """Fewer than FEEDBACK_MIN_PEERS other clinics treated in the quarter."""


def _peer_frame(con: duckdb.DuckDBPyConnection, quarter: Filters, clinic: str) -> pd.DataFrame:
    """The peers section: all events, serious events and each category, O / E."""
    by_region = rate_counts(con, ("clinic", "body_region"), quarter)
    treatments = by_region[["clinic", "body_region", "treatments"]]
    parts = [("all", by_region.assign(level=ALL_EVENTS), [ALL_EVENTS])]
    for dim in ("severity", "category"):
        counts = rate_counts(con, ("clinic", dim, "body_region"), quarter)
        counts = counts.rename(columns={dim: "level"})
        levels = ["serious"] if dim == "severity" else list(dict.fromkeys(counts["level"]))
        parts.append((dim, counts, levels))
    frames = []
    for dim, events, levels in parts:
        table = peer_ratios(treatments, events, clinic, levels, drop_absent=dim == "category")
        frames.append(
            pd.DataFrame(
                {
                    "dimension": dim,
                    "level": [str(v) for v in table["level"]],
                    "reference": "network",
                    "treatments": table["treatments"].astype("Int64"),
                    "events": table["events"].astype("Int64"),
                    "ref_events": table["network_events"].astype("Int64"),
                    "measure": SIR,
                    "value": table["ratio"],
                    "ci_low": table["ci_low"],
                    "ci_high": table["ci_high"],
                    "method": table["method"],
                    "expected": table["expected"],
                    "signal": table["verdict"],
                    "suppressed": False,
                    "network_rate": table["network_rate"],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _funnel(con, quarter: Filters, clinic: str, request: ReportRequest):
    """The funnel of every clinic with treatments; the clinic's row; the peers' positions."""
    counts = rate_counts(con, ("clinic",), quarter)
    counts = counts[counts["treatments"] > 0]
    peers = int((counts["clinic"].astype(str) != clinic).sum())
    if peers < settings.FEEDBACK_MIN_PEERS:
        raise TooFewPeersError(
            f"{request.quarter}: {peers} other clinic{'' if peers == 1 else 's'} treated this "
            "quarter; a feedback "
            f"report needs at least {settings.FEEDBACK_MIN_PEERS}, so that no peer can be "
            "recognised: use the clinic edition"
        )
    result = funnel_verdict(counts, "clinic", request.methods)
    own = counts[counts["clinic"].astype(str) == clinic]
    if result is None:  # no events anywhere: the clinic's rate, no funnel
        where, among = "no events in the network: no funnel", {}
    else:
        where, among = funnel_position(result, clinic)
        named = result.units["unit"].astype(str).where(result.units["unit"] == clinic, "")
        result = replace(result, units=result.units.assign(unit=named))
    rates = rate_table(own, ())
    row = result.units[result.units["unit"] == clinic] if result is not None else None
    frame = pd.DataFrame(
        {
            "dimension": "clinic",
            "level": [clinic],
            "treatments": own["treatments"].astype("Int64").to_numpy(),
            "events": own["events"].astype("Int64").to_numpy(),
            "measure": tables.RATE,
            "value": rates["rate_per_1000"].to_numpy(),
            "ci_low": rates["ci_low_per_1000"].to_numpy(),
            "ci_high": rates["ci_high_per_1000"].to_numpy(),
            "method": result.method if result is not None else where,
            "expected": result.target if result is not None else None,
            "limit_low": None if row is None else row["lo998"].to_numpy(),
            "limit_high": None if row is None else row["hi998"].to_numpy(),
            "signal": where,
            "suppressed": False,
        }
    )
    peers_note = "; ".join(f"{n} {v}" for v, n in among.items())
    note = (
        f"The other {peers} clinics are unlabelled points, never named: {peers_note}."
        if among
        else ""
    )
    return frame, result, note, peers


def _peer_statement(frame: pd.DataFrame) -> Statement | None:
    """Page 1's sentence on all events against the network."""
    row = frame[frame["dimension"] == "all"].iloc[0]
    if pd.isna(row["value"]):
        return None
    tone = {"higher than the network": "concern", "lower than the network": "improvement"}
    text = (
        f"Against the network: {int(row['events']):,} adverse events where the network's "
        f"rates by body region would give {row['expected']:,.1f}, a ratio of "
        f"{row['value']:.2f} (95% CI {row['ci_low']:.2f} to {row['ci_high']:.2f}): "
        f"{row['signal']}."
    )
    return Statement("peers", text, "peers", tone.get(str(row["signal"]), "neutral"))


def build_feedback(con: duckdb.DuckDBPyConnection, request: ReportRequest) -> Report:
    """``request.clinic``'s feedback report for ``request.quarter`` (module docstring).

    Raises NoTreatmentsError when the clinic has no treatments in the quarter and
    TooFewPeersError when fewer than FEEDBACK_MIN_PEERS other clinics do.
    """
    clinic = request.clinic
    if clinic is None:
        raise ValueError("a feedback report is for one clinic: give --clinic")
    methods = request.methods
    start, end = request.period
    current = Filters(clinics=(clinic,), date_from=start, date_to=end)
    window = trend_window(current, methods)
    coverage = data_coverage(con)
    cube = load_cube(con, window, current)
    quarter = Period(request.quarter, request.quarter, months_of_quarter(request.quarter))
    if not cube.monthly["month"].isin(quarter.months).any():
        raise NoTreatmentsError(
            f"no treatments in {request.quarter} at clinic {clinic}: check the quarter "
            "(needlewatch rates --by quarter lists them) and the clinic id"
        )
    network = Filters(date_from=start, date_to=end)
    unit_frame, funnel, peers_note, peers = _funnel(con, network, clinic, request)
    sections = opening_sections(cube, clinic, quarter)
    peer_frame = _peer_frame(con, network, clinic)
    peer_frame["level"] = [
        lv if d in ("all", "severity") else label("category", lv)
        for d, lv in zip(peer_frame["dimension"], peer_frame["level"], strict=True)
    ]
    sections.append(
        Section("peers", "Against the network: observed and expected events", peer_frame,
                kind="ratios")
    )  # fmt: skip
    trend = tables.trend(
        cube, clinic, window_months(request.quarter, methods.trend_months), quarter, coverage,
        None, clinic, methods, values=True,
    )  # fmt: skip
    sections.append(Section("trend", "Monthly trend (u-chart)", trend.frame, kind="trend"))
    sections.append(
        Section("units", f"Clinic {clinic} among {peers + 1} clinics (funnel plot)",
                unit_frame, note=peers_note, kind="units")
    )  # fmt: skip
    report = Report(
        request=request,
        title=f"NeedleWatch clinic feedback, {request.label}",
        scope=f"Clinic {clinic} against {peers} peer clinics",
        units=(clinic,),
        previous_quarter=shift_quarter(request.quarter, -1),
        trailing=(parse_quarter(shift_quarter(request.quarter, -3))[0], end),
        data_as_of=data_as_of(con),
        sections=tuple(sections),
        signals=tuple(st.sentence for c in trend.charts for st in c.statements),
        listing=None,
        methods=methods_text(request),
        trend_points=None if trend.overall is None else trend.overall.chart.points,
        funnel=funnel,
        notices=notices(request, coverage, [clinic], pd.DataFrame()),
        method_overrides=methods.overrides(),
    )
    answered = with_answer(report, trend.charts)
    said = _peer_statement(peer_frame)
    if said is None:
        return answered
    first, *rest = answered.statements
    return replace(answered, statements=(first, said, *rest))
