"""The read store: the only SQL on the read side. Every query the dashboard, the
reports and the command line run against the database that ``ingest`` writes lives here:
the read-only connection, the grouped counts of treatments and events behind every rate,
listings, the sidebar's options, data-quality tables and the fixed SQL fragments they
share, with every value a bound parameter; and who may read what (``access``: the roles
of a shared deployment; ``scope``: a connection restricted to a reader's clinics). Questions arrive as ``filters.Filters`` and
``bands.Bands``, plain values kept here because every query is phrased in them; counts and
frames leave, with no statistics and no words. It may import duckdb, pandas, ``ingest``
and ``needlewatch.settings``; never ``dashboard.stats``, ``dashboard.analysis`` or any layer
above them, nor plotly or streamlit.
"""
