"""The raw tables the source specs load, created or extended to match the specs.

``nengtan.warehouse.RAW_DDL`` holds the original raw tables; the contract has since gained
optional columns (enterprises.industry_class, meters' steam conditions, certificates'
trade_type/trade_id, targets' base year and reductions) and sources (ets, projects,
weather). This makes any warehouse, new or years old, match the specs: a missing table is
created from its spec, a missing column is added at the end of its table (so a new and a
migrated warehouse have the same column order), and nothing is ever dropped or retyped.
Cheap when nothing is missing: one catalog query.
"""

from __future__ import annotations

import duckdb

from nengtan.ingest.sources import ALL_SPECS, Col, SourceSpec

LINEAGE = (("file_id", "VARCHAR NOT NULL"), ("landed_at", "TIMESTAMP NOT NULL"), ("source_line", "BIGINT NOT NULL"))

_KIND_TYPES = {"ts": "TIMESTAMP", "bool": "BOOLEAN", "year": "INTEGER", "date": "DATE"}


def column_type(col: Col) -> str:
    """The raw column type of a spec column (as validate's outputs are typed)."""
    if col.kind == "dec":
        return col.sql_type
    return _KIND_TYPES.get(col.kind, "VARCHAR")


def table_columns(spec: SourceSpec) -> list[tuple[str, str]]:
    """(name, type) of the spec's raw table, in order: spec columns, derived, lineage."""
    return ([(c.name, column_type(c)) for c in spec.columns] + [(n, t) for n, _, t in spec.derived]
            + list(LINEAGE))


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def ensure_ingest_schema(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Create missing raw tables and add missing columns; returns the statements it ran."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    have: dict[str, set[str]] = {}
    for table, column in con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND table_schema = 'raw'").fetchall():
        have.setdefault(table, set()).add(column)
    ran = []
    for spec in ALL_SPECS:
        schema, table = spec.table.split(".")
        cols = table_columns(spec)
        if table not in have:
            ran.append(f"CREATE TABLE IF NOT EXISTS {schema}.{_q(table)} ("
                       + ", ".join(f"{_q(n)} {t}" for n, t in cols) + ")")
            continue
        for name, sql_type in cols:
            if name not in have[table]:
                plain = sql_type.replace(" NOT NULL", "")  # an added column has no values for old rows
                ran.append(f"ALTER TABLE {schema}.{_q(table)} ADD COLUMN IF NOT EXISTS {_q(name)} {plain}")
    for spec in ALL_SPECS:  # rows waiting for a registry key (nengtan.ingest.registry)
        if spec.refs:
            parked = parked_table(spec)
            if parked.split(".")[1] not in have:
                cols = [(n, t.replace(" NOT NULL", "")) for n, t in table_columns(spec)] + [("awaits", "VARCHAR[]")]
                ran.append(f"CREATE TABLE IF NOT EXISTS {parked} (" + ", ".join(f"{_q(n)} {t}" for n, t in cols) + ")")
    if "readmitted" not in have:
        ran.append(READMITTED_DDL)
    for spec in ALL_SPECS:  # earlier versions of a path delivered again (nengtan.ingest.versions)
        if spec.source not in REGISTRY_SOURCES and superseded_table(spec).split(".")[1] not in have:
            cols = [(n, t.replace(" NOT NULL", "")) for n, t in table_columns(spec)] + [("superseded_by", "VARCHAR")]
            ran.append(f"CREATE TABLE IF NOT EXISTS {superseded_table(spec)} ("
                       + ", ".join(f"{_q(n)} {t}" for n, t in cols) + ")")
    if "superseded_quarantine" not in have:
        ran.append(SUPERSEDED_QUARANTINE_DDL)
    if not con.execute("SELECT 1 FROM information_schema.tables WHERE table_catalog = current_database() "
                       "AND table_schema = 'meta' AND table_name = 'landing_unread'").fetchone():
        ran.append(LANDING_UNREAD_DDL)
    for stmt in ran:
        con.execute(stmt)
    return ran


def parked_table(spec: SourceSpec) -> str:
    """Where a source's rows that wait for a registry key keep their checked values."""
    schema, table = spec.table.split(".")
    return f"{schema}.parked_{table}"


REGISTRY_SOURCES = ("registry_parks", "registry_enterprises", "registry_meters")
QUARANTINE_COLUMNS = "file_id, source, path, line, reason, raw_text, run_id, quarantined_at"


def superseded_table(spec: SourceSpec) -> str:
    """Where the rows of a path's earlier versions go once a later version of it loads."""
    schema, table = spec.table.split(".")
    return f"{schema}.superseded_{table}"


SUPERSEDED_QUARANTINE_DDL = """CREATE TABLE IF NOT EXISTS raw.superseded_quarantine (
    file_id VARCHAR NOT NULL, source VARCHAR NOT NULL, path VARCHAR NOT NULL, line BIGINT NOT NULL,
    reason VARCHAR NOT NULL, raw_text VARCHAR, run_id VARCHAR NOT NULL, quarantined_at TIMESTAMP NOT NULL,
    superseded_by VARCHAR NOT NULL)"""

# Quarantine rows re-admitted once the registry knew their key: moved here (raw.quarantine keeps
# what is quarantined now), with the run that re-admitted them.
READMITTED_DDL = """CREATE TABLE IF NOT EXISTS raw.readmitted (
    file_id VARCHAR NOT NULL, source VARCHAR NOT NULL, path VARCHAR NOT NULL, line BIGINT NOT NULL,
    reason VARCHAR NOT NULL, raw_text VARCHAR, run_id VARCHAR NOT NULL, quarantined_at TIMESTAMP NOT NULL,
    readmitted_run_id VARCHAR NOT NULL, readmitted_at TIMESTAMP NOT NULL)"""

# What no source reads under the landing root, by night (nengtan.ingest.loader.note_unread; the quality
# suite expectations/landing_files.py reads it).
LANDING_UNREAD_DDL = """CREATE SCHEMA IF NOT EXISTS meta;
CREATE TABLE IF NOT EXISTS meta.landing_unread (
    run_id VARCHAR NOT NULL, path VARCHAR NOT NULL, reason VARCHAR NOT NULL, noted_at TIMESTAMP NOT NULL)"""
