"""The quarterly report: its content built from analysis results (``content``,
``tables``, ``cells``, ``answer``, ``public``), disclosure control for the public edition
(``suppress``, ``safe``) and rendering to PDF, HTML, XLSX and CSV (``render``, ``html``,
``pdf``, ``xlsx``, ``csvout``, ``images``, ``figures``). It computes no rate itself: it
asks ``dashboard.analysis``, reads counts and listings through ``dashboard.store`` and
draws with ``dashboard.figures``, and may import ``ingest`` and ``needlewatch.settings``;
never streamlit or ``dashboard.app``. ``needlewatch report`` and the dashboard's report
page both call ``render``.
"""
