"""Green electricity certificates (绿证): holdings and claims, one export per month.

Holders claim certificates against the previous month's electricity; a few serials are
claimed a second time (another holder or another period), which the warehouse must reject.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np

from nengtan.config import LOCAL_TZ
from nengtan.generate.city import City
from nengtan.generate.faults import FaultLog, prob
from nengtan.generate.plant import last_night
from nengtan.generate.writers import write_csv_rows

HEADER = ["certificate_id", "project_id", "generation_month", "owner_credit_code", "claimed_period", "claimed_at"]
PROJECTS = ["GEC-PV-JS-0012", "GEC-WD-JS-0031", "GEC-WD-NM-0107", "GEC-PV-QH-0044", "GEC-HY-SC-0208",
            "GEC-PV-GS-0075"]


def _month_shift(m: date, k: int) -> date:
    y, mo = divmod(m.year * 12 + m.month - 1 + k, 12)
    return date(y, mo + 1, 1)


def certificates_month(city: City, out: Path, month: date, elec_kwh: np.ndarray, rng: np.random.Generator,
                       fault_rate: float, log: FaultLog, state: dict) -> int:
    """Write ``green_certificates/gec_claims_YYYYMM.csv`` for claims against ``month``."""
    nxt = _month_shift(month, 1)
    landing = datetime.combine(nxt + timedelta(days=int(rng.integers(2, 5))), time(6), LOCAL_TZ)
    if landing > last_night(city):
        return 0
    serial = state.setdefault("serial", {p: 1 for p in PROJECTS})
    rows: list[list[str]] = []
    claimed: list[int] = []
    period = f"{month:%Y-%m}"
    for i, e in enumerate(city.enterprises):
        if e["cert_share"] <= 0:
            continue
        n = int(elec_kwh[i] * e["cert_share"] / 1000)
        held = n + int(n * rng.uniform(0, 0.2))
        proj = PROJECTS[int(rng.integers(0, len(PROJECTS)))]
        gen = _month_shift(month, -int(rng.integers(0, 3)))
        first = serial[proj]
        serial[proj] += held
        at = datetime.combine(nxt + timedelta(days=int(rng.integers(0, 2))), time(9), LOCAL_TZ) + \
            timedelta(minutes=int(rng.integers(0, 480)))
        for s in range(first, first + held):
            cid = f"GEC{gen:%Y%m}{PROJECTS.index(proj) + 1:03d}{s:09d}"
            if s - first < n:
                claimed.append(len(rows))
                rows.append([cid, proj, f"{gen:%Y-%m}", e["credit_code"], period, at.isoformat()])
            else:
                rows.append([cid, proj, f"{gen:%Y-%m}", e["credit_code"], "", ""])
    name = f"green_certificates/gec_claims_{month:%Y%m}.csv"
    if fault_rate > 0 and claimed:
        log.chance("certificate_double_claim", len(claimed))
        k = int((rng.random(len(claimed)) < prob("certificate_double_claim", fault_rate)).sum())
        k = max(k, 1)
        codes = [e["credit_code"] for e in city.enterprises]
        for j in rng.choice(len(claimed), size=min(k, len(claimed)), replace=False):
            src = rows[claimed[int(j)]]
            dup = list(src)
            if rng.random() < 0.6 and len(codes) > 1:
                other = codes[int(rng.integers(0, len(codes)))]
                while other == src[3]:
                    other = codes[int(rng.integers(0, len(codes)))]
                dup[3] = other
                what = f"also claimed by {other} for {period}"
            else:
                dup[4] = f"{_month_shift(month, -1):%Y-%m}"
                what = f"claimed again by the same holder for {dup[4]}"
            later = datetime.fromisoformat(src[5]) + timedelta(hours=int(rng.integers(2, 48)))
            dup[5] = later.isoformat()
            rows.append(dup)
            log.add("certificate_double_claim", certificate_id=src[0], month=period, file=name,
                    line=len(rows) + 1, detail=f"first claimed by {src[3]} for {src[4]} at {src[5]}; {what}")
    if not rows:
        return 0
    write_csv_rows(out / name, HEADER, rows, landing)
    return 1
