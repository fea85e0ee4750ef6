"""Monthly self-declarations (数据申报): bills that reconcile with the meters, mostly.

Each enterprise submits a month between the 5th and the 15th of the next month (the
planted late declarers between the 16th and the 25th); the declaration system exports one
batch file per landing day (CSV, some as xlsx with the Chinese headers, one legacy batch in
GB18030). Only months fully inside the simulated range whose landing day also falls inside
it are declared: a month whose submissions land after the last day is pending (recorded in
the manifest as ``declarations_pending``), which is what the warehouse sees as provisional.

Beyond the bills of the metered types, fuels and value added, a submission carries the
items of the contract that apply: month-end stocks of stored fuels, feedstock (part of its
fuel's item), energy exported by the CHP plant (its heat is exactly what its customer's
heat meters measured), process emissions, and green-power trade volumes. A case city also
gets the base year's archive (:func:`declare_history`).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np

from nengtan.config import LOCAL_TZ
from nengtan.tools.generate.certificates import green_trade_mwh
from nengtan.tools.generate.city import City, chp_power_kwh, month_figures, process_co2
from nengtan.tools.generate.faults import FaultLog, prob
from nengtan.tools.generate.profiles import ENERGY_TYPES, INDUSTRIES, STORED_FUELS, UNITS, month_level_sum
from nengtan.tools.generate.writers import write_csv_rows, write_xlsx

HEADER = ["credit_code", "period", "submission_id", "submitted_at", "item", "quantity", "unit"]
HEADER_ZH = ["统一社会信用代码", "统计期", "申报编号", "申报时间", "项目", "数量", "计量单位"]
METERED_ITEM = {"electricity": "electricity_purchased", "natural_gas": "natural_gas",
                "heat": "heat_purchased", "steam": "steam_purchased"}


def _q(x: float) -> str:
    return f"{x:.2f}"


DEADLINE_DAY = 15  # declarations of month M are due by the 15th of M+1 (the warehouse's default)


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def _items(city: City, i: int, e: dict, metered: np.ndarray, n_days: int, rng: np.random.Generator,
           history: bool) -> tuple[list[tuple[str, float, str]], dict[str, float]]:
    """The declared items of enterprise ``i`` for a month and the month's true figures
    (metered types from ``metered``, the rest as declared; see :func:`city.month_figures`)."""
    items: list[tuple[str, float, str]] = []
    truth_q: dict[str, float] = {}
    for j, et in enumerate(ENERGY_TYPES):
        if et in e["metered"]:
            items.append((METERED_ITEM[et], metered[i, j] * (1 + rng.normal(0, 0.008)), UNITS[et]))
            truth_q[et] = float(metered[i, j])
    fuels: dict[str, float] = {}
    for fuel, per_day in e["fuels"].items():
        fuels[fuel] = per_day * n_days * float(np.exp(rng.normal(0, 0.1)))
        items.append((fuel, fuels[fuel], "t"))
        truth_q[fuel] = fuels[fuel]
    declared = {it: q for it, q, _ in items}
    for base, share in sorted(e.get("feedstock", {}).items()):
        item = METERED_ITEM.get(base, base)
        if item in declared:  # part of the fuel's own item, never above it
            items.append((f"{base}_feedstock", min(declared[item] * share * float(np.exp(rng.normal(0, 0.03))),
                                                   declared[item]), UNITS.get(base, "t")))
    for fuel in STORED_FUELS:
        if fuel in fuels:
            items.append((f"{fuel}_stock_end", e["fuels"][fuel] * float(rng.uniform(5, 30)), "t"))
    exported: dict[str, float] = {}
    if "heat_to" in e:
        exported["heat"] = round(float(metered[e["heat_to"], ENERGY_TYPES.index("heat")]), 2)
        exported["electricity"] = chp_power_kwh(fuels.get("raw_coal", 0.0), exported["heat"],
                                                e["power_efficiency"]) * float(np.exp(rng.normal(0, 0.02)))
        items.append(("electricity_exported", exported["electricity"], "kWh"))
        items.append(("heat_exported", exported["heat"], "GJ"))
    process = process_co2(e, truth_q) * float(np.exp(rng.normal(0, 0.02)))
    if process > 0:
        items.append(("process_emissions_tco2", process, "t"))
    mwh = 0 if history else green_trade_mwh(e, float(metered[i, 0]))
    if mwh:
        items.append(("green_electricity_direct", mwh * 1000.0, "kWh"))
    fig = month_figures(e, truth_q, exported, process)
    fig_m = month_figures(e, {et: v for et, v in truth_q.items() if et in ENERGY_TYPES}, {}, 0.0)
    fig["decl_tce_dc"] = (fig["tce_net"] - fig["tce_feedstock"]) - (fig_m["tce_net"] - fig_m["tce_feedstock"])
    fig["decl_co2"] = fig["co2_net"] - fig_m["co2_net"]
    intensity = e["intensity"] * (e.get("base_intensity_factor", 1.0) if history else 1.0)
    energy = max(fig["tce_net"] - fig["tce_feedstock"], 0.3 * fig["tce_gross"])
    va = energy / intensity * float(np.exp(rng.normal(0, 0.05)))
    items.append(("value_added", va, "万元"))
    items.append(("industrial_output_value", va / float(rng.uniform(0.2, 0.32)), "万元"))
    items.append(("product_output", fig["tce_gross"] * INDUSTRIES[e["industry_code"]].product_per_tce
                  * float(np.exp(rng.normal(0, 0.1))), e["product_unit"]))
    fig["value_added"] = va
    fig["electricity_kwh"] = truth_q.get("electricity", 0.0)
    fig["green_trade_mwh"] = mwh
    return items, fig


def declare_month(city: City, out: Path, month: date, metered: np.ndarray, n_days: int,
                  rng: np.random.Generator, fault_rate: float, log: FaultLog, state: dict,
                  only: set[int] | None = None, history: bool = False) -> int:
    """Write the batch files for ``month``; ``metered`` is (n_enterprises, 4) true totals.

    Enterprises submit between the 5th and the DEADLINE_DAY of the next month; the planted
    late declarers after it. A submission landing after the last generated day does not
    exist yet (the month stays provisional). ``state["truth"][(i, period)]`` receives the
    true figures of each declared enterprise-month (its latest submission). ``history``:
    the base year's archive, without faults or green-power trades, at the base-year intensity."""
    period = month.strftime("%Y-%m")
    nxt = next_month(month)
    deadline = nxt.replace(day=DEADLINE_DAY)
    end = city.start + timedelta(days=city.days - 1)
    batches: dict[date, list[list]] = {}
    f = 0.0 if history else fault_rate
    recs: list[tuple[str, dict]] = []
    truth: dict = state.setdefault("truth", {})
    ents = city.enterprises
    idx = list(range(len(ents))) if only is None else sorted(only)
    landings = {i: nxt + timedelta(days=int(d)) for i, d in zip(idx, rng.integers(4, DEADLINE_DAY, len(idx)),
                                                                   strict=True)}
    for i in idx:
        if ents[i].get("late"):
            landings[i] = deadline + timedelta(days=int(rng.integers(1, 11)))
    keys = [i for i in idx if ents[i]["key_energy_user"] and landings[i] <= end]
    skip: set[int] = set()
    if f > 0 and keys:
        log.chance("missing_declaration", len(keys))
        skip = {i for i in keys if rng.random() < prob("missing_declaration", f)}
        if not skip and not state.get("missing_done"):
            skip = {keys[int(rng.integers(0, len(keys)))]}
    pending = 0
    for i in idx:
        e = ents[i]
        landing = landings[i]
        if landing > end:
            pending += 1
            continue
        submitted = datetime.combine(landing, time(9), LOCAL_TZ) + timedelta(minutes=int(rng.integers(0, 510)))
        if i in skip:
            state["missing_done"] = True
            log.add("missing_declaration", credit_code=e["credit_code"], month=period, file=None, line=None,
                    detail="key energy user did not declare the month")
            continue
        items, fig = _items(city, i, e, metered, n_days, rng, history)
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
        first = len(batch) + 2
        line_of = {it: first + k for k, (it, _q_, _u) in enumerate(items)}
        if mismatch:
            k, it, factor = mismatch
            recs.append(("declaration_mismatch", dict(
                credit_code=e["credit_code"], month=period, file=landing, line=first + k,
                detail=f"{it} declared {factor - 1:+.0%} off the metered quantity (submission {sub_id})")))
        if landing > deadline:
            recs.append(("late_declaration", dict(
                credit_code=e["credit_code"], month=period, file=landing, line=first,
                detail=f"{sub_id} submitted {submitted.isoformat()}, after the deadline {deadline.isoformat()}")))
        if not history:
            _case_records(city, e, period, landing, line_of, items, fig, recs)
        batch.extend(rows)
        truth[(i, period)] = fig
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
                        if r[4] == "value_added":
                            fig["value_added"] = q
                    if mismatch and r[4] == mismatch[1]:
                        q /= mismatch[2]  # the resubmission fixes the bill error
                    rows2.append([r[0], r[1], sub2, at2.isoformat(), r[4], _q(q), r[6]])
                b2 = batches.setdefault(later, [])
                recs.append(("declaration_resubmitted", dict(
                    credit_code=e["credit_code"], month=period, file=later, line=len(b2) + 2,
                    detail=f"{sub2} at {at2.isoformat()} replaces {sub_id}")))
                b2.extend(rows2)
    if pending:
        log.add("declarations_pending", month=period, file=None, line=None,
                detail=f"{pending} enterprise(s) had not declared {period} by the last generated day "
                       f"{end.isoformat()} (due {deadline.isoformat()}): provisional")
    if history:
        names, offset = _write_archive(out, month, batches)
    else:
        names, offset = _write_batches(city, out, month, batches, log, f, state), {}
    for kind, kw in recs:
        kw["line"] += offset.get(kw["file"], 0)
        kw["file"] = names[kw["file"]]
        log.add(kind, **kw)
    return len(set(names.values()))


def _write_archive(out: Path, month: date, batches: dict[date, list[list]]) -> tuple[dict[date, str], dict[date, int]]:
    """The base year's archive: one CSV per month, the submissions in landing order, landed
    with the month's last submission. Returns the file per landing day and each day's line offset."""
    name = f"declarations/month={month:%Y-%m}/declarations_archive_{month:%Y%m}.csv"
    rows: list[list] = []
    names: dict[date, str] = {}
    offset: dict[date, int] = {}
    for landing, batch in sorted(batches.items()):
        names[landing] = name
        offset[landing] = len(rows)
        rows.extend(batch)
    if rows:
        write_csv_rows(out / name, HEADER, rows, datetime.combine(max(batches), time(23, 30), LOCAL_TZ))
    return names, offset


def _case_records(city: City, e: dict, period: str, landing: date, line_of: dict[str, int],
                  items: list[tuple[str, float, str]], fig: dict, recs: list[tuple[str, dict]]) -> None:
    q = {it: v for it, v, _ in items}
    code = e["credit_code"]
    if "heat_exported" in q:
        nb = city.enterprises[e["heat_to"]]
        recs.append(("energy_exported", dict(
            credit_code=code, month=period, file=landing, line=line_of["heat_exported"],
            detail=f"heat_exported {q['heat_exported']:.2f} GJ = the heat {nb['credit_code']} metered in "
                   f"{period}; electricity_exported {q['electricity_exported']:.0f} kWh (line "
                   f"{line_of['electricity_exported']}); raw_coal {q.get('raw_coal', 0):.2f} t")))
    feed = [it for it in q if it.endswith("_feedstock")]
    if feed:
        parts = [f"{it} {q[it]:.2f} of {METERED_ITEM.get(it[:-10], it[:-10])} "
                 f"{q[METERED_ITEM.get(it[:-10], it[:-10])]:.2f}" for it in feed]
        recs.append(("feedstock", dict(credit_code=code, month=period, file=landing, line=line_of[feed[0]],
                                       detail="; ".join(parts) + f" (tce feedstock {fig['tce_feedstock']:.1f})")))
    if "process_emissions_tco2" in q:
        recs.append(("process_emissions", dict(
            credit_code=code, month=period, file=landing, line=line_of["process_emissions_tco2"],
            detail=f"class {e['industry_class']}: {q['process_emissions_tco2']:.2f} t process CO2 in scope 1")))


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


def declare_history(city: City, out: Path, year: int, seed: int, log: FaultLog, state: dict,
                    only: set[int] | None) -> int:
    """The declaration archive of ``year`` (the base year, before the generated range): twelve
    months of submissions at the expected quantities, as the declaration system delivered them.
    No meter is in service then (meters are installed at the start), so the warehouse counts
    every energy type of these months from the declarations."""
    ents = city.enterprises
    files = 0
    for m in range(1, 13):
        month = date(year, m, 1)
        n_days = (next_month(month) - month).days
        rng = np.random.default_rng([seed, 13, year, m])
        metered = np.zeros((len(ents), len(ENERGY_TYPES)))
        wanted = range(len(ents)) if only is None else \
            sorted(only | {ents[i]["heat_to"] for i in only if "heat_to" in ents[i]})
        for i in wanted:
            e = ents[i]
            for j, et in enumerate(ENERGY_TYPES):
                if et in e["metered"]:
                    metered[i, j] = e["metered"][et] * month_level_sum(e["industry_code"], e["shifts"], et, year, m) \
                        * float(np.exp(rng.normal(0, 0.03)))
        files += declare_month(city, out, month, metered, n_days, rng, 0.0, log, state, only=only, history=True)
    return files
