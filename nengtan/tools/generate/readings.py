"""15-minute cumulative register readings, one simulated day at a time.

State between days is only the unwrapped register of each meter, so a city of any length is
generated in constant memory. A day is an (n_meters × 96) matrix of interval consumption;
registers are its cumulative sum, wrapped at ``register_max`` and rounded to 0.01.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from nengtan.config import LOCAL_TZ
from nengtan.tools.generate.city import City
from nengtan.tools.generate.profiles import day_level, day_type, electricity_shapes, heat_shape

QUALITY = pa.array(["ok", "estimated", "error"])


def day_timestamps(day: date) -> list[str]:
    t0 = datetime.combine(day, time(0), LOCAL_TZ)
    return [(t0 + timedelta(minutes=15 * i)).isoformat() for i in range(96)]


@dataclass
class Day:
    index: int
    day: date
    values: np.ndarray      # (n, 96) register_end as written (wrapped, rounded)
    keep: np.ndarray        # (n, 96) which rows the gateways send
    quality: np.ndarray     # (n, 96) int8 index into QUALITY
    consumption: np.ndarray  # (n,) day's consumption in the meter's unit after the multiplier
    rollovers: list[tuple[int, int]]  # (meter, interval) where the register wrapped
    ts: list[str]


def simulate_day(city: City, k: int, reg: np.ndarray, rng: np.random.Generator, heat_factor: float = 1.0) -> Day:
    """Advance ``reg`` (unwrapped registers, modified in place) by day ``k`` of the period.
    ``heat_factor`` scales heat use for the day's weather (see :func:`weather.heat_factor`)."""
    day = city.start + timedelta(days=k)
    n = city.n_meters
    dt = day_type(day)
    levels = np.array([day_level(ind, sh, et, day) * (heat_factor if et == "heat" else 1.0)
                       for ind, sh, et in city.combos])
    shapes = []
    for _ind, sh, et in city.combos:
        s = heat_shape() if et == "heat" else electricity_shapes(sh)[dt]
        shapes.append(s / s.mean())
    shape_tab = np.stack(shapes) if shapes else np.zeros((0, 96))
    per_interval = city.m_base_raw * levels[city.m_combo] * np.exp(rng.normal(0.0, 0.08, n)) / 96.0
    if city.m_save_factor is not None:  # energy-saving projects in service (see projects.py)
        per_interval *= np.where(city.m_save_from <= k, city.m_save_factor, 1.0)
    cons = shape_tab[city.m_combo] * per_interval[:, None]
    noise = rng.standard_normal((n, 96), dtype=np.float32)
    noise *= 0.05
    noise += 1.0
    np.maximum(noise, 0.2, out=noise)
    cons *= noise

    keep = np.ones((n, 96), dtype=bool)
    lo, hi = k * 96, (k + 1) * 96
    inactive = (city.m_to <= lo) | (city.m_from >= hi)
    keep[inactive] = False
    cons[inactive] = 0.0
    for old, new, t in city.replacements:
        if lo < t < hi:
            cons[old, t - lo:] = 0.0
            keep[old, t - lo:] = False
            cons[new, : t - lo] = 0.0
            keep[new, : t - lo] = False

    rmax = city.m_max
    wraps_before = np.floor(reg / rmax)
    cum = np.cumsum(cons, axis=1)
    cum += reg[:, None]
    reg[:] = cum[:, -1]
    rollovers = []
    for m in np.flatnonzero(np.floor(reg / rmax) > wraps_before):
        t = int(np.argmax(np.floor(cum[m] / rmax[m]) > wraps_before[m]))
        rollovers.append((int(m), t))
    values = np.mod(cum, rmax[:, None])
    np.round(values, 2, out=values)
    values[values >= rmax[:, None]] = 0.0
    quality = np.zeros((n, 96), dtype=np.int8)
    est = rng.random((n, 96), dtype=np.float32) < 0.001
    quality[est] = 1
    return Day(k, day, values, keep, quality, cons.sum(axis=1) * city.m_mult, rollovers,
               day_timestamps(day))


@dataclass
class FileRows:
    """Rows of one gateway file as indices into the day matrix (flat = meter*96 + interval).

    Negative flat values are extra (malformed) rows: ``extras[-flat - 1]`` = (meter_id, ts, register).
    """

    flat: np.ndarray
    values: np.ndarray
    quality: np.ndarray
    tag: np.ndarray          # fault record number, -1 for none
    extras: list[tuple[str, str, str]]

    def insert(self, pos: int, flat: int, value: float, q: int, tag: int) -> None:
        self.flat = np.insert(self.flat, pos, flat)
        self.values = np.insert(self.values, pos, value)
        self.quality = np.insert(self.quality, pos, q)
        self.tag = np.insert(self.tag, pos, tag)


def file_rows(d: Day, meters: np.ndarray) -> FileRows:
    flat = (meters[:, None] * 96 + np.arange(96)).ravel()
    flat = flat[d.keep[meters].ravel()]
    return FileRows(flat, d.values.ravel()[flat], d.quality.ravel()[flat],
                    np.full(len(flat), -1, dtype=np.int64), [])


def to_table(rows: FileRows, d: Day, meter_ids: pa.Array, meters: np.ndarray, as_text: bool) -> pa.Table:
    """Materialise rows; ``meter_ids`` are the ids of ``meters`` (sorted global indices)."""
    flat = rows.flat
    extra = flat < 0
    m = np.where(extra, 0, flat // 96)
    t = np.where(extra, 0, flat % 96)
    local = np.searchsorted(meters, m)
    ts = d.ts
    if rows.extras:
        ex = -flat[extra] - 1
        local[extra] = len(meters) + ex
        t[extra] = 96 + ex
        meter_ids = pa.concat_arrays([meter_ids, pa.array([e[0] for e in rows.extras])])
        ts = ts + [e[1] for e in rows.extras]
    mid = meter_ids.take(pa.array(local))
    tsa = pa.array(ts).take(pa.array(t))
    reg = pa.array(rows.values, type=pa.float64())
    if as_text or rows.extras:
        reg = pc.cast(reg, pa.string())
        if rows.extras:
            repl = [rows.extras[int(i)][2] for i in (-flat[extra] - 1)]
            reg = pc.replace_with_mask(reg, pa.array(extra), pa.array(repl, pa.string()))
    q = QUALITY.take(pa.array(rows.quality.astype(np.int64)))
    return pa.table({"meter_id": mid, "interval_start": tsa, "register_end": reg, "quality": q})
