"""`nengtan report` as a user runs it, in a terminal beside a running demo (its mail sink up,
no NENGTAN_SMTP_HOST): a month without data, or not final, is refused with the reason and a
non-zero exit, before any DAG run, and nothing is mailed; a provisional edition is rendered and
mailed to no one; a final month is mailed into the demo's sink; the output is quiet and says
where the reports went."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from nengtan.alerts import mail_sink


@pytest.fixture(scope="module")
def terminal(tmp_path_factory):
    from nengtan.report.sample import build_sample_serving

    root = tmp_path_factory.mktemp("cli")
    data = root / "data"
    # February is published through 28 February (published day 10 March): two declarations are
    # outstanding and their deadline (15 March) has not passed; January is final.
    build_sample_serving(data / "serving" / "nengtan.duckdb", through=date(2026, 2, 28), outstanding=2)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "NENGTAN_"))}
    env.update(NENGTAN_DATA=str(data), NENGTAN_LANDING=str(root / "landing"), AIRFLOW_HOME=str(data / "airflow"),
               PYTHONUNBUFFERED="1")
    controller, _ = mail_sink.start(data / "mail")  # the running demo's sink

    def nengtan(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "nengtan.cli", *args], env=env, capture_output=True, text=True,
                              timeout=1200)

    yield nengtan, data
    mail_sink.stop(controller, data / "mail")


def _dag_runs(data: Path) -> list[tuple]:
    db = data / "airflow" / "airflow.db"
    if not db.exists():
        return []
    with sqlite3.connect(db) as con:
        tables = {t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return con.execute("SELECT dag_id, run_id, state FROM dag_run").fetchall() if "dag_run" in tables else []


def _mails(data: Path) -> list[Path]:
    return sorted((data / "mail").glob("*.eml"))


def test_a_month_without_data_is_refused_before_any_run(terminal) -> None:
    nengtan, data = terminal
    run = nengtan("report", "--month", "2024-06")
    assert run.returncode == 2, run.stdout + run.stderr
    assert "no data" in run.stderr and "nothing rendered, nothing mailed" in run.stderr
    assert _dag_runs(data) == [], "a refused month starts no DAG run"
    assert _mails(data) == []


def test_a_month_not_final_is_refused_unless_provisional(terminal) -> None:
    nengtan, data = terminal
    run = nengtan("report", "--month", "2026-02")
    assert run.returncode == 2 and "not final" in run.stderr and "2026-03-15" in run.stderr, run.stderr
    assert "--provisional" in run.stderr
    run = nengtan("report", "--month", "2026-02", "--provisional")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "provisional edition" in run.stdout and "not mailed" in run.stdout
    assert str(data / "reports" / "provisional") in run.stdout  # where the reports went
    assert "the demo's mail sink" in run.stdout  # it would have mailed there, had it been asked
    assert "Task instance state updated" not in run.stdout + run.stderr  # quiet
    assert _mails(data) == []
    assert [state for _, _, state in _dag_runs(data)] == ["success"]  # the refusal ran nothing


def test_a_final_month_is_mailed_into_the_demo_sink(terminal) -> None:
    nengtan, data = terminal
    run = nengtan("report", "--month", "2026-01")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "mailed to" in run.stdout and str(data / "reports" / "2026-01") in run.stdout
    assert _mails(data), "the final reports went nowhere"
