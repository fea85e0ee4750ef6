"""Load shapes: how much each kind of plant uses per 15 minutes, per day type and season.

A shape is 96 factors with mean 1 over a working weekday; a day factor scales it for
weekends, the Spring Festival shutdown and the heating season. Sizes are chosen so that
annual energy per plant lands in realistic ranges (GB/T 4754 divisions 17, 26, 31, 34, 39).
Divisions 30 (cement), 32 (aluminium) and 44 (thermal power) have no share: the city gets
them only as planted cases (see :mod:`nengtan.tools.generate.roles`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

import numpy as np

ENERGY_TYPES = ("electricity", "natural_gas", "heat", "steam")
UNITS = {"electricity": "kWh", "natural_gas": "m3", "heat": "GJ", "steam": "t"}

# Lunar new year (春节) dates; the plants shut down around them.
LUNAR_NEW_YEAR = {
    2023: date(2023, 1, 22), 2024: date(2024, 2, 10), 2025: date(2025, 1, 29),
    2026: date(2026, 2, 17), 2027: date(2027, 2, 6), 2028: date(2028, 1, 26),
}


@dataclass(frozen=True)
class Industry:
    code: str
    name: str
    share: float                       # share of the city's enterprises
    shifts: tuple[int, ...]            # possible shift patterns; 0 = continuous process
    # median daily use per energy type in the unit after the multiplier, and the chance
    # that a plant of this industry meters that type at all
    daily_median: dict[str, float]
    meter_prob: dict[str, float]
    fuels: dict[str, tuple[float, float]]  # declared fuel item -> (chance, median t/day)
    tce_per_10k_va: float              # typical energy intensity (tce per 10k CNY value added)
    product_unit: str
    product_per_tce: float             # product units per tce


INDUSTRIES: dict[str, Industry] = {
    "39": Industry("39", "electronics", 0.30, (2, 3, 3), {"electricity": 15_000, "natural_gas": 600,
                   "heat": 40, "steam": 20}, {"electricity": 1.0, "natural_gas": 0.35, "heat": 0.15,
                   "steam": 0.15}, {"diesel": (0.2, 0.1)}, 0.06, "万件", 8.0),
    "17": Industry("17", "textiles", 0.20, (2, 3), {"electricity": 9_000, "natural_gas": 1_500,
                   "heat": 30, "steam": 90}, {"electricity": 1.0, "natural_gas": 0.4, "heat": 0.1,
                   "steam": 0.85}, {"lpg": (0.2, 0.3)}, 0.35, "万米", 1.5),
    "26": Industry("26", "chemicals", 0.12, (0,), {"electricity": 40_000, "natural_gas": 9_000,
                   "heat": 150, "steam": 300}, {"electricity": 1.0, "natural_gas": 0.8, "heat": 0.2,
                   "steam": 0.9}, {"raw_coal": (0.4, 60.0), "fuel_oil": (0.15, 2.0), "lpg": (0.2, 0.8)},
                   0.9, "吨", 3.0),
    "34": Industry("34", "machinery", 0.30, (1, 2, 2), {"electricity": 8_000, "natural_gas": 1_200,
                   "heat": 25, "steam": 15}, {"electricity": 1.0, "natural_gas": 0.5, "heat": 0.35,
                   "steam": 0.05}, {"diesel": (0.6, 0.4), "gasoline": (0.4, 0.1)}, 0.08, "台", 20.0),
    "31": Industry("31", "steel", 0.08, (0,), {"electricity": 220_000, "natural_gas": 45_000,
                   "heat": 100, "steam": 150}, {"electricity": 1.0, "natural_gas": 0.9, "heat": 0.1,
                   "steam": 0.4}, {"raw_coal": (0.6, 120.0), "diesel": (0.7, 1.5)}, 1.6, "吨", 2.2),
    # planted only (share 0): a coal-fired CHP plant, a cement works, an aluminium smelter
    "44": Industry("44", "thermal power", 0.0, (0,), {"electricity": 20_000, "natural_gas": 0,
                   "heat": 0, "steam": 0}, {"electricity": 1.0, "natural_gas": 0.0, "heat": 0.0,
                   "steam": 0.0}, {"raw_coal": (1.0, 400.0), "diesel": (1.0, 0.5)}, 3.0, "万千瓦时", 0.9),
    "30": Industry("30", "cement", 0.0, (0,), {"electricity": 250_000, "natural_gas": 500,
                   "heat": 0, "steam": 0}, {"electricity": 1.0, "natural_gas": 0.2, "heat": 0.0,
                   "steam": 0.0}, {"raw_coal": (1.0, 320.0), "diesel": (0.8, 1.0)}, 2.2, "吨", 9.0),
    "32": Industry("32", "aluminium", 0.0, (0,), {"electricity": 1_500_000, "natural_gas": 8_000,
                   "heat": 0, "steam": 0}, {"electricity": 1.0, "natural_gas": 0.9, "heat": 0.0,
                   "steam": 0.0}, {"diesel": (0.5, 0.5), "fuel_oil": (0.3, 3.0)}, 2.8, "吨", 0.5),
}

# GB/T 4754-2017 four-digit class for each industry word of :data:`nengtan.tools.generate.names.INDUSTRY_WORDS`
# (same order): the class an enterprise of that name would register under.
CLASSES: dict[str, tuple[str, ...]] = {
    "39": ("3982", "3973", "3972", "3976", "3921"),
    "17": ("1711", "1713", "1712", "1751"),
    "26": ("2614", "2662", "2651", "2661"),
    "34": ("3499", "3484", "3411", "3451", "3444"),
    "31": ("3120", "3110", "3130", "3130"),
    "30": ("3011", "3011"),
    "32": ("3216", "3216"),
    "44": ("4411", "4411", "4411"),
}
# CO2 from industrial processes (t per day) per unit of a driver, for the classes that declare it:
# cement clinker (~0.525 t/t clinker, ~4 t per t of kiln coal), BF-BOF iron and steel
# (fluxes, ~0.15 t per t of coking coal), aluminium anodes (~1.6 t/t Al ≈ 0.00012 t per kWh)
PROCESS_CO2: dict[str, tuple[str, float]] = {
    "3011": ("raw_coal", 4.0), "3110": ("raw_coal", 0.15), "3120": ("raw_coal", 0.15),
    "3216": ("electricity", 0.00012),
}
STORED_FUELS = ("raw_coal", "diesel", "gasoline", "fuel_oil", "lpg")

DAY_TYPES = ("weekday", "saturday", "sunday")


def _smooth(x: np.ndarray, k: int = 3) -> np.ndarray:
    kernel = np.ones(k) / k
    pad = np.concatenate([x[-k:], x, x[:k]])
    return np.convolve(pad, kernel, mode="same")[k:-k]


@cache
def _shift_shape(shifts: int) -> np.ndarray:
    """96 factors for one working day of a plant with ``shifts`` shifts (0 = continuous)."""
    t = np.arange(96) / 4.0  # hour of day
    if shifts == 0:
        s = 1.0 + 0.05 * np.sin(2 * np.pi * (t - 3) / 24)
        s = s + 0.08 * ((t < 8) | (t >= 22))  # valley tariff: heavy units run at night
    else:
        base = 0.25
        s = np.full(96, base)
        if shifts == 1:
            on = (t >= 8) & (t < 17.5)
            s[on] = 1.0
            s[(t >= 12) & (t < 13)] = 0.65
        elif shifts == 2:
            s[(t >= 7.5) & (t < 23.5)] = 1.0
            s[(t >= 11.75) & (t < 12.5)] = 0.8
        else:
            s[:] = 0.95
            s[(t >= 8) & (t < 20)] = 1.05
            for h in (0, 8, 16):  # shift change
                s[(t >= h) & (t < h + 0.5)] = 0.8
    s = _smooth(s)
    return s / s.mean()


@cache
def electricity_shapes(shifts: int) -> np.ndarray:
    """(3, 96): weekday, Saturday, Sunday shapes in units of the weekday mean."""
    wd = _shift_shape(shifts)
    if shifts == 0:
        return np.stack([wd, wd * 0.98, wd * 0.97])
    idle = np.full(96, 0.25)
    sat_level = {1: 0.45, 2: 0.7, 3: 0.85}[shifts]
    sun_level = {1: 0.2, 2: 0.4, 3: 0.7}[shifts]
    sat = wd * sat_level + idle * (1 - sat_level) * 0.6
    sun = wd * sun_level + idle * (1 - sun_level) * 0.6
    return np.stack([wd, sat, sun])


@cache
def heat_shape() -> np.ndarray:
    """Space heating: morning peak, lower at night (one shape for every day type)."""
    t = np.arange(96) / 4.0
    s = 0.7 + 0.5 * np.exp(-((t - 8.0) ** 2) / 8.0) + 0.2 * ((t >= 8) & (t < 18))
    return s / s.mean()


def spring_festival_factor(day: date, continuous: bool) -> float:
    """Production level around the lunar new year (1.0 = normal)."""
    lny = LUNAR_NEW_YEAR.get(day.year) or LUNAR_NEW_YEAR.get(day.year + 1)
    if lny is None:
        return 1.0
    best = 1.0
    for ref in {LUNAR_NEW_YEAR.get(day.year), LUNAR_NEW_YEAR.get(day.year + 1)} - {None}:
        d = (day - ref).days
        if continuous:
            f = 0.85 if -3 <= d <= 7 else 1.0
        elif -10 <= d < -3:
            f = 1.0 - 0.08 * (d + 11)  # winding down
        elif -3 <= d <= 7:
            f = 0.15
        elif 7 < d <= 17:
            f = 0.15 + 0.085 * (d - 7)  # ramp up again
        else:
            f = 1.0
        best = min(best, f)
    return max(best, 0.1)


def seasonal_factor(energy_type: str, day: date) -> float:
    """Heating in winter; gas a little higher in winter; steam roughly flat."""
    doy = day.timetuple().tm_yday
    cold = 0.5 * (1 + np.cos(2 * np.pi * (doy - 15) / 365.25))  # 1 mid-January, 0 mid-July
    if energy_type == "heat":
        return float(0.05 + 1.6 * max(cold - 0.35, 0.0) / 0.65)
    if energy_type == "natural_gas":
        return float(0.85 + 0.3 * cold)
    if energy_type == "steam":
        return float(0.95 + 0.1 * cold)
    return float(0.97 + 0.06 * abs(cold - 0.5) * 2)  # electricity: a little more for summer/winter HVAC


def day_type(day: date) -> int:
    wd = day.weekday()
    return 0 if wd < 5 else (1 if wd == 5 else 2)


def day_level(industry: str, shifts: int, energy_type: str, day: date) -> float:
    """Mean level of a day relative to a normal weekday, before random noise."""
    cont = shifts == 0
    f = seasonal_factor(energy_type, day) * spring_festival_factor(day, cont)
    if energy_type != "heat" and not cont:
        f *= float(electricity_shapes(shifts)[day_type(day)].mean())
    return f


def expected_annual_factor(industry: str, shifts: int, energy_type: str, year: int) -> float:
    """Sum of day levels over a year: annual use = weekday median × this (the level does not
    depend on the industry beyond its shift pattern, so the sums are shared)."""
    return _annual_level_sum(shifts, energy_type, year)


@cache
def _annual_level_sum(shifts: int, energy_type: str, year: int) -> float:
    return sum(_month_level_sum(shifts, energy_type, year, m) for m in range(1, 13))


def month_level_sum(industry: str, shifts: int, energy_type: str, year: int, month: int) -> float:
    """Sum of day levels over a calendar month: monthly use = weekday median × this."""
    return _month_level_sum(shifts, energy_type, year, month)


@cache
def _month_level_sum(shifts: int, energy_type: str, year: int, month: int) -> float:
    d0 = date(year, month, 1)
    n = ((d0.replace(day=28) + timedelta(days=4)).replace(day=1) - d0).days
    return sum(day_level("", shifts, energy_type, d0 + timedelta(i)) for i in range(n))
