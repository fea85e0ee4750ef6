"""What every Nengtan DAG shares: the assets that chain them, defaults, and how a run
finds the night (data day) it is about.

Kept free of heavy imports: DAG files are parsed often by the scheduler.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from typing import Any

import pendulum
from airflow.sdk import Asset

from nengtan.config import LOCAL_TZ

# The raw layer has new rows → the transform runs → marts are built → checks, publish.
RAW = Asset("nengtan://warehouse/raw")
MARTS = Asset("nengtan://warehouse/marts")
SERVING = Asset("nengtan://serving/marts")

START_DATE = pendulum.datetime(2024, 1, 1, tz="Asia/Shanghai")
NIGHTLY_CRON = "0 2 * * *"  # 02:00 local: the meter platform's export for the day before has landed
DUCKDB_POOL = "nengtan_duckdb"  # one slot: DuckDB allows a single writer process


def _on_failure(context: dict[str, Any]) -> None:
    """Tell the on-call when a task fails for good (retries exhausted)."""
    from nengtan.alerts import on_task_failure  # imported late: keeps DAG parsing light

    on_task_failure(context)


DEFAULT_ARGS: dict[str, Any] = {
    "owner": "nengtan",
    # Scheduled runs retry once; `nengtan nightly` sets NENGTAN_TASK_RETRIES=0 to fail fast.
    "retries": int(os.environ.get("NENGTAN_TASK_RETRIES", "1")),
    "retry_delay": timedelta(minutes=5),
    "pool": DUCKDB_POOL,
    "on_failure_callback": _on_failure,
}


def night_for(logical_date: datetime) -> date:
    """The night a 02:00 run processes: the local calendar day before it."""
    return (pendulum.instance(logical_date).in_timezone(LOCAL_TZ) - timedelta(hours=3)).date()


def logical_date_for(day: date) -> datetime:
    """Inverse of :func:`night_for`: the logical date of the scheduled run for ``day``."""
    return pendulum.datetime(day.year, day.month, day.day, 2, tz="Asia/Shanghai").add(days=1)


def resolve_day(context: dict[str, Any]) -> date:
    """The data day of this run: explicit ``day`` param, else the day carried by the
    asset event that triggered the run, else derived from the logical date."""
    params = context.get("params") or {}
    if params.get("day"):
        return date.fromisoformat(str(params["day"]))
    events = context.get("triggering_asset_events") or {}
    days = [
        ev.extra["day"]
        for evs in events.values()
        for ev in evs
        if getattr(ev, "extra", None) and ev.extra.get("day")
    ]
    if days:
        return date.fromisoformat(max(days))
    logical = context.get("logical_date") or context.get("data_interval_end")
    if logical is None:
        raise ValueError("cannot tell which night this run is for: no day param, asset event or logical date")
    return night_for(logical)
