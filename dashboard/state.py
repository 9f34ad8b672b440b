"""Dashboard filter state <-> URL query parameters, validated, never trusted.

A copied link reopens the same view: the global filters live in ``st.query_params`` as
plain strings. Reading them back goes through ``filters_from_params``, which keeps only
known keys and well-formed values from fixed lists, and returns a notice for everything
it ignored, so a bad or hostile parameter can never raise or reach SQL unchecked.

    {"from": "2025-04-01", "clinic": "C04,C09", "severity": "serious;DROP"}
      -> ViewState(Filters(date_from=2025-04-01, clinics=("C04","C09")), ...),
         notices: ["ignored severity='serious;DROP': use mild, significant, serious, ..."]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from ingest.vocab import SEVERITY_TIERS, UNSPECIFIED

from .filters import Filters, parse_quarter

KEYS = ("from", "to", "quarter", "clinic", "profession", "region", "technique", "severity")
SEVERITIES = (*SEVERITY_TIERS, UNSPECIFIED)
_CODE = re.compile(r"^[A-Za-z0-9_.\- >=<]{1,60}$")


@dataclass(frozen=True)
class Choices:
    """The values the database holds, for validating list parameters."""

    clinics: tuple[str, ...] = ()
    professions: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()


@dataclass(frozen=True)
class ViewState:
    """Validated global filters, and the quarter they came from (if chosen as one)."""

    filters: Filters = field(default_factory=Filters)
    quarter: str | None = None


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _listed(key: str, raw: str, allowed: tuple[str, ...], notices: list[str]) -> tuple[str, ...]:
    items = [v.strip() for v in raw.split(",") if v.strip()]
    good = tuple(v for v in items if _CODE.match(v) and v in allowed)
    bad = [v for v in items if v not in good]
    if bad:
        shown = ", ".join(repr(b[:30]) for b in bad[:3])
        notices.append(f"ignored {key} {shown}: not in the database")
    return good


LIST_KEYS = ("clinic", "profession", "region", "technique")


def collapse_params(multi: dict[str, list[str]]) -> tuple[dict[str, str], list[str]]:
    """URL parameters as the browser sent them (a key may repeat) -> one string per key.

    ``?clinic=C02&clinic=C03`` means both clinics (joined as "C02,C03", as the dashboard
    writes them); a single-valued key given twice with different values (two quarters) is
    ambiguous, so it is ignored with a notice rather than silently taking the last."""
    notices: list[str] = []
    out: dict[str, str] = {}
    for key, values in multi.items():
        values = [v for v in values if v is not None]
        if not values:
            continue
        if key in LIST_KEYS:
            out[key] = ",".join(values)
        elif len(set(values)) > 1:
            shown = ", ".join(repr(v[:30]) for v in values[:3])
            notices.append(f"ignored {key[:30]} given {len(values)} times ({shown}): give it once")
        else:
            out[key] = values[0]
    return out, notices


def filters_from_params(params: dict[str, str], choices: Choices) -> tuple[ViewState, list[str]]:
    """ViewState from URL parameters, plus one notice per value that was ignored."""
    notices: list[str] = []
    unknown = sorted(k for k in params if k not in KEYS and k != "page")
    if unknown:
        notices.append(f"ignored unknown parameter(s): {', '.join(k[:30] for k in unknown)}")
    date_from = date_to = None
    quarter = params.get("quarter")
    if quarter:
        try:
            date_from, date_to = parse_quarter(quarter)
        except ValueError:
            notices.append(f"ignored quarter {quarter[:30]!r}: write it like 2026Q3")
            quarter = None
    if not quarter:
        for key in ("from", "to"):
            raw = params.get(key)
            if raw is None:
                continue
            parsed = _date(raw)
            if parsed is None:
                notices.append(f"ignored {key} {raw[:30]!r}: use YYYY-MM-DD")
            elif key == "from":
                date_from = parsed
            else:
                date_to = parsed
        if date_from and date_to and date_from > date_to:
            notices.append("ignored the period: it starts after it ends")
            date_from = date_to = None
    severity = params.get("severity")
    if severity is not None and severity not in SEVERITIES:
        notices.append(f"ignored severity {severity[:30]!r}: use {', '.join(SEVERITIES)}")
        severity = None
    state = ViewState(
        filters=Filters(
            date_from=date_from,
            date_to=date_to,
            clinics=_listed("clinic", params.get("clinic", ""), choices.clinics, notices),
            professions=_listed(
                "profession", params.get("profession", ""), choices.professions, notices
            ),
            regions=_listed("region", params.get("region", ""), choices.regions, notices),
            techniques=_listed(
                "technique", params.get("technique", ""), choices.techniques, notices
            ),
            severity=severity,
        ),
        quarter=quarter or None,
    )
    return state, notices


def params_from_state(state: ViewState) -> dict[str, str]:
    """The URL parameters that reproduce ``state`` (empty selections left out)."""
    f = state.filters
    params: dict[str, str] = {}
    if state.quarter:
        params["quarter"] = state.quarter
    else:
        if f.date_from:
            params["from"] = f.date_from.isoformat()
        if f.date_to:
            params["to"] = f.date_to.isoformat()
    for key, values in (
        ("clinic", f.clinics),
        ("profession", f.professions),
        ("region", f.regions),
        ("technique", f.techniques),
    ):
        if values:
            params[key] = ",".join(values)
    if f.severity:
        params["severity"] = f.severity
    return params
