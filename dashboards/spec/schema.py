"""The datasets' columns and types, generated from dbt's manifest (nengtan.mart_schema), never typed here.

A physical dataset's columns are its mart's, as the dbt contract declares them. A virtual dataset's are what
DuckDB says its SQL returns over empty marts of exactly those types (quality.check_results, which GX writes,
from its own DDL): rendered in Chinese, as Superset renders it for a user; both languages give the same
columns. Dates and timestamps are the time columns.
"""

from __future__ import annotations

from typing import Any

import duckdb
import jinja2.sandbox

from nengtan.mart_schema import create_marts
from nengtan.quality.results import ensure_quality_schema

TIME_TYPES = ("DATE", "TIMESTAMP")


def render(sql: str, lang: str = "zh") -> str:
    """A virtual dataset's SQL as Superset renders it for a user of ``lang``."""
    template = jinja2.sandbox.SandboxedEnvironment().from_string(sql)
    return template.render(nengtan_lang=lambda: lang, cache_key_wrapper=lambda key: key)


def with_columns(specs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each spec with ``columns``: [(name, type, is_dttm)] in the order Superset lists them."""
    con = duckdb.connect()
    try:
        create_marts(con)
        ensure_quality_schema(con)
        out = {}
        for name, spec in specs.items():
            source = f"({render(spec['sql'])})" if spec.get("sql") else f"{spec.get('schema', 'marts')}.{name}"
            described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
            out[name] = {**spec, "columns": [(c, t, t in TIME_TYPES) for c, t, *_ in described]}
        return out
    finally:
        con.close()
