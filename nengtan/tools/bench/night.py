"""One night through the real DAGs, as a subprocess (``nengtan nightly --date D``) against a
bench root, timed from outside and per stage from Airflow's and the warehouse's own records."""

from __future__ import annotations

import os
import sqlite3
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from nengtan.config import REPO_ROOT
from nengtan.tools.bench.procwatch import run_watched


@dataclass(frozen=True)
class BenchRoot:
    """A landing zone plus its own data root and Airflow home."""

    landing: Path
    data: Path
    memory_limit: str

    @property
    def airflow_home(self) -> Path:
        return self.data / "airflow"

    @property
    def warehouse_db(self) -> Path:
        return self.data / "warehouse" / "nengtan.duckdb"

    @property
    def serving_db(self) -> Path:
        return self.data / "serving" / "nengtan.duckdb"

    def environ(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AIRFLOW__DATABASE__", "AIRFLOW__CORE__SQL_ALCHEMY"))}
        env.update({
            "NENGTAN_LANDING": str(self.landing),
            "NENGTAN_DATA": str(self.data),
            "AIRFLOW_HOME": str(self.airflow_home),
            "NENGTAN_DUCKDB_MEMORY_LIMIT": self.memory_limit,
            "NENGTAN_ALERTS_ENABLED": "0",  # no mail server in a benchmark; digests are still built
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        })
        return env


def prepare(root: BenchRoot) -> None:
    """Migrate the Airflow DB once, untimed, so night 1 is not charged for it."""
    code = "from nengtan.orchestration.dag_runner import prepare_airflow; prepare_airflow()"
    w = run_watched([sys.executable, "-c", code], root.environ(), root.data / "logs" / "bench-prepare.log",
                    cwd=REPO_ROOT)
    if w.returncode != 0:
        raise RuntimeError(f"Airflow preparation failed (exit {w.returncode}):\n{w.tail()}")


def _airflow_runs(root: BenchRoot) -> set[tuple[str, str]]:
    db = root.airflow_home / "airflow.db"
    if not db.exists():
        return set()
    with sqlite3.connect(db) as con:
        return set(con.execute("SELECT dag_id, run_id FROM dag_run").fetchall())


def _ts(text: Any) -> datetime | None:
    if text is None:
        return None
    try:
        ts = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _seconds(a: Any, b: Any) -> float | None:
    sa, sb = _ts(a), _ts(b)
    return (sb - sa).total_seconds() if sa and sb else None


def airflow_timings(root: BenchRoot, new_runs: set[tuple[str, str]]) -> dict[str, Any]:
    """Wall time of each DagRun and each task instance of the night (Airflow's metadata DB)."""
    db = root.airflow_home / "airflow.db"
    if not new_runs or not db.exists():
        return {"dags": [], "tasks": []}
    dags, tasks = [], []
    with sqlite3.connect(db) as con:
        for dag_id, run_id in sorted(new_runs):
            row = con.execute("SELECT state FROM dag_run WHERE dag_id = ? AND run_id = ?", (dag_id, run_id)).fetchone()
            own = []
            for task_id, start, end, state, tries in con.execute(
                "SELECT task_id, start_date, end_date, state, try_number FROM task_instance "
                "WHERE dag_id = ? AND run_id = ?", (dag_id, run_id)):
                own.append({"dag_id": dag_id, "task_id": task_id, "state": state, "try_number": tries,
                            "seconds": _seconds(start, end), "_start": _ts(start), "_end": _ts(end)})
            # dag.test() stamps the DagRun's start with its logical date, so a DAG's wall time is
            # taken from its tasks: first start to last end.
            starts = [t["_start"] for t in own if t["_start"]]
            ends = [t["_end"] for t in own if t["_end"]]
            dags.append({"dag_id": dag_id, "run_id": run_id, "state": row[0] if row else None,
                         "seconds": (max(ends) - min(starts)).total_seconds() if starts and ends else None,
                         "_start": min(starts) if starts else None})
            tasks.extend(own)
    never = datetime.max.replace(tzinfo=UTC)
    dags.sort(key=lambda d: d["_start"] or never)
    tasks.sort(key=lambda t: t["_start"] or never)
    for item in (*dags, *tasks):
        start = item.pop("_start")
        item.pop("_end", None)
        item["start"] = start.isoformat() if start else None
    return {"dags": dags, "tasks": tasks}


def warehouse_stages(root: BenchRoot, day: date, since: datetime) -> list[dict[str, Any]]:
    """The stages the pipeline recorded in meta.runs for this night."""
    if not root.warehouse_db.exists():
        return []
    try:
        con = duckdb.connect(str(root.warehouse_db), read_only=True)
    except duckdb.Error:
        return []
    try:
        rows = con.execute(
            "SELECT stage, status, epoch(finished_at - started_at) AS seconds, detail FROM meta.runs "
            "WHERE data_day = ? AND started_at >= ? ORDER BY started_at",
            [day, since.astimezone(UTC).replace(tzinfo=None)]).fetchall()
    except duckdb.Error:
        return []
    finally:
        con.close()
    return [{"stage": s, "status": st, "seconds": sec, "detail": (d or "")[:200]} for s, st, sec, d in rows]


MV_DAG = "nengtan_mv"


def mv_stage(night: dict[str, Any]) -> dict[str, Any] | None:
    """The night's M&V step (nengtan_mv) as its own stage: its wall time, whether it measured (the
    ``measure`` task ran in .venv-mv) or found nothing to measure (skipped), and its tasks' times."""
    dag = next((d for d in night.get("dags", []) if d["dag_id"] == MV_DAG), None)
    if dag is None:
        return None
    tasks = {t["task_id"]: t for t in night.get("tasks", []) if t["dag_id"] == MV_DAG}
    measure = tasks.get("measure") or {}
    return {"seconds": dag.get("seconds"), "state": dag.get("state"),
            "measured": measure.get("state") == "success", "measure_state": measure.get("state"),
            **{f"{k}_seconds": (tasks.get(k) or {}).get("seconds") for k in ("plan", "measure", "load")}}


def run_night(root: BenchRoot, day: date, label: str, timeout: float | None = None) -> dict[str, Any]:
    """``nengtan nightly --date day`` with peak RSS sampling; never raises for a failed night."""
    before = _airflow_runs(root)
    since = datetime.now(UTC)
    log = root.data / "logs" / f"bench-night-{label}-{day.isoformat()}.log"
    w = run_watched([sys.executable, "-m", "nengtan.cli", "nightly", "--date", day.isoformat()],
                    root.environ(), log, cwd=REPO_ROOT, timeout=timeout)
    result: dict[str, Any] = {
        "day": day.isoformat(), "ok": w.returncode == 0, "exit_code": w.returncode,
        "wall_seconds": w.wall_seconds, "peak_rss_bytes": w.peak_rss_bytes,
        "peak_rss_gib": round(w.peak_rss_bytes / 2**30, 3), "rss_samples": w.samples, "log": str(log),
    }
    result.update(airflow_timings(root, _airflow_runs(root) - before))
    result["stages"] = warehouse_stages(root, day, since)
    result["mv"] = mv_stage(result)
    retried = [t["task_id"] for t in result["tasks"] if (t.get("try_number") or 1) > 1]
    if retried:
        result["retried_tasks"] = retried  # the wall time includes Airflow's retry delay
    if w.timed_out:
        result["error"] = f"killed after {timeout:.0f} s (NENGTAN_BENCH_NIGHT_TIMEOUT)\n" + w.tail()
    elif w.returncode != 0:
        result["error"] = w.tail()
    return result
