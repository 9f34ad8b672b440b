"""SQL text for one load: scans of a source, check predicates, the typed INSERT.

Pure string builders, no connection: table and column names come only from
``ingest.kinds`` (fixed lists); every value is a named parameter.

    source.relation (renamed VARCHAR columns)
      -> _scan_sql: trimmed, '' -> NULL [, _k file position] [, parsed _p_/_n_ columns]
      -> _insert_sql: INSERT INTO <table> SELECT typed values WHERE no check fails
"""

from __future__ import annotations

import hashlib
import re
from string import Formatter

from .history import SCAN_ITEMS, SCAN_JOIN
from .kinds import Kind
from .readers import Source
from .validate import Check, ParseOptions, parse_projection, parsed_ref
from .vocab import ALWAYS_SERIOUS, UNSPECIFIED


def used(params: dict[str, object], sql: str) -> dict[str, object]:
    """The named parameters that ``sql`` mentions (DuckDB rejects unused ones)."""
    names = set(re.findall(r"\$([a-z_][a-z0-9_]*)", sql))
    return {k: v for k, v in params.items() if k in names}


def hmac_pads(secret_hex: str) -> tuple[bytes, bytes]:
    """Inner and outer HMAC-SHA256 pads (RFC 2104) for the per-database key."""
    key = bytes.fromhex(secret_hex)
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


#: A treatment row's clinic_id until ``ingest.treatment_steps.fill_clinics`` sets it ('' is never
#: an id: the scan turns a blank into NULL).
CLINIC_TO_FILL = ""


def target_select(kind: Kind, opts: ParseOptions) -> list[str]:
    """SQL expressions, in the target table's column order (run_id excluded).

    A treatment without a clinic_id is inserted with ``CLINIC_TO_FILL`` (``$clinic_to_fill``,
    bound by ``insert_sql``), which an UPDATE
    of those rows alone replaces by the clinic of the profile in force on its date: as a
    correlated subquery here, DuckDB would decorrelate that lookup into a join of every
    row, however few need it (6.4 s of a 5-million-row load).
    """
    exprs = []
    for col in kind.columns:
        parsed = parsed_ref(col)
        if kind.name == "treatments" and col.name == "clinic_id":
            exprs.append("coalesce(src.clinic_id, $clinic_to_fill)")
        elif col.type == "patient":
            exprs.append("pk.patient_key")
        elif col.type == "event_type":
            exprs += ["event_type", "tm.category"]
        elif col.type == "severity":
            exprs += [
                "severity",
                "CASE WHEN hospitalised_flag OR list_contains($always_serious, tm.category) "
                "THEN 'serious' ELSE coalesce(sm.tier, $unspecified) END",
            ]
        else:
            exprs.append(parsed)
    return exprs


def trimmed(column: str) -> str:
    """``nullif(trim(column), '')``: DuckDB's trim strips Unicode space separators (not
    tabs or line breaks) from both ends, and '' becomes NULL.

    trim itself runs only for a value that starts or ends with a space or holds a
    character beyond ASCII, where it could strip something: it decodes every character
    of every value, and on 12 columns of 5 million rows that cost 1.2 s more than this
    byte test. Checked equal to ``nullif(trim(c), '')`` for every Unicode character
    leading, trailing and alone (tests/test_ingest_trim.py).
    """
    c = column
    return (
        f"CASE WHEN {c} = '' THEN NULL WHEN starts_with({c}, ' ') OR ends_with({c}, ' ') "
        f"OR strlen({c}) <> length({c}) THEN nullif(trim({c}), '') ELSE {c} END"
    )


def scan_sql(source: Source, *, numbered: bool = False, typed: ParseOptions | None = None) -> str:
    """The source as text, aliased ``src``: trimmed, '' -> NULL, canonical column names.

    ``numbered`` adds ``_k``, the 1-based position in file order. The streaming
    ``row_number() OVER ()`` that computes it keeps the reader's order but runs on one
    thread, so only the slow path (a file with rejects) asks for it. ``typed`` adds the
    parsed values (validate.parse_projection) that checks and the insert read and, for a
    practitioners file, the profile held (``_ref_*``, ``ingest.history``; the temp table
    ``profile_refs`` must exist).
    """
    cols = [
        f"{trimmed(c)} AS {c}" if c in source.columns else f"NULL::VARCHAR AS {c}"
        for c in source.kind.names
    ]
    if source.row_column:
        cols.append(source.row_column)
    if numbered:
        cols.insert(0, "row_number() OVER () AS _k")
    text = f"(SELECT {', '.join(cols)} FROM {source.relation})"
    if typed is None:
        return f"{text} src"
    items, join = parse_projection(source.kind, typed), ""
    if source.kind.name == "practitioners":
        items, join = [*items, *SCAN_ITEMS], f" {SCAN_JOIN}"
    return f"(SELECT t.*, {', '.join(items)} FROM {text} t{join}) src"


def blank_sql(source: Source) -> str:
    """True for a row with no value in any canonical column (skipped, with a notice)."""
    return "(" + " AND ".join(f"{c} IS NULL" for c in source.kind.names) + ")"


def failed_sql(checks: list[Check]) -> str:
    """True when any check fails: the row is rejected. Checks sharing a gate are tested
    through it, once (see ``validate.Check``)."""
    preds = list(dict.fromkeys(f"coalesce({c.gate or c.predicate}, false)" for c in checks))
    return "(" + " OR ".join(preds) + ")" if preds else "false"


def mask_sql(checks: list[Check], params: dict[str, object]) -> str:
    """One BIGINT per row with bit i set when check i failed; records each check's column."""
    bits = []
    for i, check in enumerate(checks):
        params[f"col{i}"] = check.column
        bits.append(f"(coalesce({check.predicate}, false)::BIGINT << {i})")
    return " | ".join(bits) if bits else "0::BIGINT"


def reason_sql(check: Check, i: int, params: dict[str, object]) -> str:
    """The stored reason of check ``i``: its text as a parameter or, when it names
    ``{placeholders}``, the text's pieces (parameters) joined with the values the check
    gives for them (fixed SQL over the rejected row, ``Check.values``)."""
    if not check.values:
        params[f"reason{i}"] = check.reason
        return f"$reason{i}"
    values, parts = dict(check.values), []
    for j, (text, field, _spec, _conv) in enumerate(Formatter().parse(check.reason)):
        if text:
            params[f"reason{i}_{j}"] = text
            parts.append(f"$reason{i}_{j}")
        if field is not None:
            parts.append(f"CAST({values[field]} AS VARCHAR)")
    return f"concat({', '.join(parts)})"


def named(source: Source, params: dict, sql: str) -> dict[str, object]:
    """The named parameters ``sql`` uses plus the source's own ($p_src0, $p_src1 ...)."""
    return {**used(params, sql), **{f"p_src{i}": v for i, v in enumerate(source.params)}}


def insert_sql(
    source: Source,
    checks: list[Check],
    opts: ParseOptions,
    params: dict,
    *,
    last_only: bool,
) -> str:
    """INSERT of every row that passes all checks, typed, into the target table.

    ``last_only`` keeps only the last row of each id in file order (numbered scan, one
    thread); otherwise rows go in whatever order the parallel scan delivers them.

    A blank row fails the check that its id is present, so the blank test is left out
    whenever that check is there (always, for a file that passed the header check): as a
    filter DuckDB pushes it below the trimming projection and trims every column twice
    more (2.5-5 s of a 5-million-row load).
    """
    kind = source.kind
    exprs = target_select(kind, opts)
    joins = ""
    if kind.name == "treatments":
        params["clinic_to_fill"] = CLINIC_TO_FILL
        joins = "LEFT JOIN pkeys pk ON pk.patient_id = src.patient_id"
    elif kind.name == "adverse_events":
        params["always_serious"] = sorted(ALWAYS_SERIOUS)
        params["unspecified"] = UNSPECIFIED
        hospitalised = parsed_ref(kind.column("hospitalised"))
        exprs = [e.replace("hospitalised_flag", f"coalesce({hospitalised}, false)") for e in exprs]
        joins = (
            "LEFT JOIN term_map tm ON tm.raw = src.event_type "
            "LEFT JOIN severity_map sm ON sm.raw = lower(src.severity)"
        )
    good = f"NOT {failed_sql(checks)}"
    if not any(c.predicate == f"{kind.id_column} IS NULL" for c in checks):
        good = f"NOT {blank_sql(source)} AND {good}"
    last = ""
    if last_only:
        last = f"QUALIFY row_number() OVER (PARTITION BY {kind.id_column} ORDER BY _k DESC) = 1"
    return (
        f"INSERT INTO {kind.table} SELECT {', '.join(exprs)}, $run_id "
        f"FROM (SELECT * FROM {scan_sql(source, numbered=last_only, typed=opts)} WHERE {good} {last}) src "
        f"{joins}"
    )
