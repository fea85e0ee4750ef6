"""The same night on the distributed executor: the test city through the real DAGs on a
CeleryExecutor deployment (PostgreSQL metadata DB and Redis broker from Debian's packages,
Airflow api-server, scheduler, dag-processor and one Celery worker, all on 127.0.0.1),
marts equal to the ``dag.test()`` night of the same city, table by table and row by row.

The night is started the way an operator starts one: through the REST API, with the night's
``day`` in the run's conf; the transform and the checks-and-publish DAGs follow by their
assets. The load run takes the nightly DAG's next scheduled slot (its ``next_dagrun``), so
unpausing the DAG does not also schedule that slot's own night on top of it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import shlex
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import yaml

from nengtan.config import LOCAL_TZ, REPO_ROOT, Settings
from nengtan.orchestration.dag_runner import NIGHT_DAGS  # the chain as the CLI runs it (M&V included)
from nengtan.orchestration.distributed import DEPLOYMENT_SETTINGS, CeleryCluster, ClusterError
from nengtan.rebuild import RUN_BOOKKEEPING_COLUMNS
from nengtan.warehouse import sql_string
from tests.conftest import CITY_LAST_DAY
from tests.digests import table_digest

NIGHT_TIMEOUT_S = 900
TOLERANCE = 1e-6  # |a - b| <= TOLERANCE * max(1, |a|, |b|) for approximate numerics
APPROXIMATE_TYPES = ("DOUBLE", "FLOAT", "REAL", "DECIMAL")


# -- comparing two serving copies ---------------------------------------------------------
def _close(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is None and b is None
    x, y = float(a), float(b)  # type: ignore[arg-type]
    return math.isclose(x, y, rel_tol=0.0, abs_tol=TOLERANCE * max(1.0, abs(x), abs(y)))


def mart_mismatches(a: Path, b: Path, schema: str = "marts", limit: int = 5) -> dict[str, list[str]]:
    """Every table of ``schema`` in ``a`` and ``b``, compared row by row (rows sorted by their
    exact columns, then their approximate ones): exact columns equal, DOUBLE/DECIMAL columns
    within ``TOLERANCE``; columns that only name the run that wrote a row are left out."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {sql_string(str(a))} AS a (READ_ONLY)")
        con.execute(f"ATTACH {sql_string(str(b))} AS b (READ_ONLY)")

        def columns(db: str, table: str) -> list[tuple[str, str]]:
            return con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_catalog = ? "
                "AND table_schema = ? AND table_name = ? AND column_name NOT IN (SELECT unnest(?)) "
                "ORDER BY ordinal_position", [db, schema, table, list(RUN_BOOKKEEPING_COLUMNS)]).fetchall()

        def tables(db: str) -> set[str]:
            return {t for (t,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND table_schema = ?",
                [db, schema]).fetchall()}

        out: dict[str, list[str]] = {}
        ta, tb = tables("a"), tables("b")
        for t in sorted(ta ^ tb):
            out[t] = [f"only in {'a' if t in ta else 'b'}"]
        for t in sorted(ta & tb):
            cols = columns("a", t)
            if cols != columns("b", t):
                out[t] = [f"columns differ: {cols} vs {columns('b', t)}"]
                continue
            approx = [i for i, (_, ty) in enumerate(cols) if ty.upper().startswith(APPROXIMATE_TYPES)]
            order = [i for i in range(len(cols)) if i not in approx] + approx
            sel = ", ".join(f'"{c}"' for c, _ in cols)
            by = ", ".join(str(i + 1) for i in order)
            rows_a, rows_b = (con.execute(f'SELECT {sel} FROM {db}."{schema}"."{t}" ORDER BY {by} NULLS FIRST'
                                          ).fetchall() for db in ("a", "b"))
            problems = [] if len(rows_a) == len(rows_b) else [f"{len(rows_a)} rows vs {len(rows_b)}"]
            for n, (ra, rb) in enumerate(zip(rows_a, rows_b, strict=False)):
                bad = [i for i in range(len(cols)) if not (_close(ra[i], rb[i]) if i in approx else ra[i] == rb[i])]
                if bad:
                    problems.append(f"row {n}: " + ", ".join(f"{cols[i][0]}={ra[i]!r} vs {rb[i]!r}" for i in bad))
                if len(problems) >= limit:
                    break
            if problems:
                out[t] = problems
        return out
    finally:
        con.close()


def test_the_comparison_notices_a_changed_figure_a_lost_row_and_tolerates_rounding(published_city, tmp_path
                                                                                    ) -> None:
    """The equality below cannot pass by comparing nothing: an altered figure and a deleted
    row are found; a change far below the tolerance is not."""
    ref = published_city.serving_db
    altered = tmp_path / "altered.duckdb"
    altered.write_bytes(ref.read_bytes())

    def alter(*statements: str) -> dict[str, list[str]]:
        con = duckdb.connect(str(altered))
        try:
            for sql in statements:
                con.execute(sql)
        finally:
            con.close()
        return mart_mismatches(ref, altered)

    assert alter() == {}
    assert alter("UPDATE marts.enterprise_carbon_monthly SET energy_tce = energy_tce * (1 + 1e-12)") == {}
    found = alter("UPDATE marts.enterprise_carbon_monthly SET energy_tce = energy_tce + 0.01 "
                  "WHERE credit_code = (SELECT min(credit_code) FROM marts.enterprise_carbon_monthly)",
                  "DELETE FROM marts.city_carbon_monthly WHERE month = (SELECT max(month) FROM marts.city_carbon_monthly)")
    assert set(found) == {"enterprise_carbon_monthly", "city_carbon_monthly"}, found


# -- the Celery night ----------------------------------------------------------------------
def _wait_for_dags(cluster: CeleryCluster, timeout: float = 240) -> dict[str, dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cluster.check_alive()
        dags = {d["dag_id"]: d for d in cluster.request("GET", "/api/v2/dags?limit=100")["dags"]}
        if all(d in dags for d in NIGHT_DAGS) and dags["nengtan_nightly_load"].get("next_dagrun_logical_date"):
            return dags
        time.sleep(2)
    raise ClusterError(f"the dag-processor did not register {NIGHT_DAGS} in {timeout:.0f} s:\n{cluster.logs()}")


def _runs(cluster: CeleryCluster) -> list[dict]:
    return cluster.request("GET", "/api/v2/dags/~/dagRuns?limit=100")["dag_runs"]


def _failure_report(cluster: CeleryCluster, cfg: Settings) -> str:
    lines = []
    for run in _runs(cluster):
        lines.append(f"{run['dag_id']} {run['dag_run_id']}: {run['state']}")
        if run["state"] != "success":
            tis = cluster.request("GET", f"/api/v2/dags/{run['dag_id']}/dagRuns/{run['dag_run_id']}"
                                  "/taskInstances?limit=100")["task_instances"]
            lines += [f"  {ti['task_id']}: {ti['state']}" for ti in tis]
    for log in sorted((cfg.logs_dir / "airflow").rglob("*.log"))[-40:]:
        text = log.read_text(errors="replace")
        if "error" in text.lower():
            lines.append(f"--- {log} ---\n" + "\n".join(text.splitlines()[-25:]))
    return "\n".join(lines) + "\n\n" + cluster.logs()


def _celery_results(cluster: CeleryCluster, expected: int, timeout: float = 60) -> dict[str, int]:
    """Celery's own record of the tasks it ran (its result backend, in the metadata DB), once every
    one has settled: a task instance is marked done a moment before Celery stores its result."""
    deadline = time.monotonic() + timeout
    while True:
        con = cluster.postgres.connect()
        try:
            with con.cursor() as cur:
                cur.execute("SELECT status, count(*) FROM celery_taskmeta GROUP BY status")
                results = dict(cur.fetchall())
        finally:
            con.close()
        if sum(results.values()) >= expected and set(results) <= {"SUCCESS", "FAILURE"} \
                or time.monotonic() > deadline:
            return results
        time.sleep(1)


def _clear_of_the_nightly_cron(budget_s: float = 12 * 60) -> None:
    """Start only when no fire of the nightly cron (02:00 Asia/Shanghai) falls inside the test: a
    fire during it would schedule that night's own run on top of the one under test. Waits (at
    most ``budget_s`` plus two minutes, in one test run of about a hundred) if one is due."""
    # Imported here, not at collection: importing Airflow before the session's Airflow home is
    # migrated breaks the in-process dag.test() nights (`no such table: dag`).
    from nengtan.orchestration.dag_support import NIGHTLY_CRON

    minute, hour = (int(f) for f in NIGHTLY_CRON.split()[:2])
    now = datetime.now(LOCAL_TZ)
    fire = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if fire <= now:
        fire += timedelta(days=1)
    if (fire - now).total_seconds() < budget_s:
        time.sleep((fire - now).total_seconds() + 120)


def run_celery_night(cfg: Settings, day, cluster_root: Path) -> dict:
    """Start the cluster, trigger one night through the REST API, wait for the publish;
    everything is stopped on the way out, whatever happened."""
    _clear_of_the_nightly_cron()
    started = time.monotonic()
    # A failed task fails the run at once (the DAGs' default is one retry after five minutes).
    env = {**os.environ, "NENGTAN_TASK_RETRIES": "0"}
    with CeleryCluster(cfg, root=cluster_root, workers=1, concurrency=1, base_env=env) as cluster:
        ready = time.monotonic()
        dags = _wait_for_dags(cluster)
        slot = dags["nengtan_nightly_load"]["next_dagrun_logical_date"]
        run_id = f"celery_night__{day.isoformat()}"
        cluster.request("POST", "/api/v2/dags/nengtan_nightly_load/dagRuns",
                        {"dag_run_id": run_id, "logical_date": slot, "conf": {"day": day.isoformat()}})
        for dag_id in reversed(NIGHT_DAGS):  # downstream first: the load's asset event finds them live
            cluster.request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
        deadline = time.monotonic() + NIGHT_TIMEOUT_S
        while True:
            cluster.check_alive()
            runs = _runs(cluster)
            finished = {r["dag_id"]: r["state"] for r in runs if r["state"] in ("success", "failed")}
            if any(state == "failed" for state in finished.values()):
                pytest.fail("a DAG run failed on the Celery executor:\n" + _failure_report(cluster, cfg))
            if finished.get("nengtan_checks_publish") == "success":
                break
            if time.monotonic() > deadline:
                pytest.fail(f"no publish after {NIGHT_TIMEOUT_S} s:\n" + _failure_report(cluster, cfg))
            time.sleep(3)
        night_done = time.monotonic()
        task_instances = [ti for r in runs for ti in cluster.request(
            "GET", f"/api/v2/dags/{r['dag_id']}/dagRuns/{r['dag_run_id']}/taskInstances?limit=100"
        )["task_instances"]]
        celery_results = _celery_results(cluster, expected=len(task_instances))
    return {"runs": runs, "task_instances": task_instances, "celery_results": celery_results,
            "load_run_id": run_id, "start_s": ready - started, "start_steps": cluster.timings, "night_s": night_done - ready,
            "total_s": time.monotonic() - started}


@pytest.mark.slow
def test_a_night_on_celery_equals_the_dag_test_night(published_city, city_landing, tmp_path,
                                                     record_property) -> None:
    cfg = dataclasses.replace(published_city, landing=city_landing, data=tmp_path / "data")
    result = run_celery_night(cfg, CITY_LAST_DAY, tmp_path / "cluster")
    for key in ("start_s", "night_s", "total_s"):
        record_property(f"celery_{key}", round(result[key], 1))
    steps = ", ".join(f"{k} {v:.0f} s" for k, v in result["start_steps"].items())
    print(f"\n[celery night] services up {result['start_s']:.0f} s ({steps}), night {result['night_s']:.0f} s, "
          f"total with shutdown {result['total_s']:.0f} s")

    # One run of each nightly DAG, all successful; the load is the one we triggered, the others
    # came from its assets; the monthly report stayed paused; no scheduled night slipped in.
    by_dag = {}
    for run in result["runs"]:
        by_dag.setdefault(run["dag_id"], []).append(run)
    assert sorted(by_dag) == sorted(NIGHT_DAGS), by_dag
    assert all(len(runs) == 1 and runs[0]["state"] == "success" for runs in by_dag.values()), by_dag
    assert by_dag["nengtan_nightly_load"][0]["dag_run_id"] == result["load_run_id"]
    assert {by_dag[d][0]["run_type"] for d in NIGHT_DAGS[1:]} == {"asset_triggered"}

    # The worker took the deployment's Celery settings: its pool process preloaded the tasks' imports.
    assert "preloaded" in (tmp_path / "cluster" / "celery-worker-0.log").read_text(errors="replace")

    # Every task ran, and ran through Celery: one successful Celery result per task that ran. The only task a
    # night may skip is the M&V fit, short-circuited when no project's inputs changed (as in the dag.test night).
    tis = result["task_instances"]
    skipped = {(ti["dag_id"], ti["task_id"]) for ti in tis if ti["state"] == "skipped"}
    assert skipped <= {("nengtan_mv", "measure")}, skipped
    ran = [ti for ti in tis if ti["state"] != "skipped"]
    assert ran and all(ti["state"] == "success" for ti in ran), [(t["task_id"], t["state"]) for t in ran]
    assert result["celery_results"] == {"SUCCESS": len(ran)}, result["celery_results"]

    # The same warehouse: raw layer by digest, every mart row by row.
    celery_serving = cfg.serving_db
    assert celery_serving.exists()
    con = duckdb.connect(str(celery_serving), read_only=True)
    try:
        assert con.execute("SELECT data_day FROM meta.publication").fetchone()[0] == CITY_LAST_DAY
        marts = [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables "
                                           "WHERE table_schema = 'marts'").fetchall()]
        assert len(marts) >= 5 and con.execute("SELECT count(*) FROM marts.enterprise_energy_daily"
                                               ).fetchone()[0] > 0
    finally:
        con.close()
    assert table_digest(cfg.warehouse_db, ("raw",)) == table_digest(published_city.warehouse_db, ("raw",))
    assert mart_mismatches(published_city.serving_db, celery_serving) == {}


# -- the container deployment, checked without a Docker engine ----------------------------
COMPOSE = REPO_ROOT / "docker" / "docker-compose.yml"


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _interpolate(text: str) -> str:
    """Compose's ``${VAR:-default}`` as its default, ``${VAR:?}`` as a placeholder, ``$$`` as ``$``."""
    text = re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", text)
    return re.sub(r"\$\{[A-Z0-9_]+:\?[^}]*\}", "set-in-env", text).replace("$$", "$")


def test_the_compose_file_runs_every_celery_service_from_the_locked_image(tmp_path) -> None:
    compose = _compose()
    services = compose["services"]
    assert {"postgres", "redis", "airflow-init", "airflow-api", "airflow-scheduler", "airflow-dag-processor",
            "airflow-worker"} <= set(services)
    pipeline = {name: s for name, s in services.items() if (s.get("build") or {}).get("dockerfile")
                == "docker/Dockerfile.pipeline"}
    assert {"airflow-init", "airflow-api", "airflow-scheduler", "airflow-dag-processor", "airflow-worker"
            } <= set(pipeline)

    # The settings a Celery deployment needs (the ones the Celery test runs with) are all set,
    # in the compose file or the image.
    dockerfile = (REPO_ROOT / "docker" / "Dockerfile.pipeline").read_text()
    for name, service in pipeline.items():
        env = service["environment"]
        missing = [k for k in DEPLOYMENT_SETTINGS if k not in env and f"{k}=" not in dockerfile]
        assert not missing, f"{name} lacks {missing}"
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    # Workers scale (`docker compose up --scale airflow-worker=N`): no fixed name or host port.
    worker = services["airflow-worker"]
    assert "container_name" not in worker and "ports" not in worker

    # The image installs from the lock file with the distributed extra, never with pip.
    assert "uv sync --frozen" in dockerfile and "--extra distributed" in dockerfile
    assert "pip install" not in dockerfile.split("uv sync", 1)[1]
    superset = (REPO_ROOT / "docker" / "Dockerfile.superset").read_text()
    assert "uv sync --frozen" in superset and "pip install" not in superset.split("uv sync", 1)[1]

    # Every pipeline service's command exists in an environment built from the same lock and extra
    # (this .venv): the executable is there and Airflow's own CLI parser accepts the arguments.
    commands = []
    for service in pipeline.values():
        cmd = [_interpolate(part) for part in service["command"]]
        if cmd[:2] == ["bash", "-c"]:
            commands += [shlex.split(part) for part in cmd[2].split("&&")]
        else:
            commands.append(cmd)
    for cmd in commands:
        assert (Path(sys.executable).parent / cmd[0]).exists(), f"{cmd[0]} is not in the locked environment"
    parse = (
        "import json, sys\n"
        "from airflow.cli.cli_parser import get_parser\n"
        "parser = get_parser()\n"
        "for args in json.loads(sys.argv[1]):\n"
        "    ns = parser.parse_args(args)\n"
        "    assert callable(getattr(ns, 'func', None)), args\n"
    )
    env = {"AIRFLOW__CORE__EXECUTOR": "CeleryExecutor", "PATH": str(Path(sys.executable).parent),
           "AIRFLOW_HOME": str(tmp_path / "airflow")}
    airflow_args = [c[1:] for c in commands if c[0] == "airflow"]
    assert ["celery", "worker"] in [a[:2] for a in airflow_args]
    proc = subprocess.run([sys.executable, "-c", parse, json.dumps(airflow_args)], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_compose_requires_every_secret_from_the_environment() -> None:
    """No default password: each secret is ``${NAME:?}`` (compose refuses to start without it)."""
    text = COMPOSE.read_text()
    for secret in ("POSTGRES_PASSWORD", "REDIS_PASSWORD", "AIRFLOW_JWT_SECRET", "AIRFLOW_API_SECRET"):
        assert f"${{{secret}:?" in text, f"{secret} must be required from the environment"
        assert f"${{{secret}:-" not in text and f"${{{secret}}}" not in text, f"{secret} has a default"
