"""Energy-saving and new fixed-asset projects (``projects/``), with savings that really happen.

A case city gets (a long city, a year and two months or more such as the demo's: see LONG_SPECS, a
dozen projects of every measure, commissioned after a year of baseline, including one that saves
nothing and one whose stated baseline is too short; the same facility cases): two commissioned retrofits whose boundary meters really use less from the
commissioning day (the true fraction is in the manifest, ``project_savings``, for checking
the measured savings; the owners' expected savings are optimistic), a planned and a cancelled
retrofit, and two new facilities commissioned before the range, one using more than its
approved annual energy (``new_facility_over_approval``), one within it. Each project is
exported as versions (the row with the latest ``updated_at`` is the project): the commissioned
retrofits first appear in progress. The baseline is what the range holds before commissioning
(the methodology asks 12 months, at least 90 days: a shorter one is reported as not qualified).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np

from nengtan.config import LOCAL_TZ
from nengtan.tools.generate.city import CO2, TCE, City, expected_annual_factor
from nengtan.tools.generate.faults import FaultLog
from nengtan.tools.generate.profiles import ENERGY_TYPES
from nengtan.tools.generate.writers import write_csv_rows

HEADER = ["project_id", "credit_code", "name_zh", "name_en", "kind", "measure", "meter_ids", "baseline_start",
          "baseline_end", "commissioned_on", "expected_annual_savings_tce", "approved_annual_energy_tce",
          "approved_annual_co2_t", "status", "updated_at"]
NAMES = {"motor_vfd": ("电机变频改造", "Motor variable-frequency drives"),
         "waste_heat_recovery": ("余热回收利用", "Waste heat recovery"),
         "lighting": ("照明节能改造", "LED lighting retrofit"),
         "compressed_air": ("空压系统优化", "Compressed-air system optimisation"),
         "hvac": ("暖通空调节能改造", "HVAC upgrade"),
         "boiler_upgrade": ("锅炉节能改造", "Boiler upgrade"),
         "rooftop_pv": ("屋顶分布式光伏", "Rooftop solar PV"),
         "process": ("新建生产线", "New production line")}


def plan_projects(city: City, rng: np.random.Generator) -> list[dict]:
    """Choose the projects and their meters; set the meters' savings (``city.m_save_*``)."""
    n = city.n_meters
    city.m_save_from = np.full(n, 10**9, dtype=np.int64)  # first day (index) of the savings
    city.m_save_factor = np.ones(n)
    if not city.cases or city.days < 20:
        return []
    busy = set(city.roles.values())
    by_ent: dict[int, list[int]] = {}
    for m in range(n):
        if not city.m_rows[m]["replaces_meter_id"] and not city.m_rows[m]["removed_at"]:
            by_ent.setdefault(int(city.m_ent[m]), []).append(m)
    order = [int(i) for i in rng.permutation(len(city.enterprises))]
    free = [i for i in order if i not in busy and i in by_ent]
    elec = ENERGY_TYPES.index("electricity")
    projects: list[dict] = []

    def meters_of(i: int, et: int) -> list[int]:
        return sorted((m for m in by_ent.get(i, []) if city.m_type[m] == et), key=lambda m: -city.m_base_raw[m])

    if city.days >= LONG_CITY_DAYS:
        return _plan_long(city, rng, free, meters_of)
    specs = [("retrofit", "motor_vfd", elec, 0.55, 0.12, "commissioned"),
             ("retrofit", "waste_heat_recovery", None, 0.7, 0.08, "commissioned"),
             ("retrofit", "lighting", elec, None, 0.0, "planned"),
             ("retrofit", "compressed_air", elec, None, 0.0, "cancelled"),
             ("new_facility", "process", elec, None, 1.18, "commissioned"),
             ("new_facility", "process", elec, None, 0.85, "commissioned")]
    for k, (kind, measure, et, at, saving, status) in enumerate(specs):
        types = [et] if et is not None else [ENERGY_TYPES.index("steam"), ENERGY_TYPES.index("natural_gas")]
        i, m = _first_metered(free, types, meters_of)
        if i is None:
            continue
        free.remove(i)
        e = city.enterprises[i]
        p = {"project_id": f"PRJ-{city.start.year}-{k + 1:03d}", "i": i, "kind": kind, "measure": measure,
             "meters": [m], "status": status, "saving": saving}
        if kind == "retrofit" and at is not None:
            day = max(int(city.days * at), 1)
            _save(city, p, [m], day, saving, rng)
        elif kind == "new_facility":
            _new_facility(city, p, i, meters_of)
        else:
            p["expected_tce"] = e["annual_tce"] * 0.01
        projects.append(p)
    return projects


def _first_metered(candidates: list[int], types: list[int], meters_of) -> tuple[int | None, int | None]:  # noqa: ANN001
    """The first enterprise of ``candidates`` with a meter of ``types`` (in that order of preference), and
    its largest such meter; (None, None) when none has one."""
    for cand in candidates:
        ms = [x for t in types for x in meters_of(cand, t)]
        if ms:
            return cand, ms[0]
    return None, None


def _save(city: City, p: dict, meters: list[int], day: int, saving: float, rng: np.random.Generator,
          expected_saving: float | None = None) -> None:
    """The boundary really uses ``1 - saving`` of its energy from day index ``day``; the owner expects
    more (``expected_saving``, default the true one) times an optimistic 1.2-1.5."""
    for m in meters:
        city.m_save_from[m] = day
        city.m_save_factor[m] = 1 - saving
    p["commissioned"] = city.start + timedelta(days=day)
    annual = _annual_tce(city, meters, city.start.year)
    p["expected_tce"] = annual * (expected_saving if expected_saving is not None else saving) * float(
        rng.uniform(1.2, 1.5))
    p["true_tce"] = annual * saving


def _new_facility(city: City, p: dict, i: int, meters_of) -> None:
    elec = ENERGY_TYPES.index("electricity")
    p["meters"] = meters_of(i, elec)[:2]
    p["commissioned"] = city.start - timedelta(days=60)
    annual = _annual_tce(city, p["meters"], city.start.year)
    p["approved_tce"] = annual / p["saving"]  # for a new facility: expected use ÷ approved use
    p["approved_co2"] = _annual_co2(city, p["meters"], city.start.year) / p["saving"]
    p["use_tce"] = annual


# A city long enough for a year of baseline before its retrofits and some months after (the demo city):
# a dozen projects of every kind of measure, commissioned a year and more into the range.
LONG_CITY_DAYS = 365 + 60
# (kind, measure, energy types to bound, true saving, status, commissioning day after the first year,
#  baseline days stated by the owner (None: from the first day), the owner's expected saving)
LONG_SPECS: list[tuple[str, str, tuple[str, ...], float, str, int | None, int | None, float | None]] = [
    ("retrofit", "motor_vfd", ("electricity",), 0.12, "commissioned", 1, None, None),
    ("retrofit", "waste_heat_recovery", ("steam", "natural_gas"), 0.08, "commissioned", 4, None, None),
    ("retrofit", "compressed_air", ("electricity",), 0.10, "commissioned", 7, None, None),
    ("retrofit", "hvac", ("heat", "electricity"), 0.15, "commissioned", 10, None, None),
    ("retrofit", "boiler_upgrade", ("natural_gas", "steam"), 0.09, "commissioned", 13, None, None),
    ("retrofit", "lighting", ("electricity",), 0.06, "commissioned", 16, None, None),
    ("retrofit", "rooftop_pv", ("electricity",), 0.07, "commissioned", 19, None, None),
    # claimed, but the boundary uses what it always did: the method must not credit it
    ("retrofit", "motor_vfd", ("electricity",), 0.0, "commissioned", 22, None, 0.10),
    # a 60-day baseline stated by the owner: too short to qualify, however real its savings
    ("retrofit", "compressed_air", ("electricity",), 0.10, "commissioned", 25, 60, None),
    ("retrofit", "hvac", ("heat", "electricity"), 0.0, "in_progress", None, None, 0.05),
    ("retrofit", "lighting", ("electricity",), 0.0, "planned", None, None, 0.05),
    ("retrofit", "boiler_upgrade", ("natural_gas",), 0.0, "cancelled", None, None, 0.05),
    ("new_facility", "process", ("electricity",), 1.18, "commissioned", None, None, None),
    ("new_facility", "process", ("electricity",), 0.85, "commissioned", None, None, None),
]


def _plan_long(city: City, rng: np.random.Generator, free: list[int], meters_of) -> list[dict]:
    """The long city's dozen projects. Retrofits go to continuously operating enterprises first (their
    days follow the weather and the season, not the weekly and Spring Festival shutdowns a daily model
    without holidays cannot know), on their largest meter of the measure's energy type."""
    continuous = [i for i in free if any(city.combos[int(city.m_combo[m])][1] == 0
                                         for m in range(city.n_meters) if int(city.m_ent[m]) == i)]
    order = continuous + [i for i in free if i not in continuous]
    projects: list[dict] = []
    for k, (kind, measure, types, saving, status, after_year, baseline_days, expected) in enumerate(LONG_SPECS):
        i, m = _first_metered(order, [ENERGY_TYPES.index(t) for t in types], meters_of)
        if i is None:
            continue
        order.remove(i)
        p = {"project_id": f"PRJ-{city.start.year}-{k + 1:03d}", "i": i, "kind": kind, "measure": measure,
             "meters": [m], "status": status, "saving": saving}
        if kind == "new_facility":
            _new_facility(city, p, i, meters_of)
        elif after_year is not None:
            _save(city, p, [m], 365 + after_year, saving, rng, expected)
            if baseline_days is not None:
                p["baseline_days"] = baseline_days
        else:
            p["expected_tce"] = _annual_tce(city, [m], city.start.year) * (expected or 0.05)
        projects.append(p)
    return projects


def _annual_tce(city: City, meters: list[int], year: int) -> float:
    return sum(_annual_q(city, m, year) * TCE[ENERGY_TYPES[city.m_type[m]]] for m in meters)


def _annual_co2(city: City, meters: list[int], year: int) -> float:
    return sum(_annual_q(city, m, year) * CO2[ENERGY_TYPES[city.m_type[m]]] for m in meters)


def _annual_q(city: City, m: int, year: int) -> float:
    ind, shifts, et = city.combos[int(city.m_combo[m])]
    return float(city.m_base_raw[m] * city.m_mult[m]) * expected_annual_factor(ind, shifts, et, year)


def write_projects(city: City, out: Path, projects: list[dict], log: FaultLog) -> int:
    """One export per change: the projects as registered before the range, then each
    commissioning; returns the number of files."""
    end = city.start + timedelta(days=city.days - 1)
    exports: dict[date, list[list[str]]] = {}
    first = city.start - timedelta(days=10)
    for p in projects:
        e = city.enterprises[p["i"]]
        zh, en = NAMES[p["measure"]]
        ids = " ".join(city.meter_id[m] for m in p["meters"])
        row = {"project_id": p["project_id"], "credit_code": e["credit_code"], "name_zh": f"{e['name_zh']}{zh}",
               "name_en": f"{en}, {e['name_en']}", "kind": p["kind"], "measure": p["measure"], "meter_ids": ids,
               "baseline_start": "", "baseline_end": "", "commissioned_on": "", "expected_annual_savings_tce": "",
               "approved_annual_energy_tce": "", "approved_annual_co2_t": "", "status": p["status"],
               "updated_at": ""}
        if p["kind"] == "retrofit":
            row["expected_annual_savings_tce"] = f"{p['expected_tce']:.2f}"
        if p["kind"] == "retrofit" and "commissioned" in p:
            c = p["commissioned"]
            b_start = c - timedelta(days=p["baseline_days"]) if p.get("baseline_days") else city.start
            row.update(baseline_start=b_start.isoformat(), baseline_end=(c - timedelta(days=1)).isoformat())
            _add(exports, first, {**row, "status": "in_progress"})
            if c <= end:
                where = _add(exports, c + timedelta(days=1) if c < end else end,
                             {**row, "commissioned_on": c.isoformat()})
                log.add("project_savings", credit_code=e["credit_code"], file=where[0], line=where[1],
                        day=c.isoformat(), meter_id=ids,
                        detail=f"{p['project_id']} ({p['measure']}): {ids} use {p['saving']:.0%} less from "
                               f"{c.isoformat()} (true {p['true_tce']:.1f} tce a year; owner expects "
                               f"{p['expected_tce']:.1f}); baseline {(c - b_start).days} days"
                               + (" (too short to qualify: 90 days at least)" if (c - b_start).days < 90 else "")
                               + (" (saves nothing: the owner's claim is not borne out)" if not p["saving"] else ""))
        elif p["kind"] == "new_facility":
            row.update(commissioned_on=p["commissioned"].isoformat(),
                       approved_annual_energy_tce=f"{p['approved_tce']:.2f}",
                       approved_annual_co2_t=f"{p['approved_co2']:.2f}")
            where = _add(exports, first, row)
            if p["saving"] > 1:  # here: expected use ÷ approved
                log.add("new_facility_over_approval", credit_code=e["credit_code"], file=where[0], line=where[1],
                        meter_id=ids, detail=f"{p['project_id']}: expected use {p['use_tce']:.1f} tce a year "
                                             f"against {p['approved_tce']:.1f} tce approved "
                                             f"({p['use_tce'] / p['approved_tce'] - 1:+.0%})")
        else:
            _add(exports, first, row)
    for landing, rows in sorted(exports.items()):
        at = datetime.combine(landing, time(16), LOCAL_TZ)
        name = _name(landing)
        out_rows = [[r[c] if c != "updated_at" else at.isoformat() for c in HEADER] for r in rows]
        write_csv_rows(out / name, HEADER, out_rows, at + timedelta(hours=1))
    return len(exports)


def _add(exports: dict[date, list[dict]], day: date, row: dict) -> tuple[str, int]:
    """Queue ``row`` for the export of ``day``; returns its file and line (header = 1)."""
    rows = exports.setdefault(day, [])
    rows.append(row)
    return _name(day), len(rows) + 1


def _name(day: date) -> str:
    return f"projects/projects_{day:%Y%m%d}.csv"
