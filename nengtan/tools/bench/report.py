"""The benchmark's table: figures beside their targets, with the machine they came from."""

from __future__ import annotations

from typing import Any


def _s(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.1f}" if v >= 100 else f"{v:,.2f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _status(part: dict[str, Any] | None) -> str | None:
    if not part:
        return "not run"
    st = part.get("status")
    if not st or st == "ok":
        return None
    lines = [ln.strip() for ln in str(st).splitlines() if ln.strip()]
    # the first line says what failed; the last non-trace line usually says why
    causes = [ln for ln in lines[1:] if "Error:" in ln and not ln.startswith(("File ", "raise "))]
    why = causes[-1] if causes else ""
    return (lines[0] + (" … " + why if why else ""))[:200]


def _mv_note(mv: dict[str, Any]) -> str:
    """Whether the M&V step measured (and how long the fit in .venv-mv took) or had nothing to do."""
    if mv.get("measured"):
        return f"measured in .venv-mv: fit {_s(mv.get('measure_seconds'))} s, load {_s(mv.get('load_seconds'))} s"
    if mv.get("measure_state") == "skipped":
        return "nothing to measure or nothing changed: no .venv-mv process"
    return f"measure {mv.get('measure_state') or 'not run'}"


def _fixed_note(fc: dict[str, Any]) -> str:
    """The fixed costs' parts (issue 18): outside the tasks (process start or hand-off to the night worker,
    imports, each DAG run's set-up) and dbt's parse inside dbt_build."""
    wait = fc.get("worker_restart_wait_seconds")
    waited = f", of which {_s(wait)} waiting for the worker's restart after a code change" if wait else ""
    return (f"outside the tasks {_s(fc.get('outside_tasks_seconds'))} ({fc.get('ran_in') or '?'}{waited}) + dbt parse "
            f"{_s(fc.get('dbt_parse_seconds'))} ({fc.get('dbt_parse') or 'not seen'}); target < 5")


def _city_history_rows(ch: dict[str, Any], add: Any) -> None:
    """The full city's night N after its synthesized history: the ratio, the untimed synthesis, and
    what was synthesized at which scale."""
    last = ch.get("night") or {}
    n = ch.get("n", "N")
    if last.get("wall_seconds") is None:
        add(f"full city: night {n} after a synthesized history", _status(ch) or "not run")
        return
    add(f"full city: night 1 / night {n} (s)", f"{_s(ch.get('night_1_seconds'))} / {_s(last.get('wall_seconds'))}",
        (f"x{_s(ch['ratio_to_night_1'])}; target ≤ 1.2" if ch.get("ratio_to_night_1")
         else f"night {n} FAILED (exit {last.get('exit_code')}), see {last.get('log')}"))
    if not last.get("ok") and last.get("error"):
        add("  failure (last lines)", last["error"].strip().splitlines()[-1][:110] if last["error"].strip() else "")
    for d in last.get("dags", []):
        add(f"  {d['dag_id']} ({d['state']})", d.get("seconds"))
    for t in last.get("tasks", []):
        if t["task_id"] in ("load_meter_readings", "dbt_build", "check_raw", "check_marts", "publish"):
            add(f"    {t['task_id']}", t.get("seconds"), t.get("state") or "")
    add(f"  peak RSS, night {n} (GiB)", last.get("peak_rss_gib"), "target < 4")
    if last.get("fixed_costs"):
        add("  of which fixed costs (s)", last["fixed_costs"].get("seconds"), _fixed_note(last["fixed_costs"]))
    pub = ch.get("published") or {}
    before = n - 1 if isinstance(n, int) else "N-1"
    add(f"  synthesis of days 2..{_s(n - 2 if isinstance(n, int) else n)} (s, untimed for the ratio)",
        ch.get("synthesis_seconds"),
        f"+ days {before} and {n}'s files {_s(ch.get('landing_seconds'))} s + publish {_s(pub.get('publish_seconds'))} s "
        f"+ ledger {_s((pub.get('ledger_files_seconds') or 0) + (pub.get('ledger_publish_seconds') or 0))} s")
    prev = ch.get("night_before") or {}
    if prev.get("wall_seconds") is not None:
        add(f"  night {before} through the DAGs (s, untimed for the ratio)", prev["wall_seconds"],
            "leaves night " + str(n) + " what a night leaves: its publish's spare serving file, its runs")
    add("  warehouse / serving copy before night " + str(n) + " (GB)",
        f"{_s((ch.get('warehouse_bytes') or 0) / 1e9)} / {_s((ch.get('serving_bytes') or 0) / 1e9)}")
    for t in ch.get("tables", []):
        add(f"    synthesized {t['table']}", t.get("rows"), f"{t.get('what')}; scale: {t.get('scale')}")


def _share(task: dict[str, Any], floor_s: float | None, night_s: float | None) -> str:
    """A task against the floor (issue 18: each stage beside its share, so the next bottleneck shows): its
    seconds as a multiple of the floor, and its share of the night. The night's budget is 10 floors."""
    state = task.get("state") or ""
    sec = task.get("seconds")
    if not sec or state != "success":
        return state
    parts = [state]
    if floor_s:
        parts.append(f"{sec / floor_s:.1f} x floor")
    if night_s:
        parts.append(f"{100 * sec / night_s:.0f} % of the night")
    return "; ".join(parts)


def render_table(r: dict[str, Any]) -> str:
    m = r.get("machine", {})
    p = r.get("profile", {})
    lines = [
        f"Nengtan benchmark — profile {p.get('name')}  ({r.get('started_at')} → {r.get('finished_at')})",
        f"machine: {m.get('cpu_model')}; {m.get('logical_cores')} logical cores "
        f"({m.get('usable_cores')} usable); {m.get('memory_gib')} GiB RAM; {m.get('os')}",
        f"engines: DuckDB {m.get('duckdb')}, Airflow {m.get('airflow')}, dbt-core {m.get('dbt_core')}, "
        f"GX {m.get('great_expectations')}, Python {m.get('python')}; DuckDB memory_limit {p.get('memory_limit')}",
        "",
    ]
    rows: list[tuple[str, str, str]] = []

    def add(name: str, value: Any, target: str = "") -> None:
        text = _s(value)
        if len(text) > 40:  # a status or failure: keep the value column narrow
            text, target = text.split(":", 1)[0], text
        rows.append((name, text, target))

    city = r.get("city") or {}
    if _status(city):
        add("city", _status(city))
    else:
        add("city: enterprises / meters", f"{_s(city.get('enterprises'))} / {_s(city.get('meters'))}")
        add("city: readings per night", int(city.get("readings_per_day") or 0))
        add("generator: seconds per day", city.get("seconds_per_day"),
            "(reused from an earlier run)" if city.get("reused_from_earlier_run") else "")

    floor = r.get("floor") or {}
    if _status(floor):
        add("floor", _status(floor))
    else:
        add("floor: DuckDB alone, one statement (s)", floor.get("seconds"),
            f"{floor.get('files')} files, {_s(floor.get('rows_read'))} rows, "
            f"{floor.get('legacy_files_transcoded')} GB18030 transcoded")

    night = r.get("night") or {}
    if _status(night) and not night.get("wall_seconds"):
        add("night 1 end to end", _status(night))
    else:
        add("night 1 end to end through the DAGs (s)", night.get("wall_seconds"),
            "ok" if night.get("ok") else f"FAILED (exit {night.get('exit_code')}), see {night.get('log')}")
        for d in night.get("dags", []):
            add(f"  {d['dag_id']} ({d['state']})", d.get("seconds"))
        for t in night.get("tasks", []):
            add(f"    {t['task_id']}", t.get("seconds"), _share(t, floor.get("seconds"), night.get("wall_seconds")))
        mv = night.get("mv")
        if mv:
            add("M&V step, nengtan_mv (s)", mv.get("seconds"), _mv_note(mv))
        fc = night.get("fixed_costs")
        if fc:
            add("fixed costs of the night (s)", fc.get("seconds"), _fixed_note(fc))
        add("night / floor", r.get("night_over_floor"), "target ≤ 10")
        add("peak RSS of the night's process tree (GiB)", night.get("peak_rss_gib"), "target < 4")
        if not night.get("ok") and night.get("error"):
            add("  failure (last lines)", night["error"].strip().splitlines()[-1][:110] if night["error"].strip()
                else "")

    ch = r.get("city_history")
    if ch:
        _city_history_rows(ch, add)
    hist = r.get("history") or {}
    if _status(hist) or not hist:
        add("history", _status(hist) or "not run")
    else:
        add("history measured on", hist.get("city") + (" (for the backfill rates)" if ch else ""))
    if hist:
        for n in hist.get("nights", []):
            ratio = f"x{_s(n['ratio_to_night_1'])} of night 1" if n.get("ratio_to_night_1") else ""
            last = n is hist["nights"][-1] and len(hist["nights"]) > 1 and not _status(hist)
            add(f"night {n['n']} after {n['n'] - 1} days of history (s)", n.get("wall_seconds"),
                ratio + ("; target ≤ 1.2" if last and not (ch or {}).get("ratio_to_night_1") else ""))
            if n.get("mv"):
                add("  of which the M&V step (s)", n["mv"].get("seconds"), _mv_note(n["mv"]))
            if n.get("fixed_costs"):
                add("  of which fixed costs (s)", n["fixed_costs"].get("seconds"), _fixed_note(n["fixed_costs"]))
        for b in hist.get("catch_up", []):
            add(f"  catch-up night {b['day']} ({b.get('days_loaded')} days, untimed for ratios) (s)",
                b.get("wall_seconds"), "ok" if b.get("ok") else "FAILED")
    bf = r.get("backfill") or {}
    if bf:
        add(f"backfill night by night, days/hour ({bf.get('measured_on')})", bf.get("night_by_night_days_per_hour"))
        add("backfill catch-up (one night loads many days), days/hour", bf.get("catch_up_days_per_hour"))
        add("  scaled to the full city (x measured night ratio " + _s(bf.get("scale_to_city")) + ")",
            f"{_s(bf.get('night_by_night_days_per_hour_city_scaled'))} night by night, "
            f"{_s(bf.get('catch_up_days_per_hour_city_scaled'))} catch-up")

    charts = r.get("charts") or {}
    if _status(charts):
        add("dashboard chart-data queries", _status(charts))
    else:
        add(f"chart-data p50 / p95 (ms), {charts.get('charts')} charts x {charts.get('repeats')}",
            f"{_s(charts.get('p50_ms'))} / {_s(charts.get('p95_ms'))}", "target p95 < 1000")
        srv = charts.get("serving", {})
        add("  serving copy", f"{_s(srv.get('enterprises'))} enterprises ({srv.get('copies')} copies of "
                              f"{srv.get('base_enterprises')})", charts.get("note", "")[:0])
    pub = r.get("publish_at_scale") or {}
    if _status(pub):
        add("publish of the city-scale serving copy", _status(pub))
    elif pub:
        add(f"publish of the city-scale serving copy (s), {_s(pub.get('rows'))} rows", pub.get("seconds"),
            f"from scratch; meter_daily {_s(pub.get('meter_daily_rows'))} rows through {pub.get('data_day')}")
        since, replaced = pub.get("night_incremental") or {}, pub.get("night_replaced") or {}

        def rows_of(table: str) -> str:
            done = replaced.get(table) or {}
            days = ", ".join(done.get("days") or []) or "none"
            return f"from {since.get(table)} ({days} whole, {done.get('keys', 0)} keys)"

        add("  publish after a night on it (s)", pub.get("night_seconds"),
            f"meter rows {rows_of('marts.meter_daily')}, enterprise rows {rows_of('marts.enterprise_energy_daily')}"
            if pub.get("night_mode") == "incremental" else f"copied whole: {pub.get('night_reason')}")
        add("  ledger record of the copy, from scratch / after a night (s)",
            f"{_s(pub.get('ledger_seconds'))} / {_s(pub.get('night_ledger_seconds'))}",
            f"hashes derived, not rescanned: {len(pub.get('night_ledger_derived') or [])} tables")
    width = max(len(a) for a, _, _ in rows) + 2
    vwidth = max(len(b) for _, b, _ in rows) + 2
    lines.append(f"{'figure':<{width}}{'value':>{vwidth}}  target / note")
    lines.append("-" * (width + vwidth + 30))
    lines += [f"{a:<{width}}{b:>{vwidth}}  {c}" for a, b, c in rows]
    if charts.get("note"):
        lines.append(f"\nnote: {charts['note']}")
    lines.append("\ntargets (printed, not asserted):")
    for t in r.get("targets", []):
        met = {True: "met", False: "NOT met", None: "not measured"}[t["met"]]
        lines.append(f"  {t['target']:<40} {_s(t['value']):>10}  {met}")
    return "\n".join(lines)
