"""Trends: u-chart in Making Data Count style with its signals in words, the board's SPC
summary (a row per category and severity tier), a fixed baseline or a rebase on request,
and the g-chart of serious events."""

import pandas as pd
import streamlit as st

from dashboard.analysis import views
from dashboard.analysis.explain import RULE_MEANING
from dashboard.analysis.labels import label
from dashboard.analysis.methods import Methods
from dashboard.app.cache import load
from dashboard.app.screens._common import (
    category_choice,
    chart,
    escape,
    nothing_matches,
    page_setting,
    what_counted,
)
from dashboard.figures.control_charts import g_chart_figure, u_chart_figure
from dashboard.figures.icons import WORDS, variation_uri

TITLE, SLUG = "Trends", "trends"
NOT_FIXED = "every complete period (default)"
NOT_SET = "none"  # the URL value of a baseline or rebase not chosen


def _statements(statements) -> None:
    """Each signal as a bullet (full sentences, escaped: unit names come from the data),
    then what each rule that fired means."""
    st.markdown("\n".join("- " + escape(s.sentence) for s in statements))
    rules = dict.fromkeys(s.rule for s in statements)
    st.caption(" · ".join(f"{rule}: {RULE_MEANING.get(rule, '')}" for rule in rules))


def _limits(periods: list[str]) -> Methods:
    """The baseline and rebase the user chose (default: neither), said when chosen."""
    with st.expander("Control limits: baseline and rebase"):
        st.caption(
            "By default the centre line is the rate of every complete period shown, less any "
            "point beyond the limits (a signal does not set its own limits). Fix a baseline "
            "to judge later periods against an earlier, settled one; rebase only after a "
            "sustained shift you accept as the new normal."
        )
        options = [NOT_SET, *periods]
        first = page_setting(
            "base_from", options, NOT_SET, label="Baseline from", key="trends-baseline-from",
            widget="selectbox", format_func=_period_text,
        )  # fmt: skip
        last = page_setting(
            "base_to", options, NOT_SET, label="Baseline to", key="trends-baseline-to",
            widget="selectbox", format_func=_period_text,
        )  # fmt: skip
        rebase = page_setting(
            "rebase", options, NOT_SET, label="Start the limits again at",
            key="trends-rebase", widget="selectbox", format_func=_rebase_text,
        )  # fmt: skip
    baseline = None
    if first != NOT_SET and last != NOT_SET:
        if first <= last:
            baseline = (first, last)
        else:
            st.warning(f"Baseline from {first} is after {last}: the baseline is not fixed.")
    return Methods(baseline=baseline, rebase=() if rebase == NOT_SET else (rebase,))


def _period_text(value: str) -> str:
    return NOT_FIXED if value == NOT_SET else value


def _rebase_text(value: str) -> str:
    return "nowhere (one set of limits)" if value == NOT_SET else value


def _summary(table: pd.DataFrame) -> None:
    """The board's SPC summary: a row per category and severity tier, icon first."""
    if table is None or table.empty:
        return
    st.subheader("SPC summary: every category and severity tier")
    st.caption(
        "Latest complete period, its rate, the centre line (mean) and 3-sigma limits there, "
        "and its variation: grey common cause, orange special cause of concern (higher), "
        "blue special cause of improvement (lower). No targets are set, so there is no "
        "assurance icon."
    )
    shown = pd.DataFrame(
        {
            "Variation": [variation_uri(v) for v in table["variation"]],
            "Measure": [
                f"{'Category' if k == 'category' else 'Severity'}: {label(k, lv)}"
                for k, lv in zip(table["kind"], table["level"], strict=True)
            ],
            "Latest": table["latest"].fillna(""),
            "Per 1,000": table["value"].round(2),
            "Mean": table["mean"].round(2),
            "Lower limit": table["lower"].round(2),
            "Upper limit": table["upper"].round(2),
            "Reads": [WORDS.get(v, v) for v in table["variation"]],
            "Signals in the period": table["signals"],
            "Note": table["note"].fillna(""),
        }
    )
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        column_config={"Variation": st.column_config.ImageColumn("Variation", width="small")},
    )


def render(ctx) -> None:
    st.title("Trends and signals")
    filters = category_choice(ctx.filters, "trends-category")
    by = page_setting(
        "by", ("month", "quarter"), "month", label="Period", key="trends-by",
        format_func=lambda b: f"by {b}",
    )  # fmt: skip
    first = load(views.trends, filters, by)
    periods = [] if not first.charts else list(first.charts[0].chart.points["period"])
    methods = _limits(periods)
    data = first if methods == Methods() else load(views.trends, filters, by, methods)
    if overrides := methods.overrides():
        flags = (f" --baseline {methods.baseline[0]}:{methods.baseline[1]}" if methods.baseline
                 else "") + "".join(f" --rebase {r}" for r in methods.rebase)  # fmt: skip
        st.warning(
            " ".join(overrides) + f" The reports use the default limits; `needlewatch "
            f"signals --by {by}{flags}` lists these signals."
        )
    if not data.charts and not data.note:
        return nothing_matches()
    if not data.charts:
        st.info(f"No u-chart for this view: {data.note}.")
        return _gchart(data, filters)
    u = data.charts[0].chart
    if ctx.filters.date_to is not None:
        st.caption(
            "With a period chosen, the chart shows it in context: the 24 months to its end, "
            "so the period is measured against its own history, not against itself. The "
            "signals listed are those that touch the period, as in the report and "
            "`needlewatch signals`."
        )
    if u.points["incomplete"].any():
        st.caption(
            "A period the data do not yet cover in full is drawn hollow: it is not used for "
            "the limits and not tested for signals."
        )
    chart(
        u_chart_figure(
            u,
            title=f"u-chart: {what_counted(filters).lower()} per 1,000 treatments by {by}; "
            "limits vary with treatments",
        ),
        u.points,
        f"u-chart-by-{by}",
        filters=filters,
    )
    st.subheader(f"Signals on this chart ({len(data.statements)})")
    if data.statements:
        _statements(data.statements)
    else:
        st.success(
            "No special-cause signal: every point is within its limits and no run or trend rule fired."
        )
    for title, said, note in (
        ("by event category", data.category_statements,
         "Each category's own u-chart over all treatments, when it has at least one event a "
         "period on average (rarer events are watched on the g-chart below)."),
        ("by severity tier", data.severity_statements,
         "Each severity tier's own u-chart over all treatments, on the same terms."),
        ("in single clinics", data.clinic_statements,
         "Each clinic's own u-chart, against its own centre line. Pick the clinic in the "
         "sidebar to see its chart."),
    ):  # fmt: skip
        st.subheader(f"Signals {title} ({len(said)})")
        st.caption(note)
        if said:
            _statements(said)
    _summary(data.summary)
    _gchart(data, filters)


def _gchart(data, filters) -> None:
    st.subheader("Serious events")
    unplaced = (
        f"{data.unplaced:,} serious event(s) in this view came in clinics' quarterly "
        "submissions, which give the month, not the day: a g-chart counts the treatments "
        "between events, so they are not on it (the Overview counts them; the Submissions "
        "page lists them by month)."
        if data.unplaced
        else ""
    )
    if data.gchart is None:
        st.info(
            "Fewer than 3 serious events from treatment rows in this view: too few for a "
            "g-chart." if data.unplaced else
            "Fewer than 3 serious events in this view: too few for a g-chart."
        )  # fmt: skip
        return st.info(unplaced) if unplaced else None
    if unplaced:
        st.info(unplaced)
    chart(
        g_chart_figure(
            data.gchart,
            title="g-chart: treatments between consecutive serious events (probability limits)",
        ),
        data.gchart.points,
        "g-chart-serious",
        filters=filters,
    )
