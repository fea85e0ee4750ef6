"""Measured savings (M&V): after the marts are built, every retrofit project's baseline is fitted
with OpenDSM's CalTRACK daily model in its own environment (.venv-mv, through external_python),
the night's results are loaded into the warehouse (mv.*) and the project marts rebuilt.
Triggered by MARTS; emits MV. Keyed on the night (data day): a rerun writes the same results."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Asset, dag, task

from nengtan.dag_support import DEFAULT_ARGS, MARTS, START_DATE, resolve_day
from nengtan.mv.env import MV_PYTHON

MV = Asset("nengtan://warehouse/mv")


@dag(
    dag_id="nengtan_mv",
    schedule=[MARTS],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={"day": ""},
    tags=["nengtan", "nightly", "mv"],
    doc_md=__doc__,
)
def nengtan_mv() -> None:
    @task
    def plan(**context: Any) -> dict[str, str]:
        from nengtan.config import REPO_ROOT, settings
        from nengtan.mv.env import mv_dir, numba_cache_dir

        cfg = settings()
        return {"day": resolve_day(context).isoformat(), "warehouse": str(cfg.warehouse_db),
                "out": str(mv_dir(cfg)), "repo": str(REPO_ROOT), "numba_cache": str(numba_cache_dir(cfg))}

    @task.external_python(python=str(MV_PYTHON), expect_airflow=False)
    def measure(job: dict) -> dict:
        """In .venv-mv: fit, predict, write the night's Parquet results."""
        import os
        import sys

        os.environ["NUMBA_CACHE_DIR"] = job["numba_cache"]  # before numba is imported
        sys.path.insert(0, job["repo"])
        from nengtan.mv.run import run

        return run(job["warehouse"], job["out"], job["day"])

    @task(outlets=[MV])
    def load(summary: dict, **context: Any) -> dict:
        from datetime import date

        from nengtan.mv.load import build_marts, load_results

        day = date.fromisoformat(summary["day"])
        counts = load_results(day)
        dbt = build_marts()
        context["outlet_events"][MV].extra = {"day": summary["day"]}
        return {**summary, **counts, "dbt": dbt}

    load(measure(plan()))


nengtan_mv_dag = nengtan_mv()
