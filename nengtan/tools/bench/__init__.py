"""City-scale benchmark (``nengtan bench``): one night of the whole city through the real
DAGs against the floor (DuckDB alone on the same files), the same night after a month and a
year of history, the backfill rate, and dashboard chart latency through Superset's API.

Figures are printed as a table and written to ``$NENGTAN_DATA/bench/<timestamp>.json`` and
``latest.json``. Targets are printed beside the figures, never asserted: speed depends on
the machine, which is printed with them.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from nengtan.config import settings
from nengtan.tools.bench.machine import machine_facts
from nengtan.tools.bench.report import render_table

__all__ = ["FULL", "QUICK", "Profile", "main", "run"]


@dataclass(frozen=True)
class Profile:
    """What one benchmark run measures, and at which scale."""

    name: str
    enterprises: int              # the city of the timed night and the floor
    history_enterprises: int      # the (reduced) city of the history, backfill and serving figures
    history_nights: tuple[int, ...]  # N: the night of day N after N-1 days of history
    chart_repeats: int = 10
    superset: bool = True
    meters_per_enterprise: int = 10
    start: date = date(2026, 1, 1)
    seed: int = 2026
    # DuckDB's memory limit for every night of the run: the pipeline's default (nengtan.config). At 3 GB (the
    # limit until session 7) an incremental night of the full city runs out of memory in int_meter_readings,
    # whose window needs ~3.3 GiB for 9.4 M readings (docs/performance.md); the peak-RSS target still
    # judges the whole process tree against 4 GiB.
    memory_limit: str = "4GB"
    night_timeout: float = 1200.0  # seconds; NENGTAN_BENCH_NIGHT_TIMEOUT overrides
    # night N of the city itself after a synthesized history of N-1 days (city_history.py); None: not run
    city_history_night: int | None = None
    city_history_reading_days: int = 3  # the reading-level tables hold only these last days before night N

    @property
    def timeout(self) -> float:
        return float(os.environ.get("NENGTAN_BENCH_NIGHT_TIMEOUT") or self.night_timeout)

    @property
    def history_is_city(self) -> bool:
        return self.history_enterprises == self.enterprises


# A catch-up night loads at most this many days (what `nengtan backfill --step` does).
CATCH_UP_STEP_DAYS = 30

FULL = Profile("full", enterprises=10_000, history_enterprises=200, history_nights=(1, 30, 365),
               chart_repeats=10, night_timeout=6 * 3600.0, city_history_night=365)
QUICK = Profile("quick", enterprises=300, history_enterprises=300, history_nights=(1, 8, 30), chart_repeats=5)

TARGETS = {
    "night_over_floor": ("night within 10x the floor", lambda v: v <= 10),
    "peak_rss_gib": ("peak memory < 4 GiB", lambda v: v < 4),
    # the city's own night N after its synthesized history when that ran, else the history city's last night
    "last_over_first": ("night N_max within 1.2x of night 1", lambda v: v <= 1.2),
    "chart_p95_ms": ("chart p95 < 1 s", lambda v: v < 1000),
}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _section(report: dict[str, Any], key: str, progress: Callable[[str], None], fn: Callable[[], Any]) -> Any:
    """Run one part; a failure is written into the report (and the run goes on)."""
    t0 = time.perf_counter()
    try:
        value = fn()
    except Exception as exc:  # noqa: BLE001 - the table shows what failed, the run continues
        progress(f"[bench] {key} failed: {exc}")
        report[key] = {"status": f"failed: {type(exc).__name__}: {exc}",
                       "traceback": traceback.format_exc()[-3000:]}
        return None
    progress(f"[bench] {key} done in {time.perf_counter() - t0:.1f} s")
    return value


def _checkpoint(report: dict[str, Any]) -> None:
    """Write what has been measured so far (a long run can be read before it ends)."""
    out = settings().bench_dir
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".running-{report['profile']['name']}.json.tmp"
    tmp.write_text(json.dumps({k: v for k, v in report.items() if k != "root"}, indent=2,
                              ensure_ascii=False, default=str))
    os.replace(tmp, out / f"running-{report['profile']['name']}.json")


def _generate(landing: Path, profile: Profile, enterprises: int, days: int,
              progress: Callable[[str], None]) -> dict[str, Any]:
    """Generate a city (or reuse one generated with the same parameters by an earlier run)."""
    from nengtan.tools.generate import generate_city

    params = {"enterprises": enterprises, "days": days, "start": profile.start.isoformat(), "seed": profile.seed,
              "meters_per_enterprise": profile.meters_per_enterprise}
    stamp = landing / "_generator" / "bench-params.json"
    if stamp.exists():
        saved = json.loads(stamp.read_text())
        if saved.get("params") == params:
            progress(f"[bench] reusing the city generated earlier at {landing}")
            return {**saved["report"], "reused_from_earlier_run": True}
    shutil.rmtree(landing, ignore_errors=True)
    t0 = time.perf_counter()
    report = generate_city(landing, profile.start, days, enterprises, seed=profile.seed,
                           meters_per_enterprise=profile.meters_per_enterprise, progress=progress)
    wall = time.perf_counter() - t0
    keep = {k: report.get(k) for k in ("parks", "enterprises", "meters", "readings", "files", "seconds",
                                       "seconds_per_day")}
    keep.update({"days": days, "wall_seconds": wall, "readings_per_day": (report.get("readings") or 0) / days,
                 "landing_bytes": sum(p.stat().st_size for p in landing.rglob("*") if p.is_file())})
    stamp.write_text(json.dumps({"params": params, "report": keep}, default=str))
    return {**keep, "reused_from_earlier_run": False}


def _fresh_root(landing: Path, data: Path, profile: Profile):
    from nengtan.tools.bench.night import BenchRoot, prepare

    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    root = BenchRoot(landing=landing, data=data, memory_limit=profile.memory_limit)
    prepare(root)
    return root


def _history(profile: Profile, landing: Path, work: Path, progress: Callable[[str], None],
             city_night: dict[str, Any] | None, city_root: Any, partial: dict[str, Any]) -> Any:
    """Nights N of the history city on one warehouse: night 1, then for each further N the
    untimed catch-up nights up to day N-1 (each loads the files of up to CATCH_UP_STEP_DAYS
    days), then night N timed."""
    from nengtan.tools.bench.night import run_night

    if city_night is not None:
        root = city_root
    else:  # keep a failed city night's root (and its log) for inspection
        data = work / ("history-rerun-data" if profile.history_is_city else "history-data")
        root = _fresh_root(landing, data, profile)
    partial["root"] = root
    nights: list[dict[str, Any]] = partial.setdefault("nights", [])  # kept if a later night fails
    bulk: list[dict[str, Any]] = partial.setdefault("catch_up", [])
    done_through = 0
    for n in profile.history_nights:
        # catch up days done_through+1 .. n-1 in nights of at most CATCH_UP_STEP_DAYS days each,
        # as `nengtan backfill --step` does (a year in one night does not fit the memory limit)
        while n - 1 > done_through:
            upto = min(done_through + CATCH_UP_STEP_DAYS, n - 1)
            day = profile.start + timedelta(days=upto - 1)
            progress(f"[bench] history: catch-up night {day} (days {done_through + 1}..{upto}, untimed for the ratio)")
            b = run_night(root, day, f"catchup-{upto}", profile.timeout)
            b["days_loaded"] = upto - done_through
            bulk.append(b)
            if not b["ok"]:
                raise RuntimeError(f"catch-up night {day} failed:\n{b.get('error', '')}")
            done_through = upto
        day = profile.start + timedelta(days=n - 1)
        if n == 1 and profile.history_is_city and city_night is not None:
            r = city_night  # the city's night 1 is this history's night 1; not run twice
        else:
            progress(f"[bench] history: night {n} ({day})")
            r = run_night(root, day, f"history-{n}", profile.timeout)
        r["n"] = n
        first = (nights[0] if nights else r)["wall_seconds"]
        r["ratio_to_night_1"] = r["wall_seconds"] / first if first else None
        nights.append(r)
        done_through = n
        if not r["ok"]:
            raise RuntimeError(f"history night {n} ({day}) failed:\n{r.get('error', '')}")
    return {"nights": nights, "catch_up": bulk, "root": root}


def run(profile: Profile, *, work: Path | None = None, progress: Callable[[str], None] = print) -> dict[str, Any]:
    """Run every part of the benchmark; returns the report (also written as JSON)."""
    from nengtan.tools.bench.floor import run_floor
    from nengtan.tools.bench.night import run_night

    cfg = settings()
    out_dir = cfg.bench_dir
    work = work or Path(os.environ.get("NENGTAN_BENCH_WORK", str(out_dir / f"work-{profile.name}")))
    work.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"profile": asdict(profile), "started_at": _now(), "machine": machine_facts(),
                              "work_dir": str(work)}
    report["profile"]["start"] = profile.start.isoformat()
    progress(f"[bench] {profile.name}: {profile.enterprises:,} enterprises x {profile.meters_per_enterprise} meters; "
             f"work dir {work}")
    night1 = profile.start
    city_landing = work / ("history-landing" if profile.history_is_city else "city-landing")
    hist_days = max(profile.history_nights)

    # 1. the city (generator timing)
    city = _section(report, "city", progress, lambda: _generate(
        city_landing, profile, profile.enterprises, hist_days if profile.history_is_city else 1, progress))
    if city:
        report["city"] = city
    _checkpoint(report)

    # 2. the floor
    if city:
        floor = _section(report, "floor", progress, lambda: run_floor(
            city_landing, night1, memory_limit=profile.memory_limit, tmp=work / "floor-tmp"))
        if floor:
            report["floor"] = floor
        _checkpoint(report)

    # 3. one night of the city end to end
    night = None
    roots: dict[str, Any] = {}
    if city:
        def city_night() -> dict[str, Any]:
            data = work / ("history-data" if profile.history_is_city else "city-data")
            root = roots["city"] = _fresh_root(city_landing, data, profile)
            progress(f"[bench] night {night1} of the city through the DAGs …")
            return run_night(root, night1, "city", profile.timeout)

        night = _section(report, "night", progress, city_night)
        if night:
            report["night"] = night
            if not night["ok"]:
                report["night"]["status"] = "failed: " + (night.get("error") or "")[-600:]
            floor_s = report.get("floor", {}).get("seconds")
            if night["ok"] and floor_s:
                report["night_over_floor"] = night["wall_seconds"] / floor_s
        _checkpoint(report)

    # 4. history: the same night after N days
    hist_landing = city_landing if profile.history_is_city else work / "history-landing"
    hist_city = city if profile.history_is_city else _section(
        report, "history_city", progress,
        lambda: _generate(hist_landing, profile, profile.history_enterprises, hist_days, progress))
    history = None
    root = None
    if hist_city:
        if not profile.history_is_city:
            report["history_city"] = hist_city
        reuse = profile.history_is_city and night is not None and night.get("ok")
        partial: dict[str, Any] = {}
        history = _section(report, "history", progress, lambda: _history(
            profile, hist_landing, work, progress, night if reuse else None, roots.get("city"), partial))
        root = partial.pop("root", None)
        if history is None and "history" in report:
            report["history"].update(partial)  # the nights measured before the failure
    if history:
        history.pop("root")
        label = ("the same city" if profile.history_is_city else
                 f"reduced city: {hist_city.get('enterprises'):,} enterprises, {hist_city.get('meters'):,} meters")
        report["history"] = {"city": label, **history}
        report["backfill"] = _backfill(report, history, hist_city)
        _checkpoint(report)

    # 4b. the full city's night N after a synthesized history (its own warehouse, after night 1)
    if profile.city_history_night and not profile.history_is_city:
        if night is None or not night.get("ok"):
            report["city_history"] = {"status": "skipped: the city's night 1 did not succeed"}
        else:
            ch = _section(report, "city_history", progress, lambda: _city_history(profile, roots["city"], night,
                                                                                   progress))
            if ch:
                report["city_history"] = ch
        _checkpoint(report)

    # 5. chart latency on the history city's serving copy (a year when the history got there)
    if hist_city and root is not None:
        if not profile.superset:
            report["charts"] = {"status": "skipped: disabled in this profile"}
        elif not root.serving_db.exists():
            report["charts"] = {"status": "skipped: the history run published no serving copy"}
        else:
            from nengtan.tools.bench.charts import measure_charts

            charts = _section(report, "charts", progress, lambda: measure_charts(
                root.serving_db, work / "serving-data", profile.enterprises, profile.chart_repeats, hist_landing))
            if charts:
                charts["note"] = (f"serving copy = the history city's last published night ({_published(root)}, "
                                  f"of {hist_days} days planned) with enterprise rows "
                                  f"replicated to {profile.enterprises:,} enterprises by SQL (new credit codes per "
                                  "copy); uncached (force=true) chart-data requests")
                report["charts"] = charts
                _checkpoint(report)
                from nengtan.config import Settings

                replica = Settings(landing=hist_landing, data=work / "serving-data").serving_db  # measure_charts' copy
                if replica.is_file():
                    pub = _section(report, "publish_at_scale", progress,
                                   lambda: _publish_at_scale(replica, work / "publish-at-scale"))
                    if pub:
                        report["publish_at_scale"] = pub
    else:
        report.setdefault("charts", {"status": "skipped: no history run to serve"})

    report["targets"] = _targets(report)
    report["finished_at"] = _now()
    _write(report, out_dir)
    (out_dir / f"running-{profile.name}.json").unlink(missing_ok=True)
    return report


def _city_history(profile: Profile, root: Any, night: dict[str, Any], progress: Callable[[str], None]
                  ) -> dict[str, Any]:
    """Night N of the city after N-1 days synthesized in its warehouse (nengtan.tools.bench.city_history);
    its ratio to the city's night 1."""
    from nengtan.tools.bench.city_history import run_city_history

    n = profile.city_history_night
    out = run_city_history(root, profile.start, n, profile.city_history_reading_days, profile.timeout, progress)
    last = out["night"]
    out["night_1_seconds"] = night["wall_seconds"]
    out["ratio_to_night_1"] = (last["wall_seconds"] / night["wall_seconds"]
                               if last.get("ok") and night["wall_seconds"] else None)
    if not last.get("ok"):
        out["status"] = "failed: night " + str(n) + ": " + (last.get("error") or "")[-600:]
    return out


def _publish_at_scale(replica: Path, data: Path) -> dict[str, Any]:
    """The publish stage on the city-scale serving copy (the history's last night replicated to
    the city), with the replica as the warehouse: the first publish copies everything (what a
    night costs without a serving copy to build on), the second follows a typical night (_as_a_night:
    its transform rewrote the meter and enterprise rows of its new day and the enterprise-months of its
    month, and recorded the bounds a night's delete hooks record); that one is what publishing costs
    night after night at this history."""
    import duckdb

    from nengtan.config import Settings
    from nengtan.ledger.record import record_publish
    from nengtan.publish import publish
    from nengtan.warehouse import ensure_raw_schema

    shutil.rmtree(data, ignore_errors=True)
    cfg = Settings(landing=data / "landing", data=data)
    cfg.ensure_dirs()
    con = duckdb.connect(str(replica))
    try:
        con.execute("SET enable_progress_bar = false")
        ensure_raw_schema(con)  # the warehouse's meta tables, where publish keeps its watermarks
        day = con.execute("SELECT max(data_day) FROM meta.publication").fetchone()[0]
        rows = con.execute("SELECT count(*) FROM marts.meter_daily").fetchone()[0]
        t0 = time.perf_counter()
        result = publish(con, run_id="bench-publish-at-scale", day=day, cfg=cfg)
        seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        record_publish(cfg.serving_db, run_id="bench-publish-at-scale", cfg=cfg,
                       changes=result.pop("hash_changes", None))
        ledger_seconds = time.perf_counter() - t0
        _as_a_night(con, day, "bench-publish-at-scale-night")
        t0 = time.perf_counter()
        night = publish(con, run_id="bench-publish-at-scale-night", day=day, cfg=cfg)
        night_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        night_ledger = record_publish(cfg.serving_db, run_id="bench-publish-at-scale-night", cfg=cfg,
                                      changes=night.pop("hash_changes", None))
        night_ledger_seconds = time.perf_counter() - t0
    finally:
        con.close()
    size = cfg.serving_db.stat().st_size
    shutil.rmtree(data, ignore_errors=True)
    return {"seconds": seconds, "data_day": str(day), "meter_daily_rows": rows,
            "rows": sum(result["tables"].values()), "bytes": size,
            "night_seconds": night_seconds, "night_mode": night["mode"], "night_reason": night["reason"],
            "night_incremental": night["incremental"], "night_replaced": night.get("replaced"),
            "night_unchanged": night["unchanged"], "night_patched": night["patched"],
            "ledger_seconds": ledger_seconds, "night_ledger_seconds": night_ledger_seconds,
            "night_ledger_derived": night_ledger["derived"]}


# The marts a night rewrites by day, as their delete hooks record them (intermediate.int_rebuild_bounds), and the
# monthly marts it rewrites for the night's month.
NIGHT_DAY_MARTS = ("marts.meter_daily", "marts.meter_day_sources", "marts.enterprise_energy_daily",
                   "marts.park_energy_daily")
NIGHT_MONTH_MARTS = ("marts.enterprise_carbon_monthly", "marts.energy_balance_monthly")


def _as_a_night(con: Any, day: date, run_id: str) -> None:
    """Leave the replica as a night's transform leaves the warehouse: the rows of its day (the day marts) and of
    its month (the monthly marts) rebuilt, i.e. stamped with its run, and the bounds its delete hooks record,
    lowered into the publish watermarks as after a transform (nengtan.publish_scope.lower_to_bounds)."""
    from nengtan.publish_scope import lower_to_bounds

    month = day.replace(day=1)
    for table in NIGHT_DAY_MARTS:
        con.execute(f"UPDATE {table} SET built_run_id = ? WHERE day = ?", [run_id, day])
    for table in NIGHT_MONTH_MARTS:
        con.execute(f"UPDATE {table} SET built_run_id = ? WHERE month = ?", [run_id, month])
    con.execute("CREATE SCHEMA IF NOT EXISTS intermediate")
    con.execute("CREATE OR REPLACE TABLE intermediate.int_rebuild_bounds (table_name VARCHAR, day_column VARCHAR, "
                "watermark VARCHAR, since_day DATE, whole BOOLEAN)")
    con.executemany("INSERT INTO intermediate.int_rebuild_bounds VALUES (?, 'day', 'since_day', ?, false)",
                    [[table, day] for table in NIGHT_DAY_MARTS])
    lower_to_bounds(con, ["meter_readings"], full_refresh=False)


def _published(root: Any) -> str:
    """Which night the serving copy holds (meta.publication), for the chart note."""
    import duckdb

    try:
        con = duckdb.connect(str(root.serving_db), read_only=True)
        try:
            return f"day {con.execute('SELECT max(data_day) FROM meta.publication').fetchone()[0]}"
        finally:
            con.close()
    except duckdb.Error:
        return "day unknown"


def _backfill(report: dict[str, Any], history: dict[str, Any], hist_city: dict[str, Any]) -> dict[str, Any]:
    """Days per hour, measured on the history city, scaled to the full city by the ratio of
    the full city's measured night to the history city's night 1."""
    nights = history["nights"]
    bulk = [b for b in history["catch_up"] if b.get("ok")]
    out: dict[str, Any] = {}
    nightly_s = sum(r["wall_seconds"] for r in nights) / len(nights)
    out["night_by_night_days_per_hour"] = 3600 / nightly_s if nightly_s else None
    if bulk:
        days = sum(b["days_loaded"] for b in bulk)
        secs = sum(b["wall_seconds"] for b in bulk)
        out["catch_up_days_per_hour"] = 3600 * days / secs if secs else None
        out["catch_up_days"] = days
        out["catch_up_seconds"] = secs
    city_night = report.get("night", {})
    if city_night.get("ok") and nights[0]["wall_seconds"]:
        scale = city_night["wall_seconds"] / nights[0]["wall_seconds"]
        out["scale_to_city"] = scale
        for key in ("night_by_night_days_per_hour", "catch_up_days_per_hour"):
            if out.get(key):
                out[key.replace("days_per_hour", "days_per_hour_city_scaled")] = out[key] / scale
    out["measured_on"] = f"{hist_city.get('enterprises'):,} enterprises, {hist_city.get('meters'):,} meters"
    return out


def _targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    nights = report.get("history", {}).get("nights") or []
    city_n = (report.get("city_history") or {}).get("ratio_to_night_1")
    values = {
        "night_over_floor": report.get("night_over_floor"),
        "peak_rss_gib": report.get("night", {}).get("peak_rss_gib") if report.get("night", {}).get("ok") else None,
        "last_over_first": city_n if city_n is not None else (
            nights[-1].get("ratio_to_night_1") if len(nights) > 1 else None),
        "chart_p95_ms": report.get("charts", {}).get("p95_ms"),
    }
    out = []
    for key, (text, ok) in TARGETS.items():
        v = values[key]
        out.append({"figure": key, "target": text, "value": v,
                    "met": None if v is None else bool(ok(v))})
    return out


def _write(report: dict[str, Any], out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = out_dir / f"{stamp}-{report['profile']['name']}.json"
    text = json.dumps(report, indent=2, ensure_ascii=False, default=str)
    path.write_text(text)
    tmp = out_dir / ".latest.json.tmp"
    tmp.write_text(text)
    os.replace(tmp, out_dir / "latest.json")
    report["json"] = str(path)
    return path


def main(quick: bool = False) -> int:
    """``nengtan bench [--quick]``: run, print the table; non-zero only if nothing could be measured."""
    profile = QUICK if quick else FULL
    report = run(profile)
    print(render_table(report))
    print(f"\nJSON: {report.get('json')} (and latest.json beside it)")
    return 0 if report.get("floor") and "seconds" in report["floor"] else 1
