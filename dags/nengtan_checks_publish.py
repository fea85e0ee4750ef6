"""Checks and publish: Great Expectations suites on the freshly built marts, digests to
the data's owners, and — only when no blocking check failed — an atomic publish of the
serving copy that Superset and the monthly reports read. Triggered by the night's marts and
its M&V step (MARTS and MV: nengtan_mv follows every MARTS and emits MV whether or not it had
anything to measure), so the project checks and the published project marts are the night's."""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag, task

from nengtan.orchestration.dag_support import DEFAULT_ARGS, MARTS, MV, SERVING, START_DATE, resolve_day


@dag(
    dag_id="nengtan_checks_publish",
    schedule=MARTS & MV,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={"day": ""},
    tags=["nengtan", "nightly", "quality"],
    doc_md=__doc__,
)
def nengtan_checks_publish() -> None:
    @task(multiple_outputs=False)
    def check_marts(**context: Any) -> dict:
        from nengtan.orchestration.tasks import check_stage

        return check_stage("marts", resolve_day(context), context["run_id"])

    @task(trigger_rule="all_done", multiple_outputs=False)
    def send_digests(**context: Any) -> dict:
        """Runs even when the checks blocked the publish: owners hear about it either way."""
        from nengtan.orchestration.tasks import send_digests as send

        return send(resolve_day(context), context["run_id"])

    @task(outlets=[SERVING], multiple_outputs=False)
    def publish(outcome: dict, **context: Any) -> dict:
        from nengtan.orchestration.tasks import publish_night

        day = resolve_day(context)
        result = publish_night(day, context["run_id"], outcome)
        context["outlet_events"][SERVING].extra = {"day": day.isoformat(), "publish_run_id": context["run_id"]}
        return result

    outcome = check_marts()
    outcome >> send_digests()
    publish(outcome)


nengtan_checks_publish_dag = nengtan_checks_publish()
