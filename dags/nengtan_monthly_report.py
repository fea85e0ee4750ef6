"""Monthly regulatory reports (能碳月报): once a month is final, after the publish that made it so.

Runs when the nightly publish updates the serving copy (asset ``nengtan://serving/marts``)
or on the 3rd of each month as a backstop. A month is reported only once it is *final* as of
the night the serving copy holds: its declarations are all in, or their deadline (the 15th of
the next month, ``NENGTAN_DECLARATION_DEADLINE_DAY``) has passed. Until then a run does nothing
for it (a publish of a provisional month is not a report). Final months of the last few months
are re-checked on every run: one whose figures changed (late data, a corrected factor) gets a
new version; unchanged ones are left alone, so nightly runs are cheap and idempotent.

``params.month`` reports exactly that month: refused (the run fails with the reason, no page
to on-call) when it has no data or is not final, unless ``params.provisional`` asks for an
edition stamped 临时数据 / PROVISIONAL. ``params.send``: empty = mail final reports to their
owners and provisional ones to no one; true = mail whatever is rendered; false = mail nothing.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, get_current_context, task

from nengtan.orchestration.dag_support import (  # SERVING = Asset("nengtan://serving/marts")
    SERVING,
    START_DATE,
)

MONTHLY_CRON = "0 6 3 * *"  # 06:00 local on the 3rd: a backstop if an asset-triggered run failed
RECHECK_MONTHS = 3  # final months before the latest re-checked for restatements on each run


def _on_failure(context: dict[str, Any]) -> None:
    from nengtan.alerts import on_task_failure  # late import: light DAG parsing

    on_task_failure(context)


@dag(
    dag_id="nengtan_monthly_report",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable(MONTHLY_CRON, timezone="Asia/Shanghai"),
        assets=SERVING,
    ),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=["nengtan", "report"],
    default_args={"owner": "nengtan", "retries": 1, "on_failure_callback": _on_failure},
    params={
        "month": Param("", type="string", description="YYYY-MM; empty = every final month not yet reported"),
        "language": Param("zh", type="string", enum=["zh", "en"]),
        "provisional": Param(False, type="boolean",
                             description="render a month that is not final, every page stamped provisional"),
        "send": Param(None, type=["null", "boolean"],
                      description="empty: mail final reports only; true: mail everything; false: nothing"),
    },
    doc_md=__doc__,
)
def nengtan_monthly_report():
    @task(retries=0)  # a malformed month param fails at once, no retry in 5 minutes
    def due_months() -> list[str]:
        """The asked month, or the final months among the latest complete one and those before it."""
        from nengtan.orchestration.dag_support import due_report_months
        from nengtan.report.snapshot import month_bounds

        params = get_current_context()["params"]
        month = str(params.get("month") or "").strip()
        if month:
            month_bounds(month)  # fails the run on a malformed month
            return [month]
        return due_report_months(RECHECK_MONTHS)

    @task(map_index_template="{{ task.op_kwargs['month'] }}", retries=0, multiple_outputs=False)
    def report(month: str) -> dict:
        from nengtan.orchestration.dag_support import render_month

        ctx = get_current_context()
        params = ctx["params"]
        send = params.get("send")
        result = render_month(month, run_id=ctx["run_id"], language=str(params.get("language") or "zh"),
                              provisional=bool(params.get("provisional")),
                              send=None if send is None else bool(send))
        result.pop("files", None)  # keep the XCom small; the manifest lists them
        return result

    report.expand(month=due_months())


monthly_report_dag = nengtan_monthly_report()
