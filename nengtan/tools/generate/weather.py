"""Daily weather observations per district (``weather/date=YYYY-MM-DD/``), for weather-normalised
savings: a Wuxi-like climate (about 4 °C in January, 29 °C in July) with persistent anomalies.
Heat use follows the day's temperature (heating degree days below 18 °C), so a baseline model
of a heat meter against temperature has something real to fit."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np

from nengtan.config import LOCAL_TZ
from nengtan.tools.generate.writers import write_csv_rows

HEADER = ["district", "date", "temp_mean_c", "temp_min_c", "temp_max_c"]


def normal_temperature(day: date) -> float:
    doy = day.timetuple().tm_yday
    return 16.4 - 12.6 * math.cos(2 * math.pi * (doy - 18) / 365.25)


HEATING_BASE_C = 18.0


def heat_factor(day: date, anomaly: float) -> float:
    """Heat use of the day relative to a normal day: the ratio of heating degrees (18 °C base)."""
    normal = normal_temperature(day)
    if normal >= HEATING_BASE_C - 2:
        return 1.0
    return min(max((HEATING_BASE_C - normal - anomaly) / (HEATING_BASE_C - normal), 0.3), 2.0)


def write_weather_day(out: Path, districts: list[str], day: date, seed: int, state: dict) -> float:
    """Write the day's observations; returns the day's heat factor."""
    rng = np.random.default_rng([seed, 15, day.toordinal()])
    anomaly = 0.7 * state.get("anomaly", 0.0) + float(rng.normal(0, 1.8))
    state["anomaly"] = anomaly
    rows = []
    for k, d in enumerate(districts):
        mean = normal_temperature(day) + anomaly + 0.3 * ((k % 3) - 1) + float(rng.normal(0, 0.3))
        rows.append([d, day.isoformat(), f"{mean:.1f}", f"{mean - float(rng.uniform(2.5, 5.5)):.1f}",
                     f"{mean + float(rng.uniform(3.0, 7.0)):.1f}"])
    name = f"weather/date={day.isoformat()}/weather_{day:%Y%m%d}.csv"
    landed = datetime.combine(day + timedelta(days=1), time(1), LOCAL_TZ)
    write_csv_rows(out / name, HEADER, rows, landed)
    return heat_factor(day, anomaly)
