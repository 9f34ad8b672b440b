"""Pictures of analysis results, shared by the dashboard and the reports: Plotly
figures (rate bars and trends in ``charts``, which re-exports the others: control charts
and funnel plots, dot plots on a log axis, forest plots of rate ratios) drawn in one
style (``style``: the Okabe-Ito palette, clean trace data, axis titles that name the
denominator) and the Making Data Count variation icons. Pure: results in, figures out,
no database and no streamlit. It may import ``dashboard.analysis`` (labels and words),
``dashboard.stats`` (result types) and plotly; never the store, the report or the app.
"""
