"""``make demo``: a realistic city from nothing to two running UIs.

Generates the demo city (if the landing zone is empty), runs it through the real DAGs,
renders the monthly reports, then serves Airflow and Superset on localhost until Ctrl-C,
which stops everything it started.
"""

from __future__ import annotations

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

DEMO_START = date(2026, 1, 1)  # covers the 2026 Spring Festival (17 February)
DEMO_PASSWORD_DEFAULT = "nengtan-demo"
AIRFLOW_PORT = int(os.environ.get("NENGTAN_AIRFLOW_PORT", "8080"))
SUPERSET_PORT = int(os.environ.get("NENGTAN_SUPERSET_PORT", "8088"))


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


def _mail_sink(cfg: Settings) -> Path | None:
    """Without a mail relay configured, digests and alerts go to a local sink whose messages are
    files under $NENGTAN_DATA/mail (the Airflow servers started later inherit the setting).
    Returns that folder while the sink runs, else None."""
    if os.environ.get("NENGTAN_SMTP_HOST"):
        return None
    from nengtan.alerts import mail_sink

    folder = cfg.data / "mail"
    sink = mail_sink.start(folder)
    if sink is None:
        _say("no mail relay configured (NENGTAN_SMTP_HOST) and aiosmtpd missing: digests will not be sent")
        return None
    os.environ.update(NENGTAN_SMTP_HOST="127.0.0.1", NENGTAN_SMTP_PORT=str(sink[1]))
    _say(f"digests and alerts go to a local mail sink: one .eml per message under {folder}")
    return folder


def run_pipeline(cfg: Settings, enterprises: int, days: int) -> bool:
    from nengtan.generate import generate_city
    from nengtan.orchestrate import prepare_airflow, run_dag, run_night

    last = DEMO_START + timedelta(days=days - 1)
    if not (cfg.landing / "registry").exists():
        _say(f"generating the demo city: {enterprises} enterprises, {days} days from {DEMO_START} into {cfg.landing}")
        report = generate_city(cfg.landing, DEMO_START, days, enterprises, parks=3, seed=42,
                               progress=lambda m: _say(f"  {m}"))
        _say("generator report: " + json.dumps({k: v for k, v in report.items() if not isinstance(v, dict | list)},
                                               ensure_ascii=False, default=str))
    _say("preparing Airflow's metadata DB")
    prepare_airflow(cfg)
    _say(f"running the night of {last} through the DAGs (it loads every file up to that day)")
    if not run_night(last, progress=_say):
        _say("the night FAILED; see the task logs above and under " + str(cfg.logs_dir))
        return False
    if (Path(__file__).resolve().parent.parent / "dags" / "nengtan_monthly_report.py").exists():
        month = date(last.year, last.month, 1) - timedelta(days=1)
        _say(f"rendering the monthly reports for {month:%Y-%m}")
        state = run_dag("nengtan_monthly_report", day=last, conf={"month": f"{month:%Y-%m}"})
        _say(f"monthly report run: {state}")
    return True


def serve_uis(cfg: Settings, password: str, mail: Path | None = None) -> int:
    from nengtan import superset_server
    from nengtan.orchestrate import airflow_environ

    procs: list[subprocess.Popen] = []
    logs = cfg.logs_dir
    logs.mkdir(parents=True, exist_ok=True)

    airflow_home = cfg.airflow_home
    pw_file = airflow_home / "simple_auth_manager_passwords.json"
    pw_file.write_text(json.dumps({"admin": password}))
    env = {
        **os.environ,
        **airflow_environ(cfg),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(pw_file),
        "AIRFLOW__API__PORT": str(AIRFLOW_PORT),
        "AIRFLOW__API_AUTH__JWT_SECRET": _persistent_secret(airflow_home / ".jwt_secret"),
        "AIRFLOW__API__SECRET_KEY": _persistent_secret(airflow_home / ".api_secret"),
        # `airflow standalone` starts its components as `airflow ...` from PATH.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    _say(f"starting Airflow (standalone) on http://localhost:{AIRFLOW_PORT} — log: {logs / 'airflow-standalone.log'}")
    with open(logs / "airflow-standalone.log", "ab") as out:
        procs.append(subprocess.Popen([sys.executable, "-m", "airflow", "standalone"], env=env, stdout=out,
                                      stderr=subprocess.STDOUT, start_new_session=True))

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
        ok_af = _wait_http(f"http://localhost:{AIRFLOW_PORT}/api/v2/monitor/health", 240, procs)
        if not (ok_ss and ok_af):
            _say(f"a server did not come up (Airflow: {ok_af}, Superset: {ok_ss}); logs in {logs}")
            stop()
            return 1
        print(
            "\n"
            "  Nengtan demo is running\n"
            f"    Airflow   http://localhost:{AIRFLOW_PORT}    login admin / {password}\n"
            f"    Superset  http://localhost:{SUPERSET_PORT}    login {os.environ['SUPERSET_ADMIN_USER']} / {password}\n"
            f"    Park managers and enterprise users: see {cfg.superset_home / 'demo_users.txt'}\n"
            f"    Data: {cfg.data}   Landing zone: {cfg.landing}\n"
            + (f"    Mail sent (digests, alerts): {mail}\n" if mail else "")
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


def main(*, serve: bool = True, enterprises: int = 200, days: int = 90) -> int:
    os.environ["NENGTAN_DEMO"] = "1"
    # Progress lines, not Airflow's per-task chatter (task logs stay in the Airflow UI and log folder).
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    cfg = settings()
    cfg.ensure_dirs()
    mail = _mail_sink(cfg)
    started = time.monotonic()
    if not run_pipeline(cfg, enterprises, days):
        return 1
    _say(f"pipeline done in {time.monotonic() - started:.0f} s")
    if not serve:
        return 0
    return serve_uis(cfg, os.environ.get("NENGTAN_DEMO_PASSWORD", DEMO_PASSWORD_DEFAULT), mail)
