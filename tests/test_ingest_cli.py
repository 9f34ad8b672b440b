"""`needlewatch ingest` through its entry point: exit statuses and one-line messages."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from needlewatch import settings
from needlewatch.cli import main

from .conftest import DATA


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_exit_0_when_every_row_is_accepted(tmp_path: Path, capsys) -> None:
    db = tmp_path / "a.duckdb"
    status, out, err = _run(capsys, "ingest", "--db", str(db), str(DATA / "clinics.csv"))
    assert (status, err) == (0, "")
    assert (
        out
        == f"{DATA / 'clinics.csv'} (clinics): 2 rows read: 2 new, 0 updated (0 unchanged), 0 rejected\n"
    )


def test_exit_3_with_grouped_reject_summary(base_db: Path, capsys) -> None:
    status, out, _ = _run(
        capsys, "ingest", "--db", str(base_db), str(DATA / "events_bad_values.csv")
    )
    assert status == 3
    lines = out.splitlines()
    assert lines[0].endswith("8 rows read: 2 new, 0 updated (0 unchanged), 6 rejected")
    assert "  rejected 1 row(s) (5): column severity: unknown severity wording" in out
    assert lines[-1] == (
        "6 row(s) rejected and stored with their reasons; list them with: needlewatch rejects --run 5"
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("nothere.csv", "nothere.csv: no such file; check the path"),
        ("empty.csv", "empty.csv: the file is empty; export it again with a header row"),
        ("clinics.json", "clinics.json: unknown format '.json'; use .csv, .tsv, .xlsx or .parquet"),
        (
            "no_kind.csv",
            "no_kind.csv: cannot tell what kind of file this is (the header has none of "
            "clinic_id, practitioner_id, treatment_id, event_id); fix the header or pass --kind",
        ),
        (
            "treatments_missing_columns.csv",
            "treatments_missing_columns.csv: treatments file lacks required column(s) "
            "body_region, ultrasound_guided; add them (see data/dictionary.md)",
        ),
        (
            "clinics_duplicate_header.csv",
            "clinics_duplicate_header.csv: column 'clinic_id' appears twice (columns 1 and 3); "
            "rename or delete one",
        ),
    ],
)
def test_exit_2_for_unusable_input_names_the_problem_and_writes_nothing(
    base_db: Path, capsys, name: str, message: str
) -> None:
    before = _digest(base_db)
    files = [str(DATA / "clinics_bom_tab.tsv"), str(DATA / name)]  # a good file first
    status, out, err = _run(capsys, "ingest", "--db", str(base_db), *files)
    assert status == 2
    assert err == f"needlewatch: {DATA / name}: {message.split(': ', 1)[1]}\n"
    assert "Traceback" not in out + err
    assert _digest(base_db) == before


def test_non_utf8_file_without_encoding_says_which_option_to_pass(base_db: Path, capsys) -> None:
    path = DATA / "treatments_cp1252_daymonth.csv"
    status, _, err = _run(capsys, "ingest", "--db", str(base_db), str(path))
    assert status == 2
    assert err == (
        f"needlewatch: {path} row 2: not valid UTF-8; pass --encoding=cp1252 (Windows Excel) "
        "or --encoding=latin-1\n"
    )


def test_strict_aborts_on_any_reject_and_nothing_lands(base_db: Path, capsys) -> None:
    before = _digest(base_db)
    files = [str(DATA / "clinics_bom_tab.tsv"), str(DATA / "events_bad_values.csv")]
    status, out, err = _run(capsys, "ingest", "--strict", "--db", str(base_db), *files)
    assert status == 3
    assert out == ""
    assert err.splitlines()[-1] == (
        "needlewatch: --strict: 6 row(s) rejected, nothing was written; fix the rows listed "
        "above and run again"
    )
    assert "column treatment_id: unknown treatment_id" in err
    assert _digest(base_db) == before


def test_rejects_command_lists_stored_rejects(base_db: Path, capsys) -> None:
    _run(capsys, "ingest", "--db", str(base_db), str(DATA / "events_bad_values.csv"))
    status, out, _ = _run(capsys, "rejects", "--db", str(base_db), "--run", "5", "--format", "csv")
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == "run_id,file,row_number,column_name,value,reason"
    assert len(lines) == 7
    assert lines[1].startswith(
        f"5,{(DATA / 'events_bad_values.csv').resolve()},3,treatment_id,T99,"
    )


def test_help_lists_every_command(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("ingest", "demo", "rates", "terms", "rejects"):
        assert command in out


def test_version_and_a_csv_ingest_import_no_read_side(base_db: Path) -> None:
    """``--version`` and ``ingest`` import neither the read side nor pandas, and a reader's
    connection (``dashboard.store.db``) no pandas: they start in a fraction of a second.
    The store's frames set pandas' text storage (``dashboard.store.frames``)."""
    import subprocess
    import sys

    from needlewatch import __version__

    code = (
        "import sys\n"
        "from needlewatch.cli import main\n"
        "try:\n"
        "    main(['--version'])\n"
        "except SystemExit as exc:\n"
        "    print('version exit', exc.code)\n"
        f"status = main(['ingest', '--db', {str(base_db)!r}, {str(DATA / 'events.csv')!r}])\n"
        "print(status, sorted(m for m in ('pandas', 'dashboard', 'scipy') if m in sys.modules))\n"
        "import dashboard.store.db\n"  # a reader's connection (the dashboard's, per query)
        "print('connect', 'pandas' in sys.modules)\n"
        "import dashboard.store.counts, pandas\n"  # frames: text as Python strings
        "print(pandas.get_option('mode.string_storage'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path.cwd()
    )
    lines = done.stdout.splitlines()
    assert lines[:2] == [f"needlewatch {__version__}", "version exit 0"]
    assert lines[-3:] == ["0 []", "connect False", "python"]


def test_a_csv_ingest_never_imports_pandas(base_db: Path) -> None:
    """DuckDB would import pandas (1.5 s) at the first bound parameter; the command line
    hides it while ingesting CSV files, and pandas imports normally afterwards."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from needlewatch.cli import main\n"
        f"status = main(['ingest', '--db', {str(base_db)!r}, {str(DATA / 'events.csv')!r}])\n"
        "loaded = 'pandas' in sys.modules\n"
        "import pandas\n"
        "print(status, loaded, pandas.DataFrame({'a': [1]}).shape)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path.cwd()
    )
    assert done.stdout.splitlines()[-1] == "0 False (1, 1)"


def test_demo_replaces_an_older_demo_database_and_refuses_other_data(
    tmp_path: Path, capsys
) -> None:
    """``needlewatch demo`` over a demo database of an older schema (version 1) replaces
    it; over a database holding other files it refuses, in one line, and leaves it."""
    from ingest.schema import MIGRATIONS

    demo_dir, db = tmp_path / "demo", tmp_path / "n.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute(MIGRATIONS[0])
        con.execute(
            "INSERT INTO meta VALUES ('patient_key_secret', '00'), ('schema_version', '1');"
            "INSERT INTO ingest_runs VALUES (1, 1, ?, 'x', 'clinics', 1, 1, 0, 0, 0, "
            "now(), now(), 'accepted', '{}')",
            [str(demo_dir / "clinics.csv")],
        )
    args = ["demo", "--db", str(db), "--out", str(demo_dir), "--treatments", "2000"]
    assert main(args) == 0
    assert capsys.readouterr().out.endswith(
        f"demo data (seed {settings.DEFAULT_DEMO_SEED}) loaded into {db}\n"
    )
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            "7",
        )
        assert con.execute("SELECT count(*) FROM treatments").fetchone() == (2000,)
    other = tmp_path / "mine.csv"
    with duckdb.connect(str(db)) as con:
        con.execute("UPDATE ingest_runs SET file = ? WHERE run_id = 1", [str(other)])
    assert main(args) == 2
    assert capsys.readouterr().err == (
        f"needlewatch: {db} holds data that is not from the demo ({other}); pass --db with "
        "another path to load the demo there\n"
    )
