"""What every Nengtan DAG shares: the assets that chain them, defaults, and how a run
finds the night (data day) it is about.

Kept free of heavy imports: DAG files are parsed often by the scheduler.
"""

from __future__ import annotations

import logging
import os
from datetime import date, datetime, timedelta
from typing import Any

import pendulum
from airflow.sdk import Asset

from nengtan.config import LOCAL_TZ

# The raw layer has new rows → the transform runs → marts are built → M&V measures (emitted every night,
# measured or not) → checks, publish (on marts & mv).
RAW = Asset("nengtan://warehouse/raw")
MARTS = Asset("nengtan://warehouse/marts")
MV = Asset("nengtan://warehouse/mv")
SERVING = Asset("nengtan://serving/marts")

START_DATE = pendulum.datetime(2024, 1, 1, tz="Asia/Shanghai")
NIGHTLY_CRON = "0 2 * * *"  # 02:00 local: the meter platform's export for the day before has landed
DUCKDB_POOL = "nengtan_duckdb"  # one slot: DuckDB allows a single writer process

log = logging.getLogger(__name__)


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


# -- the monthly report: which months are due, and rendering one --------------------------------

def published_day(cfg: Any = None) -> date | None:
    """The data day of the serving copy's latest publish (None before the first)."""
    import duckdb

    from nengtan.config import settings

    path = (cfg or settings()).serving_db
    if not path.exists():
        return None
    con = duckdb.connect(str(path), read_only=True)
    try:
        if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_catalog = current_database() "
                           "AND table_schema = 'meta' AND table_name = 'publication'").fetchone()[0]:
            return None
        day = con.execute("SELECT max(data_day) FROM meta.publication").fetchone()[0]
    finally:
        con.close()
    return day.date() if isinstance(day, datetime) else day


def report_as_of(cfg: Any = None) -> date | None:
    """The day a month's finality is judged on: the morning after the night the serving copy holds.

    Not the wall clock: a replayed or late night (the demo's March, a backfill) must not find a
    deadline passed that had not passed for the data it holds."""
    day = published_day(cfg)
    return None if day is None else day + timedelta(days=1)


def due_report_months(recheck: int, cfg: Any = None) -> list[str]:
    """Final months among the latest month the serving copy covers whole and the ``recheck``
    months before it (re-rendering an unchanged month writes nothing new)."""
    from nengtan.report.readiness import month_readiness

    as_of = report_as_of(cfg)
    if as_of is None:
        log.info("nothing published yet: no month to report")
        return []
    year, mon = as_of.year, as_of.month  # the month of as_of has not ended: start before it
    due: list[str] = []
    for _ in range(recheck + 1):
        year, mon = (year - 1, 12) if mon == 1 else (year, mon - 1)
        month = f"{year:04d}-{mon:02d}"
        readiness = month_readiness(cfg, month, today=as_of)
        if readiness.final:
            due.append(month)
        else:
            log.info("not reporting %s", readiness.message())
    return sorted(due)


def render_month(month: str, *, run_id: str, language: str = "zh", provisional: bool = False,
                 send: bool | None = None, cfg: Any = None) -> dict[str, Any]:
    """Render ``month`` if it may be: final, or not final and ``provisional`` asked (stamped).

    Finality is judged as of the published night (:func:`report_as_of`). ``send``: None mails a
    final edition to its owners and a provisional one to no one; True mails either; False mails
    nothing. A month without data, or not final without ``provisional``, raises ReportRefused
    with the reason (nothing written, nothing mailed, on-call not paged)."""
    from nengtan.report.readiness import month_readiness
    from nengtan.report.run import run_monthly_report  # takes the readiness judged here

    as_of = report_as_of(cfg)
    readiness = month_readiness(cfg, month, today=as_of) if as_of else month_readiness(cfg, month)
    kwargs: dict[str, Any] = {"cfg": cfg} if cfg is not None else {}
    result = run_monthly_report(month, run_id=run_id, language=language, provisional=provisional, mail=send,
                                readiness=readiness, **kwargs)
    return result
