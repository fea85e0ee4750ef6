"""The night worker (``nengtan worker``, issue 18): a night it forks is the same real night as one
run in a fresh process (same DAG runs, same marts, same idempotence, same night lock, same exit
status), and a client it cannot serve faithfully is refused rather than served stale settings."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from nengtan.fingerprint import row_sums
from nengtan.orchestration.dag_runner import NIGHT_DAGS
from nengtan.orchestration.worker import socket_path

DAY = date(2025, 3, 2)


def _env(data: Path, landing: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "NENGTAN_"))}
    env.update(NENGTAN_DATA=str(data), NENGTAN_LANDING=str(landing), AIRFLOW_HOME=str(data / "airflow"),
               NENGTAN_ALERTS_ENABLED="0", NENGTAN_DUCKDB_MEMORY_LIMIT="1GB", PYTHONUNBUFFERED="1", **extra)
    return env


def _nengtan(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nengtan.cli", *args], env=env, capture_output=True, text=True,
                          timeout=1200)


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory):
    """A tiny city; one data root served by a worker, one run without."""
    from nengtan.tools.generate import generate_city

    base = tmp_path_factory.mktemp("worker")
    landing = base / "landing"
    generate_city(landing, date(2025, 3, 1), 2, 3, parks=1, seed=5, fault_rate=0.02)
    served, alone = base / "served", base / "alone"
    env = _env(served, landing)
    worker = subprocess.Popen([sys.executable, "-m", "nengtan.cli", "worker", "--idle-exit", "1200"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    sock = socket_path(served)
    deadline = time.monotonic() + 600
    while not sock.exists():
        assert worker.poll() is None, f"the worker died: {worker.stdout.read()}"
        assert time.monotonic() < deadline, "the worker did not listen within 10 minutes"
        time.sleep(0.5)
    yield {"landing": landing, "served": served, "alone": alone, "worker": worker}
    worker.send_signal(signal.SIGTERM)
    worker.wait(120)
    assert not sock.exists(), "the worker left its socket behind"


def _runs(data: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(data / "airflow" / "airflow.db") as con:
        return con.execute("SELECT dag_id, state FROM dag_run ORDER BY id").fetchall()


def _marts(data: Path) -> dict[str, tuple[int, int, int]]:
    """Every served mart's rows, hashed without the columns that stamp a run (``*_at``, run ids)."""
    con = duckdb.connect(str(data / "serving" / "nengtan.duckdb"), read_only=True)
    try:
        out = {}
        for (table,) in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' "
                                    "ORDER BY 1").fetchall():
            columns = [(c, t) for c, t in con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'marts' "
                "AND table_name = ? ORDER BY ordinal_position", [table]).fetchall()
                if not c.endswith("_at") and "run_id" not in c]
            out[table] = row_sums(con, f'marts."{table}"', columns)
        return out
    finally:
        con.close()


@pytest.fixture(scope="module")
def nights(roots):
    served = _nengtan(_env(roots["served"], roots["landing"], NENGTAN_WORKER="1"), "nightly", "--date", str(DAY))
    alone = _nengtan(_env(roots["alone"], roots["landing"], NENGTAN_WORKER="0"), "nightly", "--date", str(DAY))
    return served, alone


def test_a_night_in_the_worker_is_the_night_run_alone(roots, nights) -> None:
    served, alone = nights
    assert served.returncode == 0, served.stdout + served.stderr
    assert alone.returncode == 0, alone.stdout + alone.stderr
    assert "ran in the night worker's child" in served.stderr
    assert "ran in the night worker's child" not in alone.stderr
    assert f"night {DAY}: success" in served.stdout  # the child's output reaches the client's terminal
    assert _runs(roots["served"]) == [(d, "success") for d in NIGHT_DAGS]
    assert _runs(roots["alone"]) == [(d, "success") for d in NIGHT_DAGS]
    marts = _marts(roots["served"])
    assert marts and marts == _marts(roots["alone"])
    # the night's tasks deferred their checkpoints to one at its end: no WAL is left beside the warehouse
    for root in ("served", "alone"):
        assert not (roots[root] / "warehouse" / "nengtan.duckdb.wal").exists()


def test_a_rerun_in_the_worker_changes_nothing(roots, nights) -> None:
    before = _marts(roots["served"])
    again = _nengtan(_env(roots["served"], roots["landing"], NENGTAN_WORKER="1"), "nightly", "--date", str(DAY))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "loaded      0 files" in again.stdout
    assert _marts(roots["served"]) == before


def test_a_worker_night_waits_for_the_night_lock(roots, nights, monkeypatch) -> None:
    from nengtan.config import settings
    from nengtan.nightlock import NightRunning, night_lock

    monkeypatch.setenv("NENGTAN_DATA", str(roots["served"]))
    env = _env(roots["served"], roots["landing"], NENGTAN_WORKER="1", NENGTAN_NIGHT_LOCK_WAIT="1")
    with night_lock(DAY, cfg=settings()):
        blocked = _nengtan(env, "nightly", "--date", str(DAY))
    assert blocked.returncode == NightRunning.exit_code, blocked.stdout + blocked.stderr
    assert "another night is running" in blocked.stderr
    assert "ran in the night worker's child" in blocked.stderr


def test_a_client_with_other_airflow_settings_is_refused(roots, nights) -> None:
    runs = _runs(roots["served"])
    env = _env(roots["served"], roots["landing"], NENGTAN_WORKER="1", AIRFLOW__CORE__PARALLELISM="7")
    refused = _nengtan(env, "nightly", "--date", str(DAY))
    assert refused.returncode == 1
    assert "refused" in refused.stderr and "Airflow settings" in refused.stderr
    assert _runs(roots["served"]) == runs  # no run was started
