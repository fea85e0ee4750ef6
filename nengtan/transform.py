"""The transform step: decide what the pending loads touched, then run ``dbt build`` on that scope.

Contract (docs/architecture.md, "Incremental contract"): pending files are the ``raw.load_log`` rows
with ``transformed_run_id IS NULL`` that were not rejected. From them we derive the meter-days and
enterprise-months to recompute, write them to ``meta.rebuild_meter_days`` / ``meta.rebuild_months``,
run dbt, and only then mark the files transformed. A crash leaves them pending and the rerun
recomputes the same scope.

A meter's consumption after a touched day depends on the last good reading before it, and a late day
changes the following days of that meter, so a touched meter is rebuilt from the day after its last
good reading before the earliest touched day up to the as-of day.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from nengtan.config import REPO_ROOT, Settings, settings
from nengtan.crashpoints import crash_point
from nengtan.engines.spark import engine, spark_method
from nengtan.publish_scope import note_transform
from nengtan.warehouse import record_run, table_exists, utc_now, warehouse

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


LATEST_METERS = """
    select * exclude (rk) from (
        select *, row_number() over (partition by meter_id order by landed_at desc, source_line desc) as rk
        from raw.meters where meter_id is not null
    ) where rk = 1
"""


def _touched_meters(con: duckdb.DuckDBPyConnection) -> None:
    """Fill temp table touched(meter_id, from_day): earliest day each meter must be rebuilt from."""
    con.execute("create or replace temp table touched (meter_id varchar, from_day date)")
    # 1. readings in pending files
    con.execute("""
        insert into touched
        select r.meter_id, min(r.reading_day)
        from raw.meter_readings r join pending p on r.file_id = p.file_id
        group by r.meter_id
    """)
    # 1b. readings of file versions a later version of the same path replaced (nengtan.ingest.versions):
    #     their meter-days must be recomputed without them
    if table_exists(con, "raw", "superseded_meter_readings"):
        con.execute("""
            insert into touched
            select r.meter_id, min(r.reading_day)
            from raw.superseded_meter_readings r join pending p on r.file_id = p.file_id
            group by r.meter_id
        """)
    # 2. meters whose registry row is new or changed in a pending registry file: rebuild from installation
    con.execute("""
        insert into touched
        with cur as (
            select * from (
                select m.*, row_number() over (partition by meter_id order by landed_at desc, source_line desc) rk
                from raw.meters m where meter_id is not null
            ) where rk = 1 and file_id in (select file_id from pending)
        ),
        prev as (
            select * from (
                select m.*, row_number() over (partition by meter_id order by landed_at desc, source_line desc) rk
                from raw.meters m where meter_id is not null and file_id not in (select file_id from pending)
            ) where rk = 1
        )
        select c.meter_id,
               cast(cast(least(c.installed_at, coalesce(p.installed_at, c.installed_at)) as date)
                    - interval 1 day as date)
        from cur c left join prev p on c.meter_id = p.meter_id
        where p.meter_id is null
           or row(c.credit_code, c.energy_type, c.multiplier, c.register_max, c.register_at_install,
                  c.installed_at, c.removed_at)
              is distinct from
              row(p.credit_code, p.energy_type, p.multiplier, p.register_max, p.register_at_install,
                  p.installed_at, p.removed_at)
    """)
    # 3. the meter-day spine grows for every meter in service when the as-of day moves on
    prev_as_of = None
    if table_exists(con, "intermediate", "int_meter_daily"):
        prev_as_of = con.execute("select max(day) from intermediate.int_meter_daily").fetchone()[0]
    if prev_as_of is not None:
        con.execute(f"""
            insert into touched
            select meter_id, greatest(cast(date '{prev_as_of}' + interval 1 day as date), cast(installed_at as date))
            from ({LATEST_METERS})
            where (removed_at is null or removed_at > timestamp '{prev_as_of}')
              and (select max(reading_day) from raw.meter_readings) > date '{prev_as_of}'
        """)


def _write_scope(con: duckdb.DuckDBPyConnection, pending: Sequence[str], restate: Sequence[str]) -> dict[str, int]:
    con.execute("create or replace temp table pending (file_id varchar)")
    if pending:
        con.executemany("insert into pending values (?)", [(f,) for f in pending])
    _touched_meters(con)
    has_readings = table_exists(con, "intermediate", "int_meter_readings")
    baseline_sql = (
        """(select max(r.interval_start) from intermediate.int_meter_readings r
             where r.meter_id = t.meter_id and r.is_good
               and r.interval_start < cast(t.from_day as timestamp))"""
        if has_readings else "cast(null as timestamp)"
    )
    con.execute(f"""
        create or replace temp table meter_scope as
        with t as (select meter_id, min(from_day) as from_day from touched group by meter_id),
        b as (select t.meter_id, t.from_day, {baseline_sql} as baseline_ts from t)
        select b.meter_id,
               case when b.baseline_ts is null
                    then least(b.from_day, cast(m.installed_at as date))
                    else least(b.from_day, cast(b.baseline_ts + interval 15 minute as date)) end as from_day
        from b join ({LATEST_METERS}) m on b.meter_id = m.meter_id
    """)
    con.execute("delete from meta.rebuild_meter_days")
    con.execute("delete from meta.rebuild_months")
    con.execute("""
        insert into meta.rebuild_meter_days
        select s.meter_id, cast(d.day as date)
        from meter_scope s,
             (select max(reading_day) as as_of from raw.meter_readings) a,
             lateral (select unnest(generate_series(s.from_day, greatest(a.as_of, s.from_day), interval 1 day)) as day) d
    """)
    months_sql = [
        f"""select distinct m.credit_code, cast(date_trunc('month', d.day) as date)
            from meta.rebuild_meter_days d join ({LATEST_METERS}) m on d.meter_id = m.meter_id""",
        """select distinct credit_code, cast(period || '-01' as date) from raw.declarations
           where file_id in (select file_id from pending) and credit_code is not null""",
        # declarations of replaced file versions (nengtan.ingest.versions): their months without them
        """select distinct credit_code, cast(period || '-01' as date) from raw.superseded_declarations
           where file_id in (select file_id from pending) and credit_code is not null""",
        """select distinct g.owner_credit_code, cast(g.claimed_period || '-01' as date)
           from raw.green_certificates g
           where g.claimed_period is not null and g.claimed_period <> ''
             and g.certificate_id in (select certificate_id from raw.green_certificates
                                      where file_id in (select file_id from pending))""",
    ]
    if table_exists(con, "marts", "enterprise_carbon_monthly"):
        # enterprises whose registry row (e.g. park) changed: all their months
        months_sql.append("""
            with v as (
                select credit_code, park_id, file_id,
                       row_number() over (partition by credit_code order by landed_at desc, source_line desc) rk
                from raw.enterprises where credit_code is not null
            )
            select distinct e.credit_code, e.month
            from marts.enterprise_carbon_monthly e join v on e.credit_code = v.credit_code and v.rk = 1
            where v.file_id in (select file_id from pending) and e.park_id is distinct from v.park_id
        """)
        for item in restate:
            code, _, month = item.rpartition(":")
            cond = f"and credit_code = '{code}'" if code else ""
            months_sql.append(
                f"select credit_code, month from marts.enterprise_carbon_monthly "
                f"where month = cast('{month}-01' as date) {cond}"
            )
    union = " union ".join(f"select * from ({q})" for q in months_sql)
    con.execute(f"insert into meta.rebuild_months select distinct * from ({union})")
    meter_days = con.execute("select count(*) from meta.rebuild_meter_days").fetchone()[0]
    months = con.execute("select count(*) from meta.rebuild_months").fetchone()[0]
    meters = con.execute("select count(distinct meter_id) from meta.rebuild_meter_days").fetchone()[0]
    return {"meters": int(meters), "meter_days": int(meter_days), "enterprise_months": int(months)}


@contextmanager
def _dbt_env(cfg: Settings) -> Iterator[None]:
    """dbt's profile reads NENGTAN_DATA and the memory limit from the environment."""
    wanted = {"NENGTAN_DATA": str(cfg.data), "NENGTAN_DUCKDB_MEMORY_LIMIT": cfg.duckdb_memory_limit}
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


def run_dbt(args: list[str], *, cfg: Settings, dbt_vars: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one dbt command in-process against the repo's project; raise TransformError on failure."""
    from dbt.cli.main import dbtRunner

    target = cfg.data / "dbt" / "target"
    full = [
        *args,
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(target),
        "--log-path", str(cfg.logs_dir / "dbt"),
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
    with _dbt_env(cfg):
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
        con.execute("delete from meta.dbt_run")
        con.execute("insert into meta.dbt_run values (?)", [run_id])
        if spark:
            # On Spark over plain Parquet the incremental models are tables rebuilt whole every night
            # (incremental_materialization): no meter-day scope to compute, the publish copies everything.
            con.execute("delete from meta.rebuild_meter_days")
            con.execute("delete from meta.rebuild_months")
            scope: dict[str, Any] = {"engine": "spark", "method": spark_method(), "full_rebuild": True}
        elif full_refresh:
            con.execute("delete from meta.rebuild_meter_days")
            con.execute("delete from meta.rebuild_months")
            scope: dict[str, Any] = {"full_refresh": True}
        else:
            scope = _write_scope(con, file_ids, restate)
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
            counts = run_dbt(args, cfg=cfg, dbt_vars=dbt_vars)
    except TransformError as exc:
        with warehouse(cfg) as con:
            record_run(con, run_id, "transform", None, started_at, "failed", str(exc))
        raise
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
