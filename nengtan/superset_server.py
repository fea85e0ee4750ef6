"""Start and stop a Superset server from its own virtualenv (.venv-superset).

Superset needs SQLAlchemy 1.4 and Airflow 2.x, so it cannot be imported here; the pipeline
drives it as a subprocess. ``start`` prepares the metadata DB (upgrade + init only when the
installed Superset version changed since the last start, which makes restarts fast), runs
dashboards/bootstrap.py (admin, assets, roles, row-level security; idempotent) and then
launches gunicorn on 127.0.0.1:PORT.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from nengtan.config import REPO_ROOT, Settings, settings

SUPERSET_VENV = Path(os.environ.get("NENGTAN_SUPERSET_VENV", REPO_ROOT / ".venv-superset"))
DASHBOARDS_DIR = REPO_ROOT / "dashboards"
CONFIG_PATH = DASHBOARDS_DIR / "superset_config.py"
_STAMP = ".nengtan_schema_stamp"


def superset_env(cfg: Settings | None = None, env_extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for every Superset subprocess: paths from the pipeline settings."""
    cfg = cfg or settings()
    env = dict(os.environ)
    env.update({
        "SUPERSET_CONFIG_PATH": str(CONFIG_PATH),
        "NENGTAN_DATA": str(cfg.data),
        "SUPERSET_HOME": str(cfg.superset_home),
        "NENGTAN_SERVING_DB": str(cfg.serving_db),
        "FLASK_APP": "superset.app:create_app()",
        "PYTHONUNBUFFERED": "1",
    })
    env.pop("PYTHONPATH", None)  # the pipeline's packages must not leak into Superset's interpreter
    env.pop("VIRTUAL_ENV", None)
    if env_extra:
        env.update(env_extra)
    return env


def _installed_version() -> str:
    dist = list((SUPERSET_VENV / "lib").glob("python3*/site-packages/apache_superset-*.dist-info"))
    return dist[0].name if dist else "unknown"


def _run(args: list[str], env: dict[str, str], log: Path, what: str) -> None:
    with log.open("ab") as out:
        out.write(f"\n==> {what}: {' '.join(args)}\n".encode())
        out.flush()
        proc = subprocess.run(args, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=DASHBOARDS_DIR)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"superset {what} failed (exit {proc.returncode}); log {log}:\n{tail}")


def prepare(cfg: Settings | None = None, env_extra: Mapping[str, str] | None = None) -> Path:
    """Upgrade/init the metadata DB if needed and bootstrap; returns the log file."""
    cfg = cfg or settings()
    env = superset_env(cfg, env_extra)
    home = Path(env["SUPERSET_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    log = home / "superset.log"
    superset = str(SUPERSET_VENV / "bin" / "superset")
    stamp = home / _STAMP
    version = _installed_version()
    if not (stamp.exists() and stamp.read_text() == version and (home / "superset.db").exists()):
        _run([superset, "db", "upgrade"], env, log, "db upgrade")
        _run([superset, "init"], env, log, "init")
        stamp.write_text(version)
    _run([str(SUPERSET_VENV / "bin" / "python"), str(DASHBOARDS_DIR / "bootstrap.py")], env, log, "bootstrap")
    return log


def start(port: int, cfg: Settings | None = None, env_extra: Mapping[str, str] | None = None,
          workers: int = 1, threads: int = 8) -> subprocess.Popen[bytes]:
    """Prepare, then launch gunicorn on 127.0.0.1:port; returns at once (see wait_ready)."""
    cfg = cfg or settings()
    log = prepare(cfg, env_extra)
    env = superset_env(cfg, env_extra)
    args = [
        str(SUPERSET_VENV / "bin" / "gunicorn"),
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads),
        "--timeout", "120", "--limit-request-line", "0", "--limit-request-field_size", "0",
        "superset.app:create_app()",
    ]
    out = log.open("ab")
    try:
        return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=DASHBOARDS_DIR,
                                start_new_session=True)
    finally:
        out.close()


def wait_ready(url: str, timeout: float = 120.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Poll {url}/health until it answers OK; raise if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    health = url.rstrip("/") + "/health"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"Superset exited with code {proc.returncode} before answering {health}")
        try:
            with urllib.request.urlopen(health, timeout=5) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"Superset did not answer {health} within {timeout:.0f}s")


def stop(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """Stop gunicorn and its workers (it runs in its own process group)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout)
