"""Daily weather observations per district (``weather/date=YYYY-MM-DD/``), for weather-normalised
savings: a Wuxi-like climate (about 4 °C in January, 29 °C in July) with persistent anomalies."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np

from nengtan.config import LOCAL_TZ
from nengtan.generate.writers import write_csv_rows

HEADER = ["district", "date", "temp_mean_c", "temp_min_c", "temp_max_c"]


def normal_temperature(day: date) -> float:
    doy = day.timetuple().tm_yday
    return 16.4 - 12.6 * math.cos(2 * math.pi * (doy - 18) / 365.25)


def write_weather_day(out: Path, districts: list[str], day: date, seed: int, state: dict) -> str:
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
    return name
