"""The marts' columns and types as dbt declares them, read from dbt's manifest.

The mart schema has one home: ``dbt_project/models/marts/*.yml`` (every mart under an enforced
contract, a ``data_type`` on every column, in the table's order). ``dbt parse`` turns it into
``manifest.json``; this module reads that, so the dashboards' datasets and the sample warehouses
(nengtan.quality.sample, nengtan.report.sample) are generated from it instead of typed again.

``dbt parse`` runs (through nengtan.transform.run_dbt) only when the models changed since the last
read: the marts' schema is kept as a small JSON beside dbt's own target
(``dbt_project/target/mart_schema.json``), keyed by a hash of models/marts/ and dbt_project.yml.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path

import duckdb

from nengtan.config import settings
from nengtan.transform import DBT_PROJECT_DIR, run_dbt

CACHE = DBT_PROJECT_DIR / "target" / "mart_schema.json"
MARTS = "marts"


def _fingerprint() -> str:
    """What the declared schema depends on: the marts (yml, and the SQL's config such as an alias) and the project."""
    digest = hashlib.sha256()
    for path in sorted([DBT_PROJECT_DIR / "dbt_project.yml", *(DBT_PROJECT_DIR / "models" / MARTS).glob("*")]):
        if path.is_file() and path.suffix in (".yml", ".sql"):
            digest.update(path.relative_to(DBT_PROJECT_DIR).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _parse() -> dict:
    """Run ``dbt parse`` into a scratch target and read the manifest."""
    with tempfile.TemporaryDirectory(prefix="nengtan-dbt-parse-") as scratch:
        cfg = dataclasses.replace(settings(), data=Path(scratch))
        run_dbt(["parse"], cfg=cfg)
        return json.loads((cfg.data / "dbt" / "target" / "manifest.json").read_text(encoding="utf-8"))


def marts_of(manifest: dict) -> dict[str, dict]:
    """Each mart of a manifest by the relation's name: its columns [(name, data_type)] and whether its contract is
    enforced."""
    out = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["schema"] == MARTS:
            out[node["alias"] or node["name"]] = {
                "model": node["name"],
                "contract": bool(node["config"].get("contract", {}).get("enforced")),
                "columns": [(c["name"], c.get("data_type")) for c in node["columns"].values()],
            }
    return dict(sorted(out.items()))


@lru_cache(maxsize=1)
def mart_schema() -> dict[str, dict]:
    """The marts as dbt declares them (see marts_of); parses the project when the models changed."""
    fingerprint = _fingerprint()
    try:
        cached = json.loads(CACHE.read_text(encoding="utf-8"))
        if cached["fingerprint"] == fingerprint:
            return {name: {**m, "columns": [tuple(c) for c in m["columns"]]} for name, m in cached["marts"].items()}
    except (OSError, ValueError, KeyError):
        pass
    marts = marts_of(_parse())
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    tmp = CACHE.with_name(f".{CACHE.name}.{os.getpid()}")
    tmp.write_text(json.dumps({"fingerprint": fingerprint, "marts": marts}, indent=1), encoding="utf-8")
    os.replace(tmp, CACHE)  # a concurrent reader sees the old file or the new one, never half of one
    return marts


def mart_columns(table: str) -> list[tuple[str, str]]:
    """(column, data_type) of ``marts.<table>``, in the table's order."""
    return list(mart_schema()[table]["columns"])


def create_marts(con: duckdb.DuckDBPyConnection, tables: list[str] | None = None, *,
                 decimals_as: str | None = None) -> None:
    """Empty ``marts.<table>`` tables (all marts by default) with exactly the declared columns and types;
    ``decimals_as`` (e.g. "double") gives the decimal columns that type instead, for a sample whose readers
    compare its figures as floats."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {MARTS}")
    for table in tables or list(mart_schema()):
        cols = ", ".join(f'"{name}" {decimals_as if decimals_as and data_type.startswith("decimal") else data_type}'
                         for name, data_type in mart_columns(table))
        con.execute(f"CREATE OR REPLACE TABLE {MARTS}.{table} ({cols})")

