"""Superset from the outside: a real server on localhost, against the published small city.

Every chart's saved query is replayed through the chart-data API and compared with the same
aggregate computed directly on the serving DuckDB; park managers and enterprise users must see
only their own rows; a publish (os.replace of the serving file) during queries must not break
them; and headless Chromium must render every dashboard without a chart error.
"""

from __future__ import annotations

import datetime as dt
import decimal
import importlib.util
import json
import math
import os
import secrets
import shutil
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests

from nengtan import superset_server
from nengtan.config import REPO_ROOT
from nengtan.netutil import free_port

pytestmark = [
    pytest.mark.superset,
    pytest.mark.skipif(not (superset_server.SUPERSET_VENV / "bin" / "superset").exists(),
                       reason=".venv-superset is not installed"),
]


def _load_spec():
    spec = importlib.util.spec_from_file_location("nengtan_superset_assets", REPO_ROOT / "dashboards" / "build_assets.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


ASSETS = _load_spec()
CHARTS = {c.title: c for c in ASSETS.CHARTS}


# --------------------------------------------------------------------------------------
# Fixtures: one server for the module
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def city(request):
    """The published small city; NENGTAN_SUPERSET_TEST_SERVING=<file> uses a given serving copy
    instead (for working on dashboards without running the nightly DAGs)."""
    override = os.environ.get("NENGTAN_SUPERSET_TEST_SERVING")
    if not override:
        return request.getfixturevalue("published_city")
    from nengtan.config import settings

    cfg = settings()
    cfg.serving_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(override, cfg.serving_db)
    return cfg


@pytest.fixture(scope="module")
def serving(city) -> Path:
    return city.serving_db


@pytest.fixture(scope="module")
def superset(city, serving):
    """A running Superset (gunicorn) bootstrapped with admin, assets, roles and users."""
    home = city.superset_home
    admin_password = secrets.token_urlsafe(16)
    env = {
        "SUPERSET_SECRET_KEY": secrets.token_urlsafe(48),
        "SUPERSET_ADMIN_USER": "admin",
        "SUPERSET_ADMIN_PASSWORD": admin_password,
        "SUPERSET_AUTH_RATE_LIMITED": "false",
        "NENGTAN_SUPERSET_ENTERPRISE_USERS": "3",
    }
    port = free_port()
    proc = superset_server.start(port, city, env)
    url = f"http://127.0.0.1:{port}"
    try:
        superset_server.wait_ready(url, timeout=180, proc=proc)
        users = json.loads((home / "nengtan_users.json").read_text())
        yield {"url": url, "admin": ("admin", admin_password), "users": users, "env": env, "home": home}
    finally:
        superset_server.stop(proc)


def _login(url: str, user: str, password: str) -> requests.Session:
    s = requests.Session()
    r = s.post(f"{url}/api/v1/security/login",
               json={"username": user, "password": password, "provider": "db", "refresh": False}, timeout=30)
    assert r.status_code == 200, f"login {user}: {r.status_code} {r.text[:200]}"
    s.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    return s


@pytest.fixture(scope="module")
def admin(superset) -> requests.Session:
    return _login(superset["url"], *superset["admin"])


@pytest.fixture(scope="module")
def chart_ids(superset, admin) -> dict[str, int]:
    r = admin.get(f"{superset['url']}/api/v1/chart/", params={"q": json.dumps({"page_size": 100})}, timeout=30)
    assert r.status_code == 200
    return {c["slice_name"]: c["id"] for c in r.json()["result"]}


# --------------------------------------------------------------------------------------
# Expected values straight from DuckDB, built from the same spec the charts come from
# --------------------------------------------------------------------------------------
def _source(dataset: str) -> str:
    spec = ASSETS.DATASETS[dataset]
    return f"({spec['sql']})" if spec.get("sql") else f"{spec.get('schema', 'marts')}.{dataset}"


def _norm(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return round(value.replace(tzinfo=dt.UTC).timestamp() * 1000)
    if isinstance(value, dt.date):
        return round(dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC).timestamp() * 1000)
    if isinstance(value, decimal.Decimal | float):
        return None if math.isnan(float(value)) else round(float(value), 6)
    return value


def _rows(records: list[tuple]) -> Counter:
    return Counter(tuple(_norm(v) for v in r) for r in records)


GRAIN = {"P1M": "month", "P1D": "day"}


def expected(con: duckdb.DuckDBPyConnection, chart, restrict: tuple[str, str] | None = None) -> tuple[list, Counter]:
    """(column names, rows) the chart must return, computed directly on the serving copy."""
    where = [f"({f})" for f in chart.filters]
    if restrict:
        where.append(f"{restrict[0]} = '{restrict[1]}'")
    where_sql = f"WHERE {' AND '.join(where)}" if where else ""
    src = _source(chart.dataset)
    if chart.viz == "table":
        order = ", ".join(f"{c} {'ASC' if asc else 'DESC'}" for c, asc in chart.order_by)
        sql = (f"SELECT {', '.join(chart.columns)} FROM {src} AS t {where_sql} "
               f"{'ORDER BY ' + order if order else ''} LIMIT {chart.row_limit}")
        cols = list(chart.columns)
    else:
        keys = []
        if chart.x:
            keys.append(f"CAST(date_trunc('{GRAIN[chart.grain]}', {chart.x}) AS TIMESTAMP)")
        keys += chart.groupby
        metrics = [m["sqlExpression"] for m in chart.metrics]
        group = f"GROUP BY {', '.join(keys)}" if keys else ""
        sql = f"SELECT {', '.join(keys + metrics)} FROM {src} AS t {where_sql} {group}"
        cols = ([chart.x] if chart.x else []) + chart.groupby + [m["label"] for m in chart.metrics]
    return cols, _rows(con.execute(sql).fetchall())


def chart_data(session: requests.Session, url: str, chart_id: int) -> requests.Response:
    return session.get(f"{url}/api/v1/chart/{chart_id}/data/", params={"force": "true"}, timeout=120)


def actual(resp: requests.Response, cols: list[str]) -> Counter:
    body = resp.json()
    result = body["result"][0]
    assert result.get("status") in ("success", None), result
    assert not result.get("error"), result["error"]
    return Counter(tuple(_norm(row.get(c)) for c in cols) for row in result["data"])


# --------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------
def test_assets_imported_once_with_four_dashboards(superset, admin, chart_ids) -> None:
    assert sorted(chart_ids) == sorted(CHARTS), "charts in Superset differ from dashboards/build_assets.py"
    r = admin.get(f"{superset['url']}/api/v1/dashboard/", params={"q": json.dumps({"page_size": 100})}, timeout=30)
    slugs = sorted(d["slug"] for d in r.json()["result"])
    assert slugs == ["city", "data-quality", "enterprise", "park"]
    # the committed YAML has no absolute path; the imported database points at this run's file
    db = admin.get(f"{superset['url']}/api/v1/database/", timeout=30).json()["result"]
    assert [d["database_name"] for d in db] == [ASSETS.DB_NAME]
    assert "/" not in (REPO_ROOT / "dashboards/assets/databases/nengtan_serving.yaml").read_text().split(
        "sqlalchemy_uri:")[1].splitlines()[0].replace("${NENGTAN_SERVING_URI}", "")


def test_every_chart_equals_the_marts(superset, admin, chart_ids, serving) -> None:
    con = duckdb.connect(str(serving), read_only=True)
    nonempty = 0
    try:
        for title, chart in CHARTS.items():
            resp = chart_data(admin, superset["url"], chart_ids[title])
            assert resp.status_code == 200, f"{title}: {resp.status_code} {resp.text[:300]}"
            cols, want = expected(con, chart)
            got = actual(resp, cols)
            assert got == want, f"{title}: Superset {sorted(got.items())[:3]} != DuckDB {sorted(want.items())[:3]}"
            nonempty += bool(want)
        # anchors independent of the spec: the city's latest month and park ranking
        latest, energy = con.execute(
            "SELECT month, energy_tce FROM marts.city_carbon_monthly ORDER BY month DESC LIMIT 1").fetchone()
        data = chart_data(admin, superset["url"], chart_ids[ASSETS.CHARTS[0].title]).json()["result"][0]["data"]
        last = max(data, key=lambda r: r["month"])
        assert last["month"] == _norm(latest)
        assert last["能耗 Energy (tce)"] == pytest.approx(float(energy), rel=1e-9)
        parks = con.execute(
            "SELECT park_id FROM marts.park_carbon_monthly WHERE month = (SELECT max(month) FROM "
            "marts.park_carbon_monthly) ORDER BY ytd_energy_tce DESC").fetchall()
        title = next(c.title for c in ASSETS.CHARTS if c.key == "city_parks_ranked")
        ranked = chart_data(admin, superset["url"], chart_ids[title]).json()["result"][0]["data"]
        assert [r["park_id"] for r in ranked] == [p[0] for p in parks]
    finally:
        con.close()
    assert nonempty >= len(CHARTS) - 6, "too few charts have data to compare: the fixture city is too thin"


def _restricted_users(superset, prefix: str) -> list[tuple[str, str]]:
    return sorted((u, p) for u, p in superset["users"].items() if u.startswith(prefix))


@pytest.mark.parametrize("prefix,column", [("park_", "park_id"), ("ent_", "credit_code")])
def test_row_level_security(superset, chart_ids, serving, prefix, column) -> None:
    users = _restricted_users(superset, prefix)
    assert users, f"bootstrap created no {prefix}* users"
    user, password = users[0]
    value = user[len(prefix):]
    session = _login(superset["url"], user, password)
    con = duckdb.connect(str(serving), read_only=True)
    try:
        others = con.execute(f"SELECT count(DISTINCT {column}) FROM marts.dim_enterprises WHERE {column} <> ?",
                             [value]).fetchone()[0]
        assert others > 0, "the fixture city needs more than one park/enterprise for this test"
        seen_own = 0
        for title, chart in CHARTS.items():
            resp = chart_data(session, superset["url"], chart_ids[title])
            has_col = column in {c[0] for c in ASSETS.DATASETS[chart.dataset]["columns"]}
            if resp.status_code in (401, 403, 404):
                continue  # no access at all is fine
            assert resp.status_code == 200, f"{title} as {user}: {resp.status_code} {resp.text[:200]}"
            if not has_col:
                rows = resp.json()["result"][0]["data"]
                assert rows == [], f"{title}: {user} sees rows of a table without {column}"
                continue
            cols, want = expected(con, chart, restrict=(column, value))
            got = actual(resp, cols)
            assert got == want, f"{title} as {user}: {sorted(got.items())[:3]} != {sorted(want.items())[:3]}"
            data = resp.json()["result"][0]["data"]
            assert all(r.get(column) in (None, value) for r in data), f"{title}: another {column} leaked to {user}"
            seen_own += bool(want)
        assert seen_own > 0, f"{user} saw no data of their own at all"
        # their dashboard list: no city dashboard for a park manager or an enterprise
        dashboards = session.get(f"{superset['url']}/api/v1/dashboard/", timeout=30).json()["result"]
        assert "city" not in {d["slug"] for d in dashboards}
    finally:
        con.close()


@pytest.mark.parametrize("prefix,column", [("park_", "park_id"), ("ent_", "credit_code")])
def test_row_level_security_on_every_dataset(superset, admin, prefix, column) -> None:
    """Every dataset, with or without a chart on it (e.g. the park x day aggregates, meter_daily), asked
    directly through the chart-data API: a park manager / an enterprise gets only its own key's rows, and
    nothing at all from a dataset without that key."""
    user, password = _restricted_users(superset, prefix)[0]
    value = user[len(prefix):]
    session = _login(superset["url"], user, password)
    r = admin.get(f"{superset['url']}/api/v1/dataset/", params={"q": json.dumps({"page_size": 100})}, timeout=30)
    assert r.status_code == 200, r.text[:200]
    datasets = {d["table_name"]: d["id"] for d in r.json()["result"]}
    assert sorted(datasets) == sorted(ASSETS.DATASETS), "datasets in Superset differ from dashboards/build_assets.py"
    own_rows = 0
    for name, ds_id in sorted(datasets.items()):
        columns = [c[0] for c in ASSETS.DATASETS[name]["columns"]]
        has_col = column in columns
        count = {"expressionType": "SQL", "sqlExpression": "COUNT(*)", "label": "n"}
        query = {"columns": [column if has_col else columns[0]], "metrics": [count], "row_limit": 100000,
                 "orderby": [], "filters": [], "extras": {}}
        body = {"datasource": {"id": ds_id, "type": "table"}, "force": True, "queries": [query],
                "result_format": "json", "result_type": "full"}
        resp = session.post(f"{superset['url']}/api/v1/chart/data", json=body, timeout=120)
        if resp.status_code in (401, 403, 404):
            continue  # no access at all is fine
        assert resp.status_code == 200, f"{name} as {user}: {resp.status_code} {resp.text[:200]}"
        rows = resp.json()["result"][0]["data"]
        if not has_col:
            assert rows == [], f"{name}: {user} sees rows of a dataset without {column}"
            continue
        leaked = {row[column] for row in rows} - {value, None}
        assert not leaked, f"{name}: {user} sees other {column}s {sorted(leaked)[:3]}"
        own_rows += len(rows)
    assert own_rows > 0, f"{user} saw no row of their own in any dataset"


def test_sql_lab_is_for_admins_only(superset, admin) -> None:
    analyst = _login(superset["url"], "analyst", superset["users"]["analyst"])
    db_id = admin.get(f"{superset['url']}/api/v1/database/", timeout=30).json()["result"][0]["id"]
    body = {"database_id": db_id, "sql": "SELECT count(*) FROM marts.dim_parks", "runAsync": False}
    token = analyst.get(f"{superset['url']}/api/v1/security/csrf_token/", timeout=30)
    if token.status_code == 200:  # with a valid CSRF token, the refusal must come from permissions
        analyst.headers["X-CSRFToken"] = token.json()["result"]
    denied = analyst.post(f"{superset['url']}/api/v1/sqllab/execute/", json=body, timeout=60)
    assert denied.status_code in (401, 403), denied.text[:200]
    r = admin.get(f"{superset['url']}/api/v1/security/csrf_token/", timeout=30)
    admin.headers["X-CSRFToken"] = r.json()["result"]
    allowed = admin.post(f"{superset['url']}/api/v1/sqllab/execute/", json=body, timeout=60)
    assert allowed.status_code == 200, allowed.text[:300]
    # the analyst still reads every dashboard's data
    city_chart = admin.get(f"{superset['url']}/api/v1/chart/", timeout=30).json()["result"][0]["id"]
    assert chart_data(analyst, superset["url"], city_chart).status_code == 200


def test_query_during_publish_succeeds(superset, admin, chart_ids, serving) -> None:
    """Replace the serving file atomically, again and again, while dashboards query it."""
    stop = threading.Event()
    replaced = []

    def publish_loop() -> None:
        while not stop.is_set():
            tmp = serving.with_name(f".publish-{len(replaced)}.tmp")
            shutil.copyfile(serving, tmp)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(tmp, serving)
            replaced.append(1)

    title = next(c.title for c in ASSETS.CHARTS if c.key == "ent_daily_profile")
    def rows(resp: requests.Response) -> list[str]:
        return sorted(json.dumps(r, sort_keys=True) for r in resp.json()["result"][0]["data"])

    first = rows(chart_data(admin, superset["url"], chart_ids[title]))
    assert first, "nothing to compare: the daily profile is empty"
    worker = threading.Thread(target=publish_loop, daemon=True)
    worker.start()
    try:
        for _ in range(15):
            resp = chart_data(admin, superset["url"], chart_ids[title])
            assert resp.status_code == 200, resp.text[:300]
            assert rows(resp) == first
    finally:
        stop.set()
        worker.join(30)
    assert len(replaced) >= 3, "the publish loop did not overlap the queries"


def _png_colours(path: Path) -> int:
    import matplotlib.image

    img = matplotlib.image.imread(str(path))
    flat = (img[::4, ::4, :3] * 255).astype("uint8").reshape(-1, 3)
    return len({tuple(p) for p in flat.tolist()})


def _screenshots(superset, user: str, password: str, slugs: list[str], out: Path) -> list[dict]:
    env = superset_server.superset_env(env_extra={"NENGTAN_SHOT_PASSWORD": password})
    proc = subprocess.run(
        [str(superset_server.SUPERSET_VENV / "bin" / "python"), str(REPO_ROOT / "dashboards" / "screenshot.py"),
         "--url", superset["url"], "--user", user, "--password-env", "NENGTAN_SHOT_PASSWORD",
         "--out", str(out), *slugs],
        env=env, capture_output=True, text=True, timeout=300)
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(results) == len(slugs), f"screenshot run failed: {proc.stdout[-1000:]} {proc.stderr[-2000:]}"
    return results


def test_dashboards_render_in_chromium(superset, tmp_path) -> None:
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("chromium not installed")
    per_dashboard = {key: len(spec["charts"]) for key, spec in ASSETS.DASHBOARDS.items()}
    slug_of = {spec["slug"]: key for key, spec in ASSETS.DASHBOARDS.items()}
    results = _screenshots(superset, *superset["admin"], list(slug_of), tmp_path)
    park_user, park_password = _restricted_users(superset, "park_")[0]
    results += _screenshots(superset, park_user, park_password, ["park"], tmp_path / "park_manager")
    for res in results:
        assert res["errors"] == [], f"{res['slug']}: chart errors {res['errors']}"
        assert res["charts"] == per_dashboard[slug_of[res["slug"]]], res
        assert res["rendered"] == res["charts"], f"{res['slug']}: not every chart drew: {res}"
        png = Path(res["png"])
        assert png.stat().st_size > 40_000, f"{png} is suspiciously small (an error page?)"
        assert _png_colours(png) > 40, f"{png} has too few colours to be a dashboard"


def test_bootstrap_refuses_the_demo_password(tmp_path) -> None:
    env = superset_server.superset_env(env_extra={
        "SUPERSET_SECRET_KEY": secrets.token_urlsafe(48), "SUPERSET_ADMIN_PASSWORD": "nengtan-demo",
        "SUPERSET_HOME": str(tmp_path), "NENGTAN_DEMO": "0"})
    proc = subprocess.run([str(superset_server.SUPERSET_VENV / "bin" / "python"),
                           str(REPO_ROOT / "dashboards" / "bootstrap.py")],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "demo password" in proc.stderr + proc.stdout


def test_restart_skips_what_is_already_done(superset, city) -> None:
    """A second prepare with nothing changed runs neither the migrations nor the bootstrap."""
    log = superset["home"] / "superset.log"

    def counts() -> tuple[int, int]:
        text = log.read_text(errors="replace")
        return text.count("==> bootstrap"), text.count("==> db upgrade") + text.count("==> metadata DB from template")

    assert counts() == (1, 1)
    superset_server.prepare(city, superset["env"])
    assert counts() == (1, 1)
