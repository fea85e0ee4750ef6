"""The transform step: run ``dbt build`` on what the pending loads touched, then mark them transformed.

Contract (docs/architecture.md, "Incremental contract"): pending files are the ``raw.load_log`` rows
with ``transformed_run_id IS NULL`` that were not rejected (recorded by the loader). dbt derives the
rebuild scope from them (``int_rebuild_meters``, ``int_rebuild_months``; dbt_project/macros/rebuild_scope.sql)
and rebuilds it; only then are the files marked transformed. A crash leaves them pending and the rerun
recomputes the same scope.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from nengtan.config import REPO_ROOT, Settings, settings
from nengtan.crashpoints import crash_point
from nengtan.dbt_parse import shared_parse, target_dir
from nengtan.engines.spark import engine, spark_method
from nengtan.publish_scope import note_transform
from nengtan.warehouse import record_run, utc_now, warehouse

DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
# How many of a run's slowest dbt nodes its summary names (with seconds), in place of run_results.json.
SLOWEST_NODES = 10


class TransformError(RuntimeError):
    """dbt build failed; the message names the failing nodes. Pending files stay pending."""


def _pending_files(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return con.execute(
        "select file_id, source from raw.load_log "
        "where transformed_run_id is null and status <> 'rejected' order by loaded_at, file_id"
    ).fetchall()


def _scope_sizes(cfg: Settings) -> dict[str, int]:
    """The sizes of the scope dbt derived and rebuilt (int_rebuild_meters, int_rebuild_months)."""
    with warehouse(cfg) as con:
        meters, meter_days = con.execute(
            "select count(*), coalesce(sum(to_day - from_day + 1), 0) from intermediate.int_rebuild_meters"
        ).fetchone()
        months = con.execute("select count(*) from intermediate.int_rebuild_months").fetchone()[0]
    return {"meters": int(meters), "meter_days": int(meter_days), "enterprise_months": int(months)}


@contextmanager
def _dbt_env(cfg: Settings) -> Iterator[None]:
    """dbt's profile reads NENGTAN_DATA, the memory limit and the compression methods it never tries from the
    environment."""
    wanted = {"NENGTAN_DATA": str(cfg.data), "NENGTAN_DUCKDB_MEMORY_LIMIT": cfg.duckdb_memory_limit,
              "NENGTAN_DUCKDB_DISABLED_COMPRESSION": cfg.duckdb_disabled_compression}
    saved = {k: os.environ.get(k) for k in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _release_dbt_duckdb() -> None:
    """Close the DuckDB instance dbt-duckdb keeps per process, so that later connections to the
    warehouse (e.g. read-only ones) in this process do not clash with its configuration."""
    import gc

    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        env = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
    if env is not None:
        env.close()
    gc.collect()


def run_dbt(args: list[str], *, cfg: Settings, dbt_vars: dict[str, Any] | None = None,
            work: dict[str, float] | None = None) -> dict[str, Any]:
    """Run one dbt command in-process against the repo's project; raise TransformError on failure.
    ``work``: seconds per node from an earlier build, for the order of the nodes (nengtan/dbt_schedule.py)."""
    from dbt.cli.main import dbtRunner

    from nengtan.dbt_schedule import longest_chain_first

    target = target_dir(cfg)
    full = [
        *args,
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(target),
        "--log-path", str(cfg.logs_dir / "dbt"),
        # info: each node's start and result with its time, and the parse; debug adds every statement and
        # connection event, which on a city night cost ~0.6 s of the ~300 nodes' Python (issue 18)
        "--log-level-file", os.environ.get("NENGTAN_DBT_LOG_LEVEL_FILE", "info"),
        "--quiet",
    ]
    # A build's manifest.json (written twice) and run_results.json are a fixed cost of every night that nothing
    # in the pipeline reads: the results come back from dbtRunner, and the slowest nodes are recorded with the
    # run (meta.runs). The saved parse (partial_parse.msgpack) is written either way; other commands (parse,
    # ls, compile) still write the manifest, and NENGTAN_DBT_WRITE_JSON=1 keeps a build's artifacts.
    keep_json = os.environ.get("NENGTAN_DBT_WRITE_JSON", "0").strip().lower() in ("1", "true", "yes")
    if args[:1] == ["build"] and not keep_json:
        full.append("--no-write-json")
    if dbt_vars:
        full += ["--vars", json.dumps(dbt_vars)]
    # shared_parse: a fresh data root reuses the checkout's saved parse (the profile's DuckDB path is
    # relative to the data root, so the profile hashes alike for every root); nengtan/dbt_parse.py.
    threads = int(os.environ.get("NENGTAN_DBT_THREADS", "2"))  # the profile's threads (profiles.yml)
    order = longest_chain_first(work or {}, threads) if os.environ.get("NENGTAN_DBT_ORDER", "chain") == "chain" \
        else nullcontext()
    with _dbt_env(cfg), shared_parse(cfg, offer=not dbt_vars), order:
        try:
            res = dbtRunner().invoke(full)
        finally:
            _release_dbt_duckdb()
    counts: dict[str, Any] = {"models": 0, "tests_passed": 0, "tests_failed": 0, "seeds": 0, "unit_tests": 0}
    failures: list[str] = []
    results = getattr(res.result, "results", None) or []
    counts["slowest_nodes"] = {r.node.unique_id: round(float(r.execution_time or 0), 3) for r in sorted(
        results, key=lambda r: -float(getattr(r, "execution_time", 0) or 0))[:SLOWEST_NODES]}
    for r in results:
        node = r.node
        status = str(r.status).lower().split(".")[-1]
        kind = node.resource_type
        if status in ("error", "fail", "runtime error"):
            failures.append(f"{node.unique_id}: {status}: {(r.message or '').strip()[:500]}")
        if kind == "model" and status == "success":
            counts["models"] += 1
        elif kind == "seed" and status == "success":
            counts["seeds"] += 1
        elif kind in ("test", "unit_test"):
            if status == "pass":
                counts["tests_passed"] += 1
            elif status in ("fail", "error"):
                counts["tests_failed"] += 1
            if kind == "unit_test":
                counts["unit_tests"] += 1
    if not res.success:
        detail = "\n".join(failures) or repr(res.exception)
        raise TransformError(f"dbt {' '.join(args)} failed:\n{detail}")
    return counts


def last_node_seconds(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """The slowest nodes of the last successful transform (meta.runs), for the order of the next build's
    nodes (nengtan/dbt_schedule.py); empty before the first."""
    row = con.execute("select detail from meta.runs where stage = 'transform' and status = 'success' "
                      "order by finished_at desc limit 1").fetchone()
    try:
        nodes = json.loads(row[0]).get("slowest_nodes") if row else None
    except (ValueError, AttributeError):  # a detail cut at RUN_DETAIL_MAX, or not an object
        nodes = None
    return {str(k): float(v) for k, v in (nodes or {}).items() if isinstance(v, int | float)}


def _transform(run_id: str, *, full_refresh: bool, cfg: Settings | None, restate: Sequence[str] = (),
               reason: str = "") -> dict[str, Any]:
    cfg = cfg or settings()
    cfg.ensure_dirs()
    started = time.monotonic()
    started_at = utc_now()
    spark = engine() == "spark"
    with warehouse(cfg) as con:
        pending = _pending_files(con)
        file_ids = [f for f, _ in pending]
        work = last_node_seconds(con)
        con.execute("delete from meta.dbt_run")
        con.execute("insert into meta.dbt_run values (?)", [run_id])
    args = ["build"] + (["--full-refresh"] if full_refresh else [])
    if not cfg.dbt_unit_tests:
        args += ["--exclude-resource-type", "unit_test"]
    # Only a restatement passes vars (and so re-parses the project); the run id is read from meta.dbt_run.
    dbt_vars: dict[str, Any] = {}
    if restate:
        dbt_vars.update(restate_months=list(restate), restate_reason=reason)
    try:
        if spark:
            counts = _build_on_spark(cfg, full_refresh=full_refresh, dbt_vars=dbt_vars)
        else:
            counts = run_dbt(args, cfg=cfg, dbt_vars=dbt_vars, work=work)
    except TransformError as exc:
        with warehouse(cfg) as con:
            record_run(con, run_id, "transform", None, started_at, "failed", str(exc))
        raise
    if spark:
        # On Spark over plain Parquet the incremental models are tables rebuilt whole every night
        # (incremental_materialization): no scope, the publish copies everything.
        scope: dict[str, Any] = {"engine": "spark", "method": spark_method(), "full_rebuild": True}
    else:
        scope = {"full_refresh": True} if full_refresh else _scope_sizes(cfg)
    note_transform(cfg, pending, full_refresh=full_refresh or spark)  # what the next publish must copy
    crash_point("transform")  # marts rebuilt, files not yet marked: the rerun must redo the same scope
    with warehouse(cfg) as con:
        if file_ids:
            con.execute("create or replace temp table done (file_id varchar)")
            con.executemany("insert into done values (?)", [(f,) for f in file_ids])
            con.execute(
                "update raw.load_log set transformed_run_id = ? "
                "where file_id in (select file_id from done) and transformed_run_id is null",
                [run_id],
            )
        summary = {
            "run_id": run_id,
            "files": len(file_ids),
            "scope": scope,
            **counts,
            "seconds": round(time.monotonic() - started, 3),
        }
        record_run(con, run_id, "transform", None, started_at, "success", json.dumps(summary, default=str))
    return summary


def run_transform(run_id: str, *, full_refresh: bool = False, cfg: Settings | None = None) -> dict[str, Any]:
    """Recompute the marts for what the pending loads touched (or everything with full_refresh).

    Returns scope sizes, models built, tests passed/failed and seconds. Raises TransformError naming the
    failing dbt nodes; the pending files then stay pending.
    """
    return _transform(run_id, full_refresh=full_refresh, cfg=cfg)


def _build_on_spark(cfg: Settings, *, full_refresh: bool, dbt_vars: dict[str, Any]) -> dict[str, Any]:
    """NENGTAN_ENGINE=spark: the raw layer (just loaded and validated in DuckDB) and the night's run id go to
    the lake, dbt builds the project on Spark (NENGTAN_SPARK_METHOD: session, or thrift in production), and
    the marts Spark wrote are copied into the warehouse's ``marts`` schema in one transaction, from which the
    checks, the ledger and the publish step read as on DuckDB (docs/scale-out.md, "Which engine runs")."""
    from nengtan.engines.spark import SparkBuildError, build_on_spark, built_tables, import_spark_tables

    try:
        # The unit tests' fixtures are written for DuckDB (they run there, in CI): data tests only on Spark.
        counts = build_on_spark(cfg, full_refresh=full_refresh, unit_tests=False, method=spark_method(),
                                dbt_vars=dbt_vars or None)
    except SparkBuildError as exc:
        raise TransformError(str(exc)) from exc
    started = time.monotonic()
    checked = _intermediates_checked()
    tables = [("marts", t) for t in built_tables(cfg, "marts")] + \
        [("intermediate", t) for t in built_tables(cfg, "intermediate") if t in checked]
    with warehouse(cfg) as con:
        imported = import_spark_tables(cfg, con, tables)
    counts["import_seconds"] = round(time.monotonic() - started, 3)
    counts["marts_imported"] = sum(k.startswith("marts.") for k in imported)
    counts["intermediate_imported"] = sorted(k for k in imported if k.startswith("intermediate."))
    return counts


def _intermediates_checked() -> set[str]:
    """The intermediate tables the marts-stage quality suites read (their SQL or ``requires``): in spark mode
    they come back from Spark with the marts, so the checks see what Spark built."""
    from nengtan.quality.suites import load_suites

    names: set[str] = set()
    for suite in load_suites("marts"):
        names.update(re.findall(r"\bintermediate\.(\w+)", suite.sql))
        names.update(r.split(".", 1)[1] for r in suite.requires if r.startswith("intermediate."))
    return names


def restate_month(month: str, reason: str, *, run_id: str, credit_codes: Sequence[str] | None = None,
                  cfg: Settings | None = None) -> dict[str, Any]:
    """Explicitly re-account a closed month with today's factors, recorded in marts.restatements.

    ``month`` is 'YYYY-MM'; ``credit_codes`` limits it to some enterprises. Pending loads are
    transformed in the same run.
    """
    if not reason.strip():
        raise ValueError("a restatement needs a reason")
    datetime.strptime(month, "%Y-%m")
    items = [f"{c}:{month}" for c in credit_codes] if credit_codes else [month]
    return _transform(run_id, full_refresh=False, cfg=cfg, restate=items, reason=reason)


def dbt_project_dir() -> Path:
    return DBT_PROJECT_DIR
