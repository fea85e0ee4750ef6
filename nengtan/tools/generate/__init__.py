"""Synthetic landing zone (`nengtan generate`): a Wuxi-like city's upstream deliveries.

Writes exactly the layout of docs/data-contract.md, with realistic loads and a
configurable rate of planted faults, deterministically for a seed (same bytes, same mtimes).
The ground truth (report and every planted fault with file and line) goes to
``<out>/_generator/manifest.json``, outside the contract folders.

Manifest: the report (counts, ``faults`` = kind -> planted / opportunities / rate) plus
``faults``: a list of records ``{kind, file, line, detail}`` with ``meter_id``,
``credit_code`` or ``certificate_id`` and ``day`` (YYYY-MM-DD) or ``month`` (YYYY-MM).
``file`` is relative to the landing root; ``line`` is the 1-based physical line with the
header as line 1 (for Parquet and xlsx: data row index + 2, the same numbering), or null
where the fault is an absence (gap, silent meter, late file, missing declaration).
``_generator/truth_meter_daily.csv.gz`` holds the true consumption of every meter-day
(after the multiplier): what a correct warehouse must reproduce from the registers.

Generated meters are on the platform from ``start`` 00:00 (``installed_at``), so the first
reading is measured from ``register_at_install`` without any history before the range.

Planted cases (valid inputs exercising an accounting rule, see :mod:`nengtan.tools.generate.roles`)
are records in the same ``faults`` list, with their kinds counted under ``cases``; ``roles``
maps each role (``chp``, ``chp_heat_customer``, ``feedstock_chemical``, ``cement``,
``aluminium``, ``green_power_uncovered``, ``ets_shortfall``, ...) to its credit code.
``declarations`` says which months were declared, which are pending on the last night (a
month whose submissions land after the last day, e.g. March on the night of 31 March) and
the base-year archive (the year before the range: every enterprise's twelve months, so the
warehouse has the base year of the reduction targets and the ETS data year); ``ets`` says
which data year the registry reports and how many of its records can be cross-checked.
"""

from __future__ import annotations

import gzip
import json
import os
import time as _time
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from nengtan.config import LOCAL_TZ
from nengtan.tools.generate.certificates import certificates_month
from nengtan.tools.generate.city import CITY_ID, City, build_city
from nengtan.tools.generate.contract_check import check_landing
from nengtan.tools.generate.declarations import DEADLINE_DAY, declare_history, declare_month, next_month
from nengtan.tools.generate.ets import write_ets
from nengtan.tools.generate.faults import FaultLog
from nengtan.tools.generate.plant import DayWriter, last_night
from nengtan.tools.generate.projects import plan_projects, write_projects
from nengtan.tools.generate.readings import simulate_day
from nengtan.tools.generate.targets import Truth, write_targets
from nengtan.tools.generate.weather import write_weather_day
from nengtan.tools.generate.writers import set_mtime, write_csv_rows

__all__ = ["generate_city", "check_landing"]

SOURCES = ("registry", "meter_readings", "declarations", "green_certificates", "targets", "ets", "projects",
           "weather")
# a case city up to this size gets the base year's declarations for every enterprise; a larger
# one (the benchmark's) only for the enterprises its cases need (the roles and the first
# HISTORY_ETS_SAMPLE ETS-covered ones), to keep generation fast
HISTORY_ALL_MAX = 2000
HISTORY_ETS_SAMPLE = 40


def _num(x: float) -> str:
    s = f"{x:.2f}"
    return s[:-3] if s.endswith(".00") else s


def _write_registry(city: City, out: Path, fault_rate: float, log: FaultLog) -> None:
    landed = datetime.combine(city.start - timedelta(days=1), time(20), LOCAL_TZ)
    parks_enc = "gb18030" if fault_rate > 0 else "utf-8"
    write_csv_rows(out / "registry" / "parks.csv", ["park_id", "name_zh", "name_en", "district", "contact_email"],
                   [[p["park_id"], p["name_zh"], p["name_en"], p["district"], p["contact_email"]]
                    for p in city.parks], landed, encoding=parks_enc)
    if parks_enc != "utf-8":
        log.add("gb18030_file", file="registry/parks.csv", line=None, detail="registry export in GB18030")
    no_class = city.roles.get("ets_candidate_2")  # its class is known to us, not to the registry
    write_csv_rows(out / "registry" / "enterprises.csv",
                   ["credit_code", "name_zh", "name_en", "park_id", "industry_code", "industry_class",
                    "key_energy_user", "ets_covered", "contact_email"],
                   [[e["credit_code"], e["name_zh"], e["name_en"], e["park_id"], e["industry_code"],
                     "" if i == no_class else e["industry_class"], str(e["key_energy_user"]).lower(),
                     str(e["ets_covered"]).lower(), e["contact_email"]]
                    for i, e in enumerate(city.enterprises)], landed)
    if no_class is not None:
        e = city.enterprises[no_class]
        log.add("industry_class_missing", credit_code=e["credit_code"], file="registry/enterprises.csv",
                line=no_class + 2, detail=f"industry_class left empty (an older registry row): division "
                                          f"{e['industry_code']} alone must place it (31 counts as steel)")
    cols = ["meter_id", "credit_code", "energy_type", "unit", "multiplier", "register_max",
            "register_at_install", "installed_at", "removed_at", "replaces_meter_id", "steam_pressure_mpa",
            "steam_temperature_c"]
    rows = [[r["meter_id"], r["credit_code"], r["energy_type"], r["unit"], _num(r["multiplier"]),
             _num(r["register_max"]), f"{r['register_at_install']:.2f}", r["installed_at"], r["removed_at"],
             r["replaces_meter_id"], r.get("steam_pressure_mpa", ""), r.get("steam_temperature_c", "")]
            for r in city.m_rows]
    write_csv_rows(out / "registry" / "meters.csv", cols, rows, landed)
    for old, new, t in city.replacements:
        log.add("meter_replacement", meter_id=city.meter_id[new], file="registry/meters.csv", line=new + 2,
                day=(city.start + timedelta(days=t // 96)).isoformat(),
                detail=f"replaces {city.meter_id[old]} (line {old + 2}) at {city.m_rows[new]['installed_at']}")


def _write_history(city: City, out: Path, seed: int, log: FaultLog, state: dict) -> dict:
    """The base year's declaration archive (case cities only): every enterprise up to
    HISTORY_ALL_MAX enterprises, else those the cases need (roles, ETS-covered)."""
    year = city.start.year - 1
    if not city.cases:
        return {"history_year": None, "history_enterprises": 0,
                "history_why": "no base-year archive below the case-city size"}
    rng = np.random.default_rng([seed, 12])
    factors = rng.uniform(1.03, 1.09, len(city.enterprises))
    if len(city.enterprises) <= HISTORY_ALL_MAX:
        only = None
        city.history = set(range(len(city.enterprises)))
        city.history_all = True
    else:
        covered = [i for i, e in enumerate(city.enterprises) if e["ets_covered"]]
        only = set(city.roles.values()) | set(covered[:HISTORY_ETS_SAMPLE])
        city.history = only
    for i in city.history:
        city.enterprises[i]["base_intensity_factor"] = float(factors[i])
    files = declare_history(city, out, year, seed, log, state, only)
    return {"history_year": year, "history_enterprises": len(city.history), "history_files": files,
            "history_why": f"{year} is the base year of the intensity-reduction targets and the ETS data year: "
                           "its declarations (no meters in service then) let the warehouse compute both"}


def _write_manifest(out: Path, report: dict, log: FaultLog, landed: datetime) -> Path:
    path = out / "_generator" / "manifest.json"
    head = json.dumps(report, ensure_ascii=False, indent=1, sort_keys=True)
    with path.open("w", encoding="utf-8") as fh:
        fh.write(head[:-1].rstrip() + ',\n "faults": [\n')
        with log.path.open(encoding="utf-8") as src:
            first = True
            for line in src:
                fh.write(("" if first else ",\n") + "  " + line.rstrip("\n"))
                first = False
        fh.write("\n ]\n}\n")
    os.remove(log.path)
    set_mtime(path, landed)
    return path


def _count_files(out: Path) -> dict[str, int]:
    counts = {}
    for s in SOURCES:
        counts[s] = sum(1 for p in (out / s).rglob("*") if p.is_file()) if (out / s).exists() else 0
    return counts


def generate_city(out: Path, start: date, days: int, enterprises: int, *, parks: int | None = None,
                  seed: int = 42, fault_rate: float = 0.01, meters_per_enterprise: float | None = None,
                  progress: Callable[[str], None] | None = None) -> dict:
    """Writes a landing zone following the data contract exactly; returns a report dict
    (counts of parks/enterprises/meters/readings/files, and each fault kind with its planted count and rate)."""
    t_start = _time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if days < 1 or enterprises < 1:
        raise ValueError("need at least one day and one enterprise")
    n_parks = parks or max(1, min(enterprises, round(enterprises / 67)))
    mpe = meters_per_enterprise or 3.5
    city = build_city(start, days, enterprises, n_parks, seed, fault_rate, mpe)
    log = FaultLog(out / "_generator" / "faults.jsonl")
    if fault_rate > 0:
        n_orig = city.n_meters - len(city.replacements)
        log.chance("meter_replacement", n_orig)
        log.chance("rollover", n_orig)
    _write_registry(city, out, fault_rate, log)
    write_projects(city, out, plan_projects(city, np.random.default_rng([seed, 16])), log)
    decl_state: dict = {"truth": {}}
    history = _write_history(city, out, seed, log, decl_state)
    districts = sorted({p["district"] for p in city.parks})
    weather_state: dict = {}

    reg = city.m_install_reg.copy()
    writer = DayWriter(city, out, fault_rate, log)
    n_ent = len(city.enterprises)
    month_acc = np.zeros(n_ent * 4)
    key = city.m_ent * 4 + city.m_type
    year_acc: dict[int, np.ndarray] = {}
    year_days: dict[int, int] = {}
    cert_state: dict = {"green_counted": {}}
    declared_months: list[str] = []
    pending_months: list[str] = []
    decl_files = cert_files = 0
    day_seconds = []
    ids = pa.array(city.meter_id)
    units = pa.array(["kWh", "m3", "GJ", "t"]).take(pa.array(city.m_type))
    truth_path = out / "_generator" / "truth_meter_daily.csv.gz"
    truth_raw = truth_path.open("wb")
    truth = gzip.GzipFile(filename="", mode="wb", fileobj=truth_raw, mtime=0, compresslevel=1)
    truth.write(b"day,meter_id,quantity,unit\n")
    for k in range(days):
        t0 = _time.perf_counter()
        rng = np.random.default_rng([seed, 2, k])
        hf = write_weather_day(out, districts, start + timedelta(days=k), seed, weather_state)
        d = simulate_day(city, k, reg, rng, hf)
        rows = writer.write_day(d, rng)
        live = d.keep.any(axis=1) | (d.consumption > 0)
        sel = pa.array(np.flatnonzero(live))
        tt = pa.table({"day": pa.array([d.day.isoformat()] * len(sel)), "meter_id": ids.take(sel),
                       "quantity": pa.array(np.round(d.consumption[live], 4)), "unit": units.take(sel)})
        pacsv.write_csv(tt, truth, pacsv.WriteOptions(include_header=False, quoting_style="none"))
        day_acc = np.bincount(key, weights=d.consumption, minlength=n_ent * 4)
        month_acc += day_acc
        if d.day.year not in year_acc:
            year_acc[d.day.year] = np.zeros(n_ent * 4)
        year_acc[d.day.year] += day_acc
        year_days[d.day.year] = year_days.get(d.day.year, 0) + 1
        tomorrow = d.day + timedelta(days=1)
        if tomorrow.month != d.day.month:
            month = d.day.replace(day=1)
            if month >= start:
                mrng = np.random.default_rng([seed, 3, month.year, month.month])
                acc = month_acc.reshape(n_ent, 4)
                n_files = declare_month(city, out, month, acc, d.day.day, mrng, fault_rate, log, decl_state)
                decl_files += n_files
                cert_files += certificates_month(city, out, month, acc[:, 0], mrng, fault_rate, log, cert_state)
                (declared_months if n_files else pending_months).append(f"{month:%Y-%m}")
            month_acc[:] = 0
        secs = _time.perf_counter() - t0
        day_seconds.append(secs)
        if progress:
            progress(f"{d.day.isoformat()}: {rows:,} readings in {writer.files_written} files so far "
                     f"({secs:.1f} s)")

    writer.close()
    truth.close()
    truth_raw.close()
    end = start + timedelta(days=days - 1)
    if (end + timedelta(days=1)).month == end.month:
        open_month = end.replace(day=1)
        pending_months.append(f"{open_month:%Y-%m}")
        log.add("declarations_pending", month=f"{open_month:%Y-%m}", file=None, line=None,
                detail=f"the month is not over on the last generated day {end.isoformat()}: no declaration "
                       f"exists (due {next_month(open_month).replace(day=DEADLINE_DAY).isoformat()})")
    write_targets(city, out, seed, Truth(city, decl_state["truth"], cert_state["green_counted"], year_acc,
                                         year_days), log)
    ets = write_ets(city, out, seed, decl_state["truth"], log)
    report = {
        "generator": {"start": start.isoformat(), "days": days, "seed": seed, "fault_rate": fault_rate,
                      "meters_per_enterprise": mpe, "city_id": CITY_ID},
        "parks": len(city.parks),
        "enterprises": n_ent,
        "meters": city.n_meters,
        "key_energy_users": sum(e["key_energy_user"] for e in city.enterprises),
        "ets_covered": sum(e["ets_covered"] for e in city.enterprises),
        "readings": writer.rows_written,
        "files": _count_files(out),
        "faults": log.summary(),
        "cases": log.cases(),
        "roles": {role: city.enterprises[i]["credit_code"] for role, i in sorted(city.roles.items())},
        "declarations": {"deadline_day": DEADLINE_DAY, "declared_months": declared_months,
                         "pending_months": pending_months,
                         "first_month_not_generated": None if start.day == 1 else f"{start:%Y-%m}", **history},
        "ets": ets,
    }
    log.close()
    _write_manifest(out, report, log, last_night(city))
    set_mtime(truth_path, last_night(city))
    total = _time.perf_counter() - t_start
    return {**report, "seconds": round(total, 3),
            "seconds_per_day": round(sum(day_seconds) / len(day_seconds), 3),
            "manifest": str(out / "_generator" / "manifest.json")}
