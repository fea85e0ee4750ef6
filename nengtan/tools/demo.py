"""``make demo``: a realistic city from nothing to two running UIs.

Generates the demo city (if the landing zone is empty), runs it through the real DAGs,
renders the monthly reports of the months that are final (and March's provisional edition,
mailed to no one), then serves Airflow and Superset on 127.0.0.1 until Ctrl-C, which stops
everything it started.

The demo city is history (March 2025 to May 2026: a year of baseline before its energy-saving
projects, commissioned in March 2026 after the Spring Festival, then their first months, so the M&V
step has something real to measure), run as a few
catch-up nights of a quarter each (a night loads every file up to its day; a quarter fits the
memory a night is given). Its DAGs stay paused: a scheduler that
ran "last night" would find no such night in the landing zone. The runs the UI shows are the
demo's own; ``nengtan nightly`` in another terminal adds one night's runs, once each, and mails
into the demo's sink.
"""

from __future__ import annotations

import calendar
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

from nengtan.config import Settings, settings

DEMO_START = date(2025, 3, 1)  # a year before the projects; covers the 2026 Spring Festival (17 February)
DEMO_DAYS = 457  # to 31 May 2026: a year of baseline, then the projects' reporting months (March to May)
DEMO_NIGHT_SPAN = 91  # days a catch-up night of the demo loads at most
DEMO_PASSWORD_DEFAULT = "nengtan-demo"
SUPERSET_PORT = int(os.environ.get("NENGTAN_SUPERSET_PORT", "8088"))
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _say(msg: str) -> None:
    """A progress line; a closed terminal or pipe (``make demo | tee log`` stopped with Ctrl-C)
    must not stop the demo from stopping its servers."""
    try:
        print(f"[demo {time.strftime('%H:%M:%S')}] {msg}", flush=True)
    except OSError:
        pass


def _persistent_secret(path: Path) -> str:
    """A random secret kept beside the demo's data, so restarts keep sessions valid."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _wait_http(url: str, timeout: float, procs: list[subprocess.Popen]) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            return False
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - localhost only
                if resp.status < 500:
                    return True
        except OSError:
            pass
        time.sleep(2)
    return False


def _mail_sink(cfg: Settings) -> tuple[Path, object] | None:
    """Without a mail relay configured, digests and alerts go to a local sink whose messages are
    files under $NENGTAN_DATA/mail (the Airflow servers started later inherit the setting, and a
    ``nengtan`` command in another terminal finds it through its state file).
    Returns (folder, controller) while the sink runs, else None."""
    if os.environ.get("NENGTAN_SMTP_HOST", "").strip():
        return None
    from nengtan.alerts import mail_sink

    folder = cfg.data / "mail"
    sink = mail_sink.start(folder)
    if sink is None:
        _say("no mail relay configured (NENGTAN_SMTP_HOST) and aiosmtpd missing: digests will not be sent")
        return None
    os.environ.update(NENGTAN_SMTP_HOST="127.0.0.1", NENGTAN_SMTP_PORT=str(sink[1]))
    _say(f"digests and alerts go to a local mail sink: one .eml per message under {folder}")
    return folder, sink[0]


def demo_nights(days: int) -> list[date]:
    """The catch-up nights of the demo: as few as load at most DEMO_NIGHT_SPAN days each, evenly
    spaced, the last on the last day."""
    k = -(-days // DEMO_NIGHT_SPAN)
    return [DEMO_START + timedelta(days=round(days * j / k) - 1) for j in range(1, k + 1)]


def run_pipeline(cfg: Settings, enterprises: int, days: int) -> bool:
    from nengtan.orchestration.dag_runner import (
        ALL_DAGS,
        REPORT_DAG,
        prepare_airflow,
        run_in_process,
        run_night,
        set_paused,
    )
    from nengtan.tools.generate import generate_city

    last = DEMO_START + timedelta(days=days - 1)
    if not (cfg.landing / "registry").exists():
        _say(f"generating the demo city: {enterprises} enterprises, {days} days from {DEMO_START} into {cfg.landing}")
        report = generate_city(cfg.landing, DEMO_START, days, enterprises, parks=3, seed=42,
                               progress=lambda m: _say(f"  {m}"))
        _say("generator report: " + json.dumps({k: v for k, v in report.items() if not isinstance(v, dict | list)},
                                               ensure_ascii=False, default=str))
    _say("preparing Airflow's metadata DB")
    prepare_airflow(cfg)
    # A home from an older demo may hold the DAGs unpaused: the city is history, keep them paused.
    if paused := set_paused(ALL_DAGS, True):
        _say(f"paused {', '.join(paused)} (the demo city is history: no scheduled nights)")
    for night in demo_nights(days):
        _say(f"running the night of {night} through the DAGs (it loads every file up to that day)")
        if not run_night(night, progress=_say):
            _say("the night FAILED; see the task logs above and under " + str(cfg.logs_dir))
            return False
    _say("rendering the monthly reports of every month that is final (declarations in, or their deadline passed)")
    outcome = run_in_process(REPORT_DAG, day=last)
    if not outcome.ok:
        _say(f"monthly report run: {outcome.state}; see the task log above and under {cfg.logs_dir / 'airflow'}")
        return False
    _say(f"monthly report run: {outcome.state}; reports under {cfg.reports_dir}")
    from nengtan.orchestration.dag_support import report_as_of
    from nengtan.report.readiness import month_readiness

    month = f"{last:%Y-%m}"
    readiness = month_readiness(cfg, month, today=report_as_of(cfg))
    month_over = last.day == calendar.monthrange(last.year, last.month)[1]
    if month_over and readiness.has_data and not readiness.final:
        _say(f"{readiness.message()}")
        _say(f"rendering {month}'s provisional edition (stamped 临时数据, mailed to no one)")
        outcome = run_in_process(REPORT_DAG, day=last, conf={"month": month, "provisional": True})
        _say(f"provisional report run: {outcome.state}"
             + (f"; under {cfg.reports_dir / 'provisional' / month}" if outcome.ok else ""))
        if not outcome.ok:
            return False
    return True


def airflow_url(cfg: Settings) -> str:
    host = "127.0.0.1" if cfg.airflow_host in ("0.0.0.0", "::", "") else cfg.airflow_host
    return f"http://{host}:{cfg.airflow_port}"


def check_exposure(cfg: Settings, password: str) -> None:
    """Refuse to serve the public demo password beyond this machine."""
    if cfg.airflow_host not in LOOPBACK and password == DEMO_PASSWORD_DEFAULT:
        raise SystemExit(f"NENGTAN_AIRFLOW_HOST={cfg.airflow_host} would expose Airflow with the public demo "
                         "password: set NENGTAN_DEMO_PASSWORD, or keep the default 127.0.0.1")


AIRFLOW_COMPONENTS = (
    ("api-server", ["api-server"]),
    # Their log servers would listen on every interface; with the LocalExecutor the API server
    # reads task logs from the shared log folder, so they are not needed.
    ("scheduler", ["scheduler", "--skip-serve-logs"]),
    ("dag-processor", ["dag-processor"]),
    ("triggerer", ["triggerer", "--skip-serve-logs"]),
)


def start_airflow(cfg: Settings, password: str) -> list[subprocess.Popen]:
    """Airflow's API server (UI), scheduler, DAG processor and triggerer with the demo's settings:
    bound to ``cfg.airflow_host`` (127.0.0.1), LocalExecutor with one slot per core, the DAGs
    paused. One log per component under the log folder."""
    from nengtan.orchestration.dag_runner import airflow_environ

    check_exposure(cfg, password)
    logs = cfg.logs_dir
    logs.mkdir(parents=True, exist_ok=True)
    airflow_home = cfg.airflow_home
    pw_file = airflow_home / "simple_auth_manager_passwords.json"
    pw_file.write_text(json.dumps({"admin": password}))
    pw_file.chmod(0o600)
    env = {
        **os.environ,
        **airflow_environ(cfg),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(pw_file),
        "AIRFLOW__API_AUTH__JWT_SECRET": _persistent_secret(airflow_home / ".jwt_secret"),
        "AIRFLOW__API__SECRET_KEY": _persistent_secret(airflow_home / ".api_secret"),
        # The executor's task processes start `airflow ...` from PATH.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    _say(f"starting Airflow on {airflow_url(cfg)} with {cfg.airflow_parallelism} task slots "
         f"— logs: {logs}/airflow-*.log")
    procs = []
    for name, args in AIRFLOW_COMPONENTS:
        with open(logs / f"airflow-{name}.log", "ab") as out:
            procs.append(subprocess.Popen([sys.executable, "-m", "airflow", *args], env=env, stdout=out,
                                          stderr=subprocess.STDOUT, start_new_session=True))
    return procs


def serve_uis(cfg: Settings, password: str, mail: Path | None = None) -> int:
    from nengtan import superset_server

    procs: list[subprocess.Popen] = start_airflow(cfg, password)
    logs = cfg.logs_dir

    os.environ.setdefault("SUPERSET_SECRET_KEY", _persistent_secret(cfg.superset_home / ".secret_key"))
    os.environ.setdefault("SUPERSET_ADMIN_USER", "admin")
    os.environ.setdefault("SUPERSET_ADMIN_PASSWORD", password)
    _say(f"starting Superset on http://localhost:{SUPERSET_PORT} (first start imports the dashboards)")
    procs.append(superset_server.start(SUPERSET_PORT, cfg))

    def stop(*_: object) -> None:
        for p in procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        _say("stopped Airflow and Superset")

    # SIGTERM and a closed terminal (SIGHUP) unwind like Ctrl-C: `finally` below stops the servers once.
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    signal.signal(signal.SIGHUP, lambda *a: sys.exit(0))
    # Ctrl-C must work even when the demo was started with SIGINT ignored (as shells do
    # for background jobs): it raises KeyboardInterrupt, and `finally` stops the servers.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        ok_ss = _wait_http(f"http://localhost:{SUPERSET_PORT}/health", 420, procs)
        ok_af = _wait_http(f"{airflow_url(cfg)}/api/v2/monitor/health", 240, procs)
        if not (ok_ss and ok_af):
            _say(f"a server did not come up (Airflow: {ok_af}, Superset: {ok_ss}); logs in {logs}")
            stop()
            return 1
        print(
            "\n"
            "  Nengtan demo is running\n"
            f"    Airflow   {airflow_url(cfg)}    login admin / {password}   (DAGs paused: the city is history)\n"
            f"    Superset  http://localhost:{SUPERSET_PORT}    login {os.environ['SUPERSET_ADMIN_USER']} / {password}\n"
            f"    Park managers and enterprise users: see {cfg.superset_home / 'demo_users.txt'}\n"
            f"    Data: {cfg.data}   Landing zone: {cfg.landing}\n"
            + (f"    Mail sent (digests, alerts): {mail}\n" if mail else "")
            + "    Another night from a second terminal: .venv/bin/nengtan nightly --date YYYY-MM-DD\n"
            + "      (each DAG runs once; its mail lands in the same folder)\n"
            + "  Ctrl-C stops everything.\n",
            flush=True,
        )
        while all(p.poll() is None for p in procs):
            time.sleep(2)
        _say("a server exited; stopping the rest")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop()


def main(*, serve: bool = True, enterprises: int = 200, days: int | None = None) -> int:
    os.environ["NENGTAN_DEMO"] = "1"
    days = days or DEMO_DAYS
    # Progress lines, not Airflow's per-task chatter (task logs stay in the Airflow UI and log folder).
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    cfg = settings()
    cfg.ensure_dirs()
    password = os.environ.get("NENGTAN_DEMO_PASSWORD", DEMO_PASSWORD_DEFAULT)
    if serve:
        check_exposure(cfg, password)
    sink = _mail_sink(cfg)
    try:
        started = time.monotonic()
        if not run_pipeline(cfg, enterprises, days):
            return 1
        _say(f"pipeline done in {time.monotonic() - started:.0f} s")
        if not serve:
            return 0
        return serve_uis(cfg, password, sink[0] if sink else None)
    finally:
        if sink is not None:
            from nengtan.alerts import mail_sink

            mail_sink.stop(sink[1], sink[0])
