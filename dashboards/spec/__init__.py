"""The Superset dashboards as a compact spec, one module per kind of thing.

ids (uuids and the database's name), labels (what a reader sees instead of a code), headers (column
headers), sql (SQL fragments in the user's language), schema (dataset columns from dbt's manifest),
datasets (the marts and the virtual datasets over them), chart (the Chart spec and its Superset
params), charts/ (one module per dashboard), dashboards (titles, notes, filters), bundle (the YAML
writers). dashboards/build_assets.py writes the bundle and keeps the import surface tests use.
"""
