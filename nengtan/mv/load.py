"""Take a night's M&V results into the warehouse (pipeline environment) and build the marts that
read them.

``nengtan.mv.run`` (in ``.venv-mv``) writes ``<NENGTAN_DATA>/mv/runs/day=D/{fits,months}.parquet``;
this replaces ``mv.project_fits`` and ``mv.project_months`` with them in one transaction (the
dbt source ``mv``), then runs ``dbt build`` on the project marts, so a rerun of a night gives the
same tables.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from nengtan.config import Settings, settings
from nengtan.mv.env import mv_dir
from nengtan.mv.inputs import DIGEST_TABLE

TABLES = {"project_fits": "fits.parquet", "project_months": "months.parquet"}
# The marts that read the M&V results, and what depends on them.
MARTS_SELECTOR = "int_project_mv_fits+ int_project_mv_months+"


def results_dir(cfg: Settings, day: date) -> Path:
    return mv_dir(cfg) / "runs" / f"day={day.isoformat()}"


def load_results(day: date, *, inputs_digest: str = "", cfg: Settings | None = None) -> dict[str, int]:
    """Replace the warehouse's M&V tables with night ``day``'s results, and record the digest of
    the inputs they were measured on (``mv.measured_inputs``, see ``nengtan.mv.inputs``) in the
    same transaction; returns row counts."""
    import duckdb

    cfg = cfg or settings()
    src = results_dir(cfg, day)
    missing = [f for f in TABLES.values() if not (src / f).exists()]
    if missing:
        raise FileNotFoundError(f"M&V results for {day.isoformat()} missing in {src}: {', '.join(missing)}")
    counts = {}
    con = duckdb.connect(str(cfg.warehouse_db))
    try:
        con.execute("begin")
        con.execute("create schema if not exists mv")
        for table, name in TABLES.items():
            path = str(src / name).replace("'", "''")
            con.execute(f"create or replace table mv.{table} as select * from read_parquet('{path}')")
            counts[table] = con.execute(f"select count(*) from mv.{table}").fetchone()[0]
        con.execute(f"create or replace table {DIGEST_TABLE} as select cast(? as date) as as_of, "
                    "cast(? as varchar) as inputs_digest, cast(? as bigint) as results",
                    [day, inputs_digest, counts["project_fits"]])
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.close()
    return counts


def build_marts(*, cfg: Settings | None = None) -> dict[str, Any]:
    """dbt build (with data tests; unit tests where the settings ask) of the models that read the
    M&V results; the run id is the night's transform's (meta.dbt_run)."""
    from nengtan.transform import run_dbt

    cfg = cfg or settings()
    args = ["build", "--select", *MARTS_SELECTOR.split()]
    if not cfg.dbt_unit_tests:
        args += ["--exclude-resource-type", "unit_test"]
    return run_dbt(args, cfg=cfg)
