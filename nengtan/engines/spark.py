"""Build the dbt project on Spark (NENGTAN_ENGINE=spark): the same models, macros, tests and seeds as on DuckDB.

dbt-spark and pyspark live in their own environment (.venv-spark, spark_env/uv.lock), so dbt runs there as a
subprocess. The profile (dbt_project/profiles.yml, target ``spark``) picks the connection method from
NENGTAN_SPARK_METHOD: ``session`` runs Spark inside dbt's process (local[2] on one machine, tests),
``thrift`` talks to a Spark Thrift server (production, docker/; ``thrift_server`` below starts the one that
ships in pyspark). Spark reads the raw layer from the lake (nengtan.engines.lake); its own tables live under
``$NENGTAN_DATA/spark`` (warehouse directory and metastore) in session mode.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from nengtan.config import REPO_ROOT, Settings, settings
from nengtan.engines.lake import export_lake, read_manifest
from nengtan.warehouse import sql_string

DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
SPARK_VENV = Path(os.environ.get("NENGTAN_SPARK_VENV", str(REPO_ROOT / ".venv-spark")))


class SparkBuildError(RuntimeError):
    """A dbt command on Spark failed; the message names the failing nodes."""


def engine() -> str:
    """The configured engine: duckdb (default) or spark."""
    value = os.environ.get("NENGTAN_ENGINE", "duckdb").strip().lower()
    if value not in ("duckdb", "spark"):
        raise ValueError(f"NENGTAN_ENGINE={value!r}: expected duckdb or spark")
    return value


def spark_method() -> str:
    """The configured connection method on Spark: session (default: Spark inside dbt's process) or thrift."""
    value = os.environ.get("NENGTAN_SPARK_METHOD", "session").strip().lower()
    if value not in ("session", "thrift"):
        raise ValueError(f"NENGTAN_SPARK_METHOD={value!r}: expected session or thrift")
    return value


def spark_dbt() -> Path:
    exe = SPARK_VENV / "bin" / "dbt"
    if not exe.exists():
        raise FileNotFoundError(f"{exe}: the Spark environment is missing; run `make spark-env`")
    return exe


def spark_home() -> Path:
    """SPARK_HOME of the pyspark wheel in .venv-spark (its jars and sbin/ scripts)."""
    found = sorted((SPARK_VENV / "lib").glob("python3*/site-packages/pyspark"))
    if not found:
        raise FileNotFoundError(f"pyspark is not installed in {SPARK_VENV}; run `make spark-env`")
    return found[0]


def spark_dir(cfg: Settings) -> Path:
    return cfg.data / "spark"


def _env(cfg: Settings, method: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "NENGTAN_ENGINE": "spark",
        "NENGTAN_SPARK_METHOD": method,
        "NENGTAN_DATA": str(cfg.data),
        "SPARK_HOME": str(spark_home()),
        # dbt-spark's session method starts the JVM through pyspark in dbt's own process.
        "PYSPARK_PYTHON": str(SPARK_VENV / "bin" / "python"),
        "SPARK_LOCAL_IP": env.get("SPARK_LOCAL_IP", "127.0.0.1"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    })
    env.update(extra or {})
    return env


@dataclass
class DbtResult:
    args: list[str]
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def run_spark_dbt(args: list[str], *, cfg: Settings | None = None, method: str = "session",
                  env: dict[str, str] | None = None, timeout: float | None = None) -> DbtResult:
    """One dbt command on Spark, in .venv-spark. Its target and logs go under $NENGTAN_DATA/spark, apart from
    the DuckDB runs' (so the two engines never share a partial-parse file). Raises SparkBuildError.

    ``timeout`` (seconds; default NENGTAN_SPARK_TIMEOUT, else 6 h): a province night on Spark runs for hours
    on a small machine (docs/scale-out.md, "Where one machine ends"); the Airflow task's own timeout is
    the one that should normally fire."""
    cfg = cfg or settings()
    timeout = timeout or float(os.environ.get("NENGTAN_SPARK_TIMEOUT") or 6 * 3600)
    base = spark_dir(cfg)
    target = base / "dbt-target"
    full = [str(spark_dbt()), *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    # Through the environment: not every dbt command takes --target-path (debug does not).
    paths = {"DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(base / "dbt-logs")}
    started = time.monotonic()
    proc = subprocess.run(full, cwd=DBT_PROJECT_DIR, env=_env(cfg, method, {**paths, **(env or {})}),
                          capture_output=True, text=True, timeout=timeout)
    result = DbtResult(args=args, seconds=round(time.monotonic() - started, 3))
    results_file = target / "run_results.json"
    counts = {"models": 0, "seeds": 0, "tests_passed": 0, "tests_failed": 0, "unit_tests": 0, "errors": 0}
    if args and args[0] != "run-operation" and results_file.exists() and results_file.stat().st_mtime >= time.time() - result.seconds - 5:
        for r in json.loads(results_file.read_text(encoding="utf-8")).get("results", []):
            uid, status = r["unique_id"], r["status"]
            kind = uid.split(".")[0]
            if status in ("error", "fail", "runtime error"):
                counts["errors"] += 1
                result.failures.append(f"{uid}: {status}: {(r.get('message') or '').strip()[:600]}")
            if kind == "model" and status == "success":
                counts["models"] += 1
            elif kind == "seed" and status == "success":
                counts["seeds"] += 1
            elif kind in ("test", "unit_test"):
                counts["tests_passed" if status == "pass" else "tests_failed"] += status in ("pass", "fail", "error")
                counts["unit_tests"] += kind == "unit_test"
    result.counts = counts
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-60:])
        detail = "\n".join(result.failures) or tail
        shown = " ".join(a if len(a) < 120 else a[:120] + "…" for a in args)
        raise SparkBuildError(f"dbt {shown} on Spark ({method}) failed (exit {proc.returncode}):\n{detail}")
    return result


def register_lake(cfg: Settings | None = None, *, method: str = "session",
                  env: dict[str, str] | None = None) -> DbtResult:
    """Declare the lake's tables (the last export_lake) in Spark's catalog (macro register_lake_tables)."""
    tables = read_manifest(cfg)["tables"]
    return run_spark_dbt(["run-operation", "register_lake_tables", "--args", json.dumps({"tables": tables})],
                         cfg=cfg, method=method, env=env)


def build_on_spark(cfg: Settings | None = None, *, run_id: str | None = None, full_refresh: bool = True,
                   unit_tests: bool = False, select: list[str] | None = None, method: str = "session",
                   env: dict[str, str] | None = None, export: bool = True,
                   dbt_vars: dict[str, object] | None = None) -> dict[str, object]:
    """Export the raw layer to the lake, declare it in Spark and ``dbt build`` the project on Spark.

    The run id the rows carry is the warehouse's meta.dbt_run (exported with the lake) or ``run_id``;
    ``dbt_vars`` are passed on (a restatement's months and reason). Returns the seconds of each step and
    dbt's counts.
    """
    cfg = cfg or settings()
    timings: dict[str, object] = {}
    if export:
        timings["export_seconds"] = export_lake(cfg)["seconds"]
    timings["register_seconds"] = register_lake(cfg, method=method, env=env).seconds
    args = ["build"] + (["--full-refresh"] if full_refresh else [])
    if not unit_tests:
        args += ["--exclude-resource-type", "unit_test"]
    if select:
        args += ["--select", *select]
    all_vars = {**(dbt_vars or {}), **({"run_id": run_id} if run_id else {})}
    if all_vars:
        args += ["--vars", json.dumps(all_vars)]
    res = run_spark_dbt(args, cfg=cfg, method=method, env=env)
    timings["build_seconds"] = res.seconds
    timings.update(res.counts)
    return timings


def spark_warehouse(cfg: Settings) -> Path:
    """Spark's warehouse directory as this process sees it: the session method's (and the local Thrift
    server's) ``$NENGTAN_DATA/spark/warehouse``, or ``NENGTAN_SPARK_WAREHOUSE`` where a Thrift server's
    warehouse is mounted elsewhere (docker/: the same ``data`` volume, the same path)."""
    configured = os.environ.get("NENGTAN_SPARK_WAREHOUSE", "").strip()
    return Path(configured) if configured else spark_dir(cfg) / "warehouse"


def spark_table_dir(cfg: Settings, schema: str, table: str) -> Path:
    """Where Spark's warehouse keeps a managed table's Parquet files."""
    return spark_warehouse(cfg) / f"{schema}.db" / table


def built_tables(cfg: Settings, schema: str = "marts") -> list[str]:
    """The tables (not views) of ``schema`` in the last Spark build's manifest (dbt's own list, so a table
    left behind by an older version of the project is never picked up)."""
    manifest = spark_dir(cfg) / "dbt-target" / "manifest.json"
    if not manifest.exists():
        raise FileNotFoundError(f"{manifest}: no dbt build on Spark yet")
    nodes = json.loads(manifest.read_text(encoding="utf-8"))["nodes"].values()
    return sorted(n.get("alias") or n["name"] for n in nodes
                  if n["resource_type"] == "model" and n["schema"] == schema
                  and n["config"].get("materialized") in ("table", "incremental") and n["config"].get("enabled", True))


def import_spark_tables(cfg: Settings, con: duckdb.DuckDBPyConnection,
                        tables: list[tuple[str, str]]) -> dict[str, int]:
    """Copy tables Spark built, ``(schema, table)``, from its warehouse's Parquet files into the DuckDB
    warehouse, replacing DuckDB's, in one transaction (a reader of the warehouse sees the old tables or the
    new, never a mix). In spark mode this is how the quality checks, the ledger and the publish step (and
    through the serving copy, Superset and the reports) read what Spark computed. Returns rows per table."""
    missing = [f"{s}.{t}" for s, t in tables if not spark_table_dir(cfg, s, t).is_dir()]
    if missing:
        raise SparkBuildError(f"Spark's warehouse {spark_warehouse(cfg)} has no files for {missing}: "
                              "set NENGTAN_SPARK_WAREHOUSE to where the Thrift server's warehouse is mounted")
    rows: dict[str, int] = {}
    for schema in sorted({s for s, _ in tables}):
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    con.execute("BEGIN TRANSACTION")
    try:
        for schema, t in tables:
            files = sql_string(str(spark_table_dir(cfg, schema, t) / "*.parquet"))
            con.execute(f'CREATE OR REPLACE TABLE "{schema}"."{t}" AS SELECT * FROM read_parquet({files})')
            rows[f"{schema}.{t}"] = con.execute(f'SELECT count(*) FROM "{schema}"."{t}"').fetchone()[0]
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return rows


# -- the Thrift server (the production connection method) ---------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def thrift_server(cfg: Settings | None = None, *, port: int | None = None, cores: int = 2,
                  memory: str = "1g", timeout: float = 180) -> Iterator[dict[str, str]]:
    """The Spark Thrift server shipped in pyspark (HiveThriftServer2), in the foreground of a child process,
    bound to 127.0.0.1 on a free port, using the same warehouse and metastore as the session method (so
    the two must not run at once: Derby admits one process). Yields the env a dbt run needs to reach it."""
    cfg = cfg or settings()
    port = port or free_port()
    home = spark_home()
    base = spark_dir(cfg)
    base.mkdir(parents=True, exist_ok=True)
    log = base / f"thriftserver-{port}.log"
    conf = {
        "spark.master": f"local[{cores}]",
        "spark.driver.memory": memory,
        "spark.sql.warehouse.dir": str(base / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={base / 'metastore_db'};create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={base}",
        "spark.sql.session.timeZone": "Asia/Shanghai",
        "spark.sql.timestampType": "TIMESTAMP_NTZ",
        "spark.sql.shuffle.partitions": "4",
        "spark.ui.enabled": "false",
        "spark.sql.hive.thriftServer.singleSession": "false",
        "spark.sql.decimalOperations.allowPrecisionLoss": "false",
    }
    cmd = [str(home / "bin" / "spark-submit"), "--class", "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2",
           "--name", "nengtan-thrift"]
    for k, v in conf.items():
        cmd += ["--conf", f"{k}={v}"]
    cmd += ["--hiveconf", f"hive.server2.thrift.port={port}", "--hiveconf", "hive.server2.thrift.bind.host=127.0.0.1",
            "--hiveconf", "hive.server2.transport.mode=binary",
            "spark-internal"]
    env = dict(os.environ, SPARK_HOME=str(home), SPARK_LOCAL_IP="127.0.0.1", SPARK_NO_DAEMONIZE="1",
               PYSPARK_PYTHON=str(SPARK_VENV / "bin" / "python"))
    started = time.monotonic()
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=base, start_new_session=True)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the Spark Thrift server exited ({proc.returncode}); see {log}:\n"
                                   + "\n".join(log.read_text(errors="replace").splitlines()[-30:]))
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                pass
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"the Spark Thrift server did not listen on {port} within {timeout:.0f} s; see {log}")
            time.sleep(1)
        yield {"NENGTAN_SPARK_HOST": "127.0.0.1", "NENGTAN_SPARK_PORT": str(port),
               "NENGTAN_SPARK_STARTUP_SECONDS": f"{time.monotonic() - started:.1f}"}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        # Derby leaves its lock behind when the JVM is killed; the next session must be able to open it.
        for lock in (base / "metastore_db").glob("*.lck"):
            lock.unlink(missing_ok=True)
        shutil.rmtree(base / "thrift-tmp", ignore_errors=True)
