"""Keyed pseudonyms for practitioners and clinics: the same code on every page, report,
download and quarter, and no way back to the id without the database's secret.

    code = prefix + first w hex digits of HMAC-SHA256(secret, kind + ":" + id)
    practitioner: "P-" and 8 digits ("P-3F0A9C1B"); clinic: "K-" and 4 digits ("K-2833")

An unkeyed hash of an id is no pseudonym: hashing P001..P999 finds every one. The key is
the per-database secret (``meta.patient_key_secret``, 256 random bits written when the
database is created), so only someone holding the database file can link a code to an id,
and they can read the id anyway. Codes that would collide are lengthened two digits at a
time until unique, over every id of that kind in the database, so a code never changes
with the page, the filters or the quarter (RFC 2104 HMAC; domain separation by kind).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

KINDS = {"practitioner": ("P-", 8), "clinic": ("K-", 4)}


def pseudonyms(ids: Iterable[str], secret: bytes, kind: str) -> dict[str, str]:
    """id -> code for every id of ``kind`` (pass them all: see the module doc).

    Raises ValueError for an unknown kind or an empty secret.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    if not secret:
        raise ValueError("pseudonyms need the database's secret key")
    prefix, width = KINDS[kind]
    digests = {
        str(i): hmac.new(secret, f"{kind}:{i}".encode(), hashlib.sha256).hexdigest().upper()
        for i in ids
    }
    widths = dict.fromkeys(digests, width)
    while True:
        seen: dict[str, list[str]] = {}
        for i, d in digests.items():
            seen.setdefault(d[: widths[i]], []).append(i)
        clashes = [group for group in seen.values() if len(group) > 1]
        if not clashes:
            return {i: prefix + d[: widths[i]] for i, d in digests.items()}
        for group in clashes:
            for i in group:
                widths[i] += 2
                if widths[i] > 64:  # pragma: no cover - a SHA-256 collision
                    raise AssertionError("SHA-256 collision")
