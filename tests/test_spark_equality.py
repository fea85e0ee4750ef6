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
import math
import shutil
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from nengtan.config import REPO_ROOT, settings
from nengtan.engines import lake
from nengtan.engines.spark import (
    SPARK_VENV,
    build_on_spark,
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


@pytest.fixture(scope="module")
def two_engines(city_landing: Path, tmp_path_factory: pytest.TempPathFactory):
    """The city loaded and built on DuckDB, its lake exported and the same project built on Spark.

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
        yield _build_both(root, city_landing, load_night, transform.run_transform, warehouse)


def _build_both(root: Path, landing: Path, load_night, run_transform, warehouse):  # noqa: ANN001, ANN202
    cfg = dataclasses.replace(settings(), data=root / "data")
    cfg.ensure_dirs()
    started = time.monotonic()
    with warehouse(cfg) as con:
        summary = load_night(con, landing, CITY_LAST_DAY, RUN_ID)
    assert summary.rows_loaded > 100_000 and summary.rows_quarantined > 0  # the city's faults are in it
    run_transform(RUN_ID, full_refresh=True, cfg=dataclasses.replace(cfg, dbt_unit_tests=False))
    TIMINGS["duckdb_load_and_build_s"] = time.monotonic() - started

    started = time.monotonic()
    spark = build_on_spark(cfg, full_refresh=True)
    TIMINGS["spark_session_build_s"] = time.monotonic() - started
    marts = {p.name: p for p in (cfg.data / "spark" / "warehouse" / "marts.db").iterdir() if p.is_dir()}
    return cfg, spark, marts


def test_the_lake_holds_the_raw_rows_duckdb_loaded(two_engines) -> None:
    cfg, _, _ = two_engines
    manifest = lake.read_manifest(cfg)
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {sql_string(str(cfg.warehouse_db))} AS d (READ_ONLY)")
        for t in manifest["tables"]:
            cols = ", ".join(f'"{c}"' for c, _ in t["columns"])
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


def test_every_mart_on_spark_equals_duckdb(two_engines) -> None:
    cfg, spark, marts = two_engines
    assert spark["errors"] == 0 and spark["tests_failed"] == 0, spark
    assert spark["models"] >= 50 and spark["seeds"] >= 9 and spark["tests_passed"] >= 200, spark
    assert len(marts) >= 25, sorted(marts)
    differences = mart_differences(cfg.warehouse_db, marts)
    assert not differences, differences
    print(f"\nDuckDB load+build {TIMINGS['duckdb_load_and_build_s']:.0f} s; "
          f"Spark export+register+build {TIMINGS['spark_session_build_s']:.0f} s: {spark}")


def test_the_comparison_notices_a_changed_figure(two_engines, tmp_path: Path) -> None:
    """The comparison can fail: one CO2 figure off by 0.001 t and one lost row are both reported."""
    cfg, _, marts = two_engines
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


def test_the_thrift_server_serves_the_same_project(two_engines) -> None:
    """The production method: dbt through the Spark Thrift server (started here on a free loopback port)."""
    cfg, _, _ = two_engines
    started = time.monotonic()
    with thrift_server(cfg) as env:
        TIMINGS["thrift_start_s"] = time.monotonic() - started
        debug = run_spark_dbt(["debug"], cfg=cfg, method="thrift", env=env)
        assert debug.seconds > 0
        register_lake(cfg, method="thrift", env=env)
        built = run_spark_dbt(["build", "--select", "stg_raw__parks", "dim_parks"], cfg=cfg, method="thrift",
                              env=env)
        assert built.counts["models"] == 2 and built.counts["errors"] == 0, built
    differences = mart_differences(cfg.warehouse_db, {"dim_parks": spark_table_dir(cfg, "marts", "dim_parks")},
                                   only={"dim_parks"})
    assert not differences, differences
    print(f"\nThrift server listening after {TIMINGS['thrift_start_s']:.0f} s")
