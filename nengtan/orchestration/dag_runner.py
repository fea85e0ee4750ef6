"""Run the real Airflow DAGs from the command line (``nengtan nightly``, ``backfill``,
``report``): each night is a set of genuine DagRuns recorded in Airflow's metadata DB, not a
parallel code path.

A night is the asset chain load → transform → M&V → checks/publish, each DAG run exactly once
(checks/publish waits for the marts and the M&V step; M&V skips its measurement when nothing it
reads changed, see ``nengtan.mv.inputs``):

- Where no scheduler serves a DAG (none is running, or the DAG is paused, as in the demo), the
  CLI runs it in this process with ``dag.test()``. Before it runs a downstream DAG it takes the
  asset-queue entry its own upstream run created (``asset_dag_run_queue``), so a scheduler
  started later does not run that DAG a second time for the same event.
- Where a live scheduler serves an unpaused DAG (production), running it in-process would race
  the scheduler for the same task instances; the CLI triggers the run through Airflow instead,
  lets the assets cascade as on any scheduled night, and follows the runs that consumed its
  events to the end.

Either way the runs consume the upstream run's asset events, so the UI shows the chain.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from nengtan.config import REPO_ROOT, Settings, settings

DAGS_DIR = REPO_ROOT / "dags"
NIGHT_DAGS = ("nengtan_nightly_load", "nengtan_transform", "nengtan_mv", "nengtan_checks_publish")
REPORT_DAG = "nengtan_monthly_report"
# Every DAG of the project (one per file, named after its id).
ALL_DAGS = tuple(sorted(p.stem for p in DAGS_DIR.glob("nengtan_*.py")))
FINISHED = ("success", "failed")
# How long the CLI waits for a live scheduler to create the run an asset event queued for it.
SCHEDULER_PICKUP_TIMEOUT_S = float(os.environ.get("NENGTAN_SCHEDULER_PICKUP_TIMEOUT", "300"))

log = logging.getLogger(__name__)


def airflow_environ(cfg: Settings) -> dict[str, str]:
    """The Airflow settings Nengtan runs with locally (production overrides them in docker/).

    New DAGs start paused (Airflow's own default, and what a deployment wants: an operator
    unpauses the nightly chain once it points at the real landing zone). The demo city is
    history, so the demo keeps them paused: the scheduler would otherwise run "last night"
    against a landing zone that has no such night.
    """
    url_host = "127.0.0.1" if cfg.airflow_host in ("0.0.0.0", "::", "") else cfg.airflow_host
    return {
        "AIRFLOW_HOME": str(cfg.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Shanghai",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__PARALLELISM": str(cfg.airflow_parallelism),
        "AIRFLOW__API__HOST": cfg.airflow_host,
        "AIRFLOW__API__PORT": str(cfg.airflow_port),
        # Workers reach the execution API where it listens (its default is localhost:8080).
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://{url_host}:{cfg.airflow_port}/execution/",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(cfg.logs_dir / "airflow"),
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": cfg.airflow_host,
        "NENGTAN_LANDING": str(cfg.landing),
        "NENGTAN_DATA": str(cfg.data),
    }


def use_airflow_environ(cfg: Settings | None = None) -> Settings:
    """Put our Airflow settings in this process's environment (what is set already wins).

    Must run before anything imports Airflow, which reads its configuration once, at import."""
    cfg = cfg or settings()
    for key, value in airflow_environ(cfg).items():
        os.environ.setdefault(key, value)
    return cfg


def prepare_airflow(cfg: Settings | None = None) -> Settings:
    """Point Airflow at our home and DAGs, migrate its DB once, create the writer pool."""
    cfg = use_airflow_environ(cfg)
    cfg.ensure_dirs()
    # An interactive or test run fails fast instead of sleeping through retry delays.
    os.environ.setdefault("NENGTAN_TASK_RETRIES", "0")
    home = Path(os.environ["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    marker = home / ".nengtan-migrated"
    if not marker.exists():
        airflow = [sys.executable, "-m", "airflow"]
        subprocess.run([*airflow, "db", "migrate"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([*airflow, "pools", "set", "nengtan_duckdb", "1", "DuckDB allows one writer process"],
                       check=True, stdout=subprocess.DEVNULL)
        marker.write_text("migrated\n")
    return cfg


def load_dag(dag_id: str) -> Any:
    """Import the DAG file of that id (one DAG per file, named after its id)."""
    path = DAGS_DIR / f"{dag_id}.py"
    spec = importlib.util.spec_from_file_location(f"nengtan_dags_{dag_id}", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"no DAG file {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from airflow.sdk import DAG

    for value in vars(module).values():
        if isinstance(value, DAG) and value.dag_id == dag_id:
            return value
    raise LookupError(f"{path} defines no DAG {dag_id!r}")


@dataclass(frozen=True)
class RunOutcome:
    """One DagRun of a night: which, how it ran, and how it ended."""

    dag_id: str
    run_id: str
    state: str
    how: str  # "in-process" (dag.test) or "scheduler"
    seconds: float

    @property
    def ok(self) -> bool:
        return self.state == "success"


def _state(value: Any) -> str:
    return str(getattr(value, "value", value))


def _session():
    from airflow import settings as af_settings

    if af_settings.Session is None:
        af_settings.configure_orm()
    return af_settings.Session()


def scheduler_alive() -> bool:
    """A scheduler heartbeat within Airflow's health threshold."""
    from airflow.jobs.job import most_recent_job

    with _session() as session:
        job = most_recent_job("SchedulerJob", session=session)
        return bool(job and job.is_alive())


def is_paused(dag_id: str) -> bool:
    """True while the DAG is paused, or not yet known to the metadata DB (it is created paused)."""
    from airflow.models.dag import DagModel

    with _session() as session:
        model = session.get(DagModel, dag_id)
        return model is None or bool(model.is_paused)


def set_paused(dag_ids: tuple[str, ...], paused: bool) -> list[str]:
    """Pause or unpause the DAGs already in the metadata DB; returns those changed."""
    from airflow.models.dag import DagModel

    changed = []
    with _session() as session:
        for dag_id in dag_ids:
            model = session.get(DagModel, dag_id)
            if model is not None and bool(model.is_paused) != paused:
                model.is_paused = paused
                changed.append(dag_id)
        session.commit()
    return changed


def _scheduler_serves(dag_id: str) -> bool:
    return not is_paused(dag_id) and scheduler_alive()


def _event_ids(dag_id: str, run_id: str) -> list[int]:
    """The asset events a run emitted."""
    from airflow.models.asset import AssetEvent
    from sqlalchemy import select

    with _session() as session:
        return list(session.scalars(select(AssetEvent.id).where(
            AssetEvent.source_dag_id == dag_id, AssetEvent.source_run_id == run_id)))


def _consumer_run(dag_id: str, event_ids: list[int]) -> str | None:
    """The run of ``dag_id`` that consumed one of these events, if any."""
    from airflow.models.asset import association_table
    from airflow.models.dagrun import DagRun
    from sqlalchemy import select

    if not event_ids:
        return None
    with _session() as session:
        return session.scalar(
            select(DagRun.run_id).join(association_table, association_table.c.dag_run_id == DagRun.id)
            .where(DagRun.dag_id == dag_id, association_table.c.event_id.in_(event_ids))
            .order_by(DagRun.id).limit(1))


def _claim_queue(dag_id: str, event_ids: list[int]) -> int:
    """Take the asset-queue entries our events created for ``dag_id`` (we run it ourselves)."""
    from airflow.models.asset import AssetDagRunQueue, AssetEvent
    from airflow.utils.sqlalchemy import with_row_locks
    from sqlalchemy import delete, select

    if not event_ids:
        return 0
    with _session() as session:
        assets = set(session.scalars(select(AssetEvent.asset_id).where(AssetEvent.id.in_(event_ids))))
        rows = session.scalars(with_row_locks(
            select(AssetDagRunQueue).where(AssetDagRunQueue.target_dag_id == dag_id,
                                           AssetDagRunQueue.asset_id.in_(assets)),
            of=AssetDagRunQueue, session=session, key_share=False)).all()
        if rows:
            session.execute(delete(AssetDagRunQueue).where(AssetDagRunQueue.target_dag_id == dag_id,
                                                           AssetDagRunQueue.asset_id.in_(assets)))
        session.commit()
        return len(rows)


def _finish_in_process_run(dag_id: str, run_id: str, started: datetime, event_ids: list[int]) -> None:
    """dag.test() stamps a run's start with its logical date (a night of March shown as running
    for 249 days); record when it really started, and link the events it consumed."""
    from airflow.models.asset import AssetEvent
    from airflow.models.dagrun import DagRun
    from sqlalchemy import select

    with _session() as session:
        run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
        if run is None:
            return
        run.start_date = started
        if run.queued_at is None or run.queued_at < started - timedelta(days=1):
            run.queued_at = started
        if event_ids:
            have = {e.id for e in run.consumed_asset_events}
            run.consumed_asset_events.extend(
                session.scalars(select(AssetEvent).where(AssetEvent.id.in_(set(event_ids) - have))))
        session.commit()


def _utcnow() -> datetime:
    from airflow.sdk import timezone

    return timezone.utcnow()


def run_in_process(dag_id: str, *, day: date, conf: dict[str, Any] | None = None,
                   consumed: list[int] | None = None) -> RunOutcome:
    """One real DagRun of ``dag_id`` for the night ``day``, executed here by ``dag.test()``."""
    from nengtan.orchestration.dag_support import logical_date_for

    dag = load_dag(dag_id)
    run_conf = {"day": day.isoformat(), **(conf or {})}
    started, clock = _utcnow(), time.monotonic()
    dagrun = dag.test(logical_date=logical_date_for(day), run_conf=run_conf)
    _finish_in_process_run(dag_id, dagrun.run_id, started, consumed or [])
    return RunOutcome(dag_id, dagrun.run_id, _state(dagrun.state), "in-process", time.monotonic() - clock)


def run_dag(dag_id: str, *, day: date, conf: dict[str, Any] | None = None) -> str:
    """One real DagRun of ``dag_id`` for the night ``day`` (in this process); its final state."""
    return run_in_process(dag_id, day=day, conf=conf).state


def _wait_for(dag_id: str, run_id: str, clock: float) -> RunOutcome:
    """Follow a run the scheduler executes until it finishes."""
    from airflow.models.dagrun import DagRun
    from sqlalchemy import select

    lost_since: float | None = None
    while True:
        with _session() as session:
            state = _state(session.scalar(select(DagRun.state).where(DagRun.dag_id == dag_id,
                                                                     DagRun.run_id == run_id)))
        if state in FINISHED:
            return RunOutcome(dag_id, run_id, state, "scheduler", time.monotonic() - clock)
        if scheduler_alive():
            lost_since = None
        elif lost_since is None:
            lost_since = time.monotonic()
        elif time.monotonic() - lost_since > 120:
            raise RuntimeError(f"the scheduler stopped while {dag_id} run {run_id} was {state}; "
                               "start it again, or run the night with the DAGs paused")
        time.sleep(2)


def _trigger(dag_id: str, day: date) -> RunOutcome:
    """Trigger a run through the live scheduler (a manual run for the night) and wait for it."""
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.utils.types import DagRunTriggeredByType

    clock = time.monotonic()
    run_id = f"manual__nengtan_cli_{day.isoformat()}_{_utcnow():%Y%m%dT%H%M%S}"
    with _session() as session:
        trigger_dag(dag_id, triggered_by=DagRunTriggeredByType.CLI, run_id=run_id,
                    conf={"day": day.isoformat()}, triggering_user_name="nengtan-cli", session=session)
        session.commit()
    return _wait_for(dag_id, run_id, clock)


def _downstream(dag_id: str, day: date, upstream: RunOutcome, earlier: Sequence[RunOutcome] = ()) -> RunOutcome:
    """Run ``dag_id`` once for the events ``upstream`` emitted: follow the scheduler's run of it,
    or take the queue entries (of these events and of the ``earlier`` runs of the night: checks/
    publish is scheduled on MARTS and MV) and run it here."""
    events = _event_ids(upstream.dag_id, upstream.run_id)
    if not events:
        raise RuntimeError(f"{upstream.dag_id} run {upstream.run_id} succeeded but emitted no asset event: "
                           f"{dag_id} would not be triggered")
    clock = time.monotonic()
    while True:
        run_id = _consumer_run(dag_id, events)
        if run_id is not None:
            return _wait_for(dag_id, run_id, clock)
        if _scheduler_serves(dag_id):
            if time.monotonic() - clock > SCHEDULER_PICKUP_TIMEOUT_S:
                raise RuntimeError(f"the scheduler did not start {dag_id} within {SCHEDULER_PICKUP_TIMEOUT_S:.0f} s "
                                   f"of {upstream.dag_id}'s asset event")
            time.sleep(2)
            continue
        _claim_queue(dag_id, events + [e for o in earlier for e in _event_ids(o.dag_id, o.run_id)])
        if (run_id := _consumer_run(dag_id, events)) is not None:  # a scheduler took it meanwhile
            return _wait_for(dag_id, run_id, clock)
        return run_in_process(dag_id, day=day, consumed=events)


def run_night_dags(day: date, *, progress: Callable[[str], None] = print) -> list[RunOutcome]:
    """Load, transform, check and publish one night; stops at the first failed DAG. One night at a
    time per warehouse: another one running, this waits, then raises ``NightRunning``."""
    from nengtan.nightlock import night_lock

    with night_lock(day):
        return _run_night_dags(day, progress=progress)


def _run_night_dags(day: date, *, progress: Callable[[str], None]) -> list[RunOutcome]:
    from nengtan.warehouse import deferred_checkpoints

    prepare_airflow()
    with deferred_checkpoints():  # the tasks this process runs (dag.test) checkpoint once, after the night
        return _run_dags(day, progress=progress)


def _run_dags(day: date, *, progress: Callable[[str], None]) -> list[RunOutcome]:
    outcomes: list[RunOutcome] = []
    for dag_id in NIGHT_DAGS:
        progress(f"[nengtan] {day} {dag_id} …")
        if not outcomes:
            outcome = _trigger(dag_id, day) if _scheduler_serves(dag_id) else run_in_process(dag_id, day=day)
        else:
            outcome = _downstream(dag_id, day, outcomes[-1], outcomes[:-1])
        outcomes.append(outcome)
        where = "in this process" if outcome.how == "in-process" else "by the Airflow scheduler"
        progress(f"[nengtan] {day} {dag_id}: {outcome.state} ({outcome.seconds:.0f} s, run {outcome.run_id}, {where})")
        if not outcome.ok:
            break
    return outcomes


def run_night(day: date, *, progress: Callable[[str], None] = print) -> bool:
    """Load, transform, check and publish one night; True when every DAG succeeded."""
    outcomes = run_night_dags(day, progress=progress)
    return len(outcomes) == len(NIGHT_DAGS) and all(o.ok for o in outcomes)


def run_results(dag_id: str, run_id: str) -> dict[str, Any]:
    """The return values (XComs) of a run's tasks, by task id (mapped tasks: a list)."""
    from types import SimpleNamespace

    from airflow.models.xcom import XCOM_RETURN_KEY, XComModel
    from sqlalchemy import select

    out: dict[str, Any] = {}
    with _session() as session:
        rows = session.execute(select(XComModel.task_id, XComModel.map_index, XComModel.value).where(
            XComModel.dag_id == dag_id, XComModel.run_id == run_id, XComModel.key == XCOM_RETURN_KEY)
            .order_by(XComModel.task_id, XComModel.map_index)).all()
    for task_id, map_index, value in rows:
        decoded = XComModel.deserialize_value(SimpleNamespace(value=value))
        if map_index is not None and map_index >= 0:
            out.setdefault(task_id, []).append(decoded)
        else:
            out[task_id] = decoded
    return out


def range_nights(start: date, end: date, step: int = 1) -> list[date]:
    """The nights a backfill runs: every ``step``-th day from ``start``, and always ``end``.

    A night loads every file up to its day that is not loaded yet, so with ``step`` > 1 each
    night catches up the days before it: the marts end the same (the rebuild test shows an
    incremental build equals a build in one go), the work is done in bounded pieces (a year
    in one night does not fit a few GB of memory), and the per-night checks and digests run
    only for the nights run.
    """
    if step < 1:
        raise ValueError("step must be at least 1")
    nights = [start + timedelta(days=k) for k in range(0, (end - start).days + 1, step)]
    if not nights or nights[-1] != end:
        nights.append(end)
    return nights


def run_range(start: date, end: date, *, step: int = 1, progress=print) -> list[tuple[date, bool]]:
    """Nights ``start``..``end`` in order (every ``step``-th day and the last); stops at the
    first failed night."""
    results: list[tuple[date, bool]] = []
    for day in range_nights(start, end, step):
        ok = run_night(day, progress=progress)
        results.append((day, ok))
        if not ok:
            break
    return results
