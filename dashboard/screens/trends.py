"""Trends: u-chart in Making Data Count style with its signals in words, the board's SPC
summary (a row per category and severity tier), a fixed baseline or a rebase on request,
and the g-chart of serious events."""

import re

import pandas as pd
import streamlit as st

from dashboard import views
from dashboard.cache import load
from dashboard.charts_spc import g_chart_figure, u_chart_figure
from dashboard.explain import RULE_MEANING
from dashboard.icons import WORDS, variation_uri
from dashboard.labels import label
from dashboard.methods import Methods

from ._common import category_choice, chart, nothing_matches, what_counted

TITLE, SLUG = "Trends", "trends"
NOT_FIXED = "every complete period (default)"

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+!|~$-])")


def _statements(statements) -> None:
    """Each signal as a bullet (full sentences, escaped: unit names come from the data),
    then what each rule that fired means."""
    st.markdown("\n".join("- " + _MARKDOWN.sub(r"\\\1", s.sentence) for s in statements))
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
        first = st.selectbox("Baseline from", [NOT_FIXED, *periods], key="trends-baseline-from")
        last = st.selectbox("Baseline to", [NOT_FIXED, *periods], key="trends-baseline-to")
        rebase = st.multiselect("Start the limits again at", periods, key="trends-rebase")
    baseline = None
    if first != NOT_FIXED and last != NOT_FIXED and first <= last:
        baseline = (first, last)
    return Methods(baseline=baseline, rebase=tuple(rebase))


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
    by = st.radio("Period", ["month", "quarter"], horizontal=True, key="trends-by")
    first = load(views.trends, filters, by)
    periods = [] if not first.charts else list(first.charts[0].chart.points["period"])
    methods = _limits(periods)
    data = first if methods == Methods() else load(views.trends, filters, by, methods)
    for override in methods.overrides():
        st.warning(f"{override} The reports and `needlewatch signals` use the default limits.")
    if not data.charts and not data.note:
        return nothing_matches()
    if not data.charts:
        st.info(f"No u-chart for this view: {data.note}.")
        return _gchart(data)
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
        f"u-chart-{by}",
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
    _gchart(data)


def _gchart(data) -> None:
    st.subheader("Serious events")
    if data.gchart is None:
        return st.info("Fewer than 3 serious events in this view: too few for a g-chart.")
    chart(
        g_chart_figure(
            data.gchart,
            title="g-chart: treatments between consecutive serious events (probability limits)",
        ),
        data.gchart.points,
        "g-chart-serious",
    )
