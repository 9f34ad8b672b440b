"""Text encodings of CSV files: the header line, transcoding to UTF-8, and messages that
name the file and say which ``--encoding`` to use.

DuckDB reads UTF-8 only, so a file in another encoding is copied to UTF-8 first (C-speed
codecs, 4 MB chunks). A wrong ``--encoding`` must not fail with a bare codec message
("UTF-16 stream does not start with BOM") nor succeed with garbage (a UTF-16 file read
as cp1252 decodes to text full of NULs; a UTF-8 file read as cp1252 to "ClÃ­nica"):
``looks_like`` sniffs the first bytes, and every refusal says what the file looks like.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from .errors import EncodingProblemError

#: Encodings DuckDB reads directly (by codecs' canonical name).
UTF8_CODECS = frozenset({"utf-8", "utf-8-sig"})
_CHUNK = 1 << 22
_NON_ASCII = re.compile(rb"[\x80-\xff]")
_SNIFF = 1 << 16
_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32", "utf-32"),
    (codecs.BOM_UTF32_BE, "UTF-32", "utf-32"),
    (codecs.BOM_UTF8, "UTF-8", None),
    (codecs.BOM_UTF16_LE, "UTF-16", "utf-16"),
    (codecs.BOM_UTF16_BE, "UTF-16", "utf-16"),
)
SINGLE_BYTE_FIX = "try --encoding cp1252 (Windows Excel) or --encoding latin-1"


def codec_name(path: Path, encoding: str) -> str:
    """The canonical codec name of ``--encoding``, or a refusal naming the file."""
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        raise EncodingProblemError(
            f"{path}: unknown encoding '{encoding}'; use e.g. --encoding cp1252, latin-1 or "
            "utf-16, or drop --encoding for UTF-8"
        ) from None
    if not getattr(info, "_is_text_encoding", True):
        raise EncodingProblemError(
            f"{path}: '{encoding}' is not a text encoding; use e.g. --encoding cp1252, "
            "latin-1 or utf-16, or drop --encoding for UTF-8"
        )
    return info.name


def looks_like(head: bytes) -> tuple[str, str | None] | None:
    """(what the first bytes of a file look like, the --encoding that reads it: None for
    UTF-8), or None when they are plain ASCII (every usual encoding reads them alike)."""
    for bom, name, option in _BOMS:
        if head.startswith(bom):
            return name, option
    if head.count(b"\0") * 4 >= len(head) > 0:  # ASCII text in UTF-16: every other byte NUL
        even_nuls = head[0::2].count(b"\0") > head[1::2].count(b"\0")
        return "UTF-16 without a byte-order mark", "utf-16-be" if even_nuls else "utf-16-le"
    if head.isascii():
        return None
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head)  # a cut last character is fine
    except UnicodeDecodeError:
        return "a single-byte encoding", "cp1252"
    return "UTF-8", None


def advice(sample: bytes, current: str | None = None) -> str:
    """What to pass, from what ``sample`` (bytes of the file) looks like: "the file looks
    like UTF-8: drop --encoding" and the like. ``current`` is the codec that failed."""
    seen = looks_like(sample)
    if seen is None:
        return "the file looks like ASCII or UTF-8: drop --encoding"
    name, option = seen
    if option is None:
        return f"the file looks like {name}: drop --encoding"
    if option == "cp1252" and current not in (None, "utf-8"):
        return f"the file looks like {name}: try --encoding latin-1, which reads every byte"
    if option == "cp1252":
        return f"the file looks like {name}: {SINGLE_BYTE_FIX}"
    return f"the file looks like {name}: pass --encoding {option}"


def read_head(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(_SNIFF)


def first_line(path: Path, shown: Path) -> str:
    """The header line of a UTF-8 file (decoded alone, so row 2+ cannot fail here)."""
    with path.open("rb") as fh:
        raw = fh.readline(1 << 20)
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise EncodingProblemError(
            f"{shown} row 1: the header is not valid UTF-8; {advice(read_head(shown), 'utf-8')}"
        ) from None
    if "\0" in line:
        raise EncodingProblemError(
            f"{shown} row 1: the header holds NUL bytes, so the file is not UTF-8 text; "
            f"{advice(read_head(shown), 'utf-8')}"
        )
    return line.lstrip("\ufeff").rstrip("\r\n")


def transcode(path: Path, encoding: str, target: Path) -> None:
    """Copy ``path`` from ``encoding`` to UTF-8 at ``target``, or refuse naming the file.

    Refused: a file whose first bytes say it is UTF-16, UTF-32 or (by a byte-order mark)
    UTF-8 while ``encoding`` says otherwise; bytes that are not valid in ``encoding``
    (with their line and byte offset); and a file that is entirely valid UTF-8 with
    non-ASCII letters, read as a single-byte encoding (it would store "ClÃ­nica").
    """
    name = codec_name(path, encoding)
    head = read_head(path)
    seen = looks_like(head)
    wide = seen is not None and seen[0].startswith(("UTF-16", "UTF-32"))
    unicode_family = name.startswith(("utf-16", "utf-32"))
    if wide and not unicode_family:
        _refuse(path, encoding, "it holds NUL bytes or a UTF-16/32 byte-order mark", head)
    if unicode_family and not wide:
        _refuse(path, encoding, "no byte-order mark and no NUL bytes", head)
    if head.startswith(codecs.BOM_UTF8):
        _refuse(path, encoding, "it starts with a UTF-8 byte-order mark", head)
    decoder = codecs.getincrementaldecoder(name)()
    utf8 = codecs.getincrementaldecoder("utf-8")() if not unicode_family else None
    all_utf8, non_ascii, done, lines = utf8 is not None, b"", 0, 0
    with path.open("rb") as src, target.open("w", encoding="utf-8", newline="") as dst:
        while True:
            chunk = src.read(_CHUNK)
            pending = len(decoder.getstate()[0])
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeError as exc:  # UnicodeDecodeError, or utf-16's missing BOM
                start = getattr(exc, "start", None)
                where, sample = "", head
                if start is not None:
                    offset = done - pending + start
                    prefix = exc.object[:start].decode(name, errors="replace")
                    where = f" line {lines + prefix.count(chr(10)) + 1} (byte {offset})"
                    sample = exc.object[max(0, start - 4096) : start + 4096]
                reason = exc.reason if isinstance(exc, UnicodeDecodeError) else str(exc)
                _refuse(path, encoding, reason, sample, where=where, current=name)
            if all_utf8:
                if not non_ascii and not chunk.isascii():
                    first = _NON_ASCII.search(chunk).start()
                    non_ascii = chunk[max(0, first - 4096) : first + 4096]
                try:
                    utf8.decode(chunk, final=not chunk)
                except UnicodeDecodeError:
                    all_utf8 = False
            lines += text.count("\n")
            done += len(chunk)
            dst.write(text)
            if not chunk:
                break
    if all_utf8 and non_ascii:
        _refuse(path, encoding, "it is valid UTF-8 with non-ASCII letters", non_ascii)


def _refuse(
    path: Path,
    encoding: str,
    detail: str,
    sample: bytes,
    *,
    where: str = "",
    current: str | None = None,
) -> None:
    raise EncodingProblemError(
        f"{path}{where}: is not {encoding} text ({detail}); check --encoding "
        f"({advice(sample, current)})"
    )
