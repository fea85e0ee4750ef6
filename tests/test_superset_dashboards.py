"""Superset from the outside: a real server on localhost, against the published small city.

Every chart's saved query is replayed through the chart-data API and compared with the same
aggregate computed directly on the serving DuckDB; park managers and enterprise users must see
only their own rows; a publish (os.replace of the serving file) during queries must not break
them; headless Chromium must render every dashboard without a chart error, in Chinese and in
English. What a reader sees is checked too: labels instead of codes in either language, names in
the filters, the warnings summary above the list, provisional months marked, and a note under
each chart that can be empty.
"""

from __future__ import annotations

import datetime as dt
import decimal
import importlib.util
import json
import math
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import jinja2.sandbox
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
def render(sql: str, lang: str = "zh") -> str:
    """A virtual dataset's SQL as Superset renders it for a user of ``lang``."""
    template = jinja2.sandbox.SandboxedEnvironment().from_string(sql)
    return template.render(nengtan_lang=lambda: lang, cache_key_wrapper=lambda key: key)


def _source(dataset: str, lang: str = "zh") -> str:
    spec = ASSETS.DATASETS[dataset]
    return f"({render(spec['sql'], lang)})" if spec.get("sql") else f"{spec.get('schema', 'marts')}.{dataset}"


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


def expected(con: duckdb.DuckDBPyConnection, chart, restrict: tuple[str, str] | None = None,
             lang: str = "zh") -> tuple[list, Counter]:
    """(column names, rows) the chart must return, computed directly on the serving copy."""
    where = [f"({f})" for f in chart.filters]
    if restrict:
        where.append(f"{restrict[0]} = '{restrict[1]}'")
    where_sql = f"WHERE {' AND '.join(where)}" if where else ""
    src = _source(chart.dataset, lang)
    if chart.viz == "table":
        order = ", ".join(f"{c} {'ASC' if asc else 'DESC'}" for c, asc in chart.order_by)
        sql = (f"SELECT {', '.join(chart.columns)} FROM {src} AS t {where_sql} "
               f"{'ORDER BY ' + order if order else ''} LIMIT {chart.row_limit}")
        cols = list(chart.columns)
    else:
        keys = []
        if chart.x and chart.temporal_x:
            keys.append(f"CAST(date_trunc('{GRAIN[chart.grain]}', {chart.x}) AS TIMESTAMP)")
        elif chart.x:  # a label axis: its categories as they are
            keys.append(chart.x)
        keys += chart.groupby
        metrics = [m["sqlExpression"] for m in chart.metrics]
        group = f"GROUP BY {', '.join(keys)}" if keys else ""
        sql = f"SELECT {', '.join(keys + metrics)} FROM {src} AS t {where_sql} {group}"
        cols = ([chart.x] if chart.x else []) + chart.groupby + [m["label"] for m in chart.metrics]
    return cols, _rows(con.execute(sql).fetchall())


def chart_data(session: requests.Session, url: str, chart_id: int, lang: str | None = None,
               force: bool = True) -> requests.Response:
    """The chart's saved query through the API; ``lang`` as the UI language (``_l_``, Flask-AppBuilder's
    locale argument), the default being the session's (Chinese)."""
    params = {"force": "true" if force else "false", **({"_l_": lang} if lang else {})}
    return session.get(f"{url}/api/v1/chart/{chart_id}/data/", params=params, timeout=120)


def actual(resp: requests.Response, cols: list[str]) -> Counter:
    body = resp.json()
    result = body["result"][0]
    assert result.get("status") in ("success", None), result
    assert not result.get("error"), result["error"]
    return Counter(tuple(_norm(row.get(c)) for c in cols) for row in result["data"])


# --------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------
def test_assets_imported_once_with_seven_dashboards(superset, admin, chart_ids) -> None:
    assert sorted(chart_ids) == sorted(CHARTS), "charts in Superset differ from dashboards/build_assets.py"
    r = admin.get(f"{superset['url']}/api/v1/dashboard/", params={"q": json.dumps({"page_size": 100})}, timeout=30)
    slugs = sorted(d["slug"] for d in r.json()["result"])
    assert slugs == ["carbon-market", "city", "data-quality", "dual-control", "enterprise", "park", "projects"]
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
            "SELECT d.name_zh FROM marts.park_carbon_monthly p JOIN marts.dim_parks d USING (park_id) "
            "WHERE p.month = (SELECT max(month) FROM marts.park_carbon_monthly) ORDER BY p.ytd_energy_tce DESC"
        ).fetchall()
        title = next(c.title for c in ASSETS.CHARTS if c.key == "city_parks_ranked")
        ranked = chart_data(admin, superset["url"], chart_ids[title]).json()["result"][0]["data"]
        assert [r["park_name"] for r in ranked] == [p[0] for p in parks]
    finally:
        con.close()
    # The small city's 46 days hold no 90-day baseline: no project is measured there, so the charts of measured
    # savings are empty (their baselines, refused with the reason, are not); the demo city fills them.
    measured = {c.title for c in ASSETS.CHARTS if c.dataset in ("v_project_savings", "v_project_series")
                or c.key == "prj_reporting"}
    assert nonempty >= len(CHARTS) - 6 - len(measured), "too few charts have data to compare: the fixture city is too thin"


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


SHOTS = Path(os.environ.get("NENGTAN_DASHBOARD_SHOTS", "")) if os.environ.get("NENGTAN_DASHBOARD_SHOTS") else None


def _screenshots(superset, user: str, password: str, slugs: list[str], out: Path, lang: str = "zh") -> list[dict]:
    env = superset_server.superset_env(env_extra={"NENGTAN_SHOT_PASSWORD": password})
    proc = subprocess.run(
        [str(superset_server.SUPERSET_VENV / "bin" / "python"), str(REPO_ROOT / "dashboards" / "screenshot.py"),
         "--url", superset["url"], "--user", user, "--password-env", "NENGTAN_SHOT_PASSWORD", "--lang", lang,
         "--out", str(out), *slugs],
        env=env, capture_output=True, text=True, timeout=600)
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(results) == len(slugs), f"screenshot run failed: {proc.stdout[-1000:]} {proc.stderr[-2000:]}"
    return results


# --------------------------------------------------------------------------------------
# What a reader sees: labels, names, the warnings summary, provisional months
# --------------------------------------------------------------------------------------
def _seed_levels() -> list[dict[str, str]]:
    return ASSETS.warning_levels()


# Every code a chart could leak instead of its label: the label tables' keys and the seed's levels.
RAW_CODES = ({code for pairs in ASSETS.LABELS.values() for code in pairs}
             | {r["warning_level"] for r in _seed_levels()} | {"true", "false", "True", "False"})
# The label columns charts show and how each language must read. Names and months are checked apart.
LABEL_COLUMNS = {"energy_label", "metric_label", "warning_label", "level_label", "status", "declaration",
                 "counted_label", "reason_label", "severity_label", "source_label", "rule_label", "series_label",
                 "sector_label", "list_label", "compliance_label", "near_deadline_label", "finding_label",
                 "meets_core_label", "meets_clean_label", "measure_label", "project_status_label",
                 "qualification_label", "significance_label", "approval_label", "on_track_label"}
NAME_COLUMNS = {"park_name", "enterprise_name", "entity_name", "project_name"}
CJK = re.compile(r"[\u4e00-\u9fff]")
MONTH_LABEL = {"zh": re.compile(r"^\d{4}-\d{2}(（临时）)?$"), "en": re.compile(r"^\d{4}-\d{2}( \(provisional\))?$")}
PROVISIONAL_STATUS = {"zh": ASSETS.PROVISIONAL[0], "en": ASSETS.PROVISIONAL[1]}
ZH_LABELS = ({pair[0] for pairs in ASSETS.LABELS.values() for pair in pairs.values()}
             | {r["label_zh"] for r in _seed_levels()}
             | {ASSETS.PROVISIONAL[0], ASSETS.FINAL[0], ASSETS.CITY_NAME[0], *(p[0] for p in ASSETS.YES_NO)})


def _shown(chart) -> list[str]:
    """The columns a chart shows as text: table columns, series and axis categories."""
    return [*chart.columns, *chart.groupby, *([chart.x] if chart.x and not chart.temporal_x else [])]


def _data(resp: requests.Response) -> list[dict]:
    assert resp.status_code == 200, resp.text[:300]
    result = resp.json()["result"][0]
    assert not result.get("error"), result["error"]
    return result["data"]


def _check_text(value: Any, column: str, lang: str, where: str) -> None:
    """A label or name in ``lang``: never a code, Chinese in Chinese, no Chinese in English."""
    if value is None:
        return
    assert value not in RAW_CODES, f"{where}: raw code {value!r} in {column} ({lang})"
    assert "_" not in value or column in NAME_COLUMNS, f"{where}: code-like {value!r} in {column} ({lang})"
    if lang == "zh" and column != "month_label":
        assert CJK.search(value), f"{where}: {column} {value!r} is not Chinese"
    if lang == "en":
        assert not CJK.search(value), f"{where}: {column} {value!r} is not English"


def test_labels_in_the_users_language(superset, admin, chart_ids) -> None:
    """Each chart's label, name and month columns, asked for in Chinese and in English: no code, the right
    language, and the two languages differ (the virtual datasets pick them by the session's locale)."""
    checked: dict[str, dict[str, set]] = {}
    for title, chart in CHARTS.items():
        cols = [c for c in _shown(chart) if c in LABEL_COLUMNS | NAME_COLUMNS | {"month_label"}]
        if not cols:
            continue
        for lang in ("zh", "en"):
            for row in _data(chart_data(admin, superset["url"], chart_ids[title], lang=lang)):
                for col in cols:
                    value = row.get(col)
                    _check_text(value, col, lang, title)
                    if col == "month_label" and value is not None:
                        assert MONTH_LABEL[lang].match(value), f"{title}: month label {value!r} ({lang})"
                    if value is not None:
                        checked.setdefault(col, {"zh": set(), "en": set()})[lang].add(value)
    for col in ("energy_label", "metric_label", "warning_label", "level_label", "status", "park_name",
                "enterprise_name", "series_label"):
        assert col in checked and checked[col]["zh"], f"no chart showed {col}: nothing was checked"
        assert checked[col]["zh"] != checked[col]["en"], f"{col} reads the same in both languages"
    # the examples, by name: energy types, metrics and levels come out as words
    assert "天然气" in checked["energy_label"]["zh"] and "Natural gas" in checked["energy_label"]["en"]
    assert "能耗强度" in checked["metric_label"]["zh"] and "Energy intensity" in checked["metric_label"]["en"]


def test_languages_do_not_share_cached_results(superset, admin, chart_ids) -> None:
    """Cached results are keyed on the language: an English request right after a Chinese one (no force)
    gets English labels, not the Chinese result from the cache."""
    title = next(c.title for c in ASSETS.CHARTS if c.key == "city_warnings")
    zh = _data(chart_data(admin, superset["url"], chart_ids[title], lang="zh", force=False))
    en = _data(chart_data(admin, superset["url"], chart_ids[title], lang="en", force=False))
    assert zh and en, "no warnings to compare"
    assert all(CJK.search(r["warning_label"]) for r in zh)
    assert not any(CJK.search(r["warning_label"]) for r in en), "English request served the Chinese cached rows"


def test_filters_offer_names(superset, admin, serving) -> None:
    """The park and enterprise dashboards filter on names (in the user's language), not ids."""
    url = superset["url"]
    dashboards = {d["slug"]: d["id"] for d in admin.get(
        f"{url}/api/v1/dashboard/", params={"q": json.dumps({"page_size": 100})}, timeout=30).json()["result"]}
    con = duckdb.connect(str(serving), read_only=True)
    try:
        for slug, column, dim, key in (("park", "park_name", "dim_parks", "park_id"),
                                       ("enterprise", "enterprise_name", "dim_enterprises", "credit_code")):
            meta = json.loads(admin.get(f"{url}/api/v1/dashboard/{dashboards[slug]}", timeout=30)
                              .json()["result"]["json_metadata"])
            filters = meta["native_filter_configuration"]
            assert [t["column"]["name"] for f in filters for t in f["targets"]] == [column], filters
            dataset_id = filters[0]["targets"][0]["datasetId"]
            assert filters[0]["chartsInScope"], f"{slug}: the name filter applies to no chart"
            for lang, name_sql in (("zh", "name_zh"), ("en", "coalesce(name_en, name_zh)")):
                # what the filter's drop-down asks for: the distinct values of its column
                body = {"datasource": {"id": dataset_id, "type": "table"}, "force": True,
                        "queries": [{"columns": [column], "metrics": [], "row_limit": 1000, "orderby": [[column, True]],
                                     "filters": [], "extras": {}}], "result_format": "json", "result_type": "full"}
                resp = admin.post(f"{url}/api/v1/chart/data", params={"_l_": lang}, json=body, timeout=60)
                offered = {r[column] for r in _data(resp)}
                names = {r[0] for r in con.execute(f"SELECT {name_sql} FROM marts.{dim}").fetchall()}
                ids = {r[0] for r in con.execute(f"SELECT {key} FROM marts.{dim}").fetchall()}
                assert offered and offered <= names, f"{slug} filter ({lang}) offers {sorted(offered)[:3]}, not names"
                assert not offered & ids
            # every chart in the filter's scope has the name column, so the filter applies to each
            for chart_key in ASSETS.DASHBOARDS[next(k for k, v in ASSETS.DASHBOARDS.items() if v["slug"] == slug)]["charts"]:
                chart = next(c for c in ASSETS.CHARTS if c.key == chart_key)
                assert column in {c for c, _, _ in ASSETS.DATASETS[chart.dataset]["columns"]}, chart.title
    finally:
        con.close()


def test_warnings_summary_above_the_list_in_severity_order(superset, admin, chart_ids, serving) -> None:
    url = superset["url"]
    by_key = {c.key: c for c in ASSETS.CHARTS}
    levels = _seed_levels()
    rank = {r[k]: int(r["rank"]) for r in levels for k in ("label_zh", "label_en")}
    con = duckdb.connect(str(serving), read_only=True)
    try:
        want = dict(con.execute("SELECT label_zh, count(*) FROM marts.dual_control_warnings GROUP BY 1").fetchall())
    finally:
        con.close()
    assert want, "the fixture city has no warnings to summarise"
    summary = _data(chart_data(admin, url, chart_ids[by_key["city_warning_summary"].title]))
    assert {r["warning_label"]: r["数量 Count"] for r in summary} == want
    # the list: most severe first (the seed's rank), the mildest level only in the summary
    for lang in ("zh", "en"):
        listed = _data(chart_data(admin, url, chart_ids[by_key["city_warnings"].title], lang=lang))
        ranks = [rank[r["warning_label"]] for r in listed]
        assert ranks == sorted(ranks, reverse=True), f"warnings not in severity order ({lang}): {ranks[:20]}"
        assert min(ranks, default=2) > 1, "on-track positions belong in the summary, not the list"
    # the dashboard: summary charts above the list, each level's labels in the seed's colour
    dash = next(d for d in admin.get(f"{url}/api/v1/dashboard/", timeout=30).json()["result"] if d["slug"] == "city")
    detail = admin.get(f"{url}/api/v1/dashboard/{dash['id']}", timeout=30).json()["result"]
    layout = json.loads(detail["position_json"])
    def charts_under(node_id: str) -> list[int]:
        node = layout[node_id]
        found = [node["meta"]["chartId"]] if node["type"] == "CHART" else []
        return found + [c for child in node.get("children", []) for c in charts_under(child)]

    row_of = {chart: i for i, row in enumerate(layout["GRID_ID"]["children"]) for chart in charts_under(row)}
    assert row_of[chart_ids[by_key["city_warning_summary"].title]] < row_of[chart_ids[by_key["city_warnings"].title]]
    colours = json.loads(detail["json_metadata"])["label_colors"]
    for level in levels:
        assert colours[level["label_zh"]] == colours[level["label_en"]] == level["colour"]


def test_provisional_months_marked(superset, admin, chart_ids, serving) -> None:
    """Every chart showing months labels a provisional month "（临时）" / "(provisional)", and only those."""
    con = duckdb.connect(str(serving), read_only=True)
    try:
        city = dict(con.execute("SELECT left(CAST(month AS VARCHAR), 7), is_provisional "
                                "FROM marts.city_carbon_monthly").fetchall())
    finally:
        con.close()
    assert any(city.values()), "the fixture city has no provisional month: nothing to mark"
    monthly = [c for c in ASSETS.CHARTS if "month_label" in _shown(c)]
    assert {c.key for c in monthly} >= {"city_monthly", "city_intensity", "city_location_vs_market",
                                        "city_green_share", "park_energy_trend", "ent_scope_monthly"}
    marked = unmarked = 0
    for chart in monthly:
        for lang in ("zh", "en"):
            suffix = ASSETS.PROVISIONAL_SUFFIX[0 if lang == "zh" else 1]
            for row in _data(chart_data(admin, superset["url"], chart_ids[chart.title], lang=lang)):
                label_ = row["month_label"]
                provisional = label_.endswith(suffix)
                marked += provisional
                unmarked += not provisional
                if chart.dataset == "v_city_monthly":
                    assert provisional == city[label_[:7]], f"{chart.title}: {label_} ({lang})"
                if "status" in row:
                    assert provisional == (row["status"] == PROVISIONAL_STATUS[lang]), f"{chart.title}: {row}"
    assert marked > 0 and unmarked > 0, f"{marked} months marked provisional, {unmarked} final: nothing to tell apart"


MISTRANSLATIONS = ("异常", "序列", "要显示的可视化类型")


def _cells_ok(detail: dict, lang: str, slug: str) -> None:
    where = f"{slug} ({lang}) {detail.get('title')}"
    for cell in detail["cells"]:
        assert cell not in RAW_CODES, f"{where}: raw code {cell!r} in a table cell"
        for code in RAW_CODES:
            if "_" in code:
                assert code not in cell, f"{where}: raw code {code!r} in {cell!r}"
    for placeholder in detail["placeholders"]:
        assert "异常" not in placeholder, f"{where}: search box reads {placeholder!r}"
    cells = set(detail["cells"])  # the data may say 异常 (an anomaly); Superset's own words may not
    chrome = [line for line in detail["text"].splitlines() if line.strip() not in cells]
    for wrong in MISTRANSLATIONS:  # Superset's catalogue, corrected in superset_config.TRANSLATION_FIXES
        assert not any(wrong in line for line in chrome), f"{where}: reads {wrong!r}"


def test_dashboards_render_in_chromium(superset, tmp_path) -> None:
    """Every dashboard in Chinese and in English, as the admin, and the park dashboard as a park manager:
    no chart error, every chart drawn, and what the page shows as text (tables, titles, notes, the
    filter bar, search boxes) free of codes, in the page's language, with provisional months marked."""
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("chromium not installed")
    out = SHOTS or tmp_path
    per_dashboard = {key: len(spec["charts"]) for key, spec in ASSETS.DASHBOARDS.items()}
    slug_of = {spec["slug"]: key for key, spec in ASSETS.DASHBOARDS.items()}
    described = {c.title for c in ASSETS.CHARTS if c.description}
    results = []
    for lang in ("zh", "en"):
        results += _screenshots(superset, *superset["admin"], list(slug_of), out / "admin", lang)
    park_user, park_password = _restricted_users(superset, "park_")[0]
    results += _screenshots(superset, park_user, park_password, ["park", "dual-control", "carbon-market", "projects"],
                            out / "park_manager", "zh")
    seen_provisional = {"zh": False, "en": False}
    for res in results:
        lang, slug = res["lang"], res["slug"]
        assert res["errors"] == [], f"{slug}: chart errors {res['errors']}"
        assert res["charts"] == per_dashboard[slug_of[slug]], res
        assert res["rendered"] == res["charts"], f"{slug}: not every chart drew: {res}"
        png = Path(res["png"])
        assert png.stat().st_size > 40_000, f"{png} is suspiciously small (an error page?)"
        assert _png_colours(png) > 40, f"{png} has too few colours to be a dashboard"
        assert res["notes"] and all(CJK.search(n) for n in res["notes"]), f"{slug}: no note on how to read it"
        titles = set()
        for detail in res["details"]:
            _cells_ok(detail, lang, slug)
            titles.add(detail["title"])
            if detail["title"] in described:
                assert detail["description"], f"{slug}: {detail['title']} shows no explanation"
            text = "\n".join(detail["cells"])
            seen_provisional[lang] |= ASSETS.PROVISIONAL_SUFFIX[0 if lang == "zh" else 1] in text
            if lang == "en":  # no Chinese label left in an English table (ids and names are checked apart)
                leaked = set(detail["cells"]) & ZH_LABELS
                assert not leaked, f"{slug} (en) {detail['title']}: Chinese labels {sorted(leaked)[:5]}"
        assert titles >= {c.title for c in ASSETS.CHARTS if c.key in ASSETS.DASHBOARDS[slug_of[slug]]["charts"]}
        if slug in ("park", "enterprise"):
            bar = res["filter_bar"] or ""
            assert not re.search(r"\bP0\d\b|\b91\d{16}", bar), f"{slug} ({lang}): the filter shows an id: {bar!r}"
            assert (CJK.search(bar) if lang == "zh" else re.search(r"[A-Za-z]{4}", bar)), f"{slug}: filter {bar!r}"
    assert all(seen_provisional.values()), f"no table showed a provisional month: {seen_provisional}"


def _listening(port: int) -> set[str]:
    """Local addresses with a TCP socket listening on ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if fields[3] == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def test_listens_on_loopback_only(superset) -> None:
    """The demo's admin password is public: Superset binds 127.0.0.1 unless NENGTAN_SUPERSET_HOST says otherwise."""
    port = int(superset["url"].rsplit(":", 1)[1])
    addresses = _listening(port)
    assert addresses, f"nothing listens on {port}"
    assert addresses == {"0100007F"}, f"Superset listens on {addresses}, not only 127.0.0.1"
    assert superset_server.bind_host({}) == "127.0.0.1"
    assert superset_server.bind_host({"NENGTAN_SUPERSET_HOST": "0.0.0.0"}) == "0.0.0.0"


def test_bootstrap_refuses_the_demo_password(tmp_path) -> None:
    env = superset_server.superset_env(env_extra={
        "SUPERSET_SECRET_KEY": secrets.token_urlsafe(48), "SUPERSET_ADMIN_PASSWORD": "nengtan-demo",
        "SUPERSET_HOME": str(tmp_path), "NENGTAN_DEMO": "0"})
    proc = subprocess.run([str(superset_server.SUPERSET_VENV / "bin" / "python"),
                           str(REPO_ROOT / "dashboards" / "bootstrap.py")],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "demo password" in proc.stderr + proc.stdout


_RETIRE = """
import sys, uuid
sys.path.insert(0, sys.argv[1])
import bootstrap
from superset.app import create_app
with create_app().app_context():
    from superset import db
    from superset.connectors.sqla.models import SqlaTable
    b = bootstrap.Bootstrap()
    database = b.our_datasets()[0].database
    retired = SqlaTable(table_name="v_retired_view", sql="SELECT 1 AS x", database=database, schema="marts",
                        uuid=uuid.uuid5(bootstrap.BUILD_NAMESPACE, "dataset:v_retired_view"))
    users = SqlaTable(table_name="v_analysts_own", sql="SELECT 1 AS x", database=database, schema="marts")
    db.session.add_all([retired, users])
    db.session.commit()
    b.drop_retired_datasets(b.our_datasets())
    db.session.commit()
    names = {d.table_name for d in b.our_datasets()}
    print("RESULT", "v_retired_view" in names, "v_analysts_own" in names, len(names))
    db.session.delete(next(d for d in b.our_datasets() if d.table_name == "v_analysts_own"))
    db.session.commit()
"""


def test_bootstrap_drops_retired_datasets(superset, city) -> None:
    """A dataset an earlier bundle imported and this one no longer has goes; one a user made stays."""
    env = superset_server.superset_env(city, superset["env"])
    proc = subprocess.run([str(superset_server.SUPERSET_VENV / "bin" / "python"), "-c", _RETIRE,
                           str(REPO_ROOT / "dashboards")], env=env, capture_output=True, text=True, timeout=300)
    result = [line.split()[1:] for line in proc.stdout.splitlines() if line.startswith("RESULT")]
    assert result, f"retire script failed: {proc.stdout[-500:]} {proc.stderr[-2000:]}"
    assert result[0] == ["False", "True", str(len(ASSETS.DATASETS) + 1)], result


def test_restart_skips_what_is_already_done(superset, city) -> None:
    """A second prepare with nothing changed runs neither the migrations nor the bootstrap."""
    log = superset["home"] / "superset.log"

    def counts() -> tuple[int, int]:
        text = log.read_text(errors="replace")
        return text.count("==> bootstrap"), text.count("==> db upgrade") + text.count("==> metadata DB from template")

    assert counts() == (1, 1)
    superset_server.prepare(city, superset["env"])
    assert counts() == (1, 1)


# --------------------------------------------------------------------------------------
# Carbon dual control and the carbon market: figures straight from the marts and the seed
# --------------------------------------------------------------------------------------
def _by_key(key: str):
    return next(c for c in ASSETS.CHARTS if c.key == key)


def test_dual_control_levels_in_the_seeds_words_and_colours(superset, admin, chart_ids, serving) -> None:
    """The assessment shows each entity's status as the seed's label (both languages), coloured as the seed
    colours it; the summary counts the mart's enterprise statuses of the latest year."""
    url = superset["url"]
    levels = _seed_levels()
    con = duckdb.connect(str(serving), read_only=True)
    try:
        latest = con.execute("SELECT max(year) FROM marts.dual_control_assessment").fetchone()[0]
        statuses = dict(con.execute(
            "SELECT status, count(*) FROM marts.dual_control_assessment WHERE level = 'enterprise' AND year = ? "
            "GROUP BY 1", [latest]).fetchall())
        provisional = con.execute("SELECT count(*) FROM marts.dual_control_assessment WHERE is_provisional"
                                  ).fetchone()[0]
    finally:
        con.close()
    assert statuses, "the fixture city has no assessed enterprise: nothing to check"
    for i, lang in enumerate(("zh", "en")):
        word = {r["warning_level"]: r["label_zh" if lang == "zh" else "label_en"] for r in levels}
        word[None] = ASSETS.NO_INTENSITY_TARGET[i]
        summary = _data(chart_data(admin, url, chart_ids[_by_key("dc_status_summary").title], lang=lang))
        assert {r["warning_label"]: r["数量 Count"] for r in summary} == {word[k]: n for k, n in statuses.items()}
        rows = _data(chart_data(admin, url, chart_ids[_by_key("dc_assessment").title], lang=lang))
        marked = [r for r in rows if r["year_label"].endswith(ASSETS.PROVISIONAL_SUFFIX[i])]
        assert len(marked) == provisional and all(r["status"] == PROVISIONAL_STATUS[lang] for r in marked)
    params = admin.get(f"{url}/api/v1/chart/{chart_ids[_by_key('dc_assessment').title]}", timeout=30
                       ).json()["result"]["params"]
    formatting = {(f["targetValue"], f["colorScheme"]) for f in json.loads(params)["conditional_formatting"]
                  if f["column"] == "warning_label"}
    assert formatting == {(r[k], r["colour"]) for r in levels for k in ("label_zh", "label_en")}


def test_carbon_market_gaps_and_findings_equal_the_mart(superset, admin, chart_ids, serving) -> None:
    """Every enterprise short of allowances is in the gap chart with its gap; the cross-check flags exactly
    the mart's findings; the gap near its deadline reads so; candidates of both lists are listed."""
    url = superset["url"]
    con = duckdb.connect(str(serving), read_only=True)
    try:
        gaps = {(n, str(y)): float(g) for n, y, g in con.execute(
            "SELECT name_zh, year, compliance_gap_t FROM marts.ets_compliance WHERE compliance_gap_t > 0").fetchall()}
        findings = {n for (n,) in con.execute(
            "SELECT name_zh FROM marts.ets_compliance WHERE cross_check_finding").fetchall()}
        near = {n for (n,) in con.execute("SELECT name_zh FROM marts.ets_compliance WHERE gap_near_deadline").fetchall()}
        lists = {r[0] for r in con.execute("SELECT DISTINCT list FROM marts.regulatory_candidates").fetchall()}
        covered = con.execute("SELECT count(*) FROM marts.ets_compliance").fetchone()[0]
    finally:
        con.close()
    if not covered:  # the small test city may have no covered enterprise; the demo city plants all cases
        pytest.skip("no enterprise in the carbon market in this city (NENGTAN_SUPERSET_TEST_SERVING=<demo serving>)")
    assert gaps or near, "a city with covered enterprises and no shortfall at all: nothing to compare"
    got = _data(chart_data(admin, url, chart_ids[_by_key("cm_gaps").title]))
    assert {(r["enterprise_name"], r["year"]): pytest.approx(r["缺口 Gap (t)"]) for r in got} == gaps
    cross = _data(chart_data(admin, url, chart_ids[_by_key("cm_cross_check").title]))
    assert {r["enterprise_name"] for r in cross if r["finding_label"] == ASSETS.FINDING[0][0]} == findings
    status = _data(chart_data(admin, url, chart_ids[_by_key("cm_compliance").title]))
    assert {r["enterprise_name"] for r in status if r["near_deadline_label"] == ASSETS.YES_NO[0][0]} == near
    candidates = _data(chart_data(admin, url, chart_ids[_by_key("cm_candidates").title], lang="en"))
    assert {r["list_label"] for r in candidates} == {ASSETS.LABELS["candidate_list"][k][1] for k in lists}
    assert all(r["reason"] and r["figure"] >= r["threshold"] for r in candidates)


def test_new_datasets_show_a_park_manager_only_their_park(superset, admin, serving) -> None:
    """The views over the new marts have park_id, so a park manager reads their own park's rows there
    (not nothing: the dashboards are granted to them) and no other park's."""
    user, password = _restricted_users(superset, "park_")[0]
    park = user[len("park_"):]
    session = _login(superset["url"], user, password)
    datasets = {d["table_name"]: d["id"] for d in admin.get(
        f"{superset['url']}/api/v1/dataset/", params={"q": json.dumps({"page_size": 100})}, timeout=30
    ).json()["result"]}
    con = duckdb.connect(str(serving), read_only=True)
    try:
        for name in ("v_dual_control", "v_ets_compliance", "v_zero_carbon_parks", "ets_compliance",
                     "zero_carbon_park_indicators", "v_project_savings", "v_project_series", "v_project_baselines",
                     "v_new_facilities", "v_enterprise_roadmap", "v_enterprise_roadmap_series"):
            body = {"datasource": {"id": datasets[name], "type": "table"}, "force": True,
                    "queries": [{"columns": ["park_id"], "metrics": [{"expressionType": "SQL", "sqlExpression": "COUNT(*)",
                                                                      "label": "n"}],
                                 "row_limit": 1000, "orderby": [], "filters": [], "extras": {}}],
                    "result_format": "json", "result_type": "full"}
            rows = _data(session.post(f"{superset['url']}/api/v1/chart/data", json=body, timeout=60))
            want = con.execute(f"SELECT count(*) FROM {_source(name)} t WHERE park_id = ?", [park]).fetchone()[0]
            assert want > 0 or name != "v_dual_control", f"{name}: park {park} has no assessment in the fixture city"
            assert {r["park_id"]: r["n"] for r in rows} == ({park: want} if want else {}), f"{name} as {user}: {rows}"
    finally:
        con.close()


def test_roadmap_and_new_facilities_equal_the_marts(superset, admin, chart_ids, serving) -> None:
    """The roadmap shows each enterprise-year's track as the mart states it (both languages); every new
    facility is listed and those above their approval read so."""
    url = superset["url"]
    con = duckdb.connect(str(serving), read_only=True)
    try:
        over = {n for (n,) in con.execute("SELECT name_zh FROM marts.new_facility_tracking WHERE over_approval"
                                          ).fetchall()}
        facilities = con.execute("SELECT count(*) FROM marts.new_facility_tracking").fetchone()[0]
        track = Counter(t for (t,) in con.execute("SELECT on_track FROM marts.enterprise_roadmap").fetchall())
    finally:
        con.close()
    assert track, "the city has no enterprise target: no roadmap to compare"
    for i, lang in enumerate(("zh", "en")):
        rows = _data(chart_data(admin, url, chart_ids[_by_key("ent_roadmap_table").title], lang=lang))
        words = {True: ASSETS.ON_TRACK[0][i], False: ASSETS.ON_TRACK[1][i], None: None}
        assert Counter(r["on_track_label"] for r in rows) == Counter(words[t] for t in track.elements())
    rows = _data(chart_data(admin, url, chart_ids[_by_key("prj_new_facilities").title]))
    assert len(rows) == facilities
    assert {r["project_name"] for r in rows if r["approval_label"] == ASSETS.OVER_APPROVAL[0][0]} == over


def test_projects_qualification_and_savings_equal_the_marts(superset, admin, chart_ids, serving) -> None:
    """Every measured retrofit is in the baselines table with the mart's qualification in words (both
    languages) and a word on its baseline; only qualified baselines are summed into the savings by project."""
    url = superset["url"]
    con = duckdb.connect(str(serving), read_only=True)
    try:
        baselines = {(p, e): q for p, e, q in con.execute(
            "SELECT project_id, energy_type, baseline_qualified FROM marts.project_baselines").fetchall()}
        names = dict(con.execute("SELECT project_id, name_zh FROM marts.project_baselines").fetchall())
        saved = {n: float(v) for n, v in con.execute(
            "SELECT name_zh, sum(savings_tce) FROM marts.project_savings_monthly WHERE baseline_qualified "
            "GROUP BY name_zh").fetchall()}
    finally:
        con.close()
    if not baselines:  # the small test city (12 enterprises) plants no projects; the demo city a dozen
        pytest.skip("no retrofit measured in this city (NENGTAN_SUPERSET_TEST_SERVING=<demo serving>)")
    for i, lang in enumerate(("zh", "en")):
        rows = _data(chart_data(admin, url, chart_ids[_by_key("prj_baselines").title], lang=lang))
        assert len(rows) == len(baselines)
        words = {True: ASSETS.QUALIFIED[0][i], False: ASSETS.QUALIFIED[1][i]}
        assert Counter(r["qualification_label"] for r in rows) == Counter(words[q] for q in baselines.values())
        for r in rows:
            assert r["baseline_note"], f"{r['project_name']}: no word on its baseline ({lang})"
            assert (CJK.search(r["baseline_note"]) if lang == "zh" else not CJK.search(r["baseline_note"]))
    got = _data(chart_data(admin, url, chart_ids[_by_key("prj_savings_by_project").title]))
    assert {r["project_name"]: pytest.approx(r["节能量 Savings (tce)"]) for r in got} == saved
    assert set(saved) <= {names[p] for (p, _), q in baselines.items() if q}
