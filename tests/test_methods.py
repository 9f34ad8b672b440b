"""The one analysis configuration, keyed pseudonyms, and the small surface settings
(serve's address, report file modes, repeated link parameters)."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat

import duckdb
import pytest

from dashboard.analysis.methods import DEFAULT, Methods
from dashboard.analysis.pseudonyms import pseudonyms
from dashboard.app.state import collapse_params
from dashboard.store.queries import database_secret, unit_ids
from needlewatch import settings
from needlewatch.cli import main


def test_defaults_come_from_settings_and_say_nothing_when_unchanged() -> None:
    assert (DEFAULT.funnel_overdispersion, DEFAULT.ratio_intervals) == ("additive", "auto")
    assert DEFAULT.reference("training_band") == "21-60"
    assert DEFAULT.reference("ultrasound") == "no"
    assert DEFAULT.reference("body_region") is None
    assert (DEFAULT.trend_months, DEFAULT.threshold, DEFAULT.rounding) == (24, 7, None)
    assert Methods().overrides() == ()
    topics = [t for t, _ in DEFAULT.describe()]
    assert topics == [
        "Funnel limits", "Rate-ratio intervals", "Reference levels", "Trend window",
        "Series charted", "SPC rules", "Control limits",
    ]  # fmt: skip


def test_every_override_is_said_in_a_sentence() -> None:
    chosen = Methods(
        funnel_overdispersion="none", ratio_intervals="exact", threshold=10, rounding=5
    )
    assert chosen.overrides() == (
        "Funnel limits: exact Poisson limits with no allowance for overdispersion, so more "
        "units are flagged than chance and case mix would explain (chosen here; the default "
        "everywhere else is additive).",
        "Rate-ratio intervals: exact conditional (crude) and Mantel-Haenszel with "
        "Greenland-Robins intervals (adjusted), which do not allow for overdispersion across "
        "practitioners (chosen here; the default is auto).",
        "Suppression: counts 1 to 10 hidden (chosen here; the default is 1 to 7).",
        "Rounding: printed event counts rounded to the nearest 5 (chosen here; by default "
        "counts are not rounded).",
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"funnel_overdispersion": "wide"}, "unknown overdispersion method 'wide'"),
        ({"ratio_intervals": "bootstrap"}, "unknown ratio interval method 'bootstrap'"),
        ({"trend_months": 1}, "at least 2 months"),
        ({"threshold": 0}, "at least 1"),
        ({"rounding": 1}, "at least 2"),
    ],
)
def test_impossible_methods_are_refused(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        Methods(**kwargs)


# ---------------------------------------------------------------- pseudonyms
def test_codes_are_hmac_keyed_with_the_database_secret(fixture_db) -> None:
    """code = 'P-' + the first 8 hex digits (upper case) of HMAC-SHA256(secret,
    'practitioner:' + id) (RFC 2104, Python's hmac as reference), not a plain hash."""
    with duckdb.connect(str(fixture_db), read_only=True) as con:
        secret = database_secret(con)
        ids = unit_ids(con, "practitioner")
    codes = pseudonyms(ids, secret, "practitioner")
    first = ids[0]
    mac = hmac.new(secret, f"practitioner:{first}".encode(), hashlib.sha256).hexdigest()
    assert codes[first] == "P-" + mac[:8].upper()
    assert len(set(codes.values())) == len(ids) == 96


def test_a_dictionary_attack_on_the_codes_finds_nothing(fixture_db) -> None:
    """The first round's codes were sha256(id)[:8]: hashing P001..P999 recovered every
    one. Without the secret, neither that nor any keyed guess gives a practitioner's code.

    What an attack needs is a guess that gives the code of *that* id: an unrelated code
    sharing 32 bits with some guess's hash is chance (96 codes x 6,000 hashes / 2**32:
    about 1 run in 7,500, as one run here found: sha256('PR353') began like a code)."""
    with duckdb.connect(str(fixture_db), read_only=True) as con:
        codes = pseudonyms(unit_ids(con, "practitioner"), database_secret(con), "practitioner")
    guesses = {f"P{i:03d}" for i in range(1000)} | {f"PR{i:03d}" for i in range(1000)}
    assert set(codes) <= guesses  # the ids are among the guesses: the attack has its chance
    for pid, code in codes.items():
        for candidate in (
            hashlib.sha256(pid.encode()).hexdigest(),
            hashlib.sha256(f"practitioner:{pid}".encode()).hexdigest(),
            hmac.new(b"", f"practitioner:{pid}".encode(), hashlib.sha256).hexdigest(),
        ):
            assert "P-" + candidate[:8].upper() != code.upper(), pid


def test_one_practitioner_has_one_code_on_every_surface(fixture_db, capsys) -> None:
    """The listing, the practitioners' funnel, `rates --by practitioner`, `signals --units
    practitioner` and the clinic report's funnel and listing all use the same code; the
    ids appear only when asked for."""
    import json

    from dashboard.analysis import views
    from dashboard.report.content import build_report
    from dashboard.report.model import ReportRequest
    from dashboard.store.filters import Filters, parse_quarter

    q = Filters(*parse_quarter("2025Q2"), clinics=("C04",))
    with duckdb.connect(str(fixture_db), read_only=True) as con:
        codes = pseudonyms(unit_ids(con, "practitioner"), database_secret(con), "practitioner")
        listing = views.serious_events(con, Filters(*parse_quarter("2025Q2")))
        revealed = views.serious_events(con, Filters(*parse_quarter("2025Q2")), reveal_ids=True)
        page = views.clinics(con, q, "practitioner")
        report = build_report(con, ReportRequest("2025Q2", "C04"))
    assert (
        listing["practitioner"].map({v: k for k, v in codes.items()}).tolist()
        == revealed["practitioner"].tolist()
    )
    main(["rates", "--db", str(fixture_db), "--by", "practitioner", "--quarter", "2025Q2",
          "--clinic", "C04", "--format", "json"])  # fmt: skip
    cli = [r["practitioner"] for r in json.loads(capsys.readouterr().out)]
    main(["rates", "--db", str(fixture_db), "--by", "practitioner", "--quarter", "2025Q2",
          "--clinic", "C04", "--format", "json", "--practitioner-ids"])  # fmt: skip
    ids = [r["practitioner"] for r in json.loads(capsys.readouterr().out)]
    assert cli == [codes[i] for i in ids]
    assert (
        sorted(page.units["unit"]) == sorted(cli) == sorted(report.section("units").frame["level"])
    )
    assert set(report.listing["practitioner"]) <= set(codes.values())
    assert not set(ids) & set(report.section("units").frame["level"])


# ---------------------------------------------------------------- small settings
def test_serve_listens_on_this_computer_unless_told(monkeypatch, capsys, tmp_path) -> None:
    calls = []
    monkeypatch.setattr(os, "execvpe", lambda exe, command, env: calls.append(command))
    assert main(["serve", "--db", str(tmp_path / "x.duckdb"), "--headless"]) == 0
    command = calls[-1]
    assert command[command.index("--server.address") + 1] == settings.SERVE_HOST == "127.0.0.1"
    out, err = capsys.readouterr()
    assert out.startswith("NeedleWatch dashboard on http://localhost:8501") and err == ""
    monkeypatch.chdir(tmp_path)  # no .streamlit/secrets.toml: local mode
    monkeypatch.setenv("HOME", str(tmp_path))
    assert main(["serve", "--db", "x.duckdb", "--host", "0.0.0.0", "--port", "9000"]) == 2
    assert len(calls) == 1, "nothing served"
    _, err = capsys.readouterr()
    assert err == (
        "needlewatch: --host 0.0.0.0: without sign-in the dashboard serves this computer only "
        f'(local mode); configure [auth] in {tmp_path}/.streamlit/secrets.toml (README, "A '
        'shared deployment") to serve others, or leave out --host\n'
    )
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text('[auth]\nredirect_uri = "x"\n')
    assert main(["serve", "--db", "x.duckdb", "--host", "0.0.0.0", "--port", "9000"]) == 0
    command = calls[-1]
    assert command[command.index("--server.address") + 1] == "0.0.0.0"


def test_report_files_get_an_ordinary_files_permissions(fixture_db, tmp_path, capsys) -> None:
    old = os.umask(0o022)
    try:
        out = tmp_path / "q.csv"
        assert (
            main(["report", "--db", str(fixture_db), "--quarter", "2025Q2", "--out", str(out)]) == 0
        )
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert not list(tmp_path.glob(".q.csv.*"))  # the temporary file was renamed, not left


def test_a_repeated_link_parameter_means_every_value() -> None:
    """?clinic=C02&clinic=C03 shows both clinics; two different quarters are ambiguous and
    are ignored with a notice rather than silently taking the last."""
    params, notices = collapse_params(
        {"clinic": ["C02", "C03"], "quarter": ["2025Q1", "2025Q2"], "severity": ["mild", "mild"]}
    )
    assert params == {"clinic": "C02,C03", "severity": "mild"}
    assert notices == ["ignored quarter given 2 times ('2025Q1', '2025Q2'): give it once"]
