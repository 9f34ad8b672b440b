"""Adjusted comparisons and the rate model, from grouped counts in the database.

The statistics live in ``dashboard.stats`` (pure functions on counts); this module
fetches the counts they need through ``dashboard.store.counts.rate_counts`` and applies the
methods in force (``dashboard.analysis.methods``), so the CLI, the dashboard and the reports all
compute the same numbers with the same intervals and reference levels:

    counts (factor[, stratum], practitioner) -> ratio_table -> crude and adjusted ratios
        (exact / Mantel-Haenszel, or practitioner-clustered Poisson regression when the
        counts are overdispersed across practitioners)
    rate_counts(factors + practitioner) -> fit_rate_model -> incidence rate ratios
    rate_counts(dims + practitioner) -> rate_spread   -> pooled vs per-practitioner rates
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from dashboard.analysis.methods import DEFAULT, Methods
from dashboard.stats.compare import compare_levels
from dashboard.stats.spread import rate_spread
from dashboard.store.counts import rate_counts, summed_counts
from dashboard.store.filters import (
    ADJUSTERS,
    COMPARE_FACTORS,
    MODEL_FACTORS,
    MODEL_METHODS,
    Filters,
)
from ingest.errors import NeedleWatchError

if TYPE_CHECKING:
    from dashboard.stats.regression import RateModel

COMPARE_COLUMNS = (
    "analysis", "level", "reference", "events", "treatments", "rate_ratio", "ci_low",
    "ci_high", "method", "p_value", "ref_events", "ref_treatments", "strata_used",
    "strata_dropped", "homogeneity_p", "note",
)  # fmt: skip
SPREAD_COLUMNS = (
    "treatments", "events", "pooled_per_1000", "practitioners",
    "practitioner_mean_per_1000", "practitioner_median_per_1000", "practitioner_q1_per_1000",
    "practitioner_q3_per_1000", "practitioner_min_per_1000", "practitioner_max_per_1000",
)  # fmt: skip


class NoDataError(NeedleWatchError):
    """No treatments match the filters: nothing to compare or model."""


NO_DATA = (
    "no treatments match these filters; widen the period or check the clinic ids "
    "(needlewatch rates --by clinic lists them)"
)


def _counts(
    con: duckdb.DuckDBPyConnection, dims: tuple[str, ...], filters: Filters
) -> pd.DataFrame:
    counts = rate_counts(con, dims, filters)
    if counts.empty:
        raise NoDataError(NO_DATA)
    return counts


def resolve_reference(
    totals: pd.DataFrame, factor: str, asked: str | None, methods: Methods
) -> tuple[str, str]:
    """The reference level and a note when it is not the one configured.

    ``totals`` has one row per level (``factor``, treatments, events). A level asked for by
    the user wins; else the methods' reference (``settings.REFERENCE_LEVELS``) when it has
    treatments and events in scope; else the level with the most treatments (among levels
    with events). Raises ValueError for an asked level that is not there."""
    levels = [str(v) for v in totals[factor]]
    usable = totals[(totals["treatments"] > 0) & (totals["events"] > 0)]
    if asked is not None:
        if asked not in levels:
            raise ValueError(
                f"reference level {asked!r} is not a level of {factor} here; "
                f"use one of {', '.join(levels)}"
            )
        return asked, f"reference {asked} (chosen here)"
    configured = methods.reference(factor)
    if configured is not None and configured in set(usable[factor].astype(str)):
        return configured, ""
    pool = usable if len(usable) else totals
    best = str(pool.sort_values("treatments", ascending=False, kind="stable")[factor].iloc[0])
    if configured is None:
        return best, f"reference {best} (the level with the most treatments)"
    return best, (
        f"reference {best}: the usual reference {configured} has no treatments or no events "
        "here, so the level with the most treatments is used"
    )


def ratio_table(
    counts: pd.DataFrame,
    factor: str,
    adjust: str | None = None,
    reference: str | None = None,
    methods: Methods = DEFAULT,
) -> pd.DataFrame:
    """Rate ratio of each level of ``factor`` against the reference, crude then adjusted
    (pure: from counts). Columns: COMPARE_COLUMNS.

    ``counts`` has ``factor``, [``adjust``,] practitioner, events and treatments. With
    ``methods.ratio_intervals``:

    - "exact": crude rows use the exact conditional interval (R ``poisson.test``), adjusted
      rows Mantel-Haenszel with the Greenland-Robins interval (``stats.compare``);
    - "clustered": every row is a Poisson regression on practitioner cells (``factor`` for
      crude, ``factor`` + ``adjust`` for adjusted) with practitioner-clustered (sandwich)
      errors, as ``needlewatch model``: a crude ratio is then the same number, its interval
      allows for practitioners differing more than chance;
    - "auto" (default): "clustered" for a row whose Poisson fit is overdispersed across
      practitioners (Pearson chi2 test, p < 0.05), "exact" otherwise.

    The method column says which, and why; ``note`` names a reference that is not the
    configured one.
    """
    keys = [factor] + ([adjust] if adjust else [])
    cells = counts[[*keys, "practitioner", "events", "treatments"]]
    strata = cells.groupby(keys, sort=False)[["events", "treatments"]].sum().reset_index()
    totals = strata.groupby(factor, sort=False)[["events", "treatments"]].sum().reset_index()
    ref, ref_note = resolve_reference(totals, factor, reference, methods)
    exact = compare_levels(strata, factor, ref, adjust)
    if methods.ratio_intervals == "exact":
        exact["method"] = exact["method"] + "; does not allow for overdispersion (chosen here)"
        return _noted(exact, ref_note)[list(COMPARE_COLUMNS)]
    rows = []
    models = {
        crude: _clustered(cells, factor, None if crude else adjust, ref, methods)
        for crude in ((True, False) if adjust else (True,))
    }
    for row in exact.to_dict("records"):
        crude = row["analysis"] == "crude"
        model = models[crude]
        if isinstance(model, str):  # not estimable: keep the exact row and say why
            row["method"] = f"{row['method']}; {model}"
        elif model.estimator != "cluster":
            d = model.dispersion
            row["method"] = (
                f"{row['method']}; no overdispersion across practitioners "
                f"(Pearson chi2/df = {d.ratio:.2f})"
                if d.ratio is not None
                else row["method"]
            )
        else:
            fit = model.table[
                (model.table["term"] == factor) & (model.table["level"] == str(row["level"]))
            ]
            got = fit.iloc[0]
            label = "crude" if crude else f"adjusted for {adjust} (Poisson regression)"
            row.update(
                analysis=label, rate_ratio=got["irr"], ci_low=got["ci_low"],
                ci_high=got["ci_high"], p_value=got["p_value"], strata_used=None,
                strata_dropped=None, homogeneity_p=None,
                method=f"Poisson regression on practitioner cells{'' if crude else f' adjusted for {adjust}'}: {model.method}",
                note=got["note"] or row["note"],
            )  # fmt: skip
        rows.append(row)
    table = pd.DataFrame(rows, columns=list(COMPARE_COLUMNS))
    for column in COMPARE_COLUMNS[5:14]:
        if column in ("method",):
            continue
        table[column] = pd.Series([r[column] for r in rows], dtype=object)
    return _noted(table, ref_note)[list(COMPARE_COLUMNS)]


def _noted(table: pd.DataFrame, note: str) -> pd.DataFrame:
    if not note:
        return table
    table = table.copy()
    table["note"] = [f"{n}; {note}" if isinstance(n, str) and n else note for n in table["note"]]
    return table


def _clustered(
    cells: pd.DataFrame, factor: str, adjust: str | None, reference: str, methods: Methods
) -> RateModel | str:
    """The Poisson fit behind a clustered row, or why there is none."""
    from dashboard.stats.regression import fit_rate_model

    factors = (factor,) if adjust is None else (factor, adjust)
    method = "cluster" if methods.ratio_intervals == "clustered" else "auto"
    try:
        return fit_rate_model(
            cells, factors, {factor: reference}, cluster="practitioner", method=method
        )
    except ValueError as exc:
        return f"no practitioner-clustered estimate ({exc}), so this interval does not allow for overdispersion"


def compare_table(
    con: duckdb.DuckDBPyConnection,
    factor: str,
    filters: Filters,
    adjust: str | None = None,
    reference: str | None = None,
    methods: Methods = DEFAULT,
) -> pd.DataFrame:
    """Rate ratio of each level of ``factor`` against the reference: crude, then adjusted
    for ``adjust`` (see ``ratio_table``, which does the work on counts by practitioner).
    Columns: COMPARE_COLUMNS."""
    if factor not in COMPARE_FACTORS:
        raise ValueError(f"unknown factor {factor!r}; use one of {', '.join(COMPARE_FACTORS)}")
    if adjust is not None and (adjust not in ADJUSTERS or adjust == factor):
        choices = ", ".join(a for a in ADJUSTERS if a != factor)
        raise ValueError(f"cannot adjust {factor} for {adjust!r}; use one of {choices}")
    dims = (factor, "practitioner") if adjust is None else (factor, adjust, "practitioner")
    counts = _counts(con, dims, filters)
    return ratio_table(counts, factor, adjust, reference, methods)


def compare_tables(
    con: duckdb.DuckDBPyConnection,
    factors: tuple[str, ...],
    filters: Filters,
    adjust: str = "body_region",
    methods: Methods = DEFAULT,
) -> dict[str, pd.DataFrame | Exception]:
    """``compare_table(con, factor, filters, adjust)`` for each factor, from one count
    (``ratio_tables``): one store query instead of one per factor. A factor that cannot
    be compared maps to the error ``compare_table`` would raise (no data; a ValueError)."""
    try:
        wide = _counts(con, _wide_dims((*factors, adjust)), filters)
    except NoDataError as exc:
        return dict.fromkeys(factors, exc)
    return ratio_tables(wide, factors, adjust, filters, methods)


def factor_analyses(
    con: duckdb.DuckDBPyConnection,
    factors: tuple[str, ...],
    filters: Filters,
    adjust: str = "body_region",
    methods: Methods = DEFAULT,
) -> tuple[RateModel | Exception, dict[str, pd.DataFrame | Exception]]:
    """``rate_model`` and ``compare_tables`` (factors of MODEL_FACTORS, adjusted for one of
    them) from the one count both are made of: (MODEL_FACTORS, practitioner)."""
    return factor_analyses_on(
        rate_counts(con, (*MODEL_FACTORS, "practitioner"), filters),
        factors,
        filters,
        adjust,
        methods,
    )


def factor_analyses_on(
    wide: pd.DataFrame,
    factors: tuple[str, ...],
    filters: Filters,
    adjust: str = "body_region",
    methods: Methods = DEFAULT,
) -> tuple[RateModel | Exception, dict[str, pd.DataFrame | Exception]]:
    """``factor_analyses`` on its count, ``rate_counts(con, (*MODEL_FACTORS, "practitioner"),
    filters)`` (pure), for a page that reads other tables from the same count."""
    if not set((*factors, adjust)) <= set(MODEL_FACTORS):
        raise ValueError(f"factors and adjust must be among {', '.join(MODEL_FACTORS)}")
    if wide.empty:
        exc = NoDataError(NO_DATA)
        return exc, dict.fromkeys(factors, exc)
    try:
        model: RateModel | Exception = model_on_cells(wide, "auto", methods)
    except (NoDataError, ValueError) as exc:
        model = exc
    return model, ratio_tables(wide, factors, adjust, filters, methods)


def _wide_dims(keys: tuple[str, ...]) -> tuple[str, ...]:
    """The dims of one count that serves every factor in ``keys``: the model's order when
    they are all model factors (so the model can share it), else as given."""
    if set(keys) <= set(MODEL_FACTORS):
        return (*MODEL_FACTORS, "practitioner")
    return (*dict.fromkeys(keys), "practitioner")


def ratio_tables(
    wide: pd.DataFrame,
    factors: tuple[str, ...],
    adjust: str,
    filters: Filters,
    methods: Methods = DEFAULT,
) -> dict[str, pd.DataFrame | Exception]:
    """Per factor, ``ratio_table`` on the cells it is made of (pure: from counts):

        wide: (factors..., adjust, practitioner, events, treatments, ...)
          -> per factor, summed over the other factors (treatments and events add up):
             (factor, adjust, practitioner, events, treatments), ordered as rate_counts
             orders them (``summed_counts``) -> ratio_table

    the same numbers as ``compare_table`` per factor. A factor whose fit fails maps to
    its ValueError."""
    out: dict[str, pd.DataFrame | Exception] = {}
    for factor in factors:
        cells = summed_counts(wide, (factor, adjust, "practitioner"), filters)
        try:
            out[factor] = ratio_table(cells, factor, adjust, None, methods)
        except ValueError as exc:
            out[factor] = exc
    return out


def rate_model(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    method: str = "auto",
    methods: Methods = DEFAULT,
) -> RateModel:
    """Poisson regression of events on MODEL_FACTORS with a log(treatments) offset.

    Cells are practitioner x factor levels so that, if counts are overdispersed,
    standard errors can be clustered by practitioner (``method='auto'``). Reference levels
    are the methods' (``settings.REFERENCE_LEVELS``) where they have events in scope.

    Clinics' submissions (``ingest.submissions``) name no practitioner: when any cell in
    scope comes from one, the cells are clinic x factor levels and errors are clustered
    by clinic, the finest unit every treatment has, and the method says so.
    """
    if method not in MODEL_METHODS:
        raise ValueError(f"unknown method {method!r}; use one of {', '.join(MODEL_METHODS)}")
    cells = _counts(con, (*MODEL_FACTORS, "practitioner"), filters)
    if not cells["practitioner"].isna().any():
        return model_on_cells(cells, method, methods)
    by_clinic = _counts(con, (*MODEL_FACTORS, "clinic"), filters)
    model = model_on_cells(by_clinic, method, methods, cluster="clinic")
    return replace(
        model,
        method=f"{model.method}; cells and any clustering by clinic, since clinics' "
        "submissions carry no practitioners",
    )


def model_on_cells(
    cells: pd.DataFrame, method: str, methods: Methods = DEFAULT, cluster: str = "practitioner"
) -> RateModel:
    """``rate_model`` on its cells, (MODEL_FACTORS, ``cluster``, events, treatments)."""
    from dashboard.stats.regression import fit_rate_model

    if cells["events"].sum() == 0:
        raise NoDataError("no events match these filters: there is nothing to model")
    references = {}
    for factor in MODEL_FACTORS:
        ref = methods.reference(factor)
        has = cells[cells[factor].astype(str) == ref]
        if ref is not None and has["events"].sum() > 0:
            references[factor] = ref
    return fit_rate_model(cells, MODEL_FACTORS, references, cluster=cluster, method=method)


def spread_table(
    con: duckdb.DuckDBPyConnection, dims: tuple[str, ...], filters: Filters
) -> pd.DataFrame:
    """Pooled rate next to the spread of per-practitioner rates, per group of ``dims``.

    Surveys often print the mean of per-practitioner rates; it weights a practitioner
    with 20 treatments like one with 2,000 and so differs from the pooled rate (events /
    treatments). Both are shown, labelled, per 1,000 treatments.
    """
    if "practitioner" in dims:
        raise ValueError("--spread already splits by practitioner; drop it from --by")
    counts = _counts(con, (*dims, "practitioner"), filters)
    groups = counts.groupby(list(dims), sort=False) if dims else [((), counts)]
    rows = []
    for key, group in groups:
        spread = rate_spread(group["events"].tolist(), group["treatments"].tolist())
        key = key if isinstance(key, tuple) else (key,)
        rows.append(
            (
                *key,
                int(group["treatments"].sum()),
                int(group["events"].sum()),
                spread.pooled_rate,
                spread.units,
                spread.mean_of_unit_rates,
                spread.median,
                spread.q1,
                spread.q3,
                spread.min,
                spread.max,
            )
        )
    return pd.DataFrame(rows, columns=[*dims, *SPREAD_COLUMNS])
