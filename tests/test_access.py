"""Who may see what (issue 14, parts 1 and 2): the roles file, the access of a signed-in
identity (deny by default), and the scoped connection every dashboard data call gets."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from dashboard.analysis import views
from dashboard.store.access import (
    Access,
    RolesFile,
    RolesFileError,
    load_roles,
    sign_in_configured,
)
from dashboard.store.counts import rate_counts
from dashboard.store.db import connect_readonly
from dashboard.store.filters import Filters
from dashboard.store.quality import missing_rates
from dashboard.store.scope import Scope, apply_scope, scope_of
from ingest.blanks import recount_blanks

ROLES = """
[users]
"Safety@Harbour.example" = ["clinic:C04", "clinic:C09"]
"ana@harbour.example" = ["practitioner:P017"]
[groups]
"body-analysts" = ["body"]
"NeedleWatch-Admins" = ["admin"]
"""


def test_the_roles_file_gives_roles_to_verified_emails_and_groups(tmp_path: Path) -> None:
    path = tmp_path / "roles.toml"
    path.write_text(ROLES)
    roles = load_roles(path)
    assert roles == RolesFile(
        users={
            "safety@harbour.example": ("clinic:C04", "clinic:C09"),
            "ana@harbour.example": ("practitioner:P017",),
        },
        groups={"body-analysts": ("body",), "needlewatch-admins": ("admin",)},
    )
    officer = roles.access("SAFETY@harbour.example", True)
    assert officer == Access("SAFETY@harbour.example", ("clinic:C04", "clinic:C09"))
    assert (officer.clinics, officer.sees_dashboard, officer.everything) == (
        ("C04", "C09"), True, False,
    )  # fmt: skip
    assert roles.access("safety@harbour.example", False).roles == (), "unverified: no role"
    assert roles.access("safety@harbour.example", None).roles == ()
    analyst = roles.access("x@body.example", True, ["body-analysts"])
    assert (analyst.roles, analyst.clinics, analyst.sees_dashboard) == (("body",), None, True)
    assert roles.access(None, None, "needlewatch-admins").clinics is None  # a one-value claim
    nurse = roles.access("ana@harbour.example", True)
    assert (nurse.practitioners, nurse.clinics, nurse.sees_dashboard) == (("P017",), (), False)
    stranger = roles.access("who@else.example", True, ["staff"])
    assert (stranger.roles, stranger.sees_dashboard) == ((), False)
    assert Access("local", local=True).clinics is None
    assert load_roles(tmp_path / "none.toml") == RolesFile(), "no file: no one has a role"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[users]\n"a@b.c" = ["clinic C04"]\n',
         "users.a@b.c: 'clinic C04' is not a role; use clinic:ID, practitioner:ID, body or admin"),
        ('[users]\n"a@b.c" = "body"\n', 'users.a@b.c: give a list of roles, e.g. ["clinic:C04"]'),
        ('[teams]\nx = ["body"]\n', "unknown section 'teams'; use [users] and [groups]"),
        ('[groups]\nx = ["superuser"]\n',
         "groups.x: 'superuser' is not a role; use clinic:ID, practitioner:ID, body or admin"),
    ],
)  # fmt: skip
def test_a_bad_roles_file_is_one_line_naming_the_entry(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "roles.toml"
    path.write_text(text)
    with pytest.raises(RolesFileError) as caught:
        load_roles(path)
    assert str(caught.value) == f"{path}: {message}"


def test_sign_in_is_configured_by_an_auth_table(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.toml"
    assert sign_in_configured((secrets,)) is False
    secrets.write_text('[connections]\nx = "y"\n')
    assert sign_in_configured((secrets,)) is False
    secrets.write_text('[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\n')
    assert sign_in_configured((tmp_path / "none.toml", secrets)) is True
    secrets.write_text("[auth\n")
    assert sign_in_configured((secrets,)) is False


# -- the scoped connection ------------------------------------------------------------


def _scoped(db: Path, clinics: tuple[str, ...]) -> duckdb.DuckDBPyConnection:
    return apply_scope(connect_readonly(db), Scope(clinics))


def test_a_scoped_connection_reads_only_its_clinics_rows(fixture_db: Path) -> None:
    whole = connect_readonly(fixture_db)
    clinics = [r[0] for r in whole.execute("SELECT clinic_id FROM clinics ORDER BY 1").fetchall()]
    chosen = (clinics[3], clinics[8])
    con = _scoped(fixture_db, chosen)
    assert scope_of(con) == Scope(chosen) and scope_of(whole) == Scope()
    for table, rows_sql in [
        ("treatments", "SELECT count(*) FROM main.treatments WHERE clinic_id IN ?"),
        ("adverse_events", "SELECT count(*) FROM main.adverse_events JOIN main.treatments "
         "USING (treatment_id) WHERE clinic_id IN ?"),
        ("practitioners", "SELECT count(*) FROM main.practitioners WHERE clinic_id IN ?"),
        ("clinics", "SELECT count(*) FROM main.clinics WHERE clinic_id IN ?"),
    ]:  # fmt: skip
        expected = whole.execute(rows_sql, [list(chosen)]).fetchone()[0]
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == expected > 0, table
    assert con.execute("SELECT count(*) FROM rejects").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM ingest_runs WHERE file IS NOT NULL").fetchone() == (0,)
    # every count of the store: the scoped connection's equal the whole's filtered to them
    for dims in [("category",), ("clinic", "month"), ("training_band", "ultrasound")]:
        scoped = rate_counts(con, dims, Filters())
        filtered = rate_counts(whole, dims, Filters(clinics=chosen))
        assert scoped.equals(filtered), dims
    assert views.options(con).clinics == chosen
    listing = views.serious_events(con, Filters())
    assert set(listing["clinic"]) <= set(chosen) and len(listing) > 0


def test_a_scoped_connections_data_quality_counts_its_own_blanks(fixture_db: Path) -> None:
    whole = connect_readonly(fixture_db)
    chosen = (whole.execute("SELECT min(clinic_id) FROM clinics").fetchone()[0],)
    scoped = missing_rates(_scoped(fixture_db, chosen))
    copy = duckdb.connect()  # the clinic's rows alone, counted by the ingest's own recount
    for table in ("treatments", "practitioners", "adverse_events"):
        where = (
            "treatment_id IN (SELECT treatment_id FROM treatments)"
            if table == "adverse_events"
            else "clinic_id = ?"
        )
        frame = whole.execute(
            f"SELECT * FROM {table} WHERE "
            + (
                "treatment_id IN (SELECT treatment_id FROM treatments WHERE clinic_id = ?)"
                if table == "adverse_events"
                else where
            ),
            [chosen[0]],
        ).df()
        copy.register(f"{table}_frame", frame)
        copy.execute(f"CREATE TABLE {table} AS SELECT * FROM {table}_frame")
    copy.execute(
        "CREATE TABLE column_blanks (table_name VARCHAR, column_name VARCHAR, missing BIGINT)"
    )
    recount_blanks(copy)
    assert scoped.equals(missing_rates(copy))


def test_a_connection_is_scoped_once(fixture_db: Path) -> None:
    con = _scoped(fixture_db, ("C01",))
    with pytest.raises(ValueError, match="scoped already"):
        apply_scope(con, Scope(("C02",)))
    everyone = connect_readonly(fixture_db)
    assert apply_scope(everyone, Scope()) is everyone
    assert everyone.execute(
        "SELECT count(*) FROM duckdb_views() WHERE temporary AND NOT internal"
    ).fetchone() == (0,)


def test_the_audit_table_logs_each_download(tmp_path: Path, capsys) -> None:
    from dashboard.store.audit import audit_path, downloads, record
    from needlewatch.cli import main

    db = tmp_path / "clinic.duckdb"
    path = audit_path(db)
    assert path == tmp_path / "clinic.audit.duckdb"
    assert downloads(path).empty
    assert main(["audit", "--db", str(db)]) == 0
    assert capsys.readouterr().out == f"no downloads logged ({path})\n"
    record(path, "safety@harbour.example", "C04", "serious", "c04-2026Q3-serious-events.csv")
    record(path, "local", "all clinics", "report", "needlewatch-2026Q3-all-clinic.pdf")
    frame = downloads(path)
    assert frame[["user_name", "scope", "page", "file_kind", "file_name"]].values.tolist() == [
        ["local", "all clinics", "report", "pdf", "needlewatch-2026Q3-all-clinic.pdf"],
        ["safety@harbour.example", "C04", "serious", "csv", "c04-2026Q3-serious-events.csv"],
    ]
    assert frame["logged_at"].is_monotonic_decreasing
    assert main(["audit", "--db", str(db), "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "logged_at,user_name,scope,page,file_kind,file_name"
    assert lines[1].endswith(",local,all clinics,report,pdf,needlewatch-2026Q3-all-clinic.pdf")
