"""The national carbon market registry's annual records (``ets/year=YYYY/``).

One row per covered enterprise for the data year before the generated range (the year
whose verification and compliance run during it). In a case city that year's declarations
are on file (the base-year archive), so the warehouse can cross-check the verified figure
against its own scope 1 + scope 2 (location-based, gross of exports); the verified figures
are that truth within ±2 %, except the planted mismatch (15 % below it). Planted: a
shortfall whose deadline falls 45 days after the last generated day (inside the 60-day alert
window), a CCER surrender above the 5 % cap, and the candidates for inclusion (covered
sector, above the threshold, not covered). Without the base year on file (small cities) the
verified figures come from the expected year and cannot be cross-checked.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np

from nengtan.config import LOCAL_TZ
from nengtan.tools.generate.city import City, annual_figures
from nengtan.tools.generate.faults import FaultLog
from nengtan.tools.generate.roles import ETS_SECTOR, ETS_THRESHOLD_TCO2, KEY_USER_THRESHOLD_TCE
from nengtan.tools.generate.writers import write_csv_rows

HEADER = ["credit_code", "year", "sector", "verified_emissions_tco2", "allowances_allocated_t",
          "allowances_surrendered_t", "ccer_surrendered_t", "compliance_deadline"]
CCER_CAP = 0.05


def _year_truth(city: City, truth: dict, i: int, year: int) -> tuple[dict[str, float], bool]:
    """Sums of the year's true monthly figures (all 12 months declared), else the expected year."""
    months = [truth.get((i, f"{year}-{m:02d}")) for m in range(1, 13)]
    if all(months):
        return {k: sum(m[k] for m in months) for k in ("co2_gross", "direct_co2", "tce_net")}, True
    f = annual_figures(city.enterprises[i], year)
    return {k: f[k] for k in ("co2_gross", "direct_co2", "tce_net")}, False


def write_ets(city: City, out: Path, seed: int, truth: dict, log: FaultLog) -> dict:
    year = city.start.year - 1
    end = city.start + timedelta(days=city.days - 1)
    rng = np.random.default_rng([seed, 14, year])
    name = f"ets/year={year}/ets_{year}.csv"
    roles = city.roles
    rows: list[list[str]] = []
    checked = 0
    deadline = date(year + 1, 12, 31)
    for i, e in enumerate(city.enterprises):
        if not e["ets_covered"]:
            continue
        t, known = _year_truth(city, truth, i, year)
        checked += known
        v = t["co2_gross"] * float(rng.uniform(0.98, 1.02))
        alloc = v * float(rng.uniform(0.92, 1.04))
        u = rng.random()
        surrendered = math.ceil(v) if u < 0.4 else (v * float(rng.uniform(0.5, 0.9)) if u < 0.7 else 0.0)
        ccer = 0.0
        dl = deadline
        line = len(rows) + 2
        if i == roles.get("ets_cross_check_mismatch"):
            v = t["co2_gross"] * 0.85
            surrendered = math.ceil(v)
            log.add("ets_cross_check_mismatch", credit_code=e["credit_code"], file=name, line=line, year=year,
                    detail=f"verified {v:.0f} t; the year's declarations give scope 1 + 2 (location, gross of "
                           f"exports) {t['co2_gross']:.0f} t: {(t['co2_gross'] - v) / v:+.1%}")
        elif i == roles.get("ets_shortfall"):
            surrendered, ccer = 0.80 * v, 0.03 * v
            dl = end + timedelta(days=45)
            log.add("ets_shortfall", credit_code=e["credit_code"], file=name, line=line, year=year,
                    detail=f"verified {v:.0f} t, surrendered {round(surrendered)} + CCER {round(ccer)}: gap "
                           f"{v - round(surrendered) - round(ccer):.0f} t, deadline {dl.isoformat()} "
                           f"(45 days after {end.isoformat()})")
        elif i == roles.get("ets_ccer_over_cap"):
            surrendered, ccer = 0.93 * v, 0.08 * v
            log.add("ets_ccer_over_cap", credit_code=e["credit_code"], file=name, line=line, year=year,
                    detail=f"CCER {round(ccer)} t = 8 % of verified {v:.0f} t; usable {CCER_CAP * v:.0f} t, "
                           f"gap {v - round(surrendered) - CCER_CAP * v:.0f} t")
        rows.append([e["credit_code"], str(year), ETS_SECTOR[e["industry_class"]], f"{v:.2f}", f"{round(alloc)}",
                     f"{round(surrendered)}", f"{round(ccer)}", dl.isoformat()])
    for role in ("ets_candidate", "ets_candidate_2"):
        if role in roles:
            e = city.enterprises[roles[role]]
            t, known = _year_truth(city, truth, roles[role], year)
            log.add("ets_candidate", credit_code=e["credit_code"], file="registry/enterprises.csv",
                    line=roles[role] + 2, year=year,
                    detail=f"class {e['industry_class']} ({ETS_SECTOR[e['industry_class']]}), direct CO2 "
                           f"{t['direct_co2']:.0f} t >= {ETS_THRESHOLD_TCO2:.0f} t, ets_covered false"
                           + ("" if known else " (expected year; no declarations on file)"))
    if "key_energy_user_candidate" in roles:
        i = roles["key_energy_user_candidate"]
        e = city.enterprises[i]
        t, known = _year_truth(city, truth, i, year)
        log.add("key_energy_user_candidate", credit_code=e["credit_code"], file="registry/enterprises.csv",
                line=i + 2, year=year,
                detail=f"comprehensive energy (net) {t['tce_net']:.0f} tce >= {KEY_USER_THRESHOLD_TCE:.0f} tce in "
                       f"{year}, key_energy_user false" + ("" if known else " (expected year)"))
    if rows:
        landed = min(max(date(year + 1, 3, 20), city.start - timedelta(days=1)), end)
        write_csv_rows(out / name, HEADER, rows, datetime.combine(landed, time(10), LOCAL_TZ))
    return {"year": year, "records": len(rows), "file": name if rows else None,
            "cross_checkable": checked,
            "why": f"{year} is the data year whose verification and compliance run during the generated range; "
                   f"its declarations are on file for {checked} of the {len(rows)} covered enterprises "
                   "(the base-year archive), so only those can be cross-checked"}
