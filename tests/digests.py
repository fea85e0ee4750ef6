"""Comparable fingerprints of a warehouse: per table, row count and an order-independent
content hash, ignoring columns that only say which run wrote a row or when."""

from __future__ import annotations

from pathlib import Path

import duckdb

from nengtan.rebuild import RUN_BOOKKEEPING_COLUMNS as RUN_COLUMNS


def table_digest(db: Path, schemas: tuple[str, ...] = ("raw", "marts")) -> dict[str, tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for schema, table in con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema IN (SELECT unnest(?)) AND table_type = 'BASE TABLE' ORDER BY 1, 2",
            [list(schemas)],
        ).fetchall():
            cols = [c for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
                "AND column_name NOT IN (SELECT unnest(?)) ORDER BY ordinal_position",
                [schema, table, list(RUN_COLUMNS)]).fetchall()]
            sel = ", ".join(f'"{c}"' for c in cols)
            out[f"{schema}.{table}"] = con.execute(
                f'SELECT count(*), sum(hash(({sel}))) FROM "{schema}"."{table}"').fetchone()
        return out
    finally:
        con.close()
