"""Airflow on the CeleryExecutor on one machine: what docker/docker-compose.yml deploys, run
from this checkout's .venv without containers.

A PostgreSQL metadata DB (initdb + pg_ctl from Debian's ``postgresql``) and a Redis broker
(Debian's ``redis-server``) on free loopback ports under one temporary folder, then the
Airflow services a Celery deployment runs: api-server (REST and the task execution API),
scheduler, dag-processor and Celery workers. The Celery test runs a night through it; the
same settings (``celery_airflow_environ``) are the ones the containers get.

Secrets are generated per start (Postgres and Redis passwords, the JWT and API secrets, the
admin password) and live only in files under the cluster's folder (mode 0600) and in the
environment of the processes it starts. Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nengtan.config import Settings
from nengtan.netutil import free_port
from nengtan.orchestration.dag_runner import DAGS_DIR

# What every service of a Celery deployment must be told (docker-compose.yml or the image set
# them; the compose test checks): where the metadata DB, broker and execution API are, the
# shared secrets, and the nengtan data roots.
DEPLOYMENT_SETTINGS = (
    "AIRFLOW__CORE__EXECUTOR", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__BROKER_URL",
    "AIRFLOW__CELERY__RESULT_BACKEND", "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS",
    "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT", "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
    "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__CORE__DAGS_FOLDER",
    "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "AIRFLOW__CORE__DEFAULT_TIMEZONE", "AIRFLOW__CORE__LOAD_EXAMPLES",
    "NENGTAN_LANDING", "NENGTAN_DATA",
)
# Airflow's Celery settings plus the workers' preload of the tasks' heavy imports.
CELERY_CONFIG_OPTIONS = "nengtan.orchestration.celery_support.CELERY_CONFIG"
DUCKDB_POOL_ARGS = ("nengtan_duckdb", "1", "DuckDB allows one writer process")
ADMIN_USER = "nengtan"


class ClusterError(RuntimeError):
    """A service of the local Celery cluster did not start or stopped early (its log tail says why)."""


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


def postgres_bin_dir() -> Path:
    """Where Debian's PostgreSQL server binaries are (``/usr/lib/postgresql/<major>/bin``, newest)."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if candidates:
        return candidates[-1].parent
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise ClusterError("PostgreSQL server binaries (initdb, pg_ctl) not found: `make system` installs "
                       "Debian's postgresql package")


def _write_secret(path: Path, text: str, owner: tuple[int, int] | None = None) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    if owner:
        os.chown(path, *owner)
    return path


@dataclass
class LocalPostgres:
    """A throw-away PostgreSQL cluster on 127.0.0.1:``port``.

    PostgreSQL refuses to run as root: as root, the cluster's files belong to Debian's
    ``postgres`` system user and initdb/pg_ctl run as that user (as any other user, as itself).
    Its folder is a fresh one in the system's temporary directory, which that user can reach
    (a folder nested in a root-only one would not be), removed again by ``stop``.
    Durability settings are off: this cluster holds a test's or a demo's metadata, nothing else.
    """

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="nengtan-pg-")))
    port: int = field(default_factory=free_port)
    user: str = "airflow"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    database: str = "airflow"

    @property
    def data_dir(self) -> Path:
        return self.root / "pgdata"

    @property
    def log_path(self) -> Path:
        return self.root / "postgres.log"

    def url(self, driver: str = "postgresql+psycopg2") -> str:
        pw = urllib.parse.quote(self.password, safe="")
        return f"{driver}://{self.user}:{pw}@127.0.0.1:{self.port}/{self.database}"

    def _owner(self) -> tuple[int, int] | None:
        if os.geteuid() != 0:
            return None
        try:
            entry = pwd.getpwnam("postgres")
        except KeyError as exc:
            raise ClusterError("running as root, PostgreSQL needs the 'postgres' system user that "
                               "Debian's postgresql package creates (`make system`)") from exc
        return entry.pw_uid, entry.pw_gid

    def _run(self, args: list[str], owner: tuple[int, int] | None) -> None:
        kwargs: dict[str, Any] = {"user": owner[0], "group": owner[1], "extra_groups": []} if owner else {}
        with self.log_path.open("ab") as log:
            proc = subprocess.run(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  cwd=self.root, **kwargs)
        if proc.returncode != 0:
            raise ClusterError(f"{' '.join(args[:2])} failed ({proc.returncode}):\n{_tail(self.log_path)}")

    def start(self) -> LocalPostgres:
        bin_dir = postgres_bin_dir()
        owner = self._owner()
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o711 if owner else 0o700)  # the postgres user must reach its files
        self.log_path.touch()
        self.data_dir.mkdir(mode=0o700)
        if owner:
            os.chown(self.log_path, *owner)
            os.chown(self.data_dir, *owner)
        pwfile = _write_secret(self.root / "pgpass.init", self.password + "\n", owner)
        try:
            self._run([str(bin_dir / "initdb"), "-D", str(self.data_dir), "-U", self.user, f"--pwfile={pwfile}",
                       "-A", "scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"], owner)
        finally:
            pwfile.unlink(missing_ok=True)
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data_dir} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run([str(bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_path), "-w", "-t", "60",
                   "-o", options, "start"], owner)
        self._create_database()
        return self

    def _create_database(self) -> None:
        import psycopg2  # the 'distributed' extra

        con = psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, password=self.password,
                               dbname="postgres")
        try:
            con.autocommit = True
            with con.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{self.database}"')
        finally:
            con.close()

    def connect(self):
        import psycopg2

        return psycopg2.connect(host="127.0.0.1", port=self.port, user=self.user, password=self.password,
                                dbname=self.database)

    def stop(self) -> None:
        pid_file = self.data_dir / "postmaster.pid"
        if pid_file.exists():
            try:
                self._run([str(postgres_bin_dir() / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w",
                           "-t", "30", "stop"], self._owner())
            except ClusterError:
                if pid_file.exists():  # immediate shutdown of the postmaster we started
                    os.kill(int(pid_file.read_text().split()[0]), signal.SIGQUIT)
                    time.sleep(2)
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class LocalRedis:
    """A Redis broker on 127.0.0.1:``port`` with a password and no persistence."""

    root: Path
    port: int = field(default_factory=free_port)
    password: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    proc: subprocess.Popen | None = None

    @property
    def log_path(self) -> Path:
        return self.root / "redis.log"

    def url(self, db: int = 0) -> str:
        return f"redis://:{urllib.parse.quote(self.password, safe='')}@127.0.0.1:{self.port}/{db}"

    def start(self) -> LocalRedis:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(binary).exists():
            raise ClusterError("redis-server not found: `make system` installs Debian's redis-server package")
        self.root.mkdir(parents=True, exist_ok=True)
        conf = _write_secret(self.root / "redis.conf", "\n".join([
            "bind 127.0.0.1", f"port {self.port}", f"requirepass {self.password}", 'save ""',
            "appendonly no", f"dir {self.root}", f"logfile {self.log_path}", "daemonize no", ""]))
        self.proc = subprocess.Popen([binary, str(conf)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        _wait(lambda: self._ping(), 30, f"redis-server on port {self.port}", [(self.proc, self.log_path)])
        return self

    def _ping(self) -> bool:
        import redis  # the 'distributed' extra

        try:
            return bool(redis.Redis(host="127.0.0.1", port=self.port, password=self.password,
                                    socket_timeout=2).ping())
        except redis.exceptions.ConnectionError:
            return False

    def stop(self) -> None:
        _stop_process(self.proc)


def celery_airflow_environ(cfg: Settings, *, airflow_home: Path, metadata_url: str, broker_url: str,
                           api_port: int, jwt_secret: str, api_secret: str,
                           result_backend_url: str | None = None) -> dict[str, str]:
    """The Airflow settings of a CeleryExecutor deployment (docker-compose.yml sets the same keys)."""
    result_backend = result_backend_url or "db+" + metadata_url.replace("+psycopg2", "")
    return {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Shanghai",
        # New DAGs start paused: an operator (or the test) unpauses the nightly chain on purpose.
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(airflow_home / "passwords.json"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": result_backend,
        "AIRFLOW__CELERY__SYNC_PARALLELISM": "1",
        "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": CELERY_CONFIG_OPTIONS,
        # A message not acknowledged in this long is redelivered: longer than any night's task.
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "86400",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
        "AIRFLOW__API__SECRET_KEY": api_secret,
        "AIRFLOW__API_AUTH__JWT_SECRET": jwt_secret,
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        # DAG files change with a deploy, not during a night: re-parse every 2 minutes, not 30 s.
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "120",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(cfg.logs_dir / "airflow"),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        "NENGTAN_LANDING": str(cfg.landing),
        "NENGTAN_DATA": str(cfg.data),
    }


def _stop_process(proc: subprocess.Popen | None, grace: float = 20) -> None:
    """Stop a process we started in its own session, and its children, by its process group."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


def _wait(ready, timeout: float, what: str, watched: Iterable[tuple[subprocess.Popen, Path]] = ()) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        for proc, log in watched:
            if proc.poll() is not None:
                raise ClusterError(f"{what}: a process exited ({proc.returncode}) while starting:\n{_tail(log)}")
        time.sleep(1)
    raise ClusterError(f"{what} not ready after {timeout:.0f} s")


class CeleryCluster:
    """Postgres + Redis + the Airflow services of a Celery deployment, for one data root.

    Use as a context manager: everything it started is stopped on exit, whatever happened.
    """

    SERVICES = ("api-server", "scheduler", "dag-processor", "celery worker")

    def __init__(self, cfg: Settings, *, workers: int = 1, concurrency: int = 1,
                 root: Path | None = None, base_env: Mapping[str, str] | None = None) -> None:
        self.cfg = cfg
        self.workers = workers
        self.concurrency = concurrency
        self.root = root or Path(tempfile.mkdtemp(prefix="nengtan-celery-"))
        self.postgres = LocalPostgres()
        self.redis = LocalRedis(self.root / "redis")
        self.api_port = free_port()
        self.airflow_home = self.root / "airflow"
        self.admin_password = secrets.token_urlsafe(18)
        self.procs: list[tuple[str, subprocess.Popen, Path]] = []
        self.timings: dict[str, float] = {}  # seconds per start-up step
        self._token: str | None = None
        inherited = {k: v for k, v in (base_env if base_env is not None else os.environ).items()
                     if not k.upper().startswith(("AIRFLOW", "_AIRFLOW"))}
        self.env = {**inherited, "PYTHONUNBUFFERED": "1"}

    # -- lifecycle -------------------------------------------------------------------
    def __enter__(self) -> CeleryCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start(self) -> None:
        self.cfg.ensure_dirs()
        t0 = time.monotonic()
        self.postgres.start()
        self.redis.start()
        self.timings["postgres_redis"] = time.monotonic() - t0
        self.airflow_home.mkdir(parents=True, exist_ok=True)
        _write_secret(self.airflow_home / "passwords.json", json.dumps({ADMIN_USER: self.admin_password}))
        self.env.update(celery_airflow_environ(
            self.cfg, airflow_home=self.airflow_home, metadata_url=self.postgres.url(),
            broker_url=self.redis.url(), api_port=self.api_port, jwt_secret=secrets.token_urlsafe(64),
            api_secret=secrets.token_urlsafe(32)))
        t0 = time.monotonic()
        self.airflow("db", "migrate")
        self.airflow("pools", "set", *DUCKDB_POOL_ARGS)
        self.timings["migrate"] = time.monotonic() - t0
        t0 = time.monotonic()
        self._spawn("api-server", ["api-server", "--port", str(self.api_port), "--host", "127.0.0.1",
                                   "--workers", "1"])
        self._spawn("scheduler", ["scheduler"])
        self._spawn("dag-processor", ["dag-processor"])
        for n in range(self.workers):
            self._spawn(f"celery-worker-{n}", ["celery", "worker", "--concurrency", str(self.concurrency),
                                               "--celery-hostname", f"nengtan-{n}@%h", "--without-gossip",
                                               "--without-mingle", "--skip-serve-logs"])
        _wait(self._healthy, 240, "Airflow api-server, scheduler and dag-processor",
              [(p, log) for _, p, log in self.procs])
        self.timings["services"] = time.monotonic() - t0

    def stop(self, grace: float = 30) -> None:
        """SIGTERM to every Airflow service at once (each shuts down gracefully: the scheduler
        and the workers finish what they hold), SIGKILL to what is left after ``grace``; then
        the broker and the metadata DB."""
        running = [proc for _, proc, _ in self.procs if proc.poll() is None]
        for proc in running:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        for proc in running:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _stop_process(proc, grace=0)
        for proc in running:  # children left behind by a service that exited (task processes)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.redis.stop()
        self.postgres.stop()

    # -- helpers ---------------------------------------------------------------------
    def airflow(self, *args: str, timeout: float = 300) -> str:
        """One Airflow CLI command against this cluster's metadata DB (fails loudly)."""
        proc = subprocess.run([sys.executable, "-m", "airflow", *args], env=self.env, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            raise ClusterError(f"airflow {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
        return proc.stdout

    def _spawn(self, name: str, args: list[str]) -> None:
        log = self.root / f"{name}.log"
        with log.open("ab") as out:
            proc = subprocess.Popen([sys.executable, "-m", "airflow", *args], env=self.env, stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs.append((name, proc, log))

    def check_alive(self) -> None:
        for name, proc, log in self.procs:
            if proc.poll() is not None:
                raise ClusterError(f"{name} exited ({proc.returncode}):\n{_tail(log)}")

    def logs(self, lines: int = 30) -> str:
        return "\n\n".join(f"--- {name} ({log}) ---\n{_tail(log, lines)}" for name, _, log in self.procs)

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.api}/api/v2/monitor/health", timeout=5) as resp:
                health = json.load(resp)
        except (urllib.error.URLError, OSError, ValueError):
            return False
        return all((health.get(part) or {}).get("status") == "healthy"
                   for part in ("metadatabase", "scheduler", "dag_processor"))

    # -- REST API --------------------------------------------------------------------
    def request(self, method: str, path: str, body: Any = None) -> Any:
        """A call to Airflow's REST API as the cluster's admin; returns the decoded JSON."""
        if self._token is None:
            self._token = self._call("POST", "/auth/token",
                                     {"username": ADMIN_USER, "password": self.admin_password},
                                     token=None)["access_token"]
        return self._call(method, path, body, token=self._token)

    def _call(self, method: str, path: str, body: Any, token: str | None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.api}{path}", data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                text = resp.read().decode()
        except urllib.error.HTTPError as exc:
            raise ClusterError(f"{method} {path}: HTTP {exc.code}: {exc.read().decode(errors='replace')[:2000]}"
                               ) from exc
        return json.loads(text) if text else None


def main(argv: list[str] | None = None) -> int:
    """``python -m nengtan.orchestration.distributed``: the Celery deployment on this machine until Ctrl-C,
    for trying the distributed executor without Docker (the DAGs start paused: unpause them in
    the UI, or trigger a night with ``{"day": "YYYY-MM-DD"}``)."""
    import argparse

    from nengtan.config import settings

    parser = argparse.ArgumentParser(prog="python -m nengtan.orchestration.distributed", description=main.__doc__)
    parser.add_argument("--workers", type=int, default=1, help="Celery workers (default 1)")
    parser.add_argument("--concurrency", type=int, default=1, help="task slots per worker (default 1)")
    args = parser.parse_args(argv)
    cfg = settings()
    stop = {"now": False}

    def _stop(*_: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGHUP, _stop)
    with CeleryCluster(cfg, workers=args.workers, concurrency=args.concurrency) as cluster:
        print(f"Airflow (CeleryExecutor) at {cluster.api}  user {ADMIN_USER}, password in "
              f"{cluster.airflow_home / 'passwords.json'}\n"
              f"data {cfg.data}, landing {cfg.landing}, logs {cluster.root}\nCtrl-C stops everything.",
              flush=True)
        try:
            while not stop["now"]:
                cluster.check_alive()
                time.sleep(2)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
