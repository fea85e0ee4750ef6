"""One night's M&V (runs in ``.venv-mv``): every retrofit project's boundary measured with the
CalTRACK daily model, results written as Parquet for ``nengtan.mv.load`` to take into the warehouse.

Reads the warehouse read-only (the DAG holds the one-writer pool meanwhile). A project's boundary
is fitted per energy type (one model per unit: savings stay in the meter's unit); a boundary day
counts only when every boundary meter has at least 90 % of its intervals and the day before was
complete too (a gap's consumption lands on the next reading, so the day after a gap is inflated).
Models are kept in a model store (``<out>/models``) with their data period, data digest and library
version, and refitted only when that changes. The result of a night depends only on the warehouse
and the store, so a rerun writes the same files.
"""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

# The queries are shared with the pipeline side, which decides from them whether to measure at all.
from nengtan.mv.inputs import BOUNDARY_SQL, DAILY_SQL, PROJECTS_SQL, WEATHER_SQL

MIN_COMPLETENESS = 0.9


def boundary_days(daily: pd.DataFrame, meters: list[str]) -> pd.Series:
    """Daily energy of a boundary (sum of its meters), NaN where a meter's day is incomplete or
    follows an incomplete day of that meter."""
    if daily.empty:
        return pd.Series(dtype="float64")
    d = daily[daily["meter_id"].isin(meters)]
    q = d.pivot_table(index="day", columns="meter_id", values="quantity", aggfunc="sum")
    c = d.pivot_table(index="day", columns="meter_id", values="completeness", aggfunc="max")
    idx = pd.Index(sorted(set(q.index)))
    q, c = q.reindex(index=idx, columns=meters), c.reindex(index=idx, columns=meters)
    bad = c.isna() | (c < MIN_COMPLETENESS)
    bad = bad | bad.shift(1, fill_value=False)
    total = q.where(~bad).sum(axis=1, min_count=len(meters))
    total[bad.any(axis=1)] = float("nan")
    total.index = [pd.Timestamp(x).date() for x in total.index]
    return total


def _store_path(store: Path, project_id: str, energy_type: str) -> Path:
    return store / f"{project_id}__{energy_type}.json"


def _baseline(store: Path, key: dict, energy: pd.Series, temp: pd.Series, *, start: date | None, end: date,
              is_electricity: bool) -> tuple[Any, bool]:
    """The stored model when its window, data and library are unchanged, else a new fit."""
    from nengtan.mv import caltrack

    b_start, b_end = caltrack.baseline_window(start, end)
    digest = caltrack.data_hash(energy, temp, b_start, b_end)
    path = _store_path(store, key["project_id"], key["energy_type"])
    if path.exists():
        rec = json.loads(path.read_text())
        if rec["baseline"]["data_hash"] == digest and rec["baseline"]["library"] == caltrack.library_version():
            return caltrack.Baseline.from_record(rec["baseline"]), False
    base = caltrack.fit_baseline(energy, temp, start=start, end=end, is_electricity=is_electricity)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({**key, "baseline": base.to_record()}, sort_keys=True))
    os.replace(tmp, path)
    return base, True


def run(warehouse: str, out: str, as_of: str) -> dict[str, Any]:
    """Measure every retrofit project as of ``as_of`` (ISO date); returns a summary."""
    import duckdb

    from nengtan.mv import caltrack

    day = date.fromisoformat(as_of)
    root = Path(out)
    store = root / "models"
    store.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(warehouse, read_only=True)
    try:
        projects = con.execute(PROJECTS_SQL).df()
        ids = projects["project_id"].tolist()
        boundary = con.execute(BOUNDARY_SQL, [ids]).df()
        daily = con.execute(DAILY_SQL, [boundary["meter_id"].tolist(), day]).df()
        weather = con.execute(WEATHER_SQL, [day]).df()
    finally:
        con.close()
    fits: list[dict] = []
    months: list[dict] = []
    refits = 0
    for p in projects.itertuples(index=False):
        temp = weather[weather["district"] == p.district].set_index("day")["temp_mean_c"]
        temp.index = [pd.Timestamp(x).date() for x in temp.index]
        commissioned = None if pd.isna(p.commissioned_on) else pd.Timestamp(p.commissioned_on).date()
        b_end = (None if pd.isna(p.baseline_end) else pd.Timestamp(p.baseline_end).date()) or (
            commissioned - timedelta(days=1) if commissioned else None)
        b_start = None if pd.isna(p.baseline_start) else pd.Timestamp(p.baseline_start).date()
        mine = boundary[boundary["project_id"] == p.project_id]
        unknown = sorted(mine.loc[mine["energy_type"].isna(), "meter_id"])
        if unknown or mine.empty:
            fits.append({"project_id": p.project_id, "credit_code": p.credit_code, "measure": p.measure,
                         "status": p.status, "district": p.district, "commissioned_on": commissioned, "as_of": day,
                         "baseline_qualified": False, "refit": False,
                         "reasons": f"boundary meters not in the registry: {' '.join(unknown)}" if unknown
                         else "no boundary meters"})
            continue
        for (energy_type, unit), g in mine.groupby(["energy_type", "unit"]):
            key = {"project_id": p.project_id, "credit_code": p.credit_code, "energy_type": energy_type,
                   "unit": unit}
            row: dict[str, Any] = {**key, "measure": p.measure, "status": p.status, "district": p.district,
                                   "boundary_meters": " ".join(sorted(g["meter_id"])), "commissioned_on": commissioned,
                                   "as_of": day}
            if b_end is None or b_end > day:
                fits.append({**row, "baseline_qualified": False, "refit": False,
                             "reasons": "no baseline period yet (no baseline_end or commissioning date in the data)"
                             if b_end is None else f"baseline period ends {b_end.isoformat()}, after {day.isoformat()}"})
                continue
            if temp.empty:
                fits.append({**row, "baseline_qualified": False, "refit": False,
                             "reasons": f"no weather for district {p.district!r}"})
                continue
            energy = boundary_days(daily, sorted(g["meter_id"]))
            base, refit = _baseline(store, key, energy, temp, start=b_start, end=b_end,
                                    is_electricity=energy_type == "electricity")
            refits += refit
            row.update(baseline_start=base.start, baseline_end=base.end, baseline_days=base.days,
                       baseline_days_with_data=base.days_with_data, baseline_short=base.short,
                       baseline_qualified=base.qualified, reasons="; ".join(base.reasons), refit=refit,
                       cvrmse=base.metrics.get("cvrmse"), nmbe=base.metrics.get("nmbe"),
                       r_squared=base.metrics.get("r_squared"), n_prime=base.metrics.get("n_prime"),
                       model_version=base.model_version if base.model_json else None, library=base.library,
                       data_hash=base.data_hash, model_json=base.model_json)
            if base.model_json and commissioned and commissioned <= day:
                try:
                    days = caltrack.predict(base, energy, temp, start=commissioned, end=day,
                                            is_electricity=energy_type == "electricity")
                except ValueError as exc:  # e.g. no metered reporting day yet
                    row["reasons"] = "; ".join(filter(None, [row["reasons"], f"no reporting prediction: {exc}"]))
                    fits.append(row)
                    continue
                tot = caltrack.total(base, days)
                row.update(reporting_start=commissioned, reporting_end=day, reporting_days=tot["reporting_days"],
                           predicted_total=tot["predicted"], metered_total=tot["metered"],
                           savings_total=tot["savings"], savings_total_uncertainty=tot["savings_uncertainty"])
                for m in caltrack.monthly(base, days).to_dict("records"):
                    months.append({**key, **m, "baseline_qualified": base.qualified, "cvrmse": base.metrics["cvrmse"],
                                   "model_version": base.model_version, "as_of": day})
            fits.append(row)
    _write(root / "runs" / f"day={day.isoformat()}", {"fits": fits, "months": months})
    return {"day": day.isoformat(), "projects": int(len(projects)), "boundaries": len(fits),
            "months": len(months), "refits": refits, "qualified": sum(bool(f.get("baseline_qualified")) for f in fits)}


FIT_COLUMNS = {
    "project_id": "string", "credit_code": "string", "energy_type": "string", "unit": "string", "measure": "string",
    "status": "string", "district": "string", "boundary_meters": "string", "commissioned_on": "date32",
    "baseline_start": "date32", "baseline_end": "date32", "baseline_days": "int64",
    "baseline_days_with_data": "int64", "baseline_short": "bool_", "baseline_qualified": "bool_", "reasons": "string",
    "refit": "bool_", "cvrmse": "float64", "nmbe": "float64", "r_squared": "float64", "n_prime": "float64",
    "model_version": "string", "library": "string", "data_hash": "string", "model_json": "string",
    "reporting_start": "date32", "reporting_end": "date32", "reporting_days": "int64", "predicted_total": "float64",
    "metered_total": "float64", "savings_total": "float64", "savings_total_uncertainty": "float64",
    "as_of": "date32"}
MONTH_COLUMNS = {
    "project_id": "string", "credit_code": "string", "energy_type": "string", "unit": "string", "month": "date32",
    "days_in_month": "int64", "days_in_period": "int64", "days_metered": "int64", "predicted": "float64",
    "metered": "float64", "savings": "float64", "savings_uncertainty": "float64", "mean_temperature_c": "float64",
    "baseline_qualified": "bool_", "cvrmse": "float64", "model_version": "string", "as_of": "date32"}


def _write(target: Path, tables: dict[str, list[dict]]) -> None:
    """Both files of the night appear together (a directory renamed into place)."""
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, rows in tables.items():
        cols = FIT_COLUMNS if name == "fits" else MONTH_COLUMNS
        schema = pa.schema([(c, getattr(pa, t)()) for c, t in cols.items()])
        data = {c: [r.get(c) for r in rows] for c in cols}
        for c, t in cols.items():  # NaN (no figure) is stored as null
            if t == "float64":
                data[c] = [None if v is None or v != v else float(v) for v in data[c]]
        pq.write_table(pa.table(data, schema=schema), tmp / f"{name}.parquet")
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)
