"""What Superset does with a ``hive://`` database on the Spark Thrift server, run in Superset's environment.

``python superset_probe.py URI SCHEMA TABLE`` (with Superset's Python: this file imports nothing of nengtan)
connects as Superset would with NENGTAN_ENGINE=spark (SQLAlchemy with PyHive's hive dialect, the
``Apache Spark SQL`` engine spec), lists the schema's tables, reads a table's columns as a dataset sync does
(SQLAlchemy's inspector) and queries its rows, and prints one JSON object. Used by tests/test_spark_equality.py against the Thrift server it starts.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path


def probe(uri: str, schema: str, table: str) -> dict:
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(uri)
    out: dict = {"dialect": engine.dialect.name, "driver": engine.dialect.driver}
    # The engine spec Superset chooses for this URI (needs an app: a throwaway config and metadata DB).
    with tempfile.TemporaryDirectory() as home:
        config = Path(home) / "superset_config.py"
        config.write_text(f"SECRET_KEY = {secrets.token_hex(32)!r}\n"
                          f"SQLALCHEMY_DATABASE_URI = 'sqlite:///{home}/superset.db'\n")
        os.environ.update(SUPERSET_CONFIG_PATH=str(config), SUPERSET_HOME=home)
        from superset.app import create_app

        with create_app().app_context():
            from superset.db_engine_specs import get_engine_spec
            from superset.db_engine_specs.hive import HiveEngineSpec

            # As Superset's Database model does: by the URI's backend and driver. For hive:// that is the
            # Hive family (Apache Hive, or Apache Spark SQL, its subclass, when chosen in the UI).
            spec = get_engine_spec(engine.url.get_backend_name(), engine.url.get_driver_name())
            out["engine_spec"] = spec.engine_name
            out["engine_spec_hive_family"] = issubclass(spec, HiveEngineSpec)
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
