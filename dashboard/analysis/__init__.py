"""What the questions mean: the one place a number or a verdict is decided, so
the dashboard, the reports and the command line give one answer to one question. The
methods in force (``methods``), rates and their intervals (``rates``), comparisons and
the rate model (``comparisons``), trends, signals and their explanations (``trends``,
``signals``, ``explain``), statements in words (``statements``, ``labels``), practitioner
pseudonyms, and one data function per dashboard page (``views``). It asks the store for
counts and ``dashboard.stats`` for the arithmetic: it may import those two, ``ingest``
and ``needlewatch.settings``; never plotly, streamlit, ``dashboard.figures``, the
report or the app.
"""
