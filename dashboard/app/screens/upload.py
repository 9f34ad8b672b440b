"""Upload: a clinic system's own export (CSV or XLSX), read through a mapping profile,
checked, then loaded by the same ingest library as ``needlewatch ingest --mapping``.

Settings, then data, then show, in four steps: the file (its first rows as they are),
the mapping (a saved profile, or one proposed from the file by ``ingest.mapping_guess``,
corrected here and saved by name for next quarter and for cron), the check (the whole
ingest run and rolled back: rows new, updated and rejected with reasons, downloadable),
and the load (the same ingest, committed atomically). Both runs happen in a process of
their own (``ingest.job``): this process reads the database for every page.

Shown to admins, clinic roles and in local mode. A clinic role's upload is checked row by
row inside the ingest's transaction (``ingest.guard``): a row of another clinic, or one
replacing another clinic's row, refuses the whole file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard.app.auth import csv_download, current_access
from dashboard.app.cache import db_path
from ingest.errors import NeedleWatchError
from ingest.kinds import KINDS
from ingest.mapping import MappingProfile, load_profile, read_rows, save_profile
from ingest.mapping_guess import propose
from needlewatch import settings

TITLE, SLUG = "Upload", "upload"
PROPOSE = "Propose one from this file"
ABSENT = "(not in this file)"
FOLDER = "needlewatch-upload-folder"
OUTCOME = "needlewatch-upload-outcome"
JOB_TIMEOUT_S = 1800


def _saved(uploaded) -> Path:
    """The upload as a file with its own name, in this session's folder."""
    if FOLDER not in st.session_state:
        st.session_state[FOLDER] = tempfile.mkdtemp(prefix="needlewatch-upload-")
    path = Path(st.session_state[FOLDER]) / Path(uploaded.name).name
    path.write_bytes(uploaded.getvalue())
    return path


def _profiles() -> list[str]:
    folder = settings.mappings_dir()
    return sorted(p.stem for p in folder.glob("*.toml")) if folder.is_dir() else []


def _values_editor(column: str, cells: list[str], current: dict[str, str]) -> dict[str, str]:
    """The file's words in a yes/no column, each mapped to yes or no (blank: as it is)."""
    words = sorted({c for c in cells if c}, key=str.casefold)
    if not words or len(words) > 20:
        return current
    folded = {k.casefold(): v for k, v in current.items()}  # the ingest matches any case
    table = pd.DataFrame(
        {"in the file": words, "means": [folded.get(w.casefold(), "") for w in words]}
    )
    edited = st.data_editor(
        table,
        key=f"upload-values-{column}",
        hide_index=True,
        disabled=["in the file"],
        column_config={"means": st.column_config.SelectboxColumn(options=["", "yes", "no"])},
    )
    return {w: m for w, m in zip(edited["in the file"], edited["means"], strict=True) if m}


def _edit(base: MappingProfile, rows: list[list[str | None]]) -> MappingProfile:
    """The mapping as widgets: kind, header row, a column per canonical column, dates,
    yes/no words; returns the profile as edited."""
    kinds = list(KINDS)
    left, middle, right = st.columns(3)
    kind = left.selectbox("What the file holds", kinds, index=kinds.index(base.kind))
    header_row = int(middle.number_input("Header row", 1, max(len(rows), 1), base.header_row or 1))
    date_format = right.text_input("Date format (blank: YYYY-MM-DD)", base.date_format or "")
    header = [c or "" for c in rows[header_row - 1]] if rows else []
    names = [h for h in header if h]
    columns: dict[str, str] = {}
    grid = st.columns(3)
    for i, column in enumerate(KINDS[kind].columns):
        current = base.columns.get(column.name) if kind == base.kind else None
        options = [ABSENT, *names]
        index = options.index(current) if current in options else 0
        chosen = grid[i % 3].selectbox(
            f"{column.name}{' (required)' if column.required else ''}",
            options,
            index=index,
            key=f"upload-col-{kind}-{column.name}",
            help=column.description,
        )
        if chosen != ABSENT:
            columns[column.name] = chosen
    values = {c: v for c, v in base.values.items() if c in columns}
    body = rows[header_row:]
    for name, source in columns.items():
        if KINDS[kind].column(name).type == "bool":
            st.caption(f"{name}: what the file's words mean")
            pos = header.index(source)
            cells = [r[pos] for r in body if pos < len(r) and r[pos]]
            mapped = _values_editor(name, cells, values.get(name, {}))
            values.pop(name, None)
            if mapped:
                values[name] = mapped
    return MappingProfile(
        name=base.name,
        kind=kind,
        columns=columns,
        values=values,
        constants={c: v for c, v in base.constants.items() if c not in columns},
        header_row=header_row,
        date_format=date_format.strip() or None,
        sheet=base.sheet,
    )


def _job(path: Path, profile: MappingProfile, dry_run: bool) -> dict:
    """``ingest.job`` on the upload through ``profile``, in a process of its own."""
    mapping = path.with_suffix(".mapping.toml")
    mapping.write_text(profile.to_toml(), encoding="utf-8")
    access = current_access()
    own = () if access is None or access.local or "admin" in access.roles else access.clinics
    limits = [a for c in own or () for a in ("--clinic", c)]
    command = [sys.executable, "-m", "ingest.job", "--db", str(db_path()), "--mapping",
               str(mapping), *(["--dry-run"] if dry_run else []), *limits, str(path)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=JOB_TIMEOUT_S)
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"ok": False, "message": f"the ingest stopped ({last[:300]})"}


def _show(outcome: dict, path: Path) -> None:
    """The outcome of a check or a load, the upload named as the reader named it (not by
    this session's folder)."""
    folder = f"{path.parent}/"
    if not outcome["ok"]:
        st.error(outcome["message"].replace(folder, ""))
        return
    what = "Checked (nothing written yet)" if outcome["dry_run"] else "Loaded"
    for run in outcome["runs"]:
        st.markdown(f"**{what}: {run['label'].replace(folder, '')}** ({run['kind']})")
        cols = st.columns(4)
        for col, (text, key) in zip(cols, [("Rows read", "rows_read"), ("New", "rows_accepted"),
                                           ("Updated", "rows_updated"),
                                           ("Rejected", "rows_rejected")], strict=True):  # fmt: skip
            col.metric(text, f"{run[key]:,}")
        for notice in run["notices"]:
            st.caption(notice.replace(folder, ""))
    stem = path.stem
    rejected = pd.DataFrame(
        outcome["rejected"], columns=["file", "row", "column", "value", "reason"]
    )
    if len(rejected):
        st.subheader(f"Rejected rows ({len(rejected):,})")
        st.dataframe(rejected.drop(columns="file"), hide_index=True)
        csv_download("the rejected rows", rejected, f"{stem}-rejected", "upload")


def render(ctx) -> None:
    st.title("Upload an export")
    st.caption(
        "A clinic system's CSV or XLSX with its own column names: map its columns once, "
        "check what would load, then load it. Saved mappings also work from the command "
        "line: `needlewatch ingest --mapping NAME FILE`."
    )
    uploaded = st.file_uploader("Export (CSV, TSV or XLSX)", type=["csv", "tsv", "txt", "xlsx"])
    if uploaded is None:
        st.session_state.pop(OUTCOME, None)
        return
    path = _saved(uploaded)
    try:
        rows = read_rows(path)
    except NeedleWatchError as exc:
        st.error(str(exc))
        return
    st.subheader("The file's first rows, as they are")
    width = max((len(r) for r in rows[:8]), default=0)
    st.dataframe(
        pd.DataFrame(
            [r + [None] * (width - len(r)) for r in rows[:8]], index=range(1, min(len(rows), 8) + 1)
        ),  # fmt: skip
    )
    st.subheader("Mapping")
    choice = st.selectbox("Start from", [PROPOSE, *_profiles()])
    if choice == PROPOSE:
        proposal = propose(path)
        base = proposal.profile
        with st.expander("How the proposal was made", expanded=False):
            st.markdown("\n".join(f"- {n}" for n in proposal.notes))
    else:
        base = load_profile(settings.mappings_dir() / f"{choice}.toml")
    profile = _edit(base, rows)
    name = st.text_input("Save the mapping as", value=base.name)
    problems = profile.problems()
    if problems:
        st.warning(f"The mapping is not complete: {problems[0]}.")
        return
    profile = MappingProfile(**{**profile.__dict__, "name": name.strip() or base.name})
    save, check, load_now = st.columns(3)
    if save.button("Save mapping"):
        settings.mappings_dir().mkdir(parents=True, exist_ok=True)
        target = settings.mappings_dir() / f"{profile.name}.toml"
        save_profile(profile, target)
        st.success(f"Saved as {target}: `needlewatch ingest --mapping {profile.name} FILE`")
    if check.button("Check"):
        st.session_state[OUTCOME] = _job(path, profile, dry_run=True)
    checked = st.session_state.get(OUTCOME)
    ready = bool(checked and checked.get("ok") and checked.get("dry_run"))
    if ready and load_now.button("Load into the database", type="primary"):
        st.session_state[OUTCOME] = _job(path, profile, dry_run=False)
    if OUTCOME in st.session_state:
        _show(st.session_state[OUTCOME], path)
