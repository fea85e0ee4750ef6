"""Measured savings (M&V): after the marts are built, every retrofit project's baseline is fitted
with OpenDSM's CalTRACK daily model in its own environment (.venv-mv, through external_python),
the night's results are loaded into the warehouse (mv.*) and the project marts rebuilt.

Triggered by MARTS; emits MV, which checks/publish waits for. ``plan`` reads the inputs' digest
(``nengtan.mv.inputs``): when no retrofit project is measured or nothing it reads changed since the
held results, ``measure`` is skipped (no .venv-mv process) and ``load`` only emits MV.
``params.remeasure`` measures anyway. Keyed on the night (data day): a rerun writes the same results."""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag, task

from nengtan.mv.env import MV_PYTHON
from nengtan.orchestration.dag_support import DEFAULT_ARGS, MARTS, MV, START_DATE, resolve_day

__all__ = ["MV", "nengtan_mv_dag"]


@dag(
    dag_id="nengtan_mv",
    schedule=[MARTS],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={"day": "", "remeasure": False},
    tags=["nengtan", "nightly", "mv"],
    doc_md=__doc__,
)
def nengtan_mv() -> None:
    @task(multiple_outputs=False)
    def plan(**context: Any) -> dict[str, Any]:
        import logging

        from nengtan.config import REPO_ROOT, settings
        from nengtan.mv.env import mv_dir, numba_cache_dir
        from nengtan.mv.inputs import plan as plan_night

        cfg = settings()
        p = plan_night(cfg.warehouse_db, resolve_day(context),
                       force=bool((context.get("params") or {}).get("remeasure")))
        logging.getLogger(__name__).info("M&V %s: %s (%d projects)", p.day, p.reason, p.projects)
        return {"day": p.day.isoformat(), "warehouse": str(cfg.warehouse_db), "out": str(mv_dir(cfg)),
                "repo": str(REPO_ROOT), "numba_cache": str(numba_cache_dir(cfg)), "measure": p.measure,
                "reason": p.reason, "projects": p.projects, "inputs_digest": p.digest}

    @task.short_circuit(ignore_downstream_trigger_rules=False)
    def changed(job: dict) -> bool:
        """False skips ``measure`` only; ``load`` still runs and emits MV."""
        return bool(job["measure"])

    @task.external_python(python=str(MV_PYTHON), expect_airflow=False, multiple_outputs=False)
    def measure(job: dict) -> dict:
        """In .venv-mv: fit, predict, write the night's Parquet results."""
        import os
        import sys

        os.environ["NUMBA_CACHE_DIR"] = job["numba_cache"]  # before numba is imported
        sys.path.insert(0, job["repo"])
        from nengtan.mv.run import run

        return run(job["warehouse"], job["out"], job["day"])

    @task(outlets=[MV], trigger_rule="none_failed", multiple_outputs=False)
    def load(job: dict, summary: dict | None, **context: Any) -> dict:
        from datetime import date

        from nengtan.mv.load import build_marts, load_results

        context["outlet_events"][MV].extra = {"day": job["day"]}
        if not summary:  # measure skipped: the held results stand
            return {"day": job["day"], "measured": False, "reason": job["reason"], "projects": job["projects"]}
        counts = load_results(date.fromisoformat(summary["day"]), inputs_digest=job["inputs_digest"])
        dbt = build_marts()
        return {**summary, **counts, "measured": True, "reason": job["reason"], "dbt": dbt}

    job = plan()
    summary = measure(job)
    changed(job) >> summary
    load(job, summary)


nengtan_mv_dag = nengtan_mv()
