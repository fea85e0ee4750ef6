"""Dashboard chart-data latency through Superset's API, on a serving copy scaled to the city.

A whole year of 100,000 meters cannot be run through the pipeline on a bench machine, so
the serving copy is the reduced city's year with its enterprise rows replicated (new
credit codes per copy) up to the city's enterprise count. Park and city tables keep the
reduced city's rows (they are small whatever the city size). Replicated tables that publish
writes in an order (``nengtan.publish.SERVING_ORDER``) are put back in that order, as publish
would write the city's copy. Every chart is timed as saved (no filter: the city-wide view) and,
for the dashboards with a native filter, with that filter set to one park / one enterprise.
"""

from __future__ import annotations

import json
import secrets
import shutil
import statistics
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import duckdb

from nengtan.config import Settings
from nengtan.netutil import free_port
from nengtan.publish import order_by


def replicate_serving(src: Path, dst: Path, target_enterprises: int) -> dict[str, Any]:
    """Copy ``src`` to ``dst`` and multiply every enterprise-keyed marts row up to the target."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.unlink(missing_ok=True)
    shutil.copyfile(src, dst)
    con = duckdb.connect(str(dst))
    try:
        con.execute("SET enable_progress_bar = false")
        cols = con.execute(
            "SELECT c.table_schema, c.table_name, list(c.column_name ORDER BY c.ordinal_position) "
            "FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name) "
            "WHERE c.table_schema IN ('marts', 'quality') AND t.table_type = 'BASE TABLE' GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall()
        base = con.execute("SELECT count(DISTINCT credit_code) FROM marts.enterprise_energy_daily").fetchone()[0]
        if not base:
            raise RuntimeError(f"no enterprise rows in {src}")
        copies = max(1, -(-target_enterprises // base))
        # A new code per copy: the division digits of the original code are replaced by the copy
        # number (check character not recomputed), so copies never collide; meter and certificate
        # ids get the copy number appended.
        new_code = "'9' || lpad(CAST(r.i AS VARCHAR), 5, '0') || substr({c}, 7)"
        suffixed = ("meter_id", "certificate_id")
        rows: dict[str, int] = {}
        for schema, table, names in cols:
            codes = [c for c in names if c.endswith("credit_code")]
            where = f"WHERE t.{codes[0]} IS NOT NULL" if codes else ""
            if not codes and "entity_id" in names and "level" in names:
                codes, where = ["entity_id"], "WHERE t.level = 'enterprise'"
            if codes and copies > 1:
                repl = [f"{new_code.format(c='t.' + c)} AS {c}" for c in codes]
                repl += [f"t.{c} || '~' || CAST(r.i AS VARCHAR) AS {c}" for c in names if c in suffixed]
                con.execute(f'INSERT INTO {schema}."{table}" SELECT t.* REPLACE ({", ".join(repl)}) '
                            f'FROM {schema}."{table}" t CROSS JOIN range(1, {copies}) r(i) {where}')
                order = order_by(con, schema, table)
                if order:  # the copies went in at the end: restore the order publish writes the table in
                    con.execute(f'CREATE TABLE {schema}."{table}__sorted" AS SELECT * FROM {schema}."{table}"{order}')
                    con.execute(f'DROP TABLE {schema}."{table}"')
                    con.execute(f'ALTER TABLE {schema}."{table}__sorted" RENAME TO "{table}"')
            rows[f"{schema}.{table}"] = con.execute(f'SELECT count(*) FROM {schema}."{table}"').fetchone()[0]
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return {"base_enterprises": base, "copies": copies, "enterprises": base * copies, "rows": rows,
            "bytes": dst.stat().st_size}


class Api:
    """The few Superset REST calls the benchmark makes, with a bearer token."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.token = ""

    def call(self, method: str, path: str, body: Any = None, timeout: float = 120) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:  # a JSON content type on a bodiless GET makes Flask answer 400
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
                status = resp.status
        except urllib.error.HTTPError as exc:
            raw, status = exc.read(), exc.code
        try:
            return status, json.loads(raw or b"null")
        except ValueError:
            return status, raw[:500].decode(errors="replace")

    def login(self, user: str, password: str) -> None:
        status, body = self.call("POST", "/api/v1/security/login",
                                 {"username": user, "password": password, "provider": "db", "refresh": True})
        if status != 200:
            raise RuntimeError(f"Superset login failed ({status}): {body}")
        self.token = body["access_token"]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[q - 1]


def chart_latencies(api: Api, repeats: int) -> dict[str, Any]:
    """Every chart's data ``repeats`` times, uncached (force=true), timed client-side."""
    status, body = api.call("GET", "/api/v1/chart/?q=(page_size:100)")
    if status != 200:
        raise RuntimeError(f"listing charts failed ({status}): {body}")
    charts = [(c["id"], c.get("slice_name", "")) for c in body.get("result", [])]
    if not charts:
        raise RuntimeError("Superset has no charts")
    latencies: list[float] = []
    per_chart, errors, modes = [], [], []
    for chart_id, name in charts:
        times: list[float] = []
        payload: dict[str, Any] | None = None  # set when the chart's saved query context is posted
        for _ in range(repeats):
            t0 = time.perf_counter()
            if payload is None:
                status, body = api.call("GET", f"/api/v1/chart/{chart_id}/data/?format=json&force=true")
            else:
                status, body = api.call("POST", "/api/v1/chart/data", payload)
            if status != 200 and not times and payload is None:
                # no saved query context for GET: post the chart's own query context instead
                _, meta = api.call("GET", f"/api/v1/chart/{chart_id}")
                ctx = meta.get("result", {}).get("query_context") if isinstance(meta, dict) else None
                if ctx:
                    payload = json.loads(ctx)
                    payload["force"] = True
                    t0 = time.perf_counter()
                    status, body = api.call("POST", "/api/v1/chart/data", payload)
            elapsed = time.perf_counter() - t0
            if status != 200:
                errors.append({"chart": chart_id, "name": name, "status": status, "body": str(body)[:300]})
                break
            times.append(elapsed)
        modes.append("post" if payload is not None else "get")
        latencies.extend(times)
        if times:
            per_chart.append({"chart": chart_id, "name": name, **_chart_stats(times)})
    if not latencies:
        raise RuntimeError(f"no chart answered; first error: {errors[0] if errors else None}")
    return {"charts": len(charts), "charts_answered": len(per_chart), "repeats": repeats,
            "via_get": modes.count("get"), "via_post": modes.count("post"),
            **_summary(latencies, per_chart, errors)}


def _chart_stats(times: list[float]) -> dict[str, float]:
    """One chart's median and slowest request, in ms."""
    return {"p50_ms": round(1000 * statistics.median(times), 1), "max_ms": round(1000 * max(times), 1)}


def _summary(latencies: list[float], per_chart: list[dict], errors: list[dict]) -> dict[str, Any]:
    """Requests, p50 / p95 / max over all of them (ms), per chart, the first errors."""
    return {"requests": len(latencies), "p50_ms": round(1000 * _percentile(latencies, 50), 1),
            "p95_ms": round(1000 * _percentile(latencies, 95), 1), "max_ms": round(1000 * max(latencies), 1),
            "per_chart": per_chart, "errors": errors[:10]}


def _filter_values(db: Path) -> dict[str, str]:
    """A park and an enterprise to filter on, by name as the dashboards' native filters are (the first
    park; an enterprise of the last copy, far from the table's start), in the default language (zh)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        park = con.execute("SELECT name_zh FROM marts.dim_parks ORDER BY park_id LIMIT 1").fetchone()
        code = con.execute("SELECT max(credit_code) FROM marts.enterprise_energy_daily").fetchone()[0]
        ent = con.execute("SELECT name_zh FROM marts.dim_enterprises WHERE credit_code = ?", [code]).fetchone()
    finally:
        con.close()
    return {k: v[0] for k, v in (("park_name", park), ("enterprise_name", ent)) if v and v[0]}


def filtered_latencies(api: Api, repeats: int, values: dict[str, str]) -> dict[str, Any]:
    """The charts of each dashboard with a native filter, queried with that filter set (one park, one
    enterprise), as the dashboard asks for them: what a park manager or an enterprise sees."""
    status, body = api.call("GET", "/api/v1/dashboard/?q=(page_size:100)")
    if status != 200:
        raise RuntimeError(f"listing dashboards failed ({status}): {body}")
    latencies: list[float] = []
    per_chart, errors = [], []
    for dash in body.get("result", []):
        _, meta = api.call("GET", f"/api/v1/dashboard/{dash['id']}")
        config = json.loads((meta.get("result") or {}).get("json_metadata") or "{}")
        columns = [t["column"]["name"] for f in config.get("native_filter_configuration", [])
                   for t in f.get("targets", []) if t.get("column", {}).get("name") in values]
        if not columns:
            continue
        _, charts = api.call("GET", f"/api/v1/dashboard/{dash['id']}/charts")
        for chart in charts.get("result", []):
            _, cmeta = api.call("GET", f"/api/v1/chart/{chart['id']}")
            ctx = (cmeta.get("result") or {}).get("query_context")
            if not ctx:
                continue
            payload = json.loads(ctx)
            payload["force"] = True
            for query in payload["queries"]:
                query["filters"] = [*query.get("filters", []),
                                    *({"col": c, "op": "IN", "val": [values[c]]} for c in columns)]
            times: list[float] = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                status, resp = api.call("POST", "/api/v1/chart/data", payload)
                if status != 200:
                    errors.append({"chart": chart["id"], "status": status, "body": str(resp)[:300]})
                    break
                times.append(time.perf_counter() - t0)
            latencies.extend(times)
            if times:
                per_chart.append({"chart": chart["id"], "name": chart.get("slice_name", ""),
                                  "dashboard": dash.get("slug"), "filter": {c: values[c] for c in columns},
                                  **_chart_stats(times)})
    if not latencies:
        return {"status": "no filtered chart answered", "errors": errors[:10]}
    return _summary(latencies, per_chart, errors)


def measure_charts(serving_src: Path, root: Path, target_enterprises: int, repeats: int,
                   landing: Path) -> dict[str, Any]:
    """Replicate the serving copy, start Superset on it, time the chart-data queries."""
    from nengtan import superset_server

    if not superset_server.SUPERSET_VENV.joinpath("bin", "gunicorn").exists():
        return {"status": f"skipped: no Superset environment at {superset_server.SUPERSET_VENV} (make superset-env)"}
    cfg = Settings(landing=landing, data=root)
    replica = replicate_serving(serving_src, cfg.serving_db, target_enterprises)
    values = _filter_values(cfg.serving_db)
    password = secrets.token_urlsafe(16)
    env_extra = {
        "SUPERSET_HOME": str(root / "superset"),
        "NENGTAN_SERVING_DB": str(cfg.serving_db),
        "SUPERSET_SECRET_KEY": secrets.token_urlsafe(48),
        "SUPERSET_ADMIN_USER": "bench",
        "SUPERSET_ADMIN_PASSWORD": password,
        "SUPERSET_AUTH_RATE_LIMITED": "false",
        "NENGTAN_SUPERSET_USERS_PASSWORD": secrets.token_urlsafe(16),
    }
    port = free_port()
    proc = superset_server.start(port, cfg, env_extra)
    try:
        url = f"http://127.0.0.1:{port}"
        superset_server.wait_ready(url, timeout=300, proc=proc)
        api = Api(url)
        api.login("bench", password)
        result = chart_latencies(api, repeats)
        result["filtered"] = filtered_latencies(api, repeats, values)
    finally:
        superset_server.stop(proc)
    return {"status": "ok", "serving": replica, **result}
