"""What Superset does with a ``hive://`` database on the Spark Thrift server, run in Superset's environment.

``python superset_probe.py URI SCHEMA TABLE`` (with Superset's Python: this file imports nothing of nengtan)
connects as Superset would with NENGTAN_ENGINE=spark (SQLAlchemy with PyHive's hive dialect, the
``Apache Spark SQL`` engine spec), lists the schema's tables, reads a table's columns as a dataset sync does
(SQLAlchemy's inspector) and queries its rows, and prints one JSON object. Used by tests/test_spark_equality.py against the Thrift server it starts.
"""

from __future__ import annotations

import json
import sys
import time


def probe(uri: str, schema: str, table: str) -> dict:
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(uri)
    out: dict = {"dialect": engine.dialect.name, "driver": engine.dialect.driver}
    try:
        from superset.db_engine_specs.spark import SparkEngineSpec

        out["engine_spec"] = SparkEngineSpec.engine_name
        out["engine_spec_engine"] = SparkEngineSpec.engine
    except Exception as exc:  # noqa: BLE001 - reported, the connection is what is probed
        out["engine_spec_error"] = repr(exc)[:300]
    insp = inspect(engine)
    out["schemas"] = sorted(insp.get_schema_names())
    # PyHive's get_table_names takes the first column of SHOW TABLES, which on Spark is the namespace
    # (namespace, tableName, isTemporary): what Superset's table picker would list. Kept to show it.
    out["inspector_tables"] = sorted(set(insp.get_table_names(schema=schema)))
    out["columns"] = [c["name"] for c in insp.get_columns(table, schema=schema)]
    with engine.connect() as con:
        out["tables"] = sorted(r[1] for r in con.execute(text(f"SHOW TABLES IN {schema}")))
        started = time.monotonic()
        out["rows"] = con.execute(text(f"SELECT count(*) FROM {schema}.{table}")).scalar()
        out["count_seconds"] = round(time.monotonic() - started, 3)
        first = out["columns"][0]
        out["first_column_sample"] = [str(r[0]) for r in con.execute(
            text(f"SELECT {first} FROM {schema}.{table} ORDER BY {first} LIMIT 3"))]
    engine.dispose()
    return out


if __name__ == "__main__":
    print(json.dumps(probe(*sys.argv[1:4])))
