"""Run the real Airflow DAGs from the command line (``nengtan nightly``, ``backfill``,
``report``): each night is a set of genuine DagRuns recorded in Airflow's metadata DB,
executed with ``dag.test()``, not a parallel code path."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from nengtan.config import REPO_ROOT, Settings, settings

DAGS_DIR = REPO_ROOT / "dags"
NIGHT_DAGS = ("nengtan_nightly_load", "nengtan_transform", "nengtan_checks_publish")


def airflow_environ(cfg: Settings) -> dict[str, str]:
    """The Airflow settings Nengtan runs with locally (production overrides them in docker/)."""
    return {
        "AIRFLOW_HOME": str(cfg.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Shanghai",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(cfg.logs_dir / "airflow"),
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        "NENGTAN_LANDING": str(cfg.landing),
        "NENGTAN_DATA": str(cfg.data),
    }


def prepare_airflow(cfg: Settings | None = None) -> Settings:
    """Point Airflow at our home and DAGs, migrate its DB once, create the writer pool."""
    cfg = cfg or settings()
    cfg.ensure_dirs()
    for key, value in airflow_environ(cfg).items():
        os.environ.setdefault(key, value)
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


def run_dag(dag_id: str, *, day: date, conf: dict[str, Any] | None = None) -> str:
    """One real DagRun of ``dag_id`` for the night ``day``; returns its final state."""
    from nengtan.dag_support import logical_date_for

    dag = load_dag(dag_id)
    run_conf = {"day": day.isoformat(), **(conf or {})}
    dagrun = dag.test(logical_date=logical_date_for(day), run_conf=run_conf)
    return str(getattr(dagrun.state, "value", dagrun.state))


def run_night(day: date, *, progress=print) -> bool:
    """Load, transform, check and publish one night; stops at the first failed DAG."""
    prepare_airflow()
    for dag_id in NIGHT_DAGS:
        progress(f"[nengtan] {day} {dag_id} …")
        state = run_dag(dag_id, day=day)
        progress(f"[nengtan] {day} {dag_id}: {state}")
        if state != "success":
            return False
    return True


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
