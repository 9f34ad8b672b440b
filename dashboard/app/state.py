"""Dashboard filter state <-> URL query parameters, validated, never trusted.

A copied link reopens the same view: the global filters and each page's own settings
(``PAGE_SETTINGS``: event category, month or quarter, denominator, ...) live in
``st.query_params`` as plain strings. Reading them back goes through ``filters_from_params``, which keeps only
known keys and well-formed values from fixed lists, and returns a notice for everything
it ignored, so a bad or hostile parameter can never raise or reach SQL unchecked.

    {"from": "2025-04-01", "clinic": "C04,C09", "severity": "serious;DROP"}
      -> ViewState(Filters(date_from=2025-04-01, clinics=("C04","C09")), ...),
         notices: ["ignored severity='serious;DROP': use mild, significant, serious, ..."]

A page setting is checked by ``setting_from_params`` against the values the page offers
(a fixed list, or the clinics and quarters in the database) and falls back to its default
with a notice; ``dashboard.app.screens._common.page_setting`` draws it, keeps it in the URL and
remembers it across a page switch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from dashboard.store.filters import Filters, parse_quarter
from ingest.vocab import SEVERITY_TIERS, UNSPECIFIED

KEYS = ("from", "to", "quarter", "clinic", "profession", "region", "technique", "severity")
#: Each page's own URL parameters (beside the global filters), by page slug.
PAGE_SETTINGS: dict[str, tuple[str, ...]] = {
    "overview": (),
    "incidence": ("per",),
    "training": ("category",),
    "trends": ("category", "by", "base_from", "base_to", "rebase"),
    "clinics": ("category", "compare", "within", "limits"),
    "serious": (),
    "quality": (),
    "submissions": (),
    "report-event": (),
    "upload": (),
    "report": ("report_quarter", "edition", "format", "rounding"),
}
PAGE_KEYS = frozenset(k for keys in PAGE_SETTINGS.values() for k in keys)
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
    unknown = sorted(k for k in params if k not in KEYS and k not in PAGE_KEYS and k != "page")
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


def setting_from_params(
    params: dict[str, str], key: str, options: tuple[str, ...] | list[str], default: str
) -> tuple[str | None, str | None]:
    """A page setting's value from the URL: (value, None) when the link gives one of
    ``options``; (None, None) when it gives none; (None, notice) when it gives another
    value, which is ignored (the page then shows its default or the remembered value)."""
    raw = params.get(key)
    if raw is None or raw == "":
        return None, None
    if _CODE.match(raw) and raw in options:
        return raw, None
    shown = ", ".join(str(o) for o in list(options)[:8]) + (", ..." if len(options) > 8 else "")
    return None, f"ignored {key} {raw[:30]!r}: use {shown or 'nothing here'} (default {default})"


def page_params(params: dict[str, str], page: str | None) -> tuple[dict[str, str], list[str]]:
    """The page settings in ``params`` that belong to ``page`` (None: any page's), and a
    notice for each that belongs to another page only, which is dropped."""
    own = PAGE_SETTINGS.get(page, ()) if page is not None else tuple(PAGE_KEYS)
    kept = {k: v for k, v in params.items() if k in own}
    foreign = sorted(k for k in params if k in PAGE_KEYS and k not in own)
    notices = [f"ignored {k}: this page has no such setting" for k in foreign]
    return kept, notices
