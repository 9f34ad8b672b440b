"""An upload by a clinic's safety officer: every row it writes must be that clinic's.

    IngestOptions(filing=ClinicGuard(("C04",)))
      before the load: the ids other clinics hold (treatments, events, practitioners, clinics)
      after the load:  the rows this batch wrote (their run_id) -> refused, all of them
                       rolled back, when a row names another clinic, or replaces a row
                       another clinic held (an id clash must not move a row between clinics)

A treatment's clinic is its own ``clinic_id`` (filled from its practitioner's profile when
blank); an event's is its treatment's; a practitioner's is their profile's.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from .errors import NeedleWatchError

#: table -> (id column, the clinic of a row as SQL over alias r)
_OWNED = {
    "clinics": ("clinic_id", "r.clinic_id"),
    "practitioners": ("practitioner_id", "r.clinic_id"),
    "treatments": ("treatment_id", "r.clinic_id"),
    "adverse_events": (
        "event_id",
        "(SELECT t.clinic_id FROM treatments t WHERE t.treatment_id = r.treatment_id)",
    ),
}


class OtherClinicsRows(NeedleWatchError):
    """The upload holds another clinic's rows; nothing was written."""


@dataclass
class ClinicGuard:
    """``IngestOptions.filing`` for an upload by the safety officer of ``clinics``."""

    clinics: tuple[str, ...]

    def before_load(self, con: duckdb.DuckDBPyConnection) -> None:
        for table, (key, owner) in _OWNED.items():
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE guard_{table} AS SELECT r.{key} AS id FROM "
                f"{table} r WHERE NOT list_contains($mine, {owner})",
                {"mine": list(self.clinics)},
            )

    def after_load(self, con: duckdb.DuckDBPyConnection, report: object) -> None:
        runs = [r.run_id for r in report.runs]  # type: ignore[attr-defined]
        for table, (key, owner) in _OWNED.items():
            found = con.execute(
                f"SELECT r.{key}, {owner} AS clinic, r.{key} IN (SELECT id FROM "
                f"guard_{table}) AS theirs FROM {table} r WHERE list_contains($runs, r.run_id) "
                f"AND (NOT list_contains($mine, coalesce({owner}, '')) OR r.{key} IN "
                f"(SELECT id FROM guard_{table})) ORDER BY 1 LIMIT 1",
                {"runs": runs, "mine": list(self.clinics)},
            ).fetchone()
            if found is not None:
                row_id, clinic, theirs = found
                what = (
                    f"its id is another clinic's {table[:-1].replace('_', ' ')}"
                    if theirs
                    else f"it is clinic {clinic or '(none)'}'s"
                )
                raise OtherClinicsRows(
                    f"{table} {row_id}: {what}, and you upload for {', '.join(self.clinics)} "
                    "only: remove that row (or ask the administrator to load it); nothing "
                    "was written"
                )
        for table in _OWNED:
            con.execute(f"DROP TABLE IF EXISTS temp.guard_{table}")
