"""Dashboard pages, in navigation order. Each module has TITLE, SLUG and render(ctx)."""

from dashboard.app.screens import (
    clinics,
    incidence,
    overview,
    quality,
    report_event,
    reports,
    serious,
    submissions,
    training,
    trends,
    upload,
)

PAGES = (overview, incidence, training, trends, clinics, serious, quality, submissions, reports)
#: The incident report form: for clinic roles, admins and local mode.
FORM_PAGES = (report_event,)
#: Upload: for admins, clinic roles (their clinics' rows only) and local mode; not for the
#: body's analysts or practitioners.
ADMIN_PAGES = (upload,)
