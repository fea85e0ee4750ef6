"""Transform: dbt builds the staging, intermediate and mart models for what the loads
touched (incremental on the pending files), with all dbt tests. Triggered by RAW."""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag, task

from nengtan.orchestration.dag_support import DEFAULT_ARGS, MARTS, RAW, START_DATE, resolve_day


@dag(
    dag_id="nengtan_transform",
    schedule=[RAW],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={"day": "", "full_refresh": False},
    tags=["nengtan", "nightly", "dbt"],
    doc_md=__doc__,
)
def nengtan_transform() -> None:
    @task(outlets=[MARTS], multiple_outputs=False)
    def dbt_build(**context: Any) -> dict:
        from nengtan.orchestration.tasks import transform

        day = resolve_day(context)
        summary = transform(context["run_id"], full_refresh=bool(context["params"].get("full_refresh")))
        context["outlet_events"][MARTS].extra = {"day": day.isoformat(), "transform_run_id": context["run_id"]}
        return summary

    dbt_build()


nengtan_transform_dag = nengtan_transform()
