"""The Streamlit dashboard, and the only importer of streamlit: the entry script
(``main``, which ``needlewatch serve`` runs as ``streamlit run dashboard/app/main.py``),
the sidebar and the URL state behind it (``sidebar``, ``state``), cached read-only data
access (``cache``), tables and downloads as pages show them (``display``, ``downloads``)
and one module per page (``screens``). A page computes nothing: it calls one
``dashboard.analysis.views`` function (or the report's ``render.report_file``) through
``cache.load`` and draws the result with ``dashboard.figures``. It may import every layer
below it; nothing in ``dashboard/``, ``needlewatch/`` or ``ingest/`` imports it.
"""
