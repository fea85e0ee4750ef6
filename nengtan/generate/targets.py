"""Annual dual-control targets for the city, its parks and its enterprises.

Budgets are sized from each entity's expected use so that most end the year green, and a
fixed share lands yellow, orange or red under the default thresholds (90/100/110 %).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np

from nengtan.config import LOCAL_TZ
from nengtan.generate.city import CITY_ID, City, annual_tce_co2
from nengtan.generate.writers import write_csv_rows

HEADER = ["level", "entity_id", "year", "energy_budget_tce", "carbon_budget_tco2",
          "energy_intensity_target", "carbon_intensity_target"]


def _ratio(rng: np.random.Generator) -> float:
    """Projected use ÷ budget: mostly green, some yellow/orange/red."""
    u = rng.random()
    if u < 0.72:
        return float(rng.uniform(0.55, 0.85))
    if u < 0.84:
        return float(rng.uniform(0.92, 0.98))
    if u < 0.93:
        return float(rng.uniform(1.02, 1.08))
    return float(rng.uniform(1.15, 1.45))


def write_targets(city: City, out: Path, seed: int) -> list[str]:
    end = city.start + timedelta(days=city.days - 1)
    written = []
    for year in range(city.start.year, end.year + 1):
        rng = np.random.default_rng([seed, 4, year])
        rows = []
        per_park: dict[str, list[float]] = {}
        for e in city.enterprises:
            tce, co2 = annual_tce_co2(e, year)
            r = _ratio(rng)
            va = tce / e["intensity"]
            rows.append(["enterprise", e["credit_code"], year, f"{tce / r:.2f}",
                         f"{co2 / (r * float(rng.uniform(0.97, 1.03))):.2f}",
                         f"{e['intensity'] * float(rng.uniform(1.0, 1.25)):.6f}",
                         f"{co2 / va * float(rng.uniform(1.0, 1.25)):.6f}"])
            acc = per_park.setdefault(e["park_id"], [0.0, 0.0, 0.0])
            acc[0] += tce
            acc[1] += co2
            acc[2] += va
        tot = [0.0, 0.0, 0.0]
        for p in city.parks:
            tce, co2, va = per_park.get(p["park_id"], [0.0, 0.0, 0.0])
            r = float(rng.uniform(0.7, 0.88)) if rng.random() < 0.75 else float(rng.uniform(0.92, 1.06))
            rows.append(["park", p["park_id"], year, f"{tce / r:.2f}", f"{co2 / r:.2f}",
                         f"{tce / va * 1.1 if va else 0:.6f}", f"{co2 / va * 1.1 if va else 0:.6f}"])
            tot = [a + b for a, b in zip(tot, (tce, co2, va), strict=True)]
        rows.append(["city", CITY_ID, year, f"{tot[0] / 0.86:.2f}", f"{tot[1] / 0.93:.2f}",
                     f"{tot[0] / tot[2] * 1.08 if tot[2] else 0:.6f}",
                     f"{tot[1] / tot[2] * 1.05 if tot[2] else 0:.6f}"])
        landed_day = max(city.start - timedelta(days=1), date(year - 1, 12, 28))
        name = f"targets/year={year}/targets_{year}.csv"
        write_csv_rows(out / name, HEADER, rows, datetime.combine(landed_day, time(10), LOCAL_TZ))
        written.append(name)
    return written
