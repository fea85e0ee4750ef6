"""Monthly self-declarations (数据申报): bills that reconcile with the meters, mostly.

Each enterprise submits a month between the 5th and the 15th of the next month; the
declaration system exports one batch file per landing day (CSV, some as xlsx with the
Chinese headers, one legacy batch in GB18030). Only months fully inside the simulated
range whose landing day also falls inside it are declared.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np

from nengtan.config import LOCAL_TZ
from nengtan.generate.city import TCE, City
from nengtan.generate.faults import FaultLog, prob
from nengtan.generate.profiles import ENERGY_TYPES, UNITS
from nengtan.generate.writers import write_csv_rows, write_xlsx

HEADER = ["credit_code", "period", "submission_id", "submitted_at", "item", "quantity", "unit"]
HEADER_ZH = ["统一社会信用代码", "统计期", "申报编号", "申报时间", "项目", "数量", "计量单位"]
METERED_ITEM = {"electricity": "electricity_purchased", "natural_gas": "natural_gas",
                "heat": "heat_purchased", "steam": "steam_purchased"}


def _q(x: float) -> str:
    return f"{x:.2f}"


def declare_month(city: City, out: Path, month: date, metered: np.ndarray, n_days: int,
                  rng: np.random.Generator, fault_rate: float, log: FaultLog, state: dict) -> int:
    """Write the batch files for ``month``; ``metered`` is (n_enterprises, 4) true totals."""
    period = month.strftime("%Y-%m")
    nxt = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    end = city.start + timedelta(days=city.days - 1)
    batches: dict[date, list[list]] = {}
    f = fault_rate
    recs: list[tuple[str, dict]] = []
    keys = [i for i, e in enumerate(city.enterprises) if e["key_energy_user"]]
    landings = [nxt + timedelta(days=int(d)) for d in rng.integers(4, 15, len(city.enterprises))]
    keys = [i for i in keys if landings[i] <= end]
    skip: set[int] = set()
    if f > 0 and keys:
        log.chance("missing_declaration", len(keys))
        skip = {i for i in keys if rng.random() < prob("missing_declaration", f)}
        if not skip and not state.get("missing_done"):
            skip = {keys[int(rng.integers(0, len(keys)))]}
    for i, e in enumerate(city.enterprises):
        landing = landings[i]
        submitted = datetime.combine(landing, time(9), LOCAL_TZ) + timedelta(minutes=int(rng.integers(0, 510)))
        if landing > end:
            continue
        if i in skip:
            state["missing_done"] = True
            log.add("missing_declaration", credit_code=e["credit_code"], month=period, file=None, line=None,
                    detail="key energy user did not declare the month")
            continue
        items: list[tuple[str, float, str]] = []
        for j, et in enumerate(ENERGY_TYPES):
            if et in e["metered"]:
                items.append((METERED_ITEM[et], metered[i, j] * (1 + rng.normal(0, 0.008)), UNITS[et]))
        for fuel, per_day in e["fuels"].items():
            items.append((fuel, per_day * n_days * float(np.exp(rng.normal(0, 0.1))), "t"))
        if e["green_direct"] > 0:
            items.append(("green_electricity_direct", metered[i, 0] * e["green_direct"], "kWh"))
        tce = sum(TCE[it if it in TCE else next(k for k, v in METERED_ITEM.items() if v == it)] * q
                  for it, q, _ in items if it != "green_electricity_direct")
        va = tce / e["intensity"] * float(np.exp(rng.normal(0, 0.05)))
        items.append(("value_added", va, "万元"))
        items.append(("industrial_output_value", va / float(rng.uniform(0.2, 0.32)), "万元"))
        items.append(("product_output", tce * 2.0 * float(np.exp(rng.normal(0, 0.1))), e["product_unit"]))
        mismatch = None
        if f > 0:
            log.chance("declaration_mismatch", 1)
            log.chance("declaration_resubmitted", 1)
            metered_idx = [k for k, it in enumerate(items) if it[0] in METERED_ITEM.values()]
            if metered_idx and rng.random() < prob("declaration_mismatch", f):
                k = metered_idx[int(rng.integers(0, len(metered_idx)))]
                factor = float(rng.choice([-1, 1])) * float(rng.uniform(0.07, 0.25)) + 1
                it, q, u = items[k]
                items[k] = (it, q * factor, u)
                mismatch = (k, it, factor)
        sub_id = f"SB{month:%Y%m}{i + 1:05d}01"
        rows = [[e["credit_code"], period, sub_id, submitted.isoformat(), it, _q(q), u] for it, q, u in items]
        batch = batches.setdefault(landing, [])
        if mismatch:
            k, it, factor = mismatch
            recs.append(("declaration_mismatch", dict(
                credit_code=e["credit_code"], month=period, file=landing, line=len(batch) + k + 2,
                detail=f"{it} declared {factor - 1:+.0%} off the metered quantity (submission {sub_id})")))
        batch.extend(rows)
        if f > 0 and rng.random() < prob("declaration_resubmitted", f):
            later = landing + timedelta(days=int(rng.integers(1, 8)))
            if later <= end:
                sub2 = f"SB{month:%Y%m}{i + 1:05d}02"
                at2 = datetime.combine(later, time(10), LOCAL_TZ) + timedelta(minutes=int(rng.integers(0, 420)))
                rows2 = []
                for r in rows:
                    q = float(r[5])
                    if r[4] in ("value_added", "industrial_output_value", "product_output"):
                        q *= float(rng.uniform(0.97, 1.03))
                    if mismatch and r[4] == mismatch[1]:
                        q /= mismatch[2]  # the resubmission fixes the bill error
                    rows2.append([r[0], r[1], sub2, at2.isoformat(), r[4], _q(q), r[6]])
                b2 = batches.setdefault(later, [])
                recs.append(("declaration_resubmitted", dict(
                    credit_code=e["credit_code"], month=period, file=later, line=len(b2) + 2,
                    detail=f"{sub2} at {at2.isoformat()} replaces {sub_id}")))
                b2.extend(rows2)
    names = _write_batches(city, out, month, batches, log, fault_rate, state)
    for kind, kw in recs:
        kw["file"] = names[kw["file"]]
        log.add(kind, **kw)
    return len(names)


def _write_batches(city: City, out: Path, month: date, batches: dict[date, list[list]], log: FaultLog,
                   fault_rate: float, state: dict) -> dict[date, str]:
    folder = out / "declarations" / f"month={month:%Y-%m}"
    names: dict[date, str] = {}
    for n, (landing, rows) in enumerate(sorted(batches.items())):
        landed = datetime.combine(landing, time(23, 30), LOCAL_TZ)
        if n % 3 == 1:
            name = f"declarations_{landing:%Y%m%d}.xlsx"
            write_xlsx(folder / name, HEADER_ZH, [r[:5] + [float(r[5])] + r[6:] for r in rows], landed)
        else:
            name = f"declarations_{landing:%Y%m%d}.csv"
            enc = "utf-8"
            if fault_rate > 0 and not state.get("gb_done"):
                enc = "gb18030"
                state["gb_done"] = True
            write_csv_rows(folder / name, HEADER, rows, landed, encoding=enc)
            if enc != "utf-8":
                log.add("gb18030_file", file=f"declarations/month={month:%Y-%m}/{name}", line=None,
                        month=f"{month:%Y-%m}", detail="declaration batch exported in GB18030")
        names[landing] = f"declarations/month={month:%Y-%m}/{name}"
    return names
