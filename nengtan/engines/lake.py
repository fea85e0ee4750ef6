"""The raw layer as partitioned Parquet: what a distributed engine reads.

After a night's load (validation and quarantine stay in nengtan.ingest), the DuckDB tables ``raw.*`` and
the scope tables dbt reads from ``meta.*`` are written to ``$NENGTAN_DATA/lake/<schema>/<table>/``:
the readings partitioned by day (``reading_day=YYYY-MM-DD/``, the unit a night adds and a correction
rewrites), the registries, declarations and logs as one Parquet file each (they are small). Next to them,
``lake/_tables.json`` holds each table's columns in Spark types and its partition column, so Spark
declares every table with the types DuckDB loaded (dbt macro ``register_lake_tables``) instead of
inferring them: Spark reads the same rows with the same types.

A table is written beside the old one and swapped in by rename, so a reader never sees half a table.
On object storage (production) the same layout sits under an s3:// prefix as Iceberg or Delta tables,
whose commits give that atomicity (docs/scale-out.md).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from nengtan.config import Settings, settings
from nengtan.warehouse import connect, sql_string

#: Tables partitioned in the lake, by column: the readings by day (a night appends one partition, a late
#: or corrected file rewrites its own day). Every other raw table is a registry or log of a few thousand rows.
PARTITION_COLUMNS: dict[str, str] = {"meter_readings": "reading_day"}

#: meta tables the dbt project reads (the run id and the incremental scope nengtan.transform writes).
META_TABLES = ("dbt_run",)

MANIFEST = "_tables.json"


@dataclass(frozen=True)
class LakeTable:
    schema: str
    name: str
    location: str
    columns: list[tuple[str, str]]  # (name, Spark SQL type), in DuckDB's order
    partition_by: str | None
    rows: int


def lake_root(cfg: Settings | None = None) -> Path:
    cfg = cfg or settings()
    return Path(os.environ.get("NENGTAN_LAKE", str(cfg.data / "lake")))


def spark_type(duckdb_type: str) -> str:
    """The Spark SQL type of a DuckDB column type (the types raw.* and meta.* use)."""
    t = duckdb_type.upper()
    if t.startswith("DECIMAL"):
        return t
    simple = {
        "VARCHAR": "STRING", "BIGINT": "BIGINT", "INTEGER": "INT", "SMALLINT": "SMALLINT", "TINYINT": "TINYINT",
        "BOOLEAN": "BOOLEAN", "DOUBLE": "DOUBLE", "FLOAT": "FLOAT", "DATE": "DATE",
        # DuckDB's naive TIMESTAMP (local time, Asia/Shanghai) is Spark's TIMESTAMP_NTZ: no zone shift.
        "TIMESTAMP": "TIMESTAMP_NTZ",
    }
    if t in simple:
        return simple[t]
    if t.startswith("ENUM") or re.fullmatch(r"VARCHAR\(\d+\)", t):
        return "STRING"
    raise ValueError(f"no Spark type for DuckDB type {duckdb_type!r}: add it to nengtan.engines.lake.spark_type")


def dbt_raw_sources() -> set[str]:
    """The raw tables dbt declares as sources (``_raw__sources.yml``): what the models read. The loader's own
    bookkeeping beside them (rows parked for a registry key, superseded versions, re-admissions) stays out."""
    import yaml

    from nengtan.config import REPO_ROOT

    doc = yaml.safe_load((REPO_ROOT / "dbt_project" / "models" / "staging" / "raw" / "_raw__sources.yml")
                         .read_text(encoding="utf-8"))
    return {t["name"] for src in doc["sources"] if src["name"] == "raw" for t in src["tables"]}


def _tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    sources = dbt_raw_sources()
    raw = [("raw", t) for (t,) in con.execute(
        "select table_name from information_schema.tables where table_schema = 'raw' and table_type = 'BASE TABLE' "
        "order by table_name").fetchall() if t in sources]
    return raw + [("meta", t) for t in META_TABLES]


def _export_one(con: duckdb.DuckDBPyConnection, root: Path, schema: str, table: str) -> LakeTable:
    cols = con.execute(
        "select column_name, data_type from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position", [schema, table]).fetchall()
    if not cols:
        raise LookupError(f"{schema}.{table} does not exist in the warehouse: load a night first")
    part = PARTITION_COLUMNS.get(table) if schema == "raw" else None
    final = root / schema / table
    staging = root / schema / f".{table}.tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    # Plain column types in the files (an ENUM or dictionary column becomes text), the DuckDB order kept.
    select = ", ".join(
        f'cast("{c}" as varchar) as "{c}"' if spark_type(t) == "STRING" and t.upper() != "VARCHAR" else f'"{c}"'
        for c, t in cols)
    query = f"select {select} from {schema}.{table}"
    if part:
        con.execute(f"copy ({query}) to {sql_string(str(staging))} "
                    f"(format parquet, partition_by ({part}), overwrite_or_ignore, compression zstd)")
    else:
        con.execute(f"copy ({query}) to {sql_string(str(staging / 'part-0.parquet'))} "
                    "(format parquet, compression zstd)")
    rows = con.execute(f"select count(*) from {schema}.{table}").fetchone()[0]
    old = root / schema / f".{table}.old-{os.getpid()}"
    if final.exists():
        final.rename(old)
    staging.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    # The partition column is last in a partitioned Parquet table (it lives in the path, not the files).
    columns = [(c, spark_type(t)) for c, t in cols if c != part] + [(c, spark_type(t)) for c, t in cols if c == part]
    return LakeTable(schema, table, str(final), columns, part, rows)


def export_lake(cfg: Settings | None = None, *, con: duckdb.DuckDBPyConnection | None = None) -> dict:
    """Write raw.* and the meta tables dbt reads to the lake (see the module docstring); returns the manifest.

    Reads the warehouse only; run it after a night's load and transform scope are written.
    """
    cfg = cfg or settings()
    root = lake_root(cfg)
    root.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    own = con is None
    con = con or connect(cfg=cfg, read_only=True)
    try:
        tables = [_export_one(con, root, s, t) for s, t in _tables(con)]
    finally:
        if own:
            con.close()
    manifest = {"root": str(root), "seconds": round(time.monotonic() - started, 3),
                "tables": [asdict(t) for t in tables]}
    tmp = root / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    tmp.replace(root / MANIFEST)
    return manifest


def read_manifest(cfg: Settings | None = None) -> dict:
    path = lake_root(cfg) / MANIFEST
    if not path.exists():
        raise FileNotFoundError(f"{path}: no lake export yet (nengtan.engines.lake.export_lake after a load)")
    return json.loads(path.read_text(encoding="utf-8"))
