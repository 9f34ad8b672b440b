"""`needlewatch report` end to end: PDF and HTML print the CLI's numbers, the public PDF
is safe, cron gets exit statuses and one-line messages, and the dashboard's download
button gives the same file as the command line."""

from __future__ import annotations

import gc
import json
import re
from pathlib import Path

import duckdb
import pytest

from dashboard.analysis.labels import label
from needlewatch.cli import main

from .needs import need_chromium

Q = "2025Q2"
PRACTITIONER_CODE = re.compile(r"\bP-[0-9a-f]{8}\b")


def rates(capsys, db: Path, *args: str) -> list[dict]:
    capsys.readouterr()  # drop what earlier commands printed
    assert main(["rates", *args, "--db", str(db), "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def report(db: Path, out: Path, *args: str) -> int:
    return main(["report", "--quarter", Q, "--db", str(db), "--out", str(out), *args])


@pytest.fixture(scope="module")
def pdfs(fixture_db, tmp_path_factory) -> dict[str, str]:
    """Text of the clinic and public PDFs (all clinics), page by page joined."""
    need_chromium()
    from pypdf import PdfReader

    folder = tmp_path_factory.mktemp("pdf")
    texts = {}
    for edition in ("clinic", "public"):
        out = folder / f"{edition}.pdf"
        assert report(fixture_db, out, "--edition", edition) == 0
        reader = PdfReader(out)
        box = reader.pages[0].mediabox
        # A4 (Chromium prints 794 x 1123 CSS px: 0.3 pt short of 595.28 x 841.89)
        assert (round(float(box.width)), round(float(box.height))) == (595, 842)
        texts[edition] = "\n".join(p.extract_text() for p in reader.pages)
        texts[f"{edition}-pages"] = str(len(reader.pages))
    return texts


def test_pdf_prints_the_cli_numbers(pdfs, capsys, fixture_db) -> None:
    text = pdfs["clinic"]
    assert "Page 1 of " + pdfs["clinic-pages"] in text
    for row in rates(capsys, fixture_db, "--by", "category", "--quarter", Q):
        line = (
            f"{label('category', row['category'])} {row['treatments']:,} {row['events']:,} "
            f"{row['rate_per_1000']:.2f} {row['ci_low_per_1000']:.2f} to {row['ci_high_per_1000']:.2f}"
        )
        assert line in text
    for row in rates(capsys, fixture_db, "--by", "severity", "--quarter", Q):
        assert (
            f"{label('severity', row['severity'])} {row['treatments']:,} {row['events']:,} {row['rate_per_1000']:.2f}"
            in text
        )
    head = rates(capsys, fixture_db, "--quarter", Q)[0]
    assert (
        f"{Q} {head['treatments']:,} {head['events']:,} {head['rate_per_1000']:.2f} "
        f"({head['ci_low_per_1000']:.2f} to {head['ci_high_per_1000']:.2f})"
    ) in text
    for row in rates(
        capsys, fixture_db, "--by", "month", "--from", "2023-07-01", "--to", "2025-06-30"
    ):
        assert (
            f"{row['month']} {row['treatments']:,} {row['events']:,} {row['rate_per_1000']:.2f}"
            in text
        )


def test_public_pdf_has_no_identifier_narrative_or_small_count(pdfs, fixture_db) -> None:
    text = pdfs["public"]
    assert not re.search(r"\bC\d\d\b", text)
    assert not PRACTITIONER_CODE.search(text)
    con = duckdb.connect(str(fixture_db), read_only=True)
    narratives = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT narrative FROM adverse_events WHERE narrative IS NOT NULL"
        ).fetchall()
    ]
    con.close()
    assert narratives and not any(n[:40] in text for n in narratives)
    assert "Counts from 1 to 7 are not printed" in text
    rows = re.findall(r"^([a-z][a-z ]+) ([\d,]+) (suppressed|[\d,]+) ", text, re.MULTILINE)
    assert len(rows) > 20  # category and severity tables at least
    assert not [r for r in rows if r[2] != "suppressed" and 1 <= int(r[2].replace(",", "")) <= 7]
    assert "suppressed" in text


def test_html_is_one_self_contained_interactive_file(fixture_db, tmp_path, capsys) -> None:
    out = tmp_path / "q.html"
    assert report(fixture_db, out, "--clinic", "C04") == 0
    html = out.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=", html)
    charts = re.findall(r'<div id="chart-([a-z_]+)"', html)
    assert charts == [  # 5 bar charts, the forest, the u-chart, the practitioners' funnel
        "category", "severity", "training_band", "experience_band", "ultrasound", "ratios",
        "trend", "units",
    ]  # fmt: skip
    row = rates(capsys, fixture_db, "--by", "category", "--quarter", Q, "--clinic", "C04")[0]
    assert f'<td>bruising</td><td class="num">{row["treatments"]:,}</td>' in html.replace("\n", "")


def test_cron_gets_exit_status_2_and_one_line_and_no_file(fixture_db, tmp_path, capsys) -> None:
    cases = [
        (["--quarter", "2019Q1"], "q.csv", "no treatments in 2019Q1"),
        (["--clinic", "C99"], "q.csv", "no clinic 'C99'"),
        ([], "missing/q.csv", "does not exist"),
        ([], "q.docx", "cannot tell the format"),
    ]
    for extra, name, message in cases:
        out = tmp_path / name
        args = ["report", "--db", str(fixture_db), "--out", str(out)]
        args += extra if "--quarter" in extra else ["--quarter", Q, *extra]
        assert main(args) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
        assert not out.exists()
    assert not list(tmp_path.glob(".*part"))
    with pytest.raises(SystemExit) as exit_:
        main(["report", "--quarter", "2025Q9", "--out", str(tmp_path / "q.csv")])
    assert exit_.value.code == 2
    assert "write it like 2026Q3" in capsys.readouterr().err


def test_unwritable_folder_is_a_one_line_error(fixture_db, tmp_path, capsys) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        import os

        if os.access(folder, os.W_OK):  # root ignores permissions: use a file as "folder"
            (tmp_path / "file").write_text("x")
            folder = tmp_path / "file"
        assert report(fixture_db, folder / "q.csv") == 2
        assert capsys.readouterr().err.startswith("needlewatch: ")
    finally:
        (tmp_path / "locked").chmod(0o700)


def download_data(at) -> bytes:
    """The bytes behind the last download button (from Streamlit's media file storage)."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    file_id = at.get("download_button")[-1].proto.url.rsplit("/", 1)[1].split(".")[0]
    for manager in (o for o in gc.get_objects() if isinstance(o, MediaFileManager)):
        try:
            return manager._storage.get_file(file_id).content
        except Exception:  # noqa: BLE001 - another manager's storage
            continue
    raise AssertionError("download not found")


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "html"])
def test_dashboard_download_is_the_cli_file(fixture_db, tmp_path, monkeypatch, fmt) -> None:
    from .test_app import run_page

    monkeypatch.setenv("NEEDLEWATCH_DB", str(fixture_db))
    at = run_page("report", {"quarter": Q, "clinic": "C04"})
    at.radio[0].set_value("public").run()
    at.radio[1].set_value(fmt).run()
    at.button[0].click().run()
    assert not at.exception
    assert at.get("download_button")[-1].label == f"Download needlewatch-{Q}-C04-public.{fmt}"
    shown = download_data(at)
    out = tmp_path / f"q.{fmt}"
    assert report(fixture_db, out, "--clinic", "C04", "--edition", "public") == 0
    assert shown == out.read_bytes()
