"""`make demo`'s Airflow, started the way the demo starts it over the demo's own pipeline run
(a small generated city): it holds no failed and no unrequested DAG run after start-up, after a
CLI night run from another terminal while it serves (which mails into the demo's sink), and —
with the asset chain unpaused as in production — a CLI night still runs each DAG exactly once.
The REST API answers on 127.0.0.1 only."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from nengtan.netutil import free_port
from nengtan.orchestration.dag_runner import NIGHT_DAGS  # the chain as the CLI runs it (M&V included)

ENTERPRISES = 4
DEMO_DAYS = 59  # the demo's nights: its first 59 days (the first month final, the second not yet)
LANDED_DAYS = 61  # the landing zone holds two more days: the CLI nights of days 60 and 61
PASSWORD = "demo-test-password"
QUIET_WAIT_S = 30  # scheduler loops to let pass before counting (it would have acted by then)


class DemoAirflow:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.procs: list[subprocess.Popen] = []
        self.sink: Any = None
        self.token = ""

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a user's terminal: no mail relay, this demo's folders."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "NENGTAN_"))}
        env.update({
            "NENGTAN_DATA": str(self.root / "data"),
            "NENGTAN_LANDING": str(self.root / "landing"),
            "AIRFLOW_HOME": str(self.root / "data" / "airflow"),
            "NENGTAN_AIRFLOW_PORT": str(self.port),
            "NENGTAN_DEMO_PASSWORD": PASSWORD,
            "NENGTAN_DUCKDB_MEMORY_LIMIT": "1GB",
            # ports of their own, so this test does not collide with another Airflow on the machine
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(free_port()),
            "PYTHONUNBUFFERED": "1",
        })
        env.update(extra)
        return env

    def nengtan(self, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "nengtan.cli", *args], env=self.env(), capture_output=True,
                              text=True, timeout=timeout)

    def api(self, method: str, path: str, body: dict | None = None) -> Any:
        req = urllib.request.Request(f"{self.url}{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {self.token}"} if self.token else {})})
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - the test's own server
            return json.loads(resp.read() or b"null")

    def runs(self) -> list[dict[str, Any]]:
        return self.api("GET", "/api/v2/dags/~/dagRuns?limit=500")["dag_runs"]


def _wait(what: str, probe, timeout: float, procs: list[subprocess.Popen]) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        dead = [p.args for p in procs if p.poll() is not None]
        assert not dead, f"an Airflow component exited while waiting for {what}: {dead}"
        try:
            last = probe()
            if last:
                return last
        except (OSError, urllib.error.URLError, KeyError, ValueError) as exc:
            last = exc
        time.sleep(3)
    raise AssertionError(f"timed out waiting for {what}: {last!r}")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> DemoAirflow:
    from nengtan.alerts import mail_sink
    from nengtan.config import settings
    from nengtan.tools import demo as demo_mod

    d = DemoAirflow(tmp_path_factory.mktemp("demo"))
    gen = d.nengtan("generate", "--out", str(d.root / "landing"), "--start", str(demo_mod.DEMO_START),
                    "--days", str(LANDED_DAYS), "--enterprises", str(ENTERPRISES), "--parks", "3", "--quiet")
    assert gen.returncode == 0, gen.stderr[-3000:]
    # `make demo` up to its UIs: the demo's night (28 February) and its monthly reports
    pipeline = d.nengtan("demo", "--no-serve", "--enterprises", str(ENTERPRISES), "--days", str(DEMO_DAYS))
    assert pipeline.returncode == 0, pipeline.stdout[-3000:] + pipeline.stderr[-3000:]
    assert "monthly report run: success" in pipeline.stdout
    # ... then its mail sink and its Airflow, as serve_uis starts them
    mp = pytest.MonkeyPatch()
    for key, value in d.env().items():
        mp.setenv(key, value)
    for key in [k for k in os.environ if k.startswith(("AIRFLOW__", "NENGTAN_")) and k not in d.env()]:
        mp.delenv(key)
    try:
        cfg = settings()
        sink = mail_sink.start(cfg.data / "mail")
        assert sink is not None, "aiosmtpd (a dev dependency) is needed for the demo's mail sink"
        d.sink = sink[0]
        mp.setenv("NENGTAN_SMTP_HOST", "127.0.0.1")
        mp.setenv("NENGTAN_SMTP_PORT", str(sink[1]))
        d.procs = demo_mod.start_airflow(cfg, PASSWORD)
    finally:
        mp.undo()
    try:
        _wait("the API server", lambda: d.api("GET", "/api/v2/monitor/health")["scheduler"]["status"] == "healthy",
              300, d.procs)
        d.token = d.api("POST", "/auth/token", {"username": "admin", "password": PASSWORD})["access_token"]
        _wait("the DAG processor", lambda: d.api("GET", "/api/v2/dags?limit=100")["total_entries"] >= 4,
              300, d.procs)
        time.sleep(QUIET_WAIT_S)
        yield d
    finally:
        for p in d.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in d.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        mail_sink.stop(d.sink, d.root / "data" / "mail")


def _by_dag(runs: list[dict[str, Any]]) -> Counter:
    return Counter(r["dag_id"] for r in runs)


def _assert_all_requested(runs: list[dict[str, Any]]) -> None:
    failed = [(r["dag_id"], r["dag_run_id"]) for r in runs if r["state"] != "success"]
    assert not failed, f"failed or unfinished runs: {failed}"
    scheduled = [(r["dag_id"], r["dag_run_id"]) for r in runs if r["run_type"] == "scheduled"]
    assert not scheduled, f"runs the scheduler started on its own: {scheduled}"


def test_startup_holds_only_the_demos_runs(demo: DemoAirflow) -> None:
    runs = demo.runs()
    _assert_all_requested(runs)
    assert {r["run_type"] for r in runs} == {"manual"}, "the scheduler started runs over the demo's history"
    counts = _by_dag(runs)
    assert all(counts[d] == 1 for d in NIGHT_DAGS), counts  # one night, each DAG once
    assert counts["nengtan_monthly_report"] >= 1
    dags = {d["dag_id"]: d for d in demo.api("GET", "/api/v2/dags?limit=100")["dags"]}
    assert all(dags[d]["is_paused"] for d in (*NIGHT_DAGS, "nengtan_monthly_report"))
    # every run took as long as it ran (dag.test stamped the start with the logical date: "249d 4h")
    from datetime import datetime

    for r in runs:
        took = datetime.fromisoformat(r["end_date"]) - datetime.fromisoformat(r["start_date"])
        assert took.total_seconds() < 3600, (r["dag_id"], r["start_date"], r["end_date"])


def test_api_listens_on_loopback_only(demo: DemoAirflow) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            address = s.getsockname()[0]
        except OSError:
            address = "127.0.0.1"
    if address.startswith("127."):
        pytest.skip("this machine has no non-loopback IPv4 address to try")
    with pytest.raises(OSError):
        socket.create_connection((address, demo.port), timeout=3).close()


def _day(n: int) -> str:
    """The demo's n-th day (1 = DEMO_START)."""
    from datetime import timedelta

    from nengtan.tools.demo import DEMO_START

    return (DEMO_START + timedelta(days=n - 1)).isoformat()


def test_cli_night_while_the_demo_serves_runs_each_dag_once(demo: DemoAirflow) -> None:
    before = {(r["dag_id"], r["dag_run_id"]) for r in demo.runs()}
    mails_before = set((demo.root / "data" / "mail").glob("*.eml"))
    night = demo.nengtan("nightly", "--date", _day(DEMO_DAYS + 1))
    assert night.returncode == 0, night.stdout[-3000:] + night.stderr[-3000:]
    assert "the demo's mail sink" in night.stdout  # found without NENGTAN_SMTP_HOST
    assert "serving " in night.stdout and "task logs" in night.stdout  # where the outputs went
    assert "Task instance state updated" not in night.stdout + night.stderr  # quiet: no Airflow chatter
    time.sleep(QUIET_WAIT_S)
    runs = demo.runs()
    _assert_all_requested(runs)
    new = [r for r in runs if (r["dag_id"], r["dag_run_id"]) not in before]
    assert _by_dag(new) == Counter(NIGHT_DAGS), [(r["dag_id"], r["run_type"]) for r in new]
    if " sent" in next(line for line in night.stdout.splitlines() if "digests" in line):
        assert set((demo.root / "data" / "mail").glob("*.eml")) - mails_before, "digests sent, none in the sink"


def test_cli_night_with_the_chain_unpaused_runs_each_dag_once(demo: DemoAirflow) -> None:
    """Production: the scheduler serves transform and checks/publish; the CLI's load run's
    asset event is followed by exactly one run of each, which the CLI waits for."""
    chain = NIGHT_DAGS[1:]  # transform, M&V, checks/publish
    for dag_id in chain:
        demo.api("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
    try:
        before = {(r["dag_id"], r["dag_run_id"]) for r in demo.runs()}
        night = demo.nengtan("nightly", "--date", _day(DEMO_DAYS + 2))
        assert night.returncode == 0, night.stdout[-3000:] + night.stderr[-3000:]
        assert night.stdout.count("by the Airflow scheduler") == len(chain), night.stdout
        time.sleep(QUIET_WAIT_S)
        runs = demo.runs()
        _assert_all_requested(runs)
        new = [r for r in runs if (r["dag_id"], r["dag_run_id"]) not in before]
        assert _by_dag(new) == Counter(NIGHT_DAGS), [(r["dag_id"], r["run_type"]) for r in new]
        assert {r["run_type"] for r in new if r["dag_id"] in chain} == {"asset_triggered"}
    finally:
        for dag_id in chain:
            demo.api("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": True})
