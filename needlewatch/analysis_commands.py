"""Sub-commands that read rates: rates, compare, model, signals.

Each collects its filters, calls one function of the dashboard library and prints the
DataFrame; the dashboard and the reports call the same functions.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from dashboard.analysis.methods import Methods
from dashboard.store.bands import Bands
from dashboard.store.db import connect_readonly
from dashboard.store.filters import Filters, parse_quarter
from ingest.errors import NeedleWatchError

from .output import p_text, write_frame

if TYPE_CHECKING:
    import duckdb

NO_MATCH = (
    "no treatments match these filters; widen the period or check the clinic ids "
    "(needlewatch rates --by clinic lists them)"
)


def filters_from_args(args: argparse.Namespace) -> Filters:
    date_from, date_to = args.date_from, args.date_to
    if args.quarter:
        if date_from or date_to:
            raise ValueError("give either --quarter or --from/--to, not both")
        date_from, date_to = parse_quarter(args.quarter)
    return Filters(
        date_from=date_from,
        date_to=date_to,
        clinics=tuple(args.clinic),
        category=args.category,
        severity=args.severity,
        bands=Bands(tuple(args.training_bands), tuple(args.experience_bands)),
    )


def _check_category(con: duckdb.DuckDBPyConnection, category: str | None) -> None:
    from dashboard.store.counts import event_levels

    if category is None:
        return
    known = event_levels(con, "category", Filters())
    if category not in known:
        raise ValueError(f"unknown category '{category}'; use one of {', '.join(known)}")


def _open(args: argparse.Namespace, db_path: Path) -> tuple[duckdb.DuckDBPyConnection, Filters]:
    filters = filters_from_args(args)
    con = connect_readonly(db_path)
    try:
        _check_category(con, filters.category)
    except BaseException:
        con.close()
        raise
    return con, filters


def say_overrides(methods: Methods) -> None:
    """A user who overrides a method is told so, on stderr (stdout stays machine-readable)."""
    for sentence in methods.overrides():
        print(f"note: {sentence}", file=sys.stderr)


def cmd_rates(args: argparse.Namespace, db_path: Path, out: TextIO) -> int:
    # comparisons and signals import scipy.stats (half a second): only when asked for
    from dashboard.analysis.rates import affected_table, incidence_table

    dims = tuple(d.strip() for d in args.by.split(",") if d.strip())
    con, filters = _open(args, db_path)
    try:
        if args.spread and args.affected:
            raise ValueError("give --spread or --affected, not both")
        if args.affected:
            if args.per != "treatments":
                raise ValueError("--affected is a share of treatments; drop --per insertions")
            table = affected_table(con, dims, filters)
        elif args.spread:
            if args.per != "treatments":
                raise ValueError("--spread works per treatments only; drop --per insertions")
            from dashboard.analysis.comparisons import spread_table

            table = spread_table(con, dims, filters)
        else:
            table = incidence_table(con, dims, filters, args.per)
        if "practitioner" in table:  # keyed codes, as every page and report shows them
            from dashboard.analysis.signals import unit_labels

            names = unit_labels(con, "practitioner", args.practitioner_ids)
            table["practitioner"] = table["practitioner"].astype(str).map(names)
    finally:
        con.close()
    if table.empty:
        raise NeedleWatchError(NO_MATCH)
    write_frame(table, args.format, out)
    return 0


def cmd_compare(args: argparse.Namespace, db_path: Path, out: TextIO) -> int:
    from dashboard.analysis.comparisons import compare_table

    methods = Methods(ratio_intervals=args.intervals)
    con, filters = _open(args, db_path)
    try:
        table = compare_table(con, args.factor, filters, args.adjust, args.reference, methods)
    finally:
        con.close()
    say_overrides(methods)
    if table.empty:
        raise NeedleWatchError(
            f"only one level of {args.factor} among these treatments: nothing to compare"
        )
    write_frame(table, args.format, out)
    return 0


def _p_phrase(p: float) -> str:
    text = p_text(p)
    return f"< {text[1:]}" if text.startswith("<") else f"= {text}"


def cmd_model(args: argparse.Namespace, db_path: Path, out: TextIO) -> int:
    from dashboard.analysis.comparisons import rate_model

    con, filters = _open(args, db_path)
    try:
        model = rate_model(con, filters, args.method)
    finally:
        con.close()
    d = model.dispersion
    if d.ratio is None or d.p_value is None:  # as many cells as parameters: no residual df
        check = f"{d.test} (Pearson chi2 = {d.pearson_chi2:.1f} on {d.df} df)"
    else:
        check = (
            f"{d.test}: Pearson chi2 = {d.pearson_chi2:.1f} on {d.df} df, chi2/df = "
            f"{d.ratio:.2f}, p {_p_phrase(d.p_value)}: "
            f"{'overdispersed' if d.overdispersed else 'no overdispersion'}"
        )
    if args.format == "json":
        payload = {
            "method": model.method,
            "overdispersion": {
                "pearson_chi2": d.pearson_chi2,
                "df": d.df,
                "ratio": d.ratio,
                "p_value": d.p_value,
                "overdispersed": d.overdispersed,
                "test": d.test,
            },
            "cells": model.n_cells,
            "rate_ratios": json.loads(model.table.to_json(orient="records")),
        }
        json.dump(payload, out, indent=2)
        out.write("\n")
        return 0
    table = model.table.assign(method=model.method, overdispersion=check)
    if args.format == "csv":
        write_frame(table, "csv", out)
        return 0
    write_frame(model.table, "table", out)
    out.write(f"method: {model.method}\noverdispersion check: {check}\n")
    out.write(
        "reference levels: "
        + ", ".join(
            f"{t} {r}"
            for t, r in dict(
                zip(model.table["term"], model.table["reference"], strict=True)
            ).items()
        )
        + "\n"
    )
    return 0


def cmd_signals(args: argparse.Namespace, db_path: Path, out: TextIO) -> int:
    from dashboard.analysis.signals import signals_table

    methods = Methods(
        funnel_overdispersion=args.overdispersion,
        baseline=args.baseline,
        rebase=tuple(args.rebase),
    )
    kind = 7 if args.by == "month" else 6  # 2025-04 or 2025Q2
    given = [*(args.baseline or ()), *args.rebase]
    if wrong := [g for g in given if len(g) != kind]:
        raise ValueError(
            f"--baseline/--rebase {wrong[0]} is not a {args.by}: with --by {args.by} give "
            f"{'months (2025-04)' if args.by == 'month' else 'quarters (2025Q2)'}"
        )
    con, filters = _open(args, db_path)
    try:
        table = signals_table(
            con, filters, args.by, args.units, methods, reveal_ids=args.practitioner_ids
        )
    finally:
        con.close()
    say_overrides(methods)
    if table.empty and args.format == "table":
        out.write("no signals: every point within its limits, no funnel outlier\n")
        return 0
    write_frame(table, args.format, out)
    return 0


HANDLERS = {
    "rates": cmd_rates,
    "compare": cmd_compare,
    "model": cmd_model,
    "signals": cmd_signals,
}
