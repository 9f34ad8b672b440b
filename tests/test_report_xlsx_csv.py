"""The XLSX and CSV editions of the quarterly report (dashboard.report.xlsx, csvout, safe).

Every number is checked against the command line for the same filters (``needlewatch
rates`` / ``compare`` in JSON): the CSV to the last bit, the XLSX to the 16 significant
digits xlsxwriter writes (``xlsx.stored``). The public edition is searched cell by cell
for identifiers, narratives and small counts, and a private database with formulas
planted in clinic ids, names, event terms, outcomes and narratives checks that they come
out inert.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import NamedTuple

import duckdb
import openpyxl
import pandas as pd
import pytest
from openpyxl.utils.escape import unescape

from dashboard.analysis.methods import DEFAULT
from dashboard.analysis.pseudonyms import pseudonyms
from dashboard.analysis.trends import series_uchart
from dashboard.report.content import build_report, shift_quarter
from dashboard.report.csvout import CSV_COLUMNS, write_csv
from dashboard.report.model import LONG_COLUMNS, Report, ReportRequest, Section
from dashboard.report.safe import TRIGGERS, neutralise
from dashboard.report.tables import trend_signal
from dashboard.report.xlsx import COLUMN_CHARTS, section_columns, sheet_names, stored, write_xlsx
from dashboard.store.queries import database_secret
from ingest.api import IngestOptions, ingest_files
from needlewatch import settings
from needlewatch.cli import main
from tests.conftest import DATA, TODAY

QUARTER = "2025Q2"
THRESHOLD = settings.SUPPRESSION_THRESHOLD
SCOPES = [(None, "clinic"), ("C04", "clinic"), (None, "public"), ("C04", "public")]
HIDDEN = {"events", "ref_events", "value", "ci_low", "ci_high"}
PAYLOADS = ('=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1")
#: Ids with a tab or carriage return are rejected at ingest (they would split CSV rows):
#: those two payloads are planted in names and free text only.
ID_PAYLOADS = PAYLOADS[:4]
C = {"c": "http://schemas.openxmlformats.org/drawingml/2006/chart"}
PRACTITIONER_CODE = re.compile(r"P-[0-9a-f]{8}")
CLINIC_ID = re.compile(r"\bC(0[1-9]|1[0-4])\b")


class Rendered(NamedTuple):
    report: Report
    xlsx: bytes
    csv: bytes


@pytest.fixture(scope="module")
def rendered(fixture_db: Path) -> dict[tuple[str | None, str], Rendered]:
    """The 2025Q2 report of the fixture database, all clinics and C04, both editions."""
    con = duckdb.connect(str(fixture_db), read_only=True)
    try:
        out = {}
        for clinic, edition in SCOPES:
            report = build_report(con, ReportRequest(QUARTER, clinic=clinic, edition=edition))
            out[clinic, edition] = Rendered(report, write_xlsx(report), write_csv(report))
        return out
    finally:
        con.close()


def cli(capsys, db: Path, *argv: str) -> list[dict]:
    """The command's JSON rows; [] for compare's "only one level ... nothing to compare"."""
    capsys.readouterr()
    status = main([*argv, "--db", str(db), "--format", "json"])
    out, err = capsys.readouterr()
    if status == 2 and "nothing to compare" in err:
        return []
    assert status == 0, err
    return json.loads(out)


@functools.lru_cache(maxsize=8)
def book(data: bytes) -> openpyxl.Workbook:
    """The workbook as openpyxl reads it (cached: tests only read it)."""
    return openpyxl.load_workbook(io.BytesIO(data))


def read_csv(data: bytes) -> pd.DataFrame:
    """The report CSV as pandas reads it (its default float parser is exact)."""
    text = {"quarter": str, "scope": str, "level": str, "reference": str}
    return pd.read_csv(io.BytesIO(data), dtype=text)


def cell_text(value: object) -> object:
    """openpyxl leaves xlsxwriter's _x000D_ escapes in shared strings: undo them."""
    return unescape(value) if isinstance(value, str) else value


def xlsx_rows(r: Rendered, key: str) -> list[dict]:
    """A section's sheet as one dict per row: frame column -> openpyxl cell."""
    ws = book(r.xlsx)[sheet_names(r.report)[key]]
    header = [c.value for c in ws[1]]
    at = {col: header.index(h) for col, h in section_columns(r.report.section(key), edition(r))}
    n = len(r.report.section(key).frame)
    return [
        {col: row[i] for col, i in at.items()} for row in ws.iter_rows(min_row=2, max_row=n + 1)
    ]


def edition(r: Rendered) -> str:
    return r.report.request.edition


def check(r: Rendered, key: str, want: list[dict]) -> None:
    """The section's XLSX rows and CSV rows equal ``want`` (CLI values), row by row.
    Public edition: a hidden cell reads "suppressed" in the XLSX and is empty in the CSV."""
    frame = r.report.section(key).frame.reset_index(drop=True)
    table = read_csv(r.csv)
    rows = table[table["section"] == key].to_dict("records")
    xrows = xlsx_rows(r, key)
    assert len(xrows) == len(rows) == len(frame) == len(want), key
    for i, (x, c, w) in enumerate(zip(xrows, rows, want, strict=True)):
        hidden = bool(frame.loc[i, "suppressed"])
        assert bool(c["suppressed"]) is hidden
        for col, v in w.items():
            if hidden and col in HIDDEN and pd.isna(frame.loc[i, col]):
                assert (x[col].value, x[col].data_type) == ("suppressed", "s"), (key, i, col)
                assert col not in c or pd.isna(c[col]), (key, i, col)
                continue
            if isinstance(v, float):
                assert x[col].data_type == "n" and x[col].value == stored(v), (key, i, col)
            else:
                assert cell_text(x[col].value) == v, (key, i, col)
                assert x[col].data_type == ("n" if isinstance(v, int) else "s")
            if col in c:  # ref_events is not (yet) a column of Report.long_table
                assert c[col] == v, (key, i, col, c[col], v)


def rate_rows(rows: list[dict], dim: str | None, label=None) -> list[dict]:
    return [
        {"level": label if dim is None else str(d[dim]), "treatments": d["treatments"],
         "events": d["events"], "value": d["rate_per_1000"], "ci_low": d["ci_low_per_1000"],
         "ci_high": d["ci_high_per_1000"]}
        for d in rows
    ]  # fmt: skip


def scope_args(clinic: str | None) -> list[str]:
    return ["--clinic", clinic] if clinic else []


@pytest.mark.parametrize("key", COLUMN_CHARTS)
@pytest.mark.parametrize(("clinic", "ed"), SCOPES)
def test_breakdowns_equal_cli_rates(rendered, fixture_db, capsys, clinic, ed, key) -> None:
    r = rendered[clinic, ed]
    got = cli(capsys, fixture_db, "rates", "--by", key, "--quarter", QUARTER, *scope_args(clinic))
    check(r, key, rate_rows(got, key))


@pytest.mark.parametrize(("clinic", "ed"), SCOPES)
def test_headlines_equal_cli_rates_for_quarter_previous_and_year(
    rendered, fixture_db, capsys, clinic, ed
) -> None:
    r, where = rendered[clinic, ed], scope_args(clinic)
    previous, first = shift_quarter(QUARTER, -1), shift_quarter(QUARTER, -3)
    periods = [
        (QUARTER, ["--quarter", QUARTER]),
        (f"{previous} (previous quarter)", ["--quarter", previous]),
        (f"{first} to {QUARTER} (four quarters)", ["--from", "2024-07-01", "--to", "2025-06-30"]),
    ]
    for key, extra in (("headline", []), ("serious", ["--severity", "serious"])):
        want = []
        for label, args in periods:
            want += rate_rows(cli(capsys, fixture_db, "rates", *args, *extra, *where), None, label)
        check(r, key, want)
    want = []
    for label, args in periods:
        (d,) = cli(capsys, fixture_db, "rates", "--affected", *args, *where)
        want.append({"level": label, "treatments": d["treatments"],
                     "events": d["treatments_affected"], "value": d["affected_percent"],
                     "ci_low": d["cp_low_percent"], "ci_high": d["cp_high_percent"]})  # fmt: skip
    check(r, "affected", want)


@pytest.mark.parametrize(("clinic", "ed"), SCOPES)
def test_ratios_equal_cli_compare(rendered, fixture_db, capsys, clinic, ed) -> None:
    want = []
    for factor, reference in (
        ("ultrasound", "no"),
        ("training_band", None),
        ("experience_band", None),
    ):
        args = ["--factor", factor, "--adjust", "body_region", "--quarter", QUARTER]
        args += ["--reference", reference] if reference else []
        for d in cli(capsys, fixture_db, "compare", *args, *scope_args(clinic)):
            measure = "crude" if d["analysis"] == "crude" else "adjusted for body region"
            want.append({"dimension": factor, "level": d["level"], "reference": d["reference"],
                         "measure": f"rate ratio, {measure}", "treatments": d["treatments"],
                         "events": d["events"], "ref_events": d["ref_events"],
                         "value": d["rate_ratio"], "ci_low": d["ci_low"], "ci_high": d["ci_high"]})  # fmt: skip
    check(rendered[clinic, ed], "ratios", want)


@pytest.mark.parametrize(("clinic", "ed"), SCOPES)
def test_monthly_trend_equals_cli_months_and_their_u_chart(
    rendered, fixture_db, capsys, clinic, ed
) -> None:
    back = 2025 * 12 + 3 - (settings.REPORT_TREND_MONTHS - 3)  # April 2025, 0-based months
    start = date(back // 12, back % 12 + 1, 1).isoformat()
    args = ["--by", "month", "--from", start, "--to", "2025-06-30", *scope_args(clinic)]
    months = cli(capsys, fixture_db, "rates", *args)
    chart, _ = series_uchart(
        *([d[k] for d in months] for k in ("month", "events", "treatments")),
        [False] * len(months),
        DEFAULT,
    )
    want = rate_rows(months, "month")
    for w, (_, p) in zip(want, chart.points.iterrows(), strict=True):
        w |= {"expected": p["centre"], "limit_low": p["lcl3"], "limit_high": p["ucl3"]}
        if signal := trend_signal(False, p["baseline"], p["signal"]):  # empty: a blank cell
            w["signal"] = signal
    check(rendered[clinic, ed], "trend", want)
    # C04's April 2025 (32 events in 77 treatments) is beyond the limit, left out of the centre
    out = [w["level"] for w in want if "left out of the baseline" in w.get("signal", "")]
    assert out == (["2025-04"] if clinic == "C04" else [])  # May, June: inside the limits


@pytest.mark.parametrize(("clinic", "ed"), [(None, "clinic"), (None, "public"), ("C04", "clinic")])
def test_units_counts_equal_cli_rates(rendered, fixture_db, capsys, clinic, ed) -> None:
    r = rendered[clinic, ed]
    dim = "practitioner" if clinic else "clinic"
    got = cli(capsys, fixture_db, "rates", "--by", dim, "--quarter", QUARTER, *scope_args(clinic))
    ids = [str(d[dim]) for d in got]
    if clinic:
        names = {i: i for i in ids}  # rates prints practitioners by their keyed codes too
    elif ed == "public":
        con = duckdb.connect(str(fixture_db), read_only=True)
        names = pseudonyms(ids, database_secret(con), "clinic")
        con.close()
    else:
        names = {i: i for i in ids}
    want = sorted(({**w, "level": names[w["level"]]} for w in rate_rows(got, dim)),
                  key=lambda w: w["level"])  # fmt: skip
    frame = r.report.section("units").frame.reset_index(drop=True)
    table = read_csv(r.csv)
    rows = table[table["section"] == "units"].to_dict("records")
    for i, (x, c, w) in enumerate(zip(xlsx_rows(r, "units"), rows, want, strict=True)):
        assert x["level"].value == c["level"] == w["level"]
        assert x["treatments"].value == c["treatments"] == w["treatments"]
        if frame.loc[i, "suppressed"]:
            assert x["events"].value == x["value"].value == "suppressed"
            assert pd.isna(c["events"]) and pd.isna(c["value"])
        else:
            assert x["events"].value == c["events"] == w["events"]
            for col in ("value", "ci_low", "ci_high"):
                assert x[col].value == stored(w[col]) and c[col] == w[col]


def test_units_rates_equal_cli_to_the_bit(rendered, fixture_db, capsys) -> None:
    got = cli(capsys, fixture_db, "rates", "--by", "clinic", "--quarter", QUARTER)
    frame = rendered[None, "clinic"].report.section("units").frame.set_index("level")
    assert all(frame.loc[d["clinic"], "value"] == d["rate_per_1000"] for d in got)


@pytest.mark.parametrize(("clinic", "ed"), SCOPES)
def test_table_sheets_numeric_cells_frozen_headers_and_no_formulas(rendered, clinic, ed) -> None:
    r = rendered[clinic, ed]
    wb, names = book(r.xlsx), sheet_names(r.report)
    for s in r.report.sections:
        ws = wb[names[s.key]]
        assert ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1:")
        for row in xlsx_rows(r, s.key):
            for col, cell in row.items():
                if col in {"treatments", "events", "ref_events", "value", "ci_low", "ci_high",
                           "expected", "limit_low", "limit_high"} and cell.value is not None:  # fmt: skip
                    assert cell.data_type == "n" or (ed, cell.value) == ("public", "suppressed")
    for ws in wb:
        assert all(c.data_type != "f" for row in ws.iter_rows() for c in row), ws.title
        assert len(ws.title) <= 31
    assert len({n.lower() for n in wb.sheetnames}) == len(wb.sheetnames)


def chart_parts(data: bytes) -> list[tuple[str, str, int, ET.Element]]:
    """(sheet name, chart type, anchor column, chart XML root) of every chart, by following
    workbook -> sheet -> drawing -> chart relationships in the zip."""
    z = zipfile.ZipFile(io.BytesIO(data))

    def rels(path: str) -> dict[str, str]:
        folder, name = path.rsplit("/", 1)
        root = ET.fromstring(z.read(f"{folder}/_rels/{name}.rels"))
        return {e.get("Id"): e.get("Target") for e in root}

    def resolve(base: str, target: str) -> str:
        parts = base.rsplit("/", 1)[0].split("/")
        for p in target.split("/"):
            parts = parts[:-1] if p == ".." else [*parts, p]
        return "/".join(parts)

    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
          "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
          "x": "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"}  # fmt: skip
    wb_rels, out = rels("xl/workbook.xml"), []
    for sheet in ET.fromstring(z.read("xl/workbook.xml")).iterfind("m:sheets/m:sheet", ns):
        path = resolve("xl/workbook.xml", wb_rels[sheet.get(f"{{{ns['r']}}}id")])
        if f"{path.rsplit('/', 1)[0]}/_rels/{path.rsplit('/', 1)[1]}.rels" not in z.namelist():
            continue
        for target in rels(path).values():
            drawing = resolve(path, target)
            d_rels = rels(drawing)
            for anchor in ET.fromstring(z.read(drawing)).iterfind("x:twoCellAnchor", ns):
                col = int(anchor.find("x:from/x:col", ns).text)
                rid = anchor.find(".//c:chart", C).get(f"{{{ns['r']}}}id")
                root = ET.fromstring(z.read(resolve(drawing, d_rels[rid])))
                kind = "line" if root.find(".//c:lineChart", C) is not None else "column"
                out.append((sheet.get("name"), kind, col, root))
    return out


def ref_column(ws, ref: str, n: int) -> str:
    """The header of the column a chart range like 'By category'!$J$2:$J$22 covers."""
    sheet, cells = ref.rsplit("!", 1)
    assert sheet.strip("'") == ws.title
    first, _, last = cells.replace("$", "").partition(":")
    last = last or first  # a one-row table: $A$2
    letter = re.match(r"[A-Z]+", first).group()
    assert (first, last) == (f"{letter}2", f"{letter}{n + 1}")
    return ws[f"{letter}1"].value


@pytest.mark.parametrize(("clinic", "ed"), SCOPES)
def test_native_charts_beside_their_tables_with_ci_error_bars(rendered, clinic, ed) -> None:
    r = rendered[clinic, ed]
    wb, names = book(r.xlsx), sheet_names(r.report)
    charts = chart_parts(r.xlsx)
    assert sorted(s for s, *_ in charts) == sorted(names[k] for k in (*COLUMN_CHARTS, "trend"))
    for sheet, kind, col, root in charts:
        key = next(k for k, v in names.items() if v == sheet)
        ws, frame = wb[sheet], r.report.section(key).frame
        n, width = len(frame), len(section_columns(r.report.section(key), ed))
        assert col > width  # right of the table
        series = root.findall(".//c:ser", C)
        cats = {ref_column(ws, s.find("c:cat//c:f", C).text, n) for s in series}
        assert cats == {section_columns(r.report.section(key), ed)[0][1]}
        vals = [ref_column(ws, s.find("c:val//c:f", C).text, n) for s in series]
        if kind == "column":
            assert key in COLUMN_CHARTS and vals == ["Chart data: rate"]
            bars = series[0].find("c:errBars", C)
            assert bars.find("c:errValType", C).get("val") == "cust"
            plus = ref_column(ws, bars.find("c:plus//c:f", C).text, n)
            minus = ref_column(ws, bars.find("c:minus//c:f", C).text, n)
            assert (plus, minus) == ("Chart data: CI high - rate", "Chart data: rate - CI low")
            header = [c.value for c in ws[1]]
            for i, row in enumerate(ws.iter_rows(min_row=2, max_row=n + 1, values_only=True)):
                rate, low, high = (row[header.index(h)] for h in ("Chart data: rate", minus, plus))
                if frame["suppressed"].iloc[i]:
                    assert rate is low is high is None
                else:
                    f = frame.iloc[i]
                    assert rate == stored(f["value"])
                    assert low == pytest.approx(f["value"] - f["ci_low"], abs=1e-9)
                    assert high == pytest.approx(f["ci_high"] - f["value"], abs=1e-9)
        else:
            assert key == "trend"
            assert vals == ["Chart data: rate", "Chart data: signal months", "Centre line",
                            "Lower 3-sigma limit", "Upper 3-sigma limit"]  # fmt: skip


def all_text(r: Rendered) -> list[str]:
    """Every piece of text a reader of the XLSX or CSV can see: cells, sheet names,
    document properties, chart titles and cached labels, and the whole CSV."""
    wb = book(r.xlsx)
    texts = [str(cell_text(c.value)) for ws in wb for row in ws.iter_rows() for c in row
             if c.value is not None]  # fmt: skip
    texts += wb.sheetnames + [wb.properties.title or "", wb.properties.subject or ""]
    z = zipfile.ZipFile(io.BytesIO(r.xlsx))
    for name in z.namelist():
        if name.startswith(("xl/charts/", "docProps/")):
            root = ET.fromstring(z.read(name))
            texts += [e.text for e in root.iter() if e.text and not e.tag.endswith("}f")]
    return [*texts, r.csv.decode("utf-8-sig")]


@pytest.mark.parametrize("clinic", [None, "C04"])
def test_public_edition_has_no_narrative_identifier_or_small_count(
    rendered, fixture_db, clinic
) -> None:
    r = rendered[clinic, "public"]
    con = duckdb.connect(str(fixture_db), read_only=True)
    narratives = [n for (n,) in con.execute(
        "SELECT DISTINCT narrative FROM adverse_events WHERE narrative IS NOT NULL").fetchall()]  # fmt: skip
    con.close()
    assert narratives and "listing" not in sheet_names(r.report)
    for text in all_text(r):
        assert not PRACTITIONER_CODE.search(text), text[:200]
        assert not CLINIC_ID.search(text), text[:200]
        assert not any(n in text for n in narratives), text[:200]
    table = read_csv(r.csv)
    events = pd.to_numeric(table["events"].dropna())
    assert not events.between(1, THRESHOLD).any()
    unmapped = table[table["level"] == "events with an unmapped term"]["value"].dropna()
    assert not unmapped.between(1, THRESHOLD).any()
    hidden = table[table["suppressed"]]
    assert len(hidden) and hidden[["events", "value", "ci_low", "ci_high"]].isna().all().all()
    wb = book(r.xlsx)
    for ws in wb:
        header = [c.value for c in ws[1]]
        for h in ("Events", "Treatments with an event", "Reference events"):
            if h in header:
                col = header.index(h)
                for row in ws.iter_rows(min_row=2, values_only=True):
                    v = row[col]
                    assert not (isinstance(v, int | float) and 1 <= v <= THRESHOLD), (ws.title, h)


@pytest.fixture()
def injection_db(tmp_path: Path) -> Path:
    """tests/data plus six clinics whose name and region are formula payloads (and whose id
    is one too, except for the tab and CR payloads, which ingest rejects in ids), each
    with a practitioner, a March 2025 treatment and a significant event whose term,
    outcome and narrative are the same payload; C01's name is a payload too. Every row
    passes validation (names and free text are kept as given, trimmed of spaces only)."""

    def rows(name: str) -> list[dict]:
        with open(DATA / name, encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))

    clinics, practitioners = rows("clinics.csv"), rows("practitioners.csv")
    treatments, events = rows("treatments.csv"), rows("events.csv")
    clinics[0]["name"] = PAYLOADS[0]
    for i, p in enumerate(PAYLOADS):
        cid = p if p in ID_PAYLOADS else f"CX{i}"
        clinics.append({"clinic_id": cid, "name": p, "region": p, "country": "Ireland"})
        practitioners.append({"practitioner_id": f"PX{i}", "clinic_id": cid,
                              "profession": "physiotherapist", "dn_training_hours": "40",
                              "years_dn_experience": "3"})  # fmt: skip
        treatments.append({**treatments[1], "treatment_id": f"TX{i}", "practitioner_id": f"PX{i}",
                           "clinic_id": cid, "patient_id": f"PAT-X{i}",
                           "treatment_date": "2025-03-05"})  # fmt: skip
        events.append({"event_id": f"EX{i}", "treatment_id": f"TX{i}", "event_type": p,
                       "severity": "significant", "onset": "after", "onset_date": "2025-03-06",
                       "outcome": p, "hospitalised": "no", "narrative": p})  # fmt: skip
    paths = []
    for name, table in (("clinics.csv", clinics), ("practitioners.csv", practitioners),
                        ("treatments.csv", treatments), ("events.csv", events)):  # fmt: skip
        with open(tmp_path / name, "w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, list(table[0]))
            writer.writeheader()
            writer.writerows(table)
        paths.append(tmp_path / name)
    db = tmp_path / "injection.duckdb"
    assert ingest_files(db, paths, IngestOptions(today=TODAY)).rows_rejected == 0
    con = duckdb.connect(str(db), read_only=True)
    stored_ids = {c for (c,) in con.execute("SELECT clinic_id FROM clinics").fetchall()}
    stored_text = set(con.execute("SELECT event_type, outcome, narrative FROM adverse_events "
                                  "WHERE event_id LIKE 'EX%'").fetchall())  # fmt: skip
    con.close()
    assert set(ID_PAYLOADS) <= stored_ids and stored_text == {(p, p, p) for p in PAYLOADS}
    return db


@pytest.mark.parametrize("value", [*PAYLOADS, "\n=1", "-", "=", "@"])
def test_neutralise_prefixes_text_that_starts_with_a_trigger(value) -> None:
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize(
    "value", [-2.5, -3, 0, 1.5e-9, True, None, "C01", "0-20", " =1", "a=b", ""]
)
def test_neutralise_leaves_numbers_and_harmless_text_alone(value) -> None:
    assert neutralise(value) is value or neutralise(value) == value


@pytest.mark.parametrize("ed", ["clinic", "public"])
def test_planted_formulas_come_out_inert(injection_db, ed) -> None:
    con = duckdb.connect(str(injection_db), read_only=True)
    report = build_report(con, ReportRequest("2025Q1", edition=ed))
    con.close()
    r = Rendered(report, write_xlsx(report), write_csv(report))
    wb = book(r.xlsx)
    for ws in wb:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (ws.title, c.coordinate)
                if isinstance(c.value, str):
                    assert not cell_text(c.value).startswith(TRIGGERS), (ws.title, c.coordinate)
    table = pd.read_csv(io.BytesIO(r.csv), dtype=str, keep_default_na=False)
    assert len(table) == len(report.long_table())
    for col in table.columns.difference(["value", "ci_low", "ci_high", "expected", "limit_low",
                                         "limit_high"]):  # fmt: skip
        assert not table[col].str.startswith(TRIGGERS).any(), col
    if ed == "public":
        return
    inert = {"'" + p for p in PAYLOADS}
    inert_ids = {"'" + p for p in ID_PAYLOADS}
    clinics = [
        cell_text(c.value)
        for (c,) in wb[sheet_names(report)["units"]].iter_rows(min_row=2, max_col=1)
    ]
    assert inert_ids <= set(clinics)
    assert inert_ids <= set(table.loc[table["section"] == "units", "level"])
    listing = wb[sheet_names(report)["listing"]]
    header = [c.value for c in listing[1]]
    for column in ("Clinic", "Reported term", "Outcome", "Narrative"):
        cells = [row[header.index(column)] for row in listing.iter_rows(min_row=2)]
        assert (inert_ids if column == "Clinic" else inert) <= {cell_text(c.value) for c in cells}
        assert all(c.data_type == "s" for c in cells if c.value is not None)


def test_csv_columns_encoding_and_flags(rendered) -> None:
    r = rendered[None, "public"]
    assert r.csv.startswith(b"\xef\xbb\xbf")
    header = r.csv.decode("utf-8-sig").split("\r\n", 1)[0]
    assert tuple(header.split(",")) == CSV_COLUMNS == ("quarter", "scope", "edition", *LONG_COLUMNS)
    lines = r.csv.decode("utf-8-sig").split("\r\n")
    assert lines[-1] == "" and len(lines) - 2 == len(r.report.long_table())
    flags = {row[-1] for row in csv.reader(io.StringIO(r.csv.decode("utf-8-sig")))}
    assert flags == {"suppressed", "true", "false"}
    table = read_csv(r.csv)
    assert table["suppressed"].dtype == bool
    assert set(table[["quarter", "scope", "edition"]].itertuples(index=False, name=None)) == {
        (QUARTER, r.report.scope, "public")
    }


def test_csvs_of_several_reports_concatenate(rendered) -> None:
    a, b = rendered[None, "clinic"], rendered["C04", "public"]
    stacked = pd.concat([read_csv(a.csv), read_csv(b.csv)], ignore_index=True)
    assert list(stacked.columns) == list(CSV_COLUMNS)
    by_hand = a.csv + b.csv.split(b"\r\n", 1)[1]  # keep one header (the BOM goes with it)
    pd.testing.assert_frame_equal(read_csv(by_hand), stacked)
    counts = stacked.groupby(["scope", "edition"]).size().to_dict()
    assert counts == {("All 14 clinics", "clinic"): len(a.report.long_table()),
                      (b.report.scope, "public"): len(b.report.long_table())}  # fmt: skip


def test_same_report_same_bytes_and_sheet_list(rendered) -> None:
    r = rendered[None, "clinic"]
    assert write_xlsx(r.report) == r.xlsx and write_csv(r.report) == r.csv
    wb = book(r.xlsx)
    assert wb.properties.created.strftime("%Y-%m-%d %H:%M UTC") == r.report.data_as_of
    assert wb.sheetnames == ["Summary", "Headline", "Serious headline", "Share affected",
                             "By category", "By severity", "By training hours", "By experience",
                             "By ultrasound", "Rate ratios", "Monthly trend", "SPC summary",
                             "Clinics",
                             "Data quality", "Serious events", "Methods"]  # fmt: skip
    assert book(rendered["C04", "clinic"].xlsx).sheetnames[12] == "Practitioners"
    public = book(rendered[None, "public"].xlsx)
    assert "Serious events" not in public.sheetnames
    summary = [c for row in public["Summary"].iter_rows(values_only=True) for c in row if c]
    assert "Suppression (public edition)" in summary and "Signals" in summary
    assert set(rendered[None, "public"].report.signals) <= set(summary)


def test_sheet_names_are_valid_unique_and_at_most_31_characters(rendered) -> None:
    r = rendered[None, "clinic"].report
    frame = r.section("headline").frame
    extra = (Section("by category", "Clash", frame), Section("a/b:" + "x" * 40, "Long", frame))
    report = replace(r, sections=(*r.sections, *extra))
    names = sheet_names(report)
    assert names["by category"] == "by category (2)"
    assert names["a/b:" + "x" * 40] == "a b " + "x" * 27
    wb = book(write_xlsx(report))
    assert wb.sheetnames == list(names.values())
    assert len({n.lower() for n in wb.sheetnames}) == len(wb.sheetnames)
