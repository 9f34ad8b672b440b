"""Carriage returns that DuckDB's strict CSV reader refuses, made readable row by row.

DuckDB stops the whole scan ("CSV Parser state machine reached an invalid state") on a
carriage return (CR, ``\\r``) that is neither part of a CRLF line end nor inside quotes,
and on a file that mixes CRLF and LF line ends. One stray CR would lose the whole file.
So when a scan fails that way, the file is copied once with:

- every CRLF turned into LF (the copy has one kind of line end);
- every CR outside quotes (by the parity of the ``"`` before it, as Excel reads it)
  replaced by ``MARKER``, a Unicode noncharacter that never occurs in interchanged
  text, so the row reads normally and a check rejects it, naming row and column;
- CRs inside quotes kept: a quoted text value may hold one.

A file that uses CR alone as its line end (classic Mac OS) is copied with every CR as
LF before anything else reads it (``is_cr_only``).

Each chunk is handled by C-speed ``bytes`` operations; only the rare bare CRs are
visited one by one.
"""

from __future__ import annotations

from pathlib import Path

#: Stands for an unquoted bare CR in a fixed copy (U+FDD0, a Unicode noncharacter).
MARKER = "\ufdd0"
_MARKER = MARKER.encode("utf-8")
_CHUNK = 1 << 22
_STATE_MACHINE = "state machine reached an invalid state"


def is_line_break_error(message: str) -> bool:
    """True for the DuckDB CSV error a stray or mixed carriage return causes."""
    return _STATE_MACHINE in message


def is_cr_only(head: bytes) -> bool:
    """True when the first bytes of a file hold a line end CR and no LF (classic Mac OS).

    ``head`` is the file's first 64 KB or so: a file with LF line ends has one there, a
    stray CR in its header notwithstanding.
    """
    return b"\n" not in head and b"\r" in head.rstrip(b"\r")


def cr_to_lf(source: Path, target: Path) -> None:
    """Copy a CR-line-end file with LF line ends (CRLF stays one line end)."""
    with source.open("rb") as src, target.open("wb") as dst:
        carry = b""
        while chunk := src.read(_CHUNK):
            data, carry = _hold_last_cr(carry + chunk)
            dst.write(data.replace(b"\r\n", b"\n").replace(b"\r", b"\n"))
        dst.write(carry.replace(b"\r", b"\n"))


def mark_bare_crs(source: Path, target: Path) -> int:
    """Copy ``source`` with LF line ends and each unquoted bare CR as ``MARKER``.

    Returns the number of CRs marked (0: the reader's complaint was only mixed line ends).
    """
    marked = 0
    quotes = 0  # quote characters before the current position: odd = inside quotes
    with source.open("rb") as src, target.open("wb") as dst:
        carry = b""
        while True:
            chunk = src.read(_CHUNK)
            if not chunk and carry:  # a CR that ends the file ends its last line
                dst.write(b"\n")
                return marked
            data, carry = _hold_last_cr(carry + chunk)
            data = data.replace(b"\r\n", b"\n")
            if b"\r" not in data:
                quotes += data.count(b'"')
                dst.write(data)
            else:
                parts = data.split(b"\r")
                out = [parts[0]]
                quotes += parts[0].count(b'"')
                for part in parts[1:]:
                    inside = quotes % 2 == 1
                    out.append(b"\r" if inside else _MARKER)
                    marked += not inside
                    out.append(part)
                    quotes += part.count(b'"')
                dst.write(b"".join(out))
            if not chunk:
                return marked


def _hold_last_cr(data: bytes) -> tuple[bytes, bytes]:
    """Keep a trailing CR for the next chunk: it may be the first half of a CRLF."""
    if data.endswith(b"\r"):
        return data[:-1], b"\r"
    return data, b""
