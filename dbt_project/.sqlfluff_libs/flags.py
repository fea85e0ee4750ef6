"""Stand-in for dbt's `flags` object, used only by sqlfluff's jinja templater (an incremental night)."""

FULL_REFRESH = False
