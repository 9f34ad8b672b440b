"""Dashboard pages, in navigation order. Each module has TITLE, SLUG and render(ctx)."""

from dashboard.app.screens import (
    clinics,
    incidence,
    overview,
    quality,
    reports,
    serious,
    submissions,
    training,
    trends,
)

PAGES = (overview, incidence, training, trends, clinics, serious, quality, submissions, reports)
