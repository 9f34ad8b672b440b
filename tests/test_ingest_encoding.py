"""A wrong ``--encoding`` stops the run with one line naming the file and the fix.

``needlewatch ingest a.csv b.csv c.csv d.csv --encoding utf-16`` with one file really
UTF-8 once printed "UTF-16 stream does not start with BOM", naming no file; other wrong
encodings could even load garbage (a UTF-8 file read as cp1252 stores "ClÃ­nica").
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from needlewatch.cli import main

CLINICS = "clinic_id,name\nC20,Clínica Ñandú\n"
PRACTITIONERS = "practitioner_id,clinic_id,dn_training_hours\nP20,C20,40\n"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _ingest(capsys, db: Path, *args: str) -> tuple[int, str, str]:
    status = main(["ingest", "--db", str(db), *args])
    out, err = capsys.readouterr()
    return status, out, err


def _refused(capsys, db: Path, message: str, *args: str) -> None:
    before = _digest(db)
    assert _ingest(capsys, db, *args) == (2, "", f"needlewatch: {message}\n")
    assert _digest(db) == before


def test_one_utf8_file_in_a_utf16_batch_is_named(base_db: Path, tmp_path: Path, capsys) -> None:
    a, b, c, d = (tmp_path / f"{n}.csv" for n in "abcd")
    a.write_text(CLINICS, encoding="utf-16")
    b.write_text(PRACTITIONERS, encoding="utf-16")
    c.write_text("clinic_id,name\nC21,Clínica Dos\n", encoding="utf-8")
    d.write_text("clinic_id,name\nC22,Tres\n", encoding="utf-16")
    files = [str(p) for p in (a, b, c, d)]
    _refused(
        capsys,
        base_db,
        f"{c}: is not utf-16 text (no byte-order mark and no NUL bytes); check --encoding "
        "(the file looks like UTF-8: drop --encoding)",
        *files,
        "--encoding",
        "utf-16",
    )


def test_utf16_files_load_with_their_encoding(base_db: Path, tmp_path: Path, capsys) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(CLINICS, encoding="utf-16")
    b.write_bytes(PRACTITIONERS.encode("utf-16-le"))
    status, _, err = _ingest(capsys, base_db, str(a), "--encoding", "utf-16")
    assert (status, err) == (0, "")
    status, _, err = _ingest(capsys, base_db, str(b), "--encoding", "utf-16-le")
    assert (status, err) == (0, "")
    with duckdb.connect(str(base_db), read_only=True) as con:
        assert con.execute("SELECT name FROM clinics WHERE clinic_id = 'C20'").fetchall() == [
            ("Clínica Ñandú",)
        ]
        assert con.execute(
            "SELECT clinic_id FROM practitioners WHERE practitioner_id = 'P20'"
        ).fetchall() == [("C20",)]


@pytest.mark.parametrize(
    ("write", "encoding", "message"),
    [
        (
            lambda p: p.write_text(CLINICS, encoding="utf-16"),
            "cp1252",
            "is not cp1252 text (it holds NUL bytes or a UTF-16/32 byte-order mark); check "
            "--encoding (the file looks like UTF-16: pass --encoding utf-16)",
        ),
        (
            lambda p: p.write_bytes(CLINICS.encode("utf-16-le")),
            "latin-1",
            "is not latin-1 text (it holds NUL bytes or a UTF-16/32 byte-order mark); check "
            "--encoding (the file looks like UTF-16 without a byte-order mark: pass "
            "--encoding utf-16-le)",
        ),
        (
            lambda p: p.write_bytes(CLINICS.encode("utf-16-le")),
            "utf-16",
            "is not utf-16 text (UTF-16 stream does not start with BOM); check --encoding "
            "(the file looks like UTF-16 without a byte-order mark: pass --encoding utf-16-le)",
        ),
        (
            lambda p: p.write_text(CLINICS, encoding="utf-8"),
            "cp1252",
            "is not cp1252 text (it is valid UTF-8 with non-ASCII letters); check --encoding "
            "(the file looks like UTF-8: drop --encoding)",
        ),
        (
            lambda p: p.write_text(CLINICS, encoding="utf-8-sig"),
            "latin-1",
            "is not latin-1 text (it starts with a UTF-8 byte-order mark); check --encoding "
            "(the file looks like UTF-8: drop --encoding)",
        ),
        (
            lambda p: p.write_text(CLINICS, encoding="utf-8"),
            "utf-16-le",
            "is not utf-16-le text (no byte-order mark and no NUL bytes); check --encoding "
            "(the file looks like UTF-8: drop --encoding)",
        ),
        (
            lambda p: p.write_text(CLINICS, encoding="utf-8"),
            "utf-99",
            "unknown encoding 'utf-99'; use e.g. --encoding cp1252, latin-1 or utf-16, or drop "
            "--encoding for UTF-8",
        ),
        (
            lambda p: p.write_text(CLINICS, encoding="utf-8"),
            "base64",
            "'base64' is not a text encoding; use e.g. --encoding cp1252, latin-1 or utf-16, or "
            "drop --encoding for UTF-8",
        ),
    ],
    ids=[
        "cp1252-on-utf16",
        "latin1-on-utf16le",
        "utf16-without-bom",
        "cp1252-on-utf8",
        "latin1-on-utf8-bom",
        "utf16le-on-utf8",
        "unknown-name",
        "not-a-text-encoding",
    ],
)
def test_wrong_encoding_names_file_and_fix(
    base_db: Path, tmp_path: Path, capsys, write, encoding: str, message: str
) -> None:
    path = tmp_path / "clinics.csv"
    write(path)
    _refused(capsys, base_db, f"{path}: {message}", str(path), "--encoding", encoding)


def test_utf16_file_without_encoding_says_which_to_pass(
    base_db: Path, tmp_path: Path, capsys
) -> None:
    bom, bare = tmp_path / "bom.csv", tmp_path / "bare.csv"
    bom.write_text(CLINICS, encoding="utf-16")
    bare.write_bytes(CLINICS.encode("utf-16-le"))
    _refused(
        capsys,
        base_db,
        f"{bom} row 1: the header is not valid UTF-8; the file looks like UTF-16: pass "
        "--encoding utf-16",
        str(bom),
    )
    _refused(
        capsys,
        base_db,
        f"{bare} row 1: the header holds NUL bytes, so the file is not UTF-8 text; the file "
        "looks like UTF-16 without a byte-order mark: pass --encoding utf-16-le",
        str(bare),
    )


def test_undefined_byte_deep_in_a_file_is_located(base_db: Path, tmp_path: Path, capsys) -> None:
    """Past the first 4 MB chunk: the line and the byte are counted from the file start."""
    path = tmp_path / "clinics.csv"
    body = "clinic_id,name\n" + "".join(f"C{i},n\n" for i in range(30, 600_030))
    data = body.encode("cp1252") + b"C9,N\xba\x81x\n"
    path.write_bytes(data)
    offset = data.index(b"\x81")
    _refused(
        capsys,
        base_db,
        f"{path} line 600002 (byte {offset}): is not cp1252 text (character maps "
        "to <undefined>); check --encoding (the file looks like a single-byte encoding: try "
        "--encoding latin-1, which reads every byte)",
        str(path),
        "--encoding",
        "cp1252",
    )


def test_ascii_file_with_any_single_byte_encoding_loads(
    base_db: Path, tmp_path: Path, capsys
) -> None:
    path = tmp_path / "clinics.csv"
    path.write_text("clinic_id,name\nC23,Plain\n", encoding="ascii")
    status, _, err = _ingest(capsys, base_db, str(path), "--encoding", "cp1252")
    assert (status, err) == (0, "")
