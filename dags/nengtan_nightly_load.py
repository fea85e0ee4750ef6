"""Nightly load: the landing zone's new files for one night into the raw layer.

Loads the registry first (readings are validated against it), then targets, certificate
claims, declarations and meter readings (the night's own and whatever landed late), then
runs the raw-stage checks. Emits the RAW asset that triggers the transform.

Scheduled at 02:00 local for the day before, without catch-up: a scheduler that was down runs
the latest night once, never a backlog (``nengtan backfill`` does that, in steps). Like every
Nengtan DAG it starts paused: a deployment unpauses the chain once it reads the real landing
zone; the demo keeps it paused (its city is history, there is no "last night" to load).
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag, task

from nengtan.orchestration.dag_support import DEFAULT_ARGS, NIGHTLY_CRON, RAW, START_DATE, resolve_day
from nengtan.orchestration.tasks import LOAD_ORDER


@dag(
    dag_id="nengtan_nightly_load",
    schedule=NIGHTLY_CRON,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={"day": ""},
    tags=["nengtan", "nightly"],
    doc_md=__doc__,
)
def nengtan_nightly_load() -> None:
    def load(source: str, **context: Any) -> dict:
        from nengtan.orchestration.tasks import load_source

        return load_source(source, resolve_day(context), context["run_id"])

    @task(outlets=[RAW], multiple_outputs=False)
    def check_raw(**context: Any) -> dict:
        from nengtan.orchestration.tasks import check_stage

        day = resolve_day(context)
        outcome = check_stage("raw", day, context["run_id"])
        context["outlet_events"][RAW].extra = {"day": day.isoformat(), "load_run_id": context["run_id"]}
        return outcome

    # One task per source, chained in LOAD_ORDER.
    previous = None
    for source in LOAD_ORDER:
        current = task(task_id=f"load_{source}", multiple_outputs=False)(load)(source)
        if previous is not None:
            previous >> current
        previous = current
    previous >> check_raw()


nengtan_nightly_load_dag = nengtan_nightly_load()
