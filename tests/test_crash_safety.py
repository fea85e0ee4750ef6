"""A night killed with SIGKILL at each stage, then rerun, ends exactly where an
uninterrupted night ends; while it lies dead, the serving copy shows the last good night.

Each run is a real ``nengtan nightly`` process (real DAGs through Airflow) that kills
itself at the named point (nengtan.crashpoints)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from nengtan.crashpoints import POINTS
from tests.digests import table_digest

START = date(2026, 3, 2)
DAYS = 3
NIGHT_1 = START + timedelta(days=DAYS - 2)
NIGHT_2 = START + timedelta(days=DAYS - 1)


def _night(day: date, data: Path, landing: Path, crash_at: str | None = None) -> subprocess.CompletedProcess:
    # batches of ~one file: a load killed at its third file has committed two batches already
    env = {**os.environ, "NENGTAN_DATA": str(data), "NENGTAN_LANDING": str(landing), "NENGTAN_LOAD_BATCH_MB": "0.01"}
    env.pop("NENGTAN_CRASH_AT", None)
    if crash_at:
        env["NENGTAN_CRASH_AT"] = crash_at
    return subprocess.run([sys.executable, "-m", "nengtan.cli", "nightly", "--date", day.isoformat()],
                          env=env, capture_output=True, text=True, timeout=900)


def _published_day(serving: Path) -> date:
    con = duckdb.connect(str(serving), read_only=True)
    try:
        return con.execute("SELECT data_day FROM meta.publication").fetchone()[0]
    finally:
        con.close()


@pytest.fixture(scope="module")
def crash_world(tmp_path_factory):
    """A tiny city; a reference data root after night 1 (to copy) and after night 2."""
    from nengtan.tools.generate import generate_city

    root = tmp_path_factory.mktemp("crash")
    landing = root / "landing"
    generate_city(landing, START, DAYS, 4, parks=1, seed=11, fault_rate=0.02)
    after_1 = root / "after_night_1"
    first = _night(NIGHT_1, after_1, landing)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    reference = root / "reference"
    shutil.copytree(after_1, reference)
    second = _night(NIGHT_2, reference, landing)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    return landing, after_1, reference


@pytest.mark.parametrize("point", POINTS)
def test_killed_night_reruns_to_the_uninterrupted_state(point: str, crash_world, tmp_path: Path) -> None:
    landing, after_1, reference = crash_world
    data = tmp_path / "data"
    shutil.copytree(after_1, data)

    killed = _night(NIGHT_2, data, landing, crash_at=point)
    assert killed.returncode == -signal.SIGKILL, f"the run was meant to die at {point}: rc={killed.returncode}"
    # While the night lies dead, readers see the last good night, whole.
    assert _published_day(data / "serving" / "nengtan.duckdb") == NIGHT_1

    rerun = _night(NIGHT_2, data, landing)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert table_digest(data / "warehouse" / "nengtan.duckdb") == table_digest(
        reference / "warehouse" / "nengtan.duckdb")
    assert table_digest(data / "serving" / "nengtan.duckdb", ("marts",)) == table_digest(
        reference / "serving" / "nengtan.duckdb", ("marts",))
    assert _published_day(data / "serving" / "nengtan.duckdb") == NIGHT_2
