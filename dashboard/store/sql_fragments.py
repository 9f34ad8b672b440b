"""The SQL fragments the read queries share: the treatment filters and the band CASEs.

Fixed text only. Every value a fragment compares with is a bound parameter, named here
and filled by ``Filters.treatment_params()`` (``$date_from``, ``$clinics``, ...) and
``Bands.params()`` (``$tb_bounds``, ``$tb_labels``, ...), so no filter value or band bound
ever becomes SQL text. The fragments read ``treatments t`` joined to ``p``, the
practitioner's profile; the band CASEs any table alias with the profile's columns (the
counts store's too).
"""

#: The treatment filters as SQL over ``treatments t`` joined to ``p``, the practitioner
#: profile in force on the treatment's date (``ingest.history.PROFILE_JOIN``).
#: ``ROW_WHERE``: those that read the treatment row alone, its dates (``DATE_WHERE``) and
#: where and how it was done (``PLACE_WHERE``); ``PROFESSION_WHERE``: the profile's.
DATE_WHERE = (
    "($date_from IS NULL OR t.treatment_date >= $date_from)",
    "($date_to IS NULL OR t.treatment_date <= $date_to)",
)
PLACE_WHERE = (
    "(len($clinics) = 0 OR list_contains($clinics, t.clinic_id))",
    "(len($regions) = 0 OR list_contains($regions, t.body_region))",
    "(len($techniques) = 0 OR list_contains($techniques, coalesce(t.technique, 'unknown')))",
)
ROW_WHERE = (*DATE_WHERE, *PLACE_WHERE)
PROFESSION_WHERE = (
    "(len($professions) = 0 OR list_contains($professions, coalesce(p.profession, 'unknown')))"
)
TREATMENT_WHERE = (*ROW_WHERE, PROFESSION_WHERE)


# Band index = how many bounds the value exceeds (training: x > bound, inclusive upper;
# experience: x >= cut). list_filter keeps the bound list a parameter, not SQL text.
def training_case(alias: str) -> str:
    """The training band of ``<alias>.dn_training_hours`` (alias: a fixed table alias);
    'unknown' when missing (a submission's cell pooled under the body's minimum cell)."""
    return (
        f"CASE WHEN {alias}.dn_training_hours IS NULL THEN 'unknown' ELSE "
        f"$tb_labels[1 + len(list_filter($tb_bounds, b -> {alias}.dn_training_hours > b))] END"
    )


def experience_case(alias: str) -> str:
    """The experience band of ``<alias>.years_dn_experience`` ('unknown' when missing)."""
    return (
        f"CASE WHEN {alias}.years_dn_experience IS NULL THEN 'unknown' ELSE "
        f"$eb_labels[1 + len(list_filter($eb_bounds, b -> {alias}.years_dn_experience >= b))] END"
    )


TRAINING_CASE = training_case("p")
EXPERIENCE_CASE = experience_case("p")
