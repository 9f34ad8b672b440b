"""Quarterly reports: content, HTML template and rendering to PDF, XLSX, CSV and HTML."""
