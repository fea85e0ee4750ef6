"""Monthly regulatory reports (能碳月报): after each publish, and monthly as a backstop.

Runs when the nightly publish updates the serving copy (asset ``nengtan://serving/marts``)
or on the 3rd of each month. It reports the latest complete month and re-checks the
months already reported in the last few months: one whose figures changed (late data, a
corrected factor) gets a new version; unchanged ones are left alone, so nightly runs are
cheap and idempotent. ``params={"month": "YYYY-MM"}`` reports exactly that month.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, get_current_context, task

from nengtan.dag_support import SERVING, START_DATE  # SERVING = Asset("nengtan://serving/marts")

MONTHLY_CRON = "0 6 3 * *"  # 06:00 local on the 3rd: a backstop if no publish happened
RECHECK_MONTHS = 3  # already-reported months re-checked for restatements on each run


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
        "month": Param("", type="string", description="YYYY-MM; empty = latest complete month"),
        "language": Param("zh", type="string", enum=["zh", "en"]),
        "send": Param(True, type="boolean"),
    },
    doc_md=__doc__,
)
def nengtan_monthly_report():
    @task(retries=0)  # a malformed month param fails at once, no retry in 5 minutes
    def due_months() -> list[str]:
        """The asked month, or the latest complete month plus recently reported ones."""
        from nengtan.report import archive
        from nengtan.report.snapshot import latest_complete_month, month_bounds

        params = get_current_context()["params"]
        month = str(params.get("month") or "").strip()
        if month:
            month_bounds(month)  # fails the run on a malformed month
            return [month]
        latest = latest_complete_month()
        if latest is None:
            return []
        due = [latest]
        year, mon = int(latest[:4]), int(latest[5:])
        for _ in range(RECHECK_MONTHS):
            year, mon = (year - 1, 12) if mon == 1 else (year, mon - 1)
            earlier = f"{year:04d}-{mon:02d}"
            if archive.versions(earlier):
                due.append(earlier)
        return sorted(due)

    @task(map_index_template="{{ task.op_kwargs['month'] }}")
    def report(month: str) -> dict:
        from nengtan.report import run_monthly_report

        ctx = get_current_context()
        params = ctx["params"]
        result = run_monthly_report(month, run_id=ctx["run_id"], language=str(params.get("language") or "zh"),
                                    send=bool(params.get("send", True)))
        result.pop("files", None)  # keep the XCom small; the manifest lists them
        return result

    report.expand(month=due_months())


monthly_report_dag = nengtan_monthly_report()
