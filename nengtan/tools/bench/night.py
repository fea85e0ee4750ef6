"""One night through the real DAGs as production runs it: ``nengtan nightly --date D`` handed to the
bench root's night worker (``nengtan worker``, started untimed like the Airflow DB migration, and
kept between the nights of a root), timed from outside and per stage from Airflow's and the
warehouse's own records, with the night's fixed costs on their own (issue 18)."""

from __future__ import annotations

import atexit
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import psutil

from nengtan.config import REPO_ROOT, Settings
from nengtan.tools.bench.procwatch import SAMPLE_SECONDS, run_watched


@dataclass(frozen=True)
class BenchRoot:
    """A landing zone plus its own data root and Airflow home."""

    landing: Path
    data: Path
    memory_limit: str

    @property
    def settings(self) -> Settings:
        """The pipeline's settings for this root (every path below derives from them)."""
        return Settings(landing=self.landing, data=self.data, duckdb_memory_limit=self.memory_limit)

    @property
    def airflow_home(self) -> Path:
        return self.data / "airflow"  # not Settings.airflow_home: that one follows $AIRFLOW_HOME

    @property
    def warehouse_db(self) -> Path:
        return self.settings.warehouse_db

    @property
    def serving_db(self) -> Path:
        return self.settings.serving_db

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
    """Migrate the Airflow DB once, untimed, so night 1 is not charged for it, and parse the dbt project as a
    deployment does once per release (``dbt parse``: the root keeps its saved parse and offers it to the
    checkout's, nengtan.dbt_parse), so night 1 pays the parse a night pays, not a fresh checkout's."""
    code = ("from nengtan.orchestration.dag_runner import prepare_airflow; prepare_airflow(); "
            "from nengtan.config import settings; from nengtan.transform import run_dbt; "
            "run_dbt(['parse'], cfg=settings())")
    w = run_watched([sys.executable, "-c", code], root.environ(), root.settings.logs_dir / "bench-prepare.log",
                    cwd=REPO_ROOT)
    if w.returncode != 0:
        raise RuntimeError(f"Airflow preparation failed (exit {w.returncode}):\n{w.tail()}")


# The night workers this benchmark started (one at a time: each holds Airflow, dbt and GX, ~0.5 GiB).
_workers: dict[Path, subprocess.Popen] = {}
WORKER_START_TIMEOUT_S = 600.0


def stop_workers() -> None:
    """SIGTERM the workers started here (each lets a running night finish) and wait for them."""
    while _workers:
        _data, popen = _workers.popitem()
        if popen.poll() is None:
            popen.send_signal(signal.SIGTERM)
            try:
                popen.wait(60)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait()


atexit.register(stop_workers)


def ensure_worker(root: BenchRoot) -> subprocess.Popen | None:
    """The root's night worker, started (untimed) if not running; None when it cannot start (the night
    then runs in a fresh process, and the result says so)."""
    from nengtan.orchestration.worker import socket_path

    env = root.environ()
    sock = socket_path(root.data)
    popen = _workers.get(root.data)
    if popen is not None and popen.poll() is None and sock.exists():
        return popen
    stop_workers()  # another root's, or one whose root was wiped (its socket with it)
    log = (root.settings.logs_dir / "bench-worker.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        popen = subprocess.Popen([sys.executable, "-m", "nengtan.cli", "worker", "--idle-exit", "7200"], env=env,
                                 stdout=out, stderr=subprocess.STDOUT, cwd=REPO_ROOT, start_new_session=True)
    deadline = time.monotonic() + WORKER_START_TIMEOUT_S
    while not sock.exists():
        if popen.poll() is not None or time.monotonic() > deadline:
            if popen.poll() is None:
                popen.kill()
                popen.wait()
            return None
        time.sleep(0.2)
    _workers[root.data] = popen
    return popen


class _ChildSampler:
    """Peak summed RSS of the worker's children (the night's process tree lives under the worker, not
    under the client the benchmark starts)."""

    def __init__(self, worker: subprocess.Popen | None) -> None:
        self.peak = 0
        self._done = threading.Event()
        self._proc = psutil.Process(worker.pid) if worker is not None else None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._done.is_set():
            total = 0
            try:
                children = self._proc.children(recursive=True) if self._proc else []
            except psutil.NoSuchProcess:
                children = []
            for child in children:
                try:
                    total += child.memory_info().rss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    pass
            self.peak = max(self.peak, total)
            self._done.wait(SAMPLE_SECONDS)

    def __enter__(self) -> _ChildSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._done.set()
        self._thread.join()


_CHILD_LINE = re.compile(r"ran in the night worker's child (\d+): ([\d.]+) s CPU")
_RESTART_LINE = re.compile(r"waited ([\d.]+) s for the worker's restart")
_DBT_TS = re.compile(r"(\d\d:\d\d:\d\d\.\d+)")


def dbt_parses(log: Path, offset: int) -> list[dict[str, Any]]:
    """dbt's project parse in each invocation logged after ``offset`` in dbt.log: seconds from
    "Running with dbt=" to "Found N models", and whether it was partial (what dbt said)."""
    try:
        with log.open("rb") as f:
            f.seek(offset if offset <= log.stat().st_size else 0)  # dbt rotated its log meanwhile
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return []
    parses, start, how = [], None, "partial"

    def clock(line: str) -> float | None:
        m = _DBT_TS.search(line)
        if not m:
            return None
        h, mi, sec = m.group(1).split(":")
        return int(h) * 3600 + int(mi) * 60 + float(sec)

    for line in text.splitlines():
        if "Running with dbt=" in line:
            start, how = clock(line), "partial"
        elif "Unable to do partial parsing" in line:
            how = "full: " + line.split("because", 1)[-1].strip().rstrip(".")
        elif start is not None and re.search(r"\] \[[^]]*\]: Found \d+ models", line):
            end = clock(line)
            if end is not None:
                parses.append({"seconds": round((end - start) % 86400, 3), "parse": how})
            start = None
    return parses


def fixed_costs(night: dict[str, Any], parses: list[dict[str, Any]]) -> dict[str, Any]:
    """What the night paid before and around its tasks' work: everything outside the tasks (process start
    or hand-off, imports, each dag.test()'s set-up and bookkeeping) plus dbt's parse inside dbt_build."""
    wall = night.get("wall_seconds")
    tasks = sum(t["seconds"] or 0 for t in night.get("tasks", []))
    outside = round(wall - tasks, 3) if wall is not None and night.get("tasks") else None
    parse = round(sum(p["seconds"] for p in parses), 3) if parses else None
    return {"outside_tasks_seconds": outside, "dbt_parse_seconds": parse,
            "dbt_parse": ", ".join(p["parse"] for p in parses) or None,
            "seconds": round((outside or 0) + (parse or 0), 3) if outside is not None else None,
            "ran_in": night.get("ran_in"), "worker_restart_wait_seconds": night.get("worker_restart_wait_seconds")}


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
    """``nengtan nightly --date day`` in the root's night worker (a fresh process if it has none), with
    peak RSS sampling of the client's and the worker child's trees; never raises for a failed night."""
    worker = ensure_worker(root)
    before = _airflow_runs(root)
    since = datetime.now(UTC)
    log = root.settings.logs_dir / f"bench-night-{label}-{day.isoformat()}.log"
    dbt_log = root.settings.logs_dir / "dbt" / "dbt.log"
    dbt_offset = dbt_log.stat().st_size if dbt_log.exists() else 0
    log_offset = log.stat().st_size if log.exists() else 0
    with _ChildSampler(worker) as children:
        w = run_watched([sys.executable, "-m", "nengtan.cli", "nightly", "--date", day.isoformat()],
                        root.environ(), log, cwd=REPO_ROOT, timeout=timeout)
    # Summed peaks of two samplers (the client's tree, the worker's children): at most the true peak's
    # double-count of the client, a few tens of MB.
    peak = w.peak_rss_bytes + children.peak
    with log.open("rb") as f:
        f.seek(log_offset)
        text = f.read().decode("utf-8", "replace")
    said, restart = _CHILD_LINE.search(text), _RESTART_LINE.search(text)
    result: dict[str, Any] = {
        "day": day.isoformat(), "ok": w.returncode == 0, "exit_code": w.returncode,
        "wall_seconds": w.wall_seconds, "peak_rss_bytes": peak,
        "peak_rss_gib": round(peak / 2**30, 3), "rss_samples": w.samples, "log": str(log),
        "ran_in": "worker child" if said else "fresh process",
        "worker_child_cpu_seconds": float(said.group(2)) if said else None,
        # a deploy (the code changed) while the bench ran: the night waited for the worker to re-import
        "worker_restart_wait_seconds": float(restart.group(1)) if restart else None,
    }
    result.update(airflow_timings(root, _airflow_runs(root) - before))
    result["fixed_costs"] = fixed_costs(result, dbt_parses(dbt_log, dbt_offset))
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
