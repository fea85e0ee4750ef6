"""Green electricity certificates (绿证): holdings and claims, one export per month.

Holders claim certificates against the previous month's electricity. Two kinds arrive:
standalone certificates (``trade_type`` ``standalone``, or empty in older exports) and the
certificates transferred with a green-power trade (``green_power`` with its ``trade_id``),
whose MWh equal the trade volume the buyer declares as ``green_electricity_direct`` — except
for the planted trader whose certificates cover only part of it. A case city also gets
an expired claim (and one in its last valid month), a premature claim (a period before the
generation month) and a holder claiming more than its month's electricity. A few serials
are claimed a second time (another holder or another period), which the warehouse must reject.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np

from nengtan.config import LOCAL_TZ
from nengtan.tools.generate.city import City
from nengtan.tools.generate.faults import FaultLog, prob
from nengtan.tools.generate.plant import last_night
from nengtan.tools.generate.writers import write_csv_rows

HEADER = ["certificate_id", "project_id", "generation_month", "owner_credit_code", "claimed_period", "claimed_at",
          "trade_type", "trade_id"]
PROJECTS = ["GEC-PV-JS-0012", "GEC-WD-JS-0031", "GEC-WD-NM-0107", "GEC-PV-QH-0044", "GEC-HY-SC-0208",
            "GEC-PV-GS-0075"]
VALID_MONTHS = 24  # a certificate is valid for 2 years from its generation month, inclusive
PRE_2024_VALID_TO = date(2025, 12, 1)  # certificates of power generated before 2024-01


def _month_shift(m: date, k: int) -> date:
    y, mo = divmod(m.year * 12 + m.month - 1 + k, 12)
    return date(y, mo + 1, 1)


def valid_through(gen: date) -> date:
    """The last month a certificate generated in ``gen`` can be claimed for."""
    return PRE_2024_VALID_TO if gen < date(2024, 1, 1) else _month_shift(gen, VALID_MONTHS - 1)


def green_trade_mwh(e: dict, elec_kwh: float) -> int:
    """Green-power trade volume (whole MWh) an enterprise bought for a month of ``elec_kwh``."""
    return int(elec_kwh * e["green_direct"] / 1000) if e["green_direct"] > 0 else 0


class _Rows:
    """The rows of one export, with the serial counters of the projects."""

    def __init__(self, serial: dict[str, int]) -> None:
        self.rows: list[list[str]] = []
        self.serial = serial

    def add(self, proj: str, gen: date, owner: str, period: str, at: str, n: int, trade_type: str = "",
            trade_id: str = "") -> int:
        """``n`` certificates of ``proj``; returns the 1-based file line of the first (header = 1)."""
        first = self.serial[proj]
        self.serial[proj] += n
        line = len(self.rows) + 2
        for s in range(first, first + n):
            cid = f"GEC{gen:%Y%m}{PROJECTS.index(proj) + 1:03d}{s:09d}"
            self.rows.append([cid, proj, f"{gen:%Y-%m}", owner, period, at if period else "", trade_type, trade_id])
        return line


def certificates_month(city: City, out: Path, month: date, elec_kwh: np.ndarray, rng: np.random.Generator,
                       fault_rate: float, log: FaultLog, state: dict) -> int:
    """Write ``green_certificates/gec_claims_YYYYMM.csv`` for claims against ``month``.

    ``state["green_counted"][(i, period)]`` receives the MWh the warehouse should count
    (valid first claims, capped at the month's electricity)."""
    nxt = _month_shift(month, 1)
    landing = datetime.combine(nxt + timedelta(days=int(rng.integers(2, 5))), time(6), LOCAL_TZ)
    if landing > last_night(city):
        return 0
    out_rows = _Rows(state.setdefault("serial", {p: 1 for p in PROJECTS}))
    counted: dict = state.setdefault("green_counted", {})
    claimed: list[int] = []
    period = f"{month:%Y-%m}"
    name = f"green_certificates/gec_claims_{month:%Y%m}.csv"
    roles = city.roles
    cases: list[tuple[str, dict]] = []
    for i, e in enumerate(city.enterprises):
        code = e["credit_code"]
        at = (datetime.combine(nxt + timedelta(days=int(rng.integers(0, 2))), time(9), LOCAL_TZ)
              + timedelta(minutes=int(rng.integers(0, 480)))).isoformat()
        mwh_elec = elec_kwh[i] / 1000
        valid = 0
        trade = green_trade_mwh(e, float(elec_kwh[i]))
        if trade:
            n = int(trade * e.get("green_cover", 1.0))
            proj = PROJECTS[1 + i % 2]  # the wind and PV farms that sell green power into Jiangsu
            tid = f"GPT{month:%Y%m}{i + 1:05d}"
            first = len(out_rows.rows)
            line = out_rows.add(proj, month, code, period, at, n, "green_power", tid)
            claimed.extend(range(first, first + n))
            valid += n
            kind = "green_power_uncovered" if n < trade else "green_power_trade"
            cases.append((kind, dict(credit_code=code, month=period, line=line, detail=(
                f"trade {tid}: green_electricity_direct {trade * 1000} kWh declared for {period}, {n} green_power "
                f"certificates" + (f": {trade - n} MWh not covered" if n < trade else " (matching)")))))
        if e["cert_share"] > 0:
            n = int(elec_kwh[i] * e["cert_share"] / 1000)
            if i == roles.get("certificate_over_consumption"):
                n = int(mwh_elec * e["cert_share"]) + 1
            held = n + int(n * rng.uniform(0, 0.2))
            proj = PROJECTS[int(rng.integers(0, len(PROJECTS)))]
            gen = _month_shift(month, -int(rng.integers(0, 3)))
            tt = "" if i % 3 == 0 else "standalone"
            first = len(out_rows.rows)
            line = out_rows.add(proj, gen, code, period, at, n, tt)
            claimed.extend(range(first, first + n))
            out_rows.add(proj, gen, code, "", "", held - n, tt)
            valid += n
            if i == roles.get("certificate_over_consumption"):
                cases.append(("certificate_over_consumption", dict(
                    credit_code=code, month=period, line=line, detail=(
                        f"{n} certificates claimed for {period} against {mwh_elec:.3f} MWh of electricity: "
                        f"{n - mwh_elec:.3f} MWh over the consumption"))))
        if i == roles.get("certificate_expired_claim"):
            valid += _plant_expiry(out_rows, code, month, at, cases, state)
        if i == roles.get("certificate_premature_claim") and not state.get("premature_done"):
            state["premature_done"] = True
            before = f"{_month_shift(month, -1):%Y-%m}"
            line = out_rows.add(PROJECTS[0], month, code, before, at, 3, "standalone")
            cases.append(("certificate_premature", dict(credit_code=code, month=before, line=line, detail=(
                f"3 certificates generated {period} claimed for {before}, before their generation month"))))
        if valid:
            counted[(i, period)] = min(float(valid), mwh_elec)
    rows = out_rows.rows
    for kind, kw in cases:
        log.add(kind, file=name, **kw)
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


def _plant_expiry(out_rows: _Rows, code: str, month: date, at: str, cases: list[tuple[str, dict]],
                  state: dict) -> int:
    """Claims for ``month`` of certificates at and past the end of their validity; returns the
    number that count (the ones in their last valid month)."""
    period = f"{month:%Y-%m}"
    last_valid = _month_shift(month, -(VALID_MONTHS - 1))
    expired = _month_shift(month, -VALID_MONTHS)
    if state.get("expiry_done") or valid_through(expired) >= month:
        return 0  # before 2026 every claim of a pre-2024 certificate is still valid: nothing expires yet
    state["expiry_done"] = True
    line = out_rows.add(PROJECTS[3], last_valid, code, period, at, 2, "standalone")
    cases.append(("certificate_last_valid_month", dict(credit_code=code, month=period, line=line, detail=(
        f"2 certificates generated {last_valid:%Y-%m} claimed for {period}, the last month of their "
        f"validity: counted"))))
    line = out_rows.add(PROJECTS[4], expired, code, period, at, 4, "standalone")
    cases.append(("certificate_expired", dict(credit_code=code, month=period, line=line, detail=(
        f"4 certificates generated {expired:%Y-%m} (valid through {valid_through(expired):%Y-%m}) claimed "
        f"for {period}"))))
    if expired != date(2023, 12, 1):
        line = out_rows.add(PROJECTS[4], date(2023, 12, 1), code, period, at, 2, "standalone")
        cases.append(("certificate_expired", dict(credit_code=code, month=period, line=line, detail=(
            f"2 certificates generated 2023-12 (pre-2024 power: valid through 2025-12) claimed for {period}"))))
    return 2
