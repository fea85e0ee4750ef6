"""Publish the serving copy: the marts and quality results of a night that passed its
blocking checks, written to a new DuckDB file and swapped in with one ``os.replace``.

Readers (Superset, reports) open the serving file read-only per query; they see either
the previous night or the new one, never a half-built one, and never a writer's lock.
"""

from __future__ import annotations

import os
from datetime import date

import duckdb

from nengtan.config import Settings, settings
from nengtan.crashpoints import crash_point
from nengtan.fsutil import fsync_path
from nengtan.warehouse import sql_string, utc_now

PUBLISHED_SCHEMAS = ("marts", "quality")

# Serving tables written in the order the dashboards read them, so that DuckDB's zonemaps (min/max
# per row group of ~120k rows) skip row groups: newest first where a city-wide chart lists the
# latest rows (the top-N of "ORDER BY ... LIMIT" then stops after the first row groups: the green
# certificate list of a year at 10,000 enterprises, 5 M claims, in ~60 ms instead of ~500 ms), by
# park and day for the park aggregate. Only tables that charts read this way: the enterprise rows
# are not re-sorted (a filter on one enterprise already answers at Superset's floor, and their
# DECIMAL(38,6) columns, re-sorted, decoded slower), nor the meter-level ones. A key the table
# does not have (yet) is skipped, never an error.
SERVING_ORDER: dict[str, tuple[str, ...]] = {
    "marts.certificate_claims": ("claimed_period DESC", "certificate_id"),
    "marts.meter_silent_days": ("day DESC", "meter_id"),
    "marts.park_energy_daily": ("park_id", "day", "energy_type"),
}


def order_by(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> str:
    """`` ORDER BY ...`` for a table of SERVING_ORDER (its keys that the table has), else ``""``."""
    keys = SERVING_ORDER.get(f"{schema}.{table}")
    if not keys:
        return ""
    have = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?",
        [schema, table]).fetchall()}
    present = [f'"{name}"{sep}{desc}' for name, sep, desc in (k.partition(" ") for k in keys) if name in have]
    return f" ORDER BY {', '.join(present)}" if present else ""


def publish(con: duckdb.DuckDBPyConnection, *, run_id: str, day: date, cfg: Settings | None = None) -> dict:
    """Copy every table and view of the published schemas into the serving copy, atomically."""
    cfg = cfg or settings()
    cfg.serving_dir.mkdir(parents=True, exist_ok=True)
    tmp = cfg.serving_dir / f".publishing-{os.getpid()}.duckdb"
    for stale in (tmp, tmp.with_name(tmp.name + ".wal")):
        stale.unlink(missing_ok=True)
    relations = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_schema IN (SELECT unnest(?)) "
        "ORDER BY 1, 2",
        [list(PUBLISHED_SCHEMAS)],
    ).fetchall()
    counts: dict[str, int] = {}
    con.execute(f"ATTACH {sql_string(tmp)} AS serving_new")
    try:
        for schema in PUBLISHED_SCHEMAS:
            con.execute(f'CREATE SCHEMA IF NOT EXISTS serving_new."{schema}"')
        for schema, table in relations:
            # CREATE TABLE AS answers with the number of rows it wrote.
            counts[f"{schema}.{table}"] = con.execute(
                f'CREATE TABLE serving_new."{schema}"."{table}" AS SELECT * FROM "{schema}"."{table}"'
                + order_by(con, schema, table)
            ).fetchone()[0]
        con.execute("CREATE SCHEMA IF NOT EXISTS serving_new.meta")
        con.execute(
            "CREATE TABLE serving_new.meta.publication AS "
            "SELECT ?::VARCHAR AS run_id, ?::DATE AS data_day, ?::TIMESTAMP AS published_at",
            [run_id, day, utc_now()],
        )
        con.execute("CHECKPOINT serving_new")
    finally:
        con.execute("DETACH serving_new")
    fsync_path(tmp)
    crash_point("publish")
    os.replace(tmp, cfg.serving_db)
    fsync_path(cfg.serving_dir)
    return {"serving_db": str(cfg.serving_db), "tables": counts, "run_id": run_id, "day": day.isoformat()}
