"""The synthetic city: parks, enterprises, meters and gateways, as columns (numpy arrays).

Everything the daily reading generator needs is precomputed here once, so that a day of a
100,000-meter city is a handful of vectorised operations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np

from nengtan.config import LOCAL_TZ
from nengtan.credit_code import ALPHABET, check_character
from nengtan.tools.generate import names, roles
from nengtan.tools.generate.profiles import (
    CLASSES,
    ENERGY_TYPES,
    INDUSTRIES,
    PROCESS_CO2,
    UNITS,
    expected_annual_factor,
)
from nengtan.tools.generate.steam import approx_heat_gj_per_t, saturation_temperature_c

# GB/T 2589-2020 reference coefficients (tce per unit) and approximate CO2 factors (t per unit):
# location-based electricity at Jiangsu's 2023 factor, steam at its heat content (default
# saturated 1.0 MPa; per meter once the meters are built), never at the tce coefficient
TCE = {"electricity": 0.0001229, "natural_gas": 0.0012143, "heat": 0.03412, "steam": 0.1286,
       "raw_coal": 0.7143, "diesel": 1.4571, "gasoline": 1.4714, "fuel_oil": 1.4286, "lpg": 1.7143}
HEAT_CO2_T_PER_GJ = 0.11
CO2 = {"electricity": 0.0005827, "natural_gas": 0.002162, "heat": HEAT_CO2_T_PER_GJ,
       "steam": HEAT_CO2_T_PER_GJ * approx_heat_gj_per_t(None, None),
       "raw_coal": 1.900, "diesel": 3.096, "gasoline": 2.925, "fuel_oil": 3.170, "lpg": 3.101}
COAL_NCV_GJ_PER_T = 20.908
STEAM_PRESSURES_MPA = (0.6, 0.8, 1.0, 1.0, 1.3, 1.6)
CT_RATIOS = (1, 40, 80, 200, 400, 800, 1000)
FORMATS = ("csv", "csv.gz", "parquet")
TYPE_ZH = {"electricity": "电表", "natural_gas": "气表", "heat": "热表", "steam": "汽表"}
CITY_ID = "320200"  # Wuxi's division code stands for the city in targets


def org_code(rng: np.random.Generator) -> str:
    """A 9-character organisation code with its GB 11714 check character."""
    body = [int(x) for x in rng.integers(0, 10, 8)]
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    c = 11 - sum(b * w for b, w in zip(body, weights, strict=True)) % 11
    check = "X" if c == 10 else ("0" if c == 11 else str(c))
    return "".join(map(str, body)) + check


def credit_code(division: str, rng: np.random.Generator) -> str:
    first17 = "91" + division + org_code(rng)
    assert all(ch in ALPHABET for ch in first17)
    return first17 + check_character(first17)


def local_iso(ts: datetime) -> str:
    return ts.astimezone(LOCAL_TZ).isoformat()


@dataclass
class City:
    start: date
    days: int
    parks: list[dict] = field(default_factory=list)
    enterprises: list[dict] = field(default_factory=list)
    # meter columns
    meter_id: list[str] = field(default_factory=list)
    m_ent: np.ndarray = None          # enterprise index
    m_type: np.ndarray = None         # index into ENERGY_TYPES
    m_combo: np.ndarray = None        # index into combos (industry, shifts, type)
    m_mult: np.ndarray = None
    m_max: np.ndarray = None
    m_install_reg: np.ndarray = None
    m_base_raw: np.ndarray = None     # weekday mean raw register units per day
    m_gateway: np.ndarray = None
    m_from: np.ndarray = None         # first active interval (absolute index from start)
    m_to: np.ndarray = None           # first inactive interval
    m_rows: list[dict] = field(default_factory=list)  # registry rows
    combos: list[tuple[str, int, str]] = field(default_factory=list)
    gateways: list[dict] = field(default_factory=list)
    replacements: list[tuple[int, int, int]] = field(default_factory=list)  # (old, new, interval)
    planted_rollover: list[int] = field(default_factory=list)
    roles: dict[str, int] = field(default_factory=dict)  # planted case -> enterprise index
    cases: bool = False  # large enough for the planted cases (roles, base-year history)
    history: set[int] = field(default_factory=set)  # enterprises with the base year's declarations
    history_all: bool = False  # the base year covers every enterprise
    m_save_from: np.ndarray = None    # energy-saving projects: first day (index) of a meter's savings
    m_save_factor: np.ndarray = None  # and the share of its use that remains

    @property
    def n_meters(self) -> int:
        return len(self.meter_id)


def _pick_industries(n: int, rng: np.random.Generator) -> list[str]:
    codes = list(INDUSTRIES)
    shares = np.array([INDUSTRIES[c].share for c in codes])
    counts = np.floor(shares / shares.sum() * n).astype(int)
    while counts.sum() < n:
        counts[int(np.argmax(shares * n - counts))] += 1
    out = [c for c, k in zip(codes, counts, strict=True) for _ in range(k)]
    rng.shuffle(out)
    return out


def expected_annual(ent: dict, year: int) -> dict[str, float]:
    """Expected annual quantities per energy item (after multipliers) for a target year."""
    out: dict[str, float] = {}
    for et, daily in ent["metered"].items():
        out[et] = daily * expected_annual_factor(ent["industry_code"], ent["shifts"], et, year)
    n = (date(year + 1, 1, 1) - date(year, 1, 1)).days
    for item, per_day in ent["fuels"].items():
        out[item] = per_day * n * 0.95
    return out


def chp_power_kwh(coal_t: float, heat_gj: float, efficiency: float) -> float:
    """Electricity a CHP plant sends out from ``coal_t`` of coal while selling ``heat_gj`` of heat."""
    return max(coal_t * COAL_NCV_GJ_PER_T - heat_gj / 0.88, 0.0) * efficiency / 0.0036


def process_co2(ent: dict, driver_quantity: dict[str, float]) -> float:
    """Process CO2 (t) of an enterprise for the given quantities of its driver item."""
    rule = PROCESS_CO2.get(ent["industry_class"])
    return driver_quantity.get(rule[0], 0.0) * rule[1] if rule else 0.0


_INDIRECT = {"electricity": CO2["electricity"], "heat": HEAT_CO2_T_PER_GJ}
DEFAULT_STEAM_GJ_PER_T = approx_heat_gj_per_t(None, None)


def month_figures(ent: dict, q: dict[str, float], exported: dict[str, float], process: float) -> dict[str, float]:
    """tce and CO2 of quantities ``q`` (items and metered types) as the methodology counts them:
    gross, exported, net, feedstock; scope 1 (with process, without feedstock) and scope 2
    location-based; net CO2 = scope 1 + scope 2 - exported."""
    fs = ent.get("feedstock") or {}
    steam_co2 = HEAT_CO2_T_PER_GJ * ent.get("steam_gj_per_t", DEFAULT_STEAM_GJ_PER_T)
    gross = scope1 = scope2 = feed = 0.0
    for k, v in q.items():
        gross += TCE[k] * v
        if k == "steam":
            scope2 += v * steam_co2
        elif k in _INDIRECT:
            scope2 += v * _INDIRECT[k]
        elif k in fs:
            scope1 += CO2[k] * v * (1 - fs[k])
            feed += TCE[k] * v * fs[k]
        else:
            scope1 += CO2[k] * v
    scope1 += process
    exp_tce = exp_co2 = 0.0
    if exported:
        e_kwh, e_gj = exported.get("electricity", 0.0), exported.get("heat", 0.0)
        exp_tce = e_kwh * TCE["electricity"] + e_gj * TCE["heat"]
        exp_co2 = e_kwh * CO2["electricity"] + e_gj * CO2["heat"]
    return {"tce_gross": gross, "tce_exported": exp_tce, "tce_net": gross - exp_tce, "tce_feedstock": feed,
            "scope1": scope1, "scope2": scope2, "direct_co2": scope1, "co2_exported": exp_co2,
            "co2_gross": scope1 + scope2, "co2_net": scope1 + scope2 - exp_co2}


def annual_figures(ent: dict, year: int) -> dict[str, float]:
    """Expected figures of a year (see :func:`month_figures`), cached on the enterprise
    (``_annual``; drop it when the enterprise's quantities change). ``metered_*`` are the
    figures of its metered types alone."""
    cache = ent.setdefault("_annual", {})
    if year not in cache:
        cache[year] = _annual_figures(ent, year)
    return cache[year]


def _annual_figures(ent: dict, year: int) -> dict[str, float]:
    q = expected_annual(ent, year)
    exported: dict[str, float] = {}
    customer = ent.get("heat_customer")
    if customer is not None:
        exported["heat"] = customer["metered"]["heat"] * expected_annual_factor(
            customer["industry_code"], customer["shifts"], "heat", year)
        exported["electricity"] = chp_power_kwh(q.get("raw_coal", 0.0), exported["heat"], ent["power_efficiency"])
    f = month_figures(ent, q, exported, process_co2(ent, q))
    fm = month_figures(ent, {et: v for et, v in q.items() if et in ent["metered"]}, {}, 0.0)
    f["metered_tce_dc"] = fm["tce_net"] - fm["tce_feedstock"]
    f["metered_co2"] = fm["co2_net"]
    return f


def annual_tce_co2(ent: dict, year: int) -> tuple[float, float]:
    """Expected net tce and net CO2 of a year."""
    f = annual_figures(ent, year)
    return f["tce_net"], f["co2_net"]


def build_city(start: date, days: int, n_enterprises: int, n_parks: int, seed: int,
               fault_rate: float, meters_per_enterprise: float) -> City:
    rng = np.random.default_rng([seed, 1])
    city = City(start=start, days=days)
    for i, p in enumerate(names.park_names(n_parks, rng)):
        p["park_id"] = f"P{i + 1:02d}" if n_parks < 100 else f"P{i + 1:03d}"
        p["contact_email"] = f"energy-office@{p['slug']}.example.cn"
        city.parks.append(p)

    namer = names.EnterpriseNamer(rng)
    used_codes: set[str] = set()
    industries = _pick_industries(n_enterprises, rng)
    # chemicals and steel cluster in their parks; the rest spread evenly
    park_of = rng.integers(0, n_parks, n_enterprises)
    park_of[: min(n_parks, n_enterprises)] = np.arange(min(n_parks, n_enterprises))
    city.cases = n_enterprises >= roles.MIN_CASE_ENTERPRISES
    role_rng = np.random.default_rng([seed, 10])
    planned = roles.plan(industries, park_of, role_rng) if city.cases else {}
    for i, ind_code in enumerate(industries):
        ind = INDUSTRIES[ind_code]
        park = city.parks[int(park_of[i])]
        zh, en, slug, word = namer.name(i, ind_code)
        code = credit_code(park["division"], rng)
        while code in used_codes:
            code = credit_code(park["division"], rng)
        used_codes.add(code)
        size = float(np.exp(rng.normal(0.0, 0.8)))
        shifts = int(ind.shifts[int(rng.integers(0, len(ind.shifts)))])
        metered = {}
        for et in ENERGY_TYPES:
            if et == "electricity" or rng.random() < ind.meter_prob[et]:
                metered[et] = ind.daily_median[et] * size * float(np.exp(rng.normal(0, 0.3)))
        fuels = {item: med * size * float(np.exp(rng.normal(0, 0.4)))
                 for item, (p_, med) in ind.fuels.items() if rng.random() < p_}
        ent = {
            "credit_code": code, "name_zh": zh, "name_en": en, "park": int(park_of[i]),
            "park_id": park["park_id"], "industry_code": ind_code, "industry_class": CLASSES[ind_code][word],
            "shifts": shifts, "size": size,
            "metered": metered, "fuels": fuels,
            "contact_email": f"energy@{slug}.example.cn",
            "green_direct": float(rng.uniform(0.05, 0.3)) if ind_code in ("39", "34") and rng.random() < 0.2 else 0.0,
            "cert_share": float(rng.uniform(0.05, 0.25)) if rng.random() < 0.3 else 0.0,
            "intensity": ind.tce_per_10k_va * float(np.exp(rng.normal(0, 0.25))),
            "product_unit": ind.product_unit,
        }
        city.enterprises.append(ent)
    if city.cases:
        city.roles = roles.finish(city, planned, role_rng)
        chp = city.enterprises[city.roles["chp"]]
        chp["heat_customer"] = city.enterprises[chp["heat_to"]]
    roles.classify(city, city.roles, start.year, rng, city.cases)

    _build_meters(city, rng, fault_rate, meters_per_enterprise)
    _steam_conditions(city, np.random.default_rng([seed, 11]))
    return city


def _steam_conditions(city: City, rng: np.random.Generator) -> None:
    """Steam meters: most give the absolute pressure, some also a superheated temperature,
    some neither (the methodology's default applies); a replacement keeps its predecessor's."""
    steam = [r for r in city.m_rows if r["energy_type"] == "steam"]
    by_id = {r["meter_id"]: r for r in steam}
    gj: dict[int, list[float]] = {}
    for r in steam:
        r["steam_pressure_mpa"] = r["steam_temperature_c"] = ""
        if r["replaces_meter_id"]:
            old = by_id[r["replaces_meter_id"]]
            r["steam_pressure_mpa"], r["steam_temperature_c"] = old["steam_pressure_mpa"], old["steam_temperature_c"]
        else:
            u = rng.random()
            if u < 0.7:
                p = STEAM_PRESSURES_MPA[int(rng.integers(0, len(STEAM_PRESSURES_MPA)))]
                r["steam_pressure_mpa"] = f"{p:.1f}"
                if u < 0.3:
                    r["steam_temperature_c"] = f"{saturation_temperature_c(p) + float(rng.uniform(20, 80)):.0f}"
        p = float(r["steam_pressure_mpa"]) if r["steam_pressure_mpa"] else None
        t = float(r["steam_temperature_c"]) if r["steam_temperature_c"] else None
        gj.setdefault(r["ent"], []).append(approx_heat_gj_per_t(p, t))
    for i, vals in gj.items():
        city.enterprises[i]["steam_gj_per_t"] = float(np.mean(vals))


def _build_meters(city: City, rng: np.random.Generator, fault_rate: float, mpe: float) -> None:
    ents = city.enterprises
    other = np.array([len(e["metered"]) - 1 for e in ents], dtype=float)
    sizes = np.array([e["size"] for e in ents])
    lam_base = max(mpe - 1 - other.mean(), 0.0)
    weight = np.sqrt(sizes) / np.sqrt(sizes).mean()
    # gateways: per park at least two, about 2,000 meters each; one legacy GB18030 gateway
    legacy_ents: set[int] = set()
    if fault_rate > 0:
        p0 = [i for i, e in enumerate(ents) if e["park"] == 0]
        legacy_ents = set(p0[: max(1, len(p0) // 20)])
    est_per_park = np.bincount([e["park"] for e in ents], minlength=len(city.parks)) * mpe
    gw_of_park: list[list[int]] = []
    for p, park in enumerate(city.parks):
        g = max(3 if len(city.parks) == 1 else 2, math.ceil(est_per_park[p] / 2000))
        ids = []
        for k in range(g):
            ids.append(len(city.gateways))
            fmt = FORMATS[len(city.gateways) % len(FORMATS)]
            city.gateways.append({"name": f"gw-{park['park_id']}-{k + 1:02d}", "format": fmt,
                                  "encoding": "utf-8", "park": p})
        gw_of_park.append(ids)
    legacy_gw = -1
    if legacy_ents:
        legacy_gw = len(city.gateways)
        city.gateways.append({"name": f"gw-{city.parks[0]['park_id']}-legacy", "format": "csv",
                              "encoding": "gb18030", "park": 0})

    combos: dict[tuple[str, int, str], int] = {}
    cols: dict[str, list] = {k: [] for k in ("ent", "type", "combo", "mult", "max", "reg", "base", "gw")}
    installed = local_iso(datetime.combine(city.start, datetime.min.time(), LOCAL_TZ))
    n = 0
    for i, e in enumerate(ents):
        gw = legacy_gw if i in legacy_ents else gw_of_park[e["park"]][int(rng.integers(0, len(gw_of_park[e["park"]])))]
        for et, daily in e["metered"].items():
            if et == "electricity":
                k = 1 + int(rng.poisson(lam_base * weight[i]))
            else:
                k = 1 + int(daily > 4 * INDUSTRIES[e["industry_code"]].daily_median[et] and rng.random() < 0.5)
            shares = rng.dirichlet(np.full(k, 3.0))
            key = (e["industry_code"], e["shifts"], et)
            combo = combos.setdefault(key, len(combos))
            for s in shares:
                d = daily * float(s)
                if et == "electricity":
                    mult = next((m for m in CT_RATIOS if d / m <= 1500), CT_RATIOS[-1])
                    rmax = (999999.99, 999999.99, 99999.99, 9999999.0)[int(rng.integers(0, 4))]
                elif et == "natural_gas":
                    mult = 10 if d > 50000 else 1
                    rmax = (99999999.0, 9999999.99)[int(rng.integers(0, 2))]
                else:
                    mult = 1
                    rmax = (999999.99, 99999.99)[int(rng.integers(0, 2))]
                n += 1
                if gw == legacy_gw:
                    mid = f"LG-{TYPE_ZH[et]}{n:06d}"
                else:
                    mid = f"M{n:07d}"
                city.meter_id.append(mid)
                reg = round(float(rng.uniform(0, 0.6)) * rmax, 2)
                for k_, v in (("ent", i), ("type", ENERGY_TYPES.index(et)), ("combo", combo), ("mult", mult),
                              ("max", rmax), ("reg", reg), ("base", d / mult), ("gw", gw)):
                    cols[k_].append(v)
                city.m_rows.append({
                    "meter_id": mid, "ent": i, "credit_code": e["credit_code"], "energy_type": et, "unit": UNITS[et],
                    "multiplier": mult, "register_max": rmax, "register_at_install": reg,
                    "installed_at": installed, "removed_at": "", "replaces_meter_id": ""})
    city.combos = [k for k, _ in sorted(combos.items(), key=lambda kv: kv[1])]

    # rollovers: some meters start close enough to register_max to wrap inside the period
    n_orig = len(city.meter_id)
    base = np.array(cols["base"])
    rmax = np.array(cols["max"])
    if fault_rate > 0:
        k = max(1, int(round(n_orig * fault_rate * 2)))
        for m in rng.choice(n_orig, size=min(k, n_orig), replace=False):
            days_to_wrap = float(rng.uniform(0.3, max(city.days - 0.5, 0.6)))
            reg = round(max(rmax[m] - base[m] * days_to_wrap, 0.0), 2)
            cols["reg"][m] = reg
            city.m_rows[m]["register_at_install"] = reg
            city.planted_rollover.append(int(m))

    # replacements: old meter removed at T, new one installed at T with its own register
    frm = [0] * n_orig
    to = [10**9] * n_orig
    if fault_rate > 0 and city.days >= 2:
        k = max(1, int(round(n_orig * fault_rate * 0.5)))
        cands = [m for m in range(n_orig) if cols["gw"][m] != legacy_gw]
        for m in rng.choice(cands, size=min(k, len(cands)), replace=False):
            m = int(m)
            day = int(rng.integers(1, city.days))
            t = day * 96 + int(rng.integers(36, 68))  # 09:00-17:00
            ts = datetime.combine(city.start + timedelta(days=day), datetime.min.time(), LOCAL_TZ) + \
                timedelta(minutes=15 * (t % 96))
            n += 1
            new_id = f"M{n:07d}"
            new = len(city.meter_id)
            city.meter_id.append(new_id)
            reg = round(float(rng.uniform(0, 20)), 2)
            for k_ in ("ent", "type", "combo", "mult", "max", "base", "gw"):
                cols[k_].append(cols[k_][m])
            cols["reg"].append(reg)
            row = dict(city.m_rows[m])
            row.update(meter_id=new_id, register_at_install=reg, installed_at=local_iso(ts),
                       replaces_meter_id=city.meter_id[m])
            city.m_rows[m]["removed_at"] = local_iso(ts)
            city.m_rows.append(row)
            to[m] = t
            frm.append(t)
            to.append(10**9)
            city.replacements.append((m, new, t))

    city.m_ent = np.array(cols["ent"], dtype=np.int64)
    city.m_type = np.array(cols["type"], dtype=np.int64)
    city.m_combo = np.array(cols["combo"], dtype=np.int64)
    city.m_mult = np.array(cols["mult"], dtype=np.float64)
    city.m_max = np.array(cols["max"], dtype=np.float64)
    city.m_install_reg = np.array(cols["reg"], dtype=np.float64)
    city.m_base_raw = np.array(cols["base"], dtype=np.float64)
    city.m_gateway = np.array(cols["gw"], dtype=np.int64)
    city.m_from = np.array(frm, dtype=np.int64)
    city.m_to = np.array(to, dtype=np.int64)
