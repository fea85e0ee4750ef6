"""``quality.check_results``: every check result of every night, in the warehouse.

One row per failing entity (``is_summary`` false) and one summary row per rule
(``is_summary`` true, ``entity_id`` NULL, ``observed`` = failing/checked counts). Rows
are keyed for idempotency by (run_id, stage, day): a rerun replaces its own rows.
``day`` is the night's data day; ``period`` says which day/month a finding is about.
"""

from __future__ import annotations

import duckdb
import pandas as pd

RESULT_COLUMNS = [
    "run_id", "checked_at", "stage", "suite", "rule", "severity", "level", "entity_id",
    "credit_code", "park_id", "meter_id", "day", "observed", "expected", "passed", "recipient",
    "message_zh", "message_en", "is_summary", "period", "element_count", "unexpected_count",
]

DDL = """
CREATE SCHEMA IF NOT EXISTS quality;
CREATE TABLE IF NOT EXISTS quality.check_results (
    run_id VARCHAR NOT NULL, checked_at TIMESTAMP NOT NULL, stage VARCHAR NOT NULL,
    suite VARCHAR NOT NULL, rule VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,   -- blocking | routed
    level VARCHAR NOT NULL,      -- meter | enterprise | park | city | pipeline
    entity_id VARCHAR, credit_code VARCHAR, park_id VARCHAR, meter_id VARCHAR,
    day DATE NOT NULL, observed VARCHAR, expected VARCHAR, passed BOOLEAN NOT NULL,
    recipient VARCHAR, message_zh VARCHAR, message_en VARCHAR,
    is_summary BOOLEAN NOT NULL, period VARCHAR, element_count BIGINT, unexpected_count BIGINT
);
CREATE TABLE IF NOT EXISTS quality.alert_log (
    run_id VARCHAR NOT NULL, day DATE NOT NULL, recipient VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,    -- email | webhook
    language VARCHAR, findings BIGINT, status VARCHAR NOT NULL,  -- sent | failed | disabled
    error VARCHAR, sent_at TIMESTAMP NOT NULL
);
"""


def ensure_quality_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def replace_results(con: duckdb.DuckDBPyConnection, rows: list[dict], *, run_id: str,
                    stage: str, day) -> None:
    """Delete this (run_id, stage, day)'s rows and insert ``rows``, in one transaction."""
    ensure_quality_schema(con)
    frame = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM quality.check_results WHERE run_id = ? AND stage = ? AND day = ?",
                    [run_id, stage, day])
        if len(frame):
            con.register("_nengtan_results", frame)
            cols = ", ".join(RESULT_COLUMNS)
            con.execute(f"INSERT INTO quality.check_results ({cols}) SELECT {cols} FROM _nengtan_results")
            con.unregister("_nengtan_results")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
