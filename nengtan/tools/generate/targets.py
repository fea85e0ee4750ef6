"""Annual dual-control targets for the city, its parks and its enterprises, and the roadmap.

Budgets are sized from the generated truth the way the warehouse projects a year
(methodology: metered energy ÷ days metered × days in the year, plus declared energy ÷
declared months × 12, as the dual-control rules count it), so a budget's level reflects
real use and never a declaration that has not arrived yet: most entities end green or
yellow, and the few planted ones that really exceed (orange or red under the default
90/100/110 %) are in the manifest (``target_exceeded``). Some target columns are left
empty (not set). Enterprises with a base year on file get intensity-reduction targets
against it (``intensity_reduction_behind`` records those the year to date falls short of).
The year after the range is the roadmap: the last year's projections and intensities
tightened by 1-4 %, with larger reductions against the same base year.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np

from nengtan.config import LOCAL_TZ
from nengtan.tools.generate.city import CITY_ID, CO2, DEFAULT_STEAM_GJ_PER_T, TCE, City, annual_figures
from nengtan.tools.generate.faults import FaultLog
from nengtan.tools.generate.profiles import ENERGY_TYPES
from nengtan.tools.generate.writers import write_csv_rows

HEADER = ["level", "entity_id", "year", "energy_budget_tce", "carbon_budget_tco2",
          "energy_intensity_target", "carbon_intensity_target", "base_year",
          "energy_intensity_reduction_pct", "carbon_intensity_reduction_pct"]
LEVELS = ((0.9, "green"), (1.0, "yellow"), (1.1, "orange"))


def level_of(ratio: float) -> str:
    return next((name for limit, name in LEVELS if ratio < limit), "red")


def _ratios(rng: np.random.Generator, n: int) -> np.ndarray:
    """Projected use ÷ budget per entity: mostly green, some yellow, a few orange or red, each
    clear of the 90/100/110 % limits."""
    u = rng.random(n)
    lo = np.select([u < 0.80, u < 0.94, u < 0.97], [0.55, 0.91, 1.02], 1.15)
    hi = np.select([u < 0.80, u < 0.94, u < 0.97], [0.85, 0.97, 1.07], 1.40)
    return lo + (hi - lo) * rng.random(n)


def _f(x: float | None, nd: int = 2) -> str:
    return "" if x is None else f"{x:.{nd}f}"


class Truth:
    """What the warehouse should compute for a year, from the generator's own records."""

    def __init__(self, city: City, truth: dict, green: dict, year_acc: dict[int, np.ndarray],
                 year_days: dict[int, int]) -> None:
        self.city, self.truth, self.green, self.year_acc, self.year_days = city, truth, green, year_acc, year_days
        self.months: dict[tuple[int, int], list[dict]] = {}
        for (i, period), fig in truth.items():
            self.months.setdefault((i, int(period[:4])), []).append({**fig, "green": green.get((i, period), 0.0)})
        # metered energy (tce, dual control) and CO2 per enterprise and year, vectorised
        ents = city.enterprises
        gas_feed = np.array([e.get("feedstock", {}).get("natural_gas", 0.0) for e in ents])
        steam_co2 = np.array([e.get("steam_gj_per_t", DEFAULT_STEAM_GJ_PER_T) for e in ents]) * CO2["heat"]
        self.metered: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for year, acc in year_acc.items():
            q = acc.reshape(-1, len(ENERGY_TYPES))
            tce = q @ np.array([TCE[et] for et in ENERGY_TYPES]) - q[:, 1] * gas_feed * TCE["natural_gas"]
            co2 = q[:, 0] * CO2["electricity"] + q[:, 1] * (1 - gas_feed) * CO2["natural_gas"] + \
                q[:, 2] * CO2["heat"] + q[:, 3] * steam_co2
            self.metered[year] = (tce, co2)

    def declared(self, i: int, year: int) -> list[dict]:
        return self.months.get((i, year), [])

    def projection(self, i: int, year: int) -> tuple[float, float]:
        """Projected year-end (energy as dual control counts it, tce; net CO2, t)."""
        e = self.city.enterprises[i]
        n_year = (date(year + 1, 1, 1) - date(year, 1, 1)).days
        days = self.year_days.get(year, 0)
        if days:
            tce = float(self.metered[year][0][i]) / days * n_year
            co2 = float(self.metered[year][1][i]) / days * n_year
        else:
            fa = annual_figures(e, year)
            tce, co2 = fa["metered_tce_dc"], fa["metered_co2"]
        months = self.declared(i, year)
        if months:
            tce += sum(m["decl_tce_dc"] - m["green"] * 1000 * TCE["electricity"] for m in months) / len(months) * 12
            co2 += sum(m["decl_co2"] for m in months) / len(months) * 12
        else:
            fa = annual_figures(e, year)
            tce += (fa["tce_net"] - fa["tce_feedstock"]) - fa["metered_tce_dc"]
            co2 += fa["co2_net"] - fa["metered_co2"]
        return tce, co2

    def matched(self, i: int, year: int, base_year: int) -> np.ndarray | None:
        """(energy, CO2, value added) of ``year`` then of ``base_year`` when both have declared months."""
        now, base = self._sums(i, year), self._sums(i, base_year)
        return None if now is None or base is None else np.array(now + base)

    def _sums(self, i: int, year: int) -> tuple[float, float, float] | None:
        months = self.declared(i, year)
        if not months:
            return None
        return (sum(m["tce_net"] - m["tce_feedstock"] - m["green"] * 1000 * TCE["electricity"] for m in months),
                sum(m["co2_net"] for m in months), sum(m["value_added"] for m in months))

    def intensity(self, i: int, year: int) -> tuple[float, float, float] | None:
        """(energy intensity, carbon intensity, value added) over the declared months of ``year``."""
        months = self.declared(i, year)
        va = sum(m["value_added"] for m in months)
        if not months or va <= 0:
            return None
        tce = sum(m["tce_net"] - m["tce_feedstock"] - m["green"] * 1000 * TCE["electricity"] for m in months)
        return tce / va, sum(m["co2_net"] for m in months) / va, va


def write_targets(city: City, out: Path, seed: int, truth: Truth, log: FaultLog) -> list[str]:
    end = city.start + timedelta(days=city.days - 1)
    written = []
    base_year = city.start.year - 1
    last: dict[int, tuple[float, float, float, float, float]] = {}
    for year in range(city.start.year, end.year + 2):
        roadmap = year > end.year
        rng = np.random.default_rng([seed, 4, year])
        name = f"targets/year={year}/targets_{year}.csv"
        rows = []
        per_park: dict[str, list[float]] = {}
        matched: dict[str, np.ndarray] = {}  # park / city -> energy, CO2, value added: now, then base year
        n = len(city.enterprises)
        ratios = _ratios(rng, n) if not roadmap else rng.uniform(0.7, 0.9, n)
        if not roadmap and "budget_exceeded" in city.roles:
            ratios[city.roles["budget_exceeded"]] = rng.uniform(1.15, 1.40)
        carbon = ratios * rng.uniform(0.99, 1.01, n)
        k_ok, k_over = rng.uniform(1.03, 1.25, n), rng.uniform(0.85, 0.95, n)
        unset = rng.random((n, 4)) < np.array([0.08, 0.25, 0.15, 0.2])  # some targets not set (empty)
        cut = rng.uniform(0.96, 0.99, n)  # the roadmap tightens the year before
        for i, e in enumerate(city.enterprises):
            if roadmap:
                tce, co2, ei, ci = (x * float(cut[i]) for x in last[i][:4])
                inten = (ei, ci, last[i][4]) if last[i][4] else None
            else:
                tce, co2 = truth.projection(i, year)
                inten = truth.intensity(i, year)
                ei, ci = (inten[0], inten[1]) if inten else (e["intensity"], co2 / max(tce, 1e-9) * e["intensity"])
                last[i] = (tce, co2, ei, ci, inten[2] if inten else 0.0)
            r, rc = float(ratios[i]), float(carbon[i])
            exceeded = r > 1.0
            k = float(k_over[i] if exceeded else k_ok[i])
            cols: list[float | None] = [tce / r, co2 / rc, ei * k, ci * k]
            if not exceeded:  # never unset for the planted exceeders
                cols = [None if unset[i, c] else v for c, v in enumerate(cols)]
            red = _reduction(truth, i, year, base_year, rng, i == city.roles.get("intensity_reduction_behind"),
                             roadmap) if e.get("base_intensity_factor") else None
            by = er = cr = None
            if red is not None:
                by, er, cr, behind = red
                if behind and not roadmap:
                    log.add("intensity_reduction_behind", credit_code=e["credit_code"], file=name,
                            line=len(rows) + 2, year=year, detail=behind)
            rows.append(["enterprise", e["credit_code"], year, _f(cols[0]), _f(cols[1]), _f(cols[2], 6),
                         _f(cols[3], 6), by or "", _f(er), _f(cr)])
            if exceeded and not roadmap:
                log.add("target_exceeded", credit_code=e["credit_code"], file=name, line=len(rows) + 1, year=year,
                        detail=f"projected {tce:.1f} tce / {co2:.1f} tCO2 = {r:.0%} / {rc:.0%} of the budgets "
                               f"({level_of(r)}); intensity targets {k:.0%} of the year to date")
            acc = per_park.setdefault(e["park_id"], [0.0, 0.0, 0.0, 0.0])
            acc[0] += tce
            acc[1] += co2
            acc[2] += inten[2] if inten else 0.0
            acc[3] += (inten[0] * inten[2]) if inten else 0.0
            both = truth.matched(i, year if not roadmap else year - 1, base_year)
            if both is not None:
                for key in (e["park_id"], CITY_ID):
                    m = matched.setdefault(key, np.zeros(6))
                    m += both
        tot = [0.0, 0.0, 0.0, 0.0]
        for p in city.parks:
            tce, co2, va, tce_va = per_park.get(p["park_id"], [0.0, 0.0, 0.0, 0.0])
            r = float(rng.uniform(0.7, 0.88)) if rng.random() < 0.75 else float(rng.uniform(0.91, 0.97))
            rows.append(["park", p["park_id"], year, _f(tce / r), _f(co2 / r) if len(rows) % 4 else "",
                         _f(tce_va / va * 1.1, 6) if va else "", _f(co2 / tce * tce_va / va * 1.1, 6) if va and tce else "",
                         *_area_reduction(matched.get(p["park_id"]), "park", p["park_id"], year, base_year, roadmap,
                                          rng, log, name, len(rows) + 2)])
            tot = [a + b for a, b in zip(tot, (tce, co2, va, tce_va), strict=True)]
        rows.append(["city", CITY_ID, year, _f(tot[0] / 0.86), _f(tot[1] / 0.93),
                     _f(tot[3] / tot[2] * 1.08, 6) if tot[2] else "",
                     _f(tot[1] / tot[0] * tot[3] / tot[2] * 1.05, 6) if tot[2] and tot[0] else "",
                     *_area_reduction(matched.get(CITY_ID), "city", CITY_ID, year, base_year, roadmap, rng, log, name,
                                      len(rows) + 2)])
        landed_day = min(max(city.start - timedelta(days=1), date(year - 1, 12, 28)), end)
        write_csv_rows(out / name, HEADER, rows, datetime.combine(landed_day, time(10), LOCAL_TZ))
        written.append(name)
    return written


def _area_reduction(m: np.ndarray | None, level: str, entity: str, year: int, base_year: int, roadmap: bool,
                    rng: np.random.Generator, log: FaultLog, name: str, line: int) -> list[str]:
    """base_year and reduction targets of a park or the city, from the enterprises with months in
    both years (intensity over matched enterprise-months); on pace unless the data say otherwise."""
    if m is None or m[2] <= 0 or m[5] <= 0:
        return ["", "", ""]
    got_e = (1 - (m[0] / m[2]) / (m[3] / m[5])) * 100
    got_c = (1 - (m[1] / m[2]) / (m[4] / m[5])) * 100
    te = max(got_e * float(rng.uniform(0.4, 0.8)), 0.5)
    tc = max(got_c * float(rng.uniform(0.4, 0.8)), 0.5)
    if roadmap:
        te, tc = te + 3.0, tc + 3.5
    elif te > got_e or tc > got_c:
        log.add("intensity_reduction_behind", file=name, line=line, year=year, level=level, entity_id=entity,
                detail=f"{level} {entity}: energy intensity {got_e:.2f} % / carbon intensity {got_c:.2f} % below "
                       f"{base_year} over matched enterprise-months, targets {te:.2f} % / {tc:.2f} %")
    return [str(base_year), _f(te), _f(tc)]


def _reduction(truth: Truth, i: int, year: int, base_year: int, rng: np.random.Generator,
               force_behind: bool, roadmap: bool) -> tuple[int, float, float, str] | None:
    """(base year, energy and carbon intensity reduction targets %, why behind or '') for an
    enterprise whose base year is on file; None when it has no base year. A year without
    declared months (the roadmap, or one whose declarations have not landed) gets targets on
    the expected pace and is never reported behind."""
    base = truth.intensity(i, base_year)
    if base is None:
        return None
    now = truth.intensity(i, year)
    measured = now is not None and not roadmap
    if now is None:
        factor = truth.city.enterprises[i]["base_intensity_factor"]
        now = (base[0] / factor, base[1] / factor, 0.0)
    got_e = (1 - now[0] / base[0]) * 100
    got_c = (1 - now[1] / base[1]) * 100
    if measured and (force_behind or rng.random() >= 0.95):
        te, tc = max(got_e, 0.0) + float(rng.uniform(2, 4)), max(got_c, 0.0) + float(rng.uniform(2, 4))
    else:
        te = max(got_e * float(rng.uniform(0.3, 0.8)), 0.5)
        tc = max(got_c * float(rng.uniform(0.3, 0.8)), 0.5)
    if roadmap:
        te, tc = te + 3.0, tc + 3.5
    behind: list[str] = []
    if measured and te > got_e:
        behind.append(f"energy intensity {got_e:.2f} % below {base_year} against a target of {te:.2f} %")
    if measured and tc > got_c:
        behind.append(f"carbon intensity {got_c:.2f} % below {base_year} against a target of {tc:.2f} %")
    return base_year, te, tc, "; ".join(behind)


__all__ = ["Truth", "write_targets", "level_of", "CO2"]
