"""One SQL codebase, two engines: the test city's marts built on Spark equal DuckDB's, row by row.

The generated test city is loaded once into a DuckDB warehouse of its own (the real loader: validation and
quarantine), built there by the real transform (``dbt build --full-refresh``), then its raw layer is
exported as partitioned Parquet (nengtan.engines.lake) and the same dbt project is built on Spark from it
(dbt-spark, session method, local[2], .venv-spark). Every table of ``marts`` must hold the same rows on both
engines: exact columns equal, numeric columns within 1e-6 (relative, at least absolute), the columns that
only name the run or the clock left out. Then the Spark Thrift server that ships in pyspark is started
once and dbt reaches it through the thrift method (the production connection): ``dbt debug`` and a model
build whose rows again equal DuckDB's.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from nengtan.config import REPO_ROOT, Settings, settings
from nengtan.engines import lake
from nengtan.engines.spark import (
    SPARK_VENV,
    register_lake,
    run_spark_dbt,
    spark_table_dir,
    thrift_server,
)
from nengtan.rebuild import RUN_BOOKKEEPING_COLUMNS
from nengtan.warehouse import sql_string
from tests.conftest import CITY_LAST_DAY

pytestmark = pytest.mark.skipif(not (SPARK_VENV / "bin" / "dbt").exists(),
                                reason="no .venv-spark: run `make spark-env`")

TOLERANCE = 1e-6
RUN_ID = "spark-equality"
TIMINGS: dict[str, float] = {}


def _close(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, (int, float, Decimal)) and isinstance(b, (int, float, Decimal)) \
            and not isinstance(a, bool) and not isinstance(b, bool):
        x, y = float(a), float(b)
        return math.isclose(x, y, rel_tol=0.0, abs_tol=TOLERANCE * max(1.0, abs(x), abs(y)))
    return a == b


def _numeric(data_type: str) -> bool:
    return data_type.upper().split("(")[0] in ("DOUBLE", "FLOAT", "REAL", "DECIMAL")


def mart_differences(warehouse: Path, spark_tables: dict[str, Path], limit: int = 5,
                     only: set[str] | None = None) -> dict[str, list[str]]:
    """Each DuckDB mart (or those named in ``only``) against the Parquet files of the Spark table of the same
    name: same columns (names), the same rows when both sides are sorted by the exact columns, then the
    numeric ones."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {sql_string(str(warehouse))} AS d (READ_ONLY)")
        duck = {t for (t,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'd' AND table_schema = 'marts'"
        ).fetchall()}
        if only is not None:
            duck &= only
        out: dict[str, list[str]] = {}
        for t in sorted(duck ^ set(spark_tables)):
            out[t] = ["only on " + ("DuckDB" if t in duck else "Spark")]
        for t in sorted(duck & set(spark_tables)):
            con.execute(f"CREATE OR REPLACE TEMP VIEW s AS SELECT * FROM read_parquet("
                        f"{sql_string(str(spark_tables[t] / '*.parquet'))})")
            dcols = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_catalog = 'd' "
                "AND table_schema = 'marts' AND table_name = ? ORDER BY ordinal_position", [t]).fetchall()
            scols = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE s)").fetchall())
            kept = [(c, ty) for c, ty in dcols if c not in RUN_BOOKKEEPING_COLUMNS]
            if [c for c, _ in dcols] != [c for c in scols]:
                out[t] = [f"columns differ: DuckDB {[c for c, _ in dcols]} vs Spark {list(scols)}"]
                continue
            exact = [c for c, ty in kept if not _numeric(ty) and not _numeric(scols[c])]
            approx = [c for c, ty in kept if c not in exact]
            order = ", ".join(f'"{c}" NULLS FIRST' for c in exact + approx) or "1"
            sel = ", ".join(f'"{c}"' for c, _ in kept)
            a = con.execute(f'SELECT {sel} FROM d.marts."{t}" ORDER BY {order}').fetchall()
            b = con.execute(f"SELECT {sel} FROM s ORDER BY {order}").fetchall()
            problems: list[str] = []
            if len(a) != len(b):
                problems.append(f"{len(a)} rows on DuckDB, {len(b)} on Spark")
            for ra, rb in zip(a, b, strict=False):
                bad = [f"{c}: {x!r} != {y!r}" for (c, _), x, y in zip(kept, ra, rb, strict=True) if not _close(x, y)]
                if bad:
                    key = {c: x for (c, _), x in zip(kept, ra, strict=True) if c in exact}
                    problems.append(f"{key}: " + "; ".join(bad[:4]))
                if len(problems) >= limit:
                    break
            if problems:
                out[t] = problems
        return out
    finally:
        con.close()


@dataclasses.dataclass
class TwoEngines:
    duck: Settings           # the warehouse built on DuckDB (the reference)
    spark: Settings          # the same night loaded, then transformed with NENGTAN_ENGINE=spark
    summary: dict            # run_transform's summary of the Spark night (dbt counts, export/import seconds)
    marts: dict[str, Path]   # Spark's own files of each mart table
    published: dict          # the publish of the Spark night (its serving copy)
    checks: dict             # the marts checks' outcome on each engine's warehouse ("duckdb", "spark")


@pytest.fixture(scope="module")
def two_engines(city_landing: Path, tmp_path_factory: pytest.TempPathFactory):
    """The city loaded once; then the night's transform run twice through ``run_transform``, the switch the
    nightly DAG calls: on DuckDB (default) and with NENGTAN_ENGINE=spark (lake export, dbt build on Spark,
    Spark's marts copied into the warehouse), each on its own copy of the loaded warehouse; the Spark
    night is then published as the DAG would.

    Both engines build one copy of the dbt project and seeds, taken when the test starts: the working tree
    may change while the two builds run, and the comparison is of engines, not of versions."""
    from nengtan import transform
    from nengtan.engines import spark as spark_runner
    from nengtan.ingest.loader import load_night
    from nengtan.warehouse import warehouse

    root = tmp_path_factory.mktemp("two-engines")
    project = root / "project" / "dbt_project"
    shutil.copytree(REPO_ROOT / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
    shutil.copytree(REPO_ROOT / "seeds", project.parent / "seeds")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(transform, "DBT_PROJECT_DIR", project)
        mp.setattr(spark_runner, "DBT_PROJECT_DIR", project)
        yield _build_both(root, city_landing, load_night, transform.run_transform, warehouse, mp)


def _build_both(root: Path, landing: Path, load_night, run_transform, warehouse, mp) -> TwoEngines:  # noqa: ANN001
    from nengtan.publish import publish
    from nengtan.quality import run_checks

    duck = dataclasses.replace(settings(), data=root / "data", dbt_unit_tests=False)
    spark_cfg = dataclasses.replace(settings(), data=root / "data-spark", dbt_unit_tests=False)
    duck.ensure_dirs()
    spark_cfg.ensure_dirs()
    started = time.monotonic()
    with warehouse(duck) as con:
        summary = load_night(con, landing, CITY_LAST_DAY, RUN_ID)
    assert summary.rows_loaded > 100_000 and summary.rows_quarantined > 0  # the city's faults are in it
    # The same loaded night for the Spark run (the loader's validation and quarantine are engine-free).
    for suffix in ("", ".wal"):
        src = Path(str(duck.warehouse_db) + suffix)
        if src.exists():
            shutil.copyfile(src, str(spark_cfg.warehouse_db) + suffix)
    TIMINGS["load_s"] = time.monotonic() - started

    started = time.monotonic()
    mp.delenv("NENGTAN_ENGINE", raising=False)
    run_transform(RUN_ID, full_refresh=True, cfg=duck)
    TIMINGS["duckdb_build_s"] = time.monotonic() - started

    started = time.monotonic()
    mp.setenv("NENGTAN_ENGINE", "spark")
    mp.setenv("NENGTAN_SPARK_METHOD", "session")
    mp.delenv("NENGTAN_SPARK_WAREHOUSE", raising=False)
    spark_summary = run_transform(RUN_ID, full_refresh=True, cfg=spark_cfg)
    TIMINGS["spark_transform_s"] = time.monotonic() - started
    mp.delenv("NENGTAN_ENGINE")
    marts = {p.name: p for p in (spark_cfg.data / "spark" / "warehouse" / "marts.db").iterdir() if p.is_dir()}

    # The night's marts checks on each engine's warehouse (the checks-and-publish DAG's first task), then
    # the Spark night's publish.
    started = time.monotonic()
    checks = {}
    for name, c in (("duckdb", duck), ("spark", spark_cfg)):
        with warehouse(c) as con:
            checks[name] = run_checks(con, run_id=RUN_ID, day=CITY_LAST_DAY, stage="marts", cfg=c)
    TIMINGS["checks_both_s"] = time.monotonic() - started
    started = time.monotonic()
    with warehouse(spark_cfg) as con:
        published = publish(con, run_id=RUN_ID, day=CITY_LAST_DAY, cfg=spark_cfg)
    TIMINGS["spark_publish_s"] = time.monotonic() - started
    return TwoEngines(duck, spark_cfg, spark_summary, marts, published, checks)


def test_the_lake_holds_the_raw_rows_duckdb_loaded(two_engines: TwoEngines) -> None:
    cfg = two_engines.spark
    manifest = lake.read_manifest(cfg)
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {sql_string(str(cfg.warehouse_db))} AS d (READ_ONLY)")
        for t in manifest["tables"]:
            # The lake is exported before the transform marks the night's files transformed (afterwards, in
            # the warehouse only): load_log's transformed_run_id is the one column that moves on after it.
            cols = ", ".join(f'"{c}"' for c, _ in t["columns"]
                             if (t["name"], c) != ("load_log", "transformed_run_id"))
            files = sql_string(str(Path(t["location"]) / ("**/*.parquet" if t["partition_by"] else "*.parquet")))
            hive = ", hive_partitioning = true, hive_types_autocast = true" if t["partition_by"] else ""
            diff = con.execute(
                f'SELECT (SELECT count(*) FROM (SELECT {cols} FROM d.{t["schema"]}."{t["name"]}" EXCEPT ALL '
                f"SELECT {cols} FROM read_parquet({files}{hive}))), "
                f"(SELECT count(*) FROM read_parquet({files}{hive}))").fetchone()
            assert diff == (0, t["rows"]), f"{t['schema']}.{t['name']}: {diff[0]} rows differ, {diff[1]} in the lake"
        # Readings are partitioned by day: one directory per loaded day.
        days = con.execute("SELECT count(DISTINCT reading_day) FROM d.raw.meter_readings").fetchone()[0]
        parts = list((lake.lake_root(cfg) / "raw" / "meter_readings").glob("reading_day=*"))
        assert len(parts) == days > 40
    finally:
        con.close()


def test_every_mart_on_spark_equals_duckdb(two_engines: TwoEngines) -> None:
    spark, marts = two_engines.summary, two_engines.marts
    assert spark["scope"] == {"engine": "spark", "method": "session", "full_rebuild": True}, spark["scope"]
    assert spark["errors"] == 0 and spark["tests_failed"] == 0, spark
    assert spark["models"] >= 50 and spark["seeds"] >= 9 and spark["tests_passed"] >= 200, spark
    assert len(marts) >= 25, sorted(marts)
    differences = mart_differences(two_engines.duck.warehouse_db, marts)
    assert not differences, differences
    print(f"\nload {TIMINGS['load_s']:.0f} s; DuckDB transform {TIMINGS['duckdb_build_s']:.0f} s; "
          f"Spark transform (export, register, build, import) {TIMINGS['spark_transform_s']:.0f} s; "
          f"marts checks on both {TIMINGS['checks_both_s']:.0f} s; publish {TIMINGS['spark_publish_s']:.0f} s: {spark}")


def test_the_spark_night_is_what_the_warehouse_and_the_serving_copy_hold(two_engines: TwoEngines) -> None:
    """With NENGTAN_ENGINE=spark the transform leaves Spark's marts in the warehouse (where the checks and the
    ledger read them), marks the night's files transformed, and the publish step serves exactly those rows."""
    e = two_engines
    assert e.summary["marts_imported"] == len(e.marts), (e.summary["marts_imported"], sorted(e.marts))
    assert not mart_differences(e.spark.warehouse_db, e.marts)
    assert e.published["mode"] == "full" and set(e.marts) <= {t.split(".")[-1] for t in e.published["tables"]
                                                             if t.startswith("marts.")}, e.published
    assert not mart_differences(e.spark.serving_db, e.marts)
    con = duckdb.connect(str(e.spark.warehouse_db), read_only=True)
    try:
        pending = con.execute("SELECT count(*) FROM raw.load_log WHERE transformed_run_id IS NULL "
                              "AND status <> 'rejected'").fetchone()[0]
        marked = con.execute("SELECT count(*) FROM raw.load_log WHERE transformed_run_id = ?", [RUN_ID]).fetchone()[0]
    finally:
        con.close()
    assert pending == 0 and marked > 0, (pending, marked)


def test_the_checks_find_the_same_on_spark_marts(two_engines: TwoEngines) -> None:
    """The quality checks read the marts Spark built (and the intermediates they need, copied back with them):
    no blocking failure, and the same findings, entity by entity, as on DuckDB's marts."""
    duck, spark = two_engines.checks["duckdb"], two_engines.checks["spark"]
    assert spark.ok and duck.ok, (spark.blocking_failures[:3], duck.blocking_failures[:3])
    assert "intermediate.int_project_mv_fits" in two_engines.summary["intermediate_imported"]

    def keys(outcome) -> list[tuple]:  # noqa: ANN001
        return sorted((f["suite"], f["rule"], str(f["entity_id"]), str(f["period"])) for f in outcome.routed_failures)

    assert keys(spark) == keys(duck) and spark.rules_checked == duck.rules_checked
    assert duck.routed_failures, "the test city plants faults the marts checks must find"


def test_the_comparison_notices_a_changed_figure(two_engines, tmp_path: Path) -> None:
    """The comparison can fail: one CO2 figure off by 0.001 t and one lost row are both reported."""
    cfg, marts = two_engines.duck, two_engines.marts
    table = "enterprise_carbon_monthly"
    changed = tmp_path / table
    changed.mkdir()
    con = duckdb.connect()
    try:
        src = sql_string(str(marts[table] / "*.parquet"))
        con.execute(f"COPY (SELECT * REPLACE (co2_t + 0.001 AS co2_t) FROM read_parquet({src}) "
                    f"ORDER BY credit_code, month LIMIT 1 OFFSET 0) TO {sql_string(str(changed / 'a.parquet'))}")
        n = con.execute(f"SELECT count(*) FROM read_parquet({src})").fetchone()[0]
        con.execute(f"COPY (SELECT * FROM read_parquet({src}) ORDER BY credit_code, month LIMIT {n - 2} OFFSET 1) "
                    f"TO {sql_string(str(changed / 'b.parquet'))}")
    finally:
        con.close()
    differences = mart_differences(cfg.warehouse_db, {table: changed}, only={table})
    assert set(differences) == {table}
    assert any("rows on DuckDB" in p for p in differences[table]) and any("co2_t" in p for p in differences[table])


@pytest.fixture(scope="module")
def thrift(two_engines: TwoEngines):
    """The Spark Thrift server from pyspark, once for the module, on the Spark night's warehouse and metastore
    (after the session builds: Derby admits one process)."""
    started = time.monotonic()
    with thrift_server(two_engines.spark) as env:
        TIMINGS["thrift_start_s"] = time.monotonic() - started
        yield env


def test_the_thrift_server_serves_the_same_project(two_engines: TwoEngines, thrift: dict[str, str]) -> None:
    """The production method: dbt through the Spark Thrift server (started here on a free loopback port)."""
    cfg = two_engines.spark
    debug = run_spark_dbt(["debug"], cfg=cfg, method="thrift", env=thrift)
    assert debug.seconds > 0
    register_lake(cfg, method="thrift", env=thrift)
    built = run_spark_dbt(["build", "--select", "stg_raw__parks", "dim_parks"], cfg=cfg, method="thrift", env=thrift)
    assert built.counts["models"] == 2 and built.counts["errors"] == 0, built
    differences = mart_differences(two_engines.duck.warehouse_db,
                                   {"dim_parks": spark_table_dir(cfg, "marts", "dim_parks")}, only={"dim_parks"})
    assert not differences, differences
    print(f"\nThrift server listening after {TIMINGS['thrift_start_s']:.0f} s")


def _superset_python() -> Path | None:
    """Superset's environment if it can speak hive:// (PyHive, the lock's ``spark`` extra), else None.
    NENGTAN_SUPERSET_VENV points elsewhere (an environment synced with ``--extra spark``)."""
    venv = Path(os.environ.get("NENGTAN_SUPERSET_VENV", str(REPO_ROOT / ".venv-superset")))
    python = venv / "bin" / "python"
    if not python.exists():
        return None
    has = subprocess.run([str(python), "-c", "import pyhive.hive, superset"], capture_output=True)
    return python if has.returncode == 0 else None


def test_superset_reads_the_marts_through_the_thrift_server(two_engines: TwoEngines, thrift: dict[str, str]) -> None:
    """What a deployment with NENGTAN_ENGINE=spark gives Superset: ``hive://<thrift>/marts`` through PyHive and
    Superset's Spark SQL engine spec, in Superset's own environment: the marts listed, a mart's columns and
    its rows, equal to the Spark night's."""
    python = _superset_python()
    if python is None:
        pytest.skip("Superset's environment has no PyHive: sync it with the superset_env lock's `spark` extra "
                    "(or point NENGTAN_SUPERSET_VENV at one that has it)")
    uri = f"hive://{thrift['NENGTAN_SPARK_HOST']}:{thrift['NENGTAN_SPARK_PORT']}/marts"
    probe = REPO_ROOT / "nengtan" / "engines" / "superset_probe.py"
    done = subprocess.run([str(python), str(probe), uri, "marts", "city_carbon_monthly"], capture_output=True,
                          text=True, timeout=600, env={**os.environ, "SUPERSET_CONFIG_PATH": ""})
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["dialect"] == "hive" and seen["engine_spec_hive_family"], seen
    assert set(two_engines.marts) <= set(seen["tables"]), sorted(set(two_engines.marts) - set(seen["tables"]))
    con = duckdb.connect(str(two_engines.spark.serving_db), read_only=True)
    try:
        rows = con.execute("SELECT count(*) FROM marts.city_carbon_monthly").fetchone()[0]
        columns = [c for (c,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'marts' "
            "AND table_name = 'city_carbon_monthly' ORDER BY ordinal_position").fetchall()]
    finally:
        con.close()
    assert seen["rows"] == rows > 0 and seen["columns"] == columns, (seen, rows, columns)
