"""DuckDB connections and the raw layer's schema.

The raw schema is the contract between ingestion (which writes it) and dbt (which reads
it as sources). Timestamps are stored as naive local time (Asia/Shanghai), converted from
whatever offset the file carried, so that a "day" is a plain ``CAST(ts AS DATE)``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from nengtan.config import Settings, settings

log = logging.getLogger(__name__)

RAW_DDL = """
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS meta;

-- One row per landed file version (path + sha256). A changed file under the same name
-- is a new version; the same bytes seen twice are loaded once.
CREATE TABLE IF NOT EXISTS raw.load_log (
    file_id           VARCHAR PRIMARY KEY,   -- sha256(path || sha256(content)), hex, 32 chars
    source            VARCHAR NOT NULL,      -- registry_parks|registry_enterprises|registry_meters|meter_readings|declarations|green_certificates|targets
    path              VARCHAR NOT NULL,      -- relative to the landing root
    partition_key     VARCHAR,               -- 'YYYY-MM-DD' / 'YYYY-MM' / 'YYYY' from the folder name
    sha256            VARCHAR NOT NULL,
    size_bytes        BIGINT NOT NULL,
    landed_at         TIMESTAMP NOT NULL,    -- file mtime, local time; "landed last wins"
    encoding          VARCHAR,               -- utf-8 | gb18030 | binary (parquet/xlsx)
    rows_read         BIGINT NOT NULL,
    rows_loaded       BIGINT NOT NULL,
    rows_quarantined  BIGINT NOT NULL,
    status            VARCHAR NOT NULL,      -- loaded | partial | rejected (whole file quarantined)
    error             VARCHAR,
    run_id            VARCHAR NOT NULL,      -- the Airflow run (or CLI run) that loaded it
    loaded_at         TIMESTAMP NOT NULL,
    transformed_run_id VARCHAR               -- set by the transform that consumed it; NULL = pending
);

-- Every rejected row (or whole file: line 0) with the reason and the raw text.
CREATE TABLE IF NOT EXISTS raw.quarantine (
    file_id        VARCHAR NOT NULL,
    source         VARCHAR NOT NULL,
    path           VARCHAR NOT NULL,
    line           BIGINT NOT NULL,          -- 1-based physical line incl. header (header = 1); 0 = whole file
    reason         VARCHAR NOT NULL,
    raw_text       VARCHAR,
    run_id         VARCHAR NOT NULL,
    quarantined_at TIMESTAMP NOT NULL
);

CREATE TABLE IF NOT EXISTS raw.meter_readings (
    meter_id       VARCHAR NOT NULL,
    interval_start TIMESTAMP NOT NULL,       -- local time, aligned to 15 minutes
    reading_day    DATE NOT NULL,            -- CAST(interval_start AS DATE)
    register_end   DECIMAL(18, 4) NOT NULL,
    quality        VARCHAR NOT NULL,         -- ok | estimated | error
    file_id        VARCHAR NOT NULL,
    landed_at      TIMESTAMP NOT NULL,
    source_line    BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS raw.parks (
    park_id VARCHAR, name_zh VARCHAR, name_en VARCHAR, district VARCHAR, contact_email VARCHAR,
    file_id VARCHAR NOT NULL, landed_at TIMESTAMP NOT NULL, source_line BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS raw.enterprises (
    credit_code VARCHAR, name_zh VARCHAR, name_en VARCHAR, park_id VARCHAR,
    industry_code VARCHAR, key_energy_user BOOLEAN, ets_covered BOOLEAN, contact_email VARCHAR,
    file_id VARCHAR NOT NULL, landed_at TIMESTAMP NOT NULL, source_line BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS raw.meters (
    meter_id VARCHAR, credit_code VARCHAR, energy_type VARCHAR, unit VARCHAR,
    multiplier DECIMAL(18, 4), register_max DECIMAL(18, 4), register_at_install DECIMAL(18, 4),
    installed_at TIMESTAMP, removed_at TIMESTAMP, replaces_meter_id VARCHAR,
    file_id VARCHAR NOT NULL, landed_at TIMESTAMP NOT NULL, source_line BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS raw.declarations (
    credit_code VARCHAR, period VARCHAR, submission_id VARCHAR, submitted_at TIMESTAMP,
    item VARCHAR, quantity DECIMAL(20, 4), unit VARCHAR,
    file_id VARCHAR NOT NULL, landed_at TIMESTAMP NOT NULL, source_line BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS raw.green_certificates (
    certificate_id VARCHAR, project_id VARCHAR, generation_month VARCHAR,
    owner_credit_code VARCHAR, claimed_period VARCHAR, claimed_at TIMESTAMP,
    file_id VARCHAR NOT NULL, landed_at TIMESTAMP NOT NULL, source_line BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS raw.targets (
    level VARCHAR, entity_id VARCHAR, year INTEGER,
    energy_budget_tce DECIMAL(20, 4), carbon_budget_tco2 DECIMAL(20, 4),
    energy_intensity_target DECIMAL(18, 6), carbon_intensity_target DECIMAL(18, 6),
    file_id VARCHAR NOT NULL, landed_at TIMESTAMP NOT NULL, source_line BIGINT NOT NULL
);

-- What the pending loads touched; written by the transform step before dbt runs, read
-- by the incremental models to recompute only those meters/days and enterprise-months.
-- The run id the models stamp on the rows they build (built_run_id), written with the scope. A
-- table, not a dbt var: a var that changes every night makes dbt re-parse the whole project.
CREATE TABLE IF NOT EXISTS meta.dbt_run (run_id VARCHAR NOT NULL);
-- Which load_log file versions the ledger already holds (and at which entry): a night looks
-- at its own new files only, not the whole load history and the whole ledger.
CREATE TABLE IF NOT EXISTS meta.ledger_recorded (file_id VARCHAR PRIMARY KEY, seq BIGINT NOT NULL);
-- What the next publish must copy (nengtan.publish_scope), one row: the earliest day the incremental
-- marts may have changed since the serving file was last replaced (lowered by every transform,
-- cleared by the publish), or full_copy; and which serving file that publish wrote.
CREATE TABLE IF NOT EXISTS meta.publish_state (
    since_day DATE,              -- meter-day marts: earliest rebuild_from_day of a transform since
    since_month DATE,            -- enterprise-day marts: earliest int_rebuild_months.month since
    full_copy BOOLEAN NOT NULL,  -- a change no day bounds (full refresh, registry file): copy all
    published_run_id VARCHAR,    -- meta.publication.run_id of the serving file last published
    published_size BIGINT,       -- its size and mtime: a file changed since is not built upon
    published_mtime_ns BIGINT,
    published_at TIMESTAMP
);
-- The same watermarks per table (nengtan.publish_scope): the earliest day each table updated in place
-- may have changed since the serving file was last replaced (no row: unchanged). A table's own bound, not
-- the night-wide earliest of its watermark: a month's enterprise-days do not drag the meter-days along.
CREATE TABLE IF NOT EXISTS meta.publish_tables (table_name VARCHAR NOT NULL, since_day DATE NOT NULL);
-- The spare serving file (nengtan.publish): the file the last publish replaced, kept to be brought up to date
-- in place by the next publish instead of copying the whole serving file. One row, or none when there is no
-- usable spare: the run it holds, its size and mtime (a file changed since is not used), and the watermarks
-- that publish applied on top of it (what the spare lacks against the serving file; tables: JSON of
-- table -> first day, null when only the watermark kinds were known).
CREATE TABLE IF NOT EXISTS meta.publish_spare (
    spare_run_id VARCHAR NOT NULL, spare_size BIGINT NOT NULL, spare_mtime_ns BIGINT NOT NULL,
    since_day DATE, since_month DATE, tables VARCHAR
);

-- One row per pipeline stage run, for audit and for crash-safe resumption.
CREATE TABLE IF NOT EXISTS meta.runs (
    run_id VARCHAR, stage VARCHAR, data_day DATE, started_at TIMESTAMP, finished_at TIMESTAMP,
    status VARCHAR, detail VARCHAR
);
"""


def connect(path: Path | None = None, *, read_only: bool = False, cfg: Settings | None = None
            ) -> duckdb.DuckDBPyConnection:
    """Open the warehouse (or another DuckDB file) with the configured resource limits."""
    cfg = cfg or settings()
    db = path or cfg.warehouse_db
    db.parent.mkdir(parents=True, exist_ok=True)
    con = _connect_waiting_for_lock(db, read_only)
    con.execute(f"SET memory_limit = '{cfg.duckdb_memory_limit}'")
    if cfg.duckdb_threads:
        con.execute(f"SET threads = {int(cfg.duckdb_threads)}")
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    con.execute("SET enable_progress_bar = false")  # a task log is not a terminal
    con.execute(f"SET disabled_compression_methods = {sql_string(cfg.duckdb_disabled_compression)}")
    if _deferred_checkpoints and not read_only:
        con.execute("PRAGMA disable_checkpoint_on_shutdown")
    return con


# Within deferred_checkpoints(): this process's writer connections do not checkpoint when they close.
_deferred_checkpoints = False


@contextmanager
def deferred_checkpoints(cfg: Settings | None = None) -> Iterator[None]:
    """Run a night's tasks without a checkpoint each time one closes the warehouse, and checkpoint once at the end.

    DuckDB checkpoints a database when its last connection closes, and a checkpoint rewrites the metadata of
    every table whatever changed: ~0.25 s on a year of the city even after a one-row insert (night 365: every
    small task paid it, a dozen a night). Within this, the writes of one connection stay in the WAL (durable at
    each commit) for the next to read; DuckDB still checkpoints when the WAL passes its threshold (a big load
    or dbt build does). On leaving, one checkpoint, so no WAL is left beside the warehouse between nights (a
    copy of the file alone holds everything). Nested uses checkpoint once, at the outermost."""
    global _deferred_checkpoints
    outer = not _deferred_checkpoints
    _deferred_checkpoints = True
    try:
        yield
    finally:
        if outer:
            _deferred_checkpoints = False
            try:
                con = connect(cfg=cfg)
                try:
                    con.execute("CHECKPOINT")
                finally:
                    con.close()
            except duckdb.Error:  # the next connection to close checkpoints instead; nothing is lost
                log.warning("checkpoint after the night failed", exc_info=True)


RUN_DETAIL_MAX = 4000


def utc_now() -> datetime:
    """Now, as the naive UTC timestamp the warehouse's TIMESTAMP columns hold."""
    return datetime.now(UTC).replace(tzinfo=None)


def record_run(con: duckdb.DuckDBPyConnection, run_id: str, stage: str, day: date | None,
               started: datetime, status: str, detail: str) -> None:
    """One row of meta.runs: a pipeline stage's outcome, kept for audit and for the benchmark."""
    con.execute(
        "INSERT INTO meta.runs VALUES (?, ?, ?, ?, ?, ?, ?)",
        [run_id, stage, day, started, utc_now(), status, detail[:RUN_DETAIL_MAX]],
    )


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether the connection's database has this table or view."""
    return bool(con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?",
        [schema, table]).fetchone()[0])


def count_rows(con: duckdb.DuckDBPyConnection, relation: str) -> int:
    """Rows of a (quoted) relation."""
    return int(con.execute(f"SELECT count(*) FROM {relation}").fetchone()[0])


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]],
                *, or_ignore: bool = False) -> None:
    """Insert many rows in one statement, through an Arrow table: ``executemany`` or one INSERT per row costs
    ~2 ms a row, which a night's thousands of rows turn into seconds (issue 18)."""
    if not rows:
        return
    import pyarrow as pa

    view = "_nengtan_insert_rows"
    con.register(view, pa.table({name: [row[i] for row in rows] for i, name in enumerate(columns)}))
    try:
        names = ", ".join(columns)
        con.execute(f"INSERT {'OR IGNORE ' if or_ignore else ''}INTO {table} ({names}) SELECT {names} FROM {view}")
    finally:
        con.unregister(view)


def sql_string(value: object) -> str:
    """A SQL string literal for places DuckDB takes no parameter (ATTACH, COPY paths)."""
    return "'" + str(value).replace("'", "''") + "'"


def _connect_waiting_for_lock(db: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """DuckDB lets one process write a file; another task holding it is not an error
    worth failing a night for, so wait for it (bounded by NENGTAN_DUCKDB_LOCK_TIMEOUT)."""
    deadline = time.monotonic() + float(os.environ.get("NENGTAN_DUCKDB_LOCK_TIMEOUT", "600"))
    delay = 0.2
    while True:
        try:
            return duckdb.connect(str(db), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(RAW_DDL)
    from nengtan.ingest.schema import ensure_ingest_schema  # the contract's newer columns and sources

    ensure_ingest_schema(con)


@contextmanager
def warehouse(cfg: Settings | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A writer connection to the warehouse with the raw schema in place; closed on exit."""
    con = connect(cfg=cfg)
    try:
        ensure_raw_schema(con)
        yield con
    finally:
        con.close()
