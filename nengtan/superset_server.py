"""Start and stop a Superset server from its own virtualenv (.venv-superset).

Superset needs SQLAlchemy 1.4 and Airflow 2.x, so it cannot be imported here; the pipeline
drives it as a subprocess. ``start`` prepares the metadata DB (upgrade + init only when the
installed Superset version changed since the last start), runs dashboards/bootstrap.py
(admin, assets, roles, row-level security; idempotent) only when something it depends on
changed, and then launches gunicorn on 127.0.0.1:PORT (NENGTAN_SUPERSET_HOST to listen elsewhere).
A repeated start is just gunicorn.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sqlite3
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
_BOOTSTRAP_STAMP = ".nengtan_bootstrap_stamp"


def bind_host(env: Mapping[str, str] | None = None) -> str:
    """Where gunicorn listens: loopback unless NENGTAN_SUPERSET_HOST says otherwise (e.g. 0.0.0.0
    behind a reverse proxy). The demo's admin password is public, so never all interfaces by default."""
    env = os.environ if env is None else env
    return env.get("NENGTAN_SUPERSET_HOST", "").strip() or "127.0.0.1"


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
    metadata_db = home / "superset.db"
    if not (stamp.exists() and stamp.read_text() == version and metadata_db.exists()):
        template = _template_path(version)
        if not metadata_db.exists() and template.exists() and "SUPERSET_DATABASE_URI" not in env:
            shutil.copyfile(template, metadata_db)  # migrated + initialised, no users or assets yet
            with log.open("ab") as out:
                out.write(f"\n==> metadata DB from template {template}\n".encode())
        else:
            _run([superset, "db", "upgrade"], env, log, "db upgrade")
            _run([superset, "init"], env, log, "init")
            if "SUPERSET_DATABASE_URI" not in env and not _has_users(metadata_db):
                _save_template(metadata_db, template)
        stamp.write_text(version)
        (home / _BOOTSTRAP_STAMP).unlink(missing_ok=True)
    fingerprint = bootstrap_fingerprint(env, version)
    done = home / _BOOTSTRAP_STAMP
    if not (done.exists() and done.read_text() == fingerprint):
        done.unlink(missing_ok=True)
        _run([str(SUPERSET_VENV / "bin" / "python"), str(DASHBOARDS_DIR / "bootstrap.py")], env, log, "bootstrap")
        done.write_text(bootstrap_fingerprint(env, version))  # it may have written the users file
    return log


def _template_path(version: str) -> Path:
    """A freshly migrated metadata DB per Superset version and config: saves ~30 s per new home."""
    cache = Path(os.environ.get("NENGTAN_SUPERSET_CACHE", Path.home() / ".cache" / "nengtan" / "superset"))
    key = hashlib.sha256(version.encode() + CONFIG_PATH.read_bytes()).hexdigest()[:16]
    return cache / f"metadata-{key}.db"


def _has_users(db: Path) -> bool:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT count(*) FROM ab_user").fetchone()[0] > 0
    finally:
        con.close()


def _save_template(db: Path, template: Path) -> None:
    try:
        template.parent.mkdir(parents=True, exist_ok=True)
        tmp = template.with_suffix(f".{os.getpid()}.tmp")
        shutil.copyfile(db, tmp)
        os.replace(tmp, template)
    except OSError:
        pass  # only a cache


def bootstrap_fingerprint(env: Mapping[str, str], version: str) -> str:
    """Everything bootstrap.py's result depends on; unchanged means the metadata DB is current.

    Assets, credentials, the serving file's path, and the marts' columns plus the registry
    (parks, enterprises) in it: a new park after a publish reruns the bootstrap.
    """
    digest = hashlib.sha256(version.encode())
    for path in sorted((DASHBOARDS_DIR / "assets").rglob("*.yaml")) + [DASHBOARDS_DIR / "bootstrap.py"]:
        digest.update(path.as_posix().encode() + path.read_bytes())
    for name in ("SUPERSET_ADMIN_USER", "SUPERSET_ADMIN_PASSWORD", "SUPERSET_SECRET_KEY", "NENGTAN_SERVING_DB",
                 "NENGTAN_SUPERSET_USERS_PASSWORD", "NENGTAN_SUPERSET_ENTERPRISE_USERS", "NENGTAN_DEMO"):
        digest.update(f"{name}={env.get(name, '')}\n".encode())
    serving = Path(env["NENGTAN_SERVING_DB"])
    if serving.exists():
        import duckdb

        con = duckdb.connect(str(serving), read_only=True)
        try:
            for query in (
                "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema IN ('marts', 'quality') ORDER BY ALL",
                "SELECT park_id FROM marts.dim_parks ORDER BY ALL",
                "SELECT credit_code, park_id FROM marts.dim_enterprises ORDER BY ALL",
            ):
                try:
                    digest.update(repr(con.execute(query).fetchall()).encode())
                except duckdb.Error as exc:
                    digest.update(str(exc).encode())
        finally:
            con.close()
    users = Path(env["SUPERSET_HOME"]) / "nengtan_users.json"
    digest.update(users.read_bytes() if users.exists() else b"-")
    return digest.hexdigest()


def start(port: int, cfg: Settings | None = None, env_extra: Mapping[str, str] | None = None,
          workers: int = 1, threads: int = 8) -> subprocess.Popen[bytes]:
    """Prepare, then launch gunicorn on bind_host(env):port; returns at once (see wait_ready)."""
    cfg = cfg or settings()
    log = prepare(cfg, env_extra)
    env = superset_env(cfg, env_extra)
    args = [
        str(SUPERSET_VENV / "bin" / "gunicorn"),
        "--bind", f"{bind_host(env)}:{port}",
        "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads),
        "--timeout", "120", "--limit-request-line", "0", "--limit-request-field_size", "0",
        "--no-control-socket",  # its default path is per-user: two servers would collide
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
