"""Planting reading faults into one simulated day and writing its gateway files.

Day-level faults (silent meters, gaps, backwards registers) change what the meters send;
file-level faults (repeats, out-of-order blocks, malformed rows, late and corrected files,
GB18030) change how the gateways deliver it. Every fault is logged with file and line.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from nengtan.config import LOCAL_TZ
from nengtan.tools.generate.city import City
from nengtan.tools.generate.faults import FaultLog, prob
from nengtan.tools.generate.readings import Day, FileRows, file_rows, to_table
from nengtan.tools.generate.writers import write_readings


def hhmm(t: int) -> str:
    return f"{t // 4:02d}:{t % 4 * 15:02d}"


def last_night(city: City) -> datetime:
    """The last landing time inside the simulated range (02:00 after the last day)."""
    return datetime.combine(city.start + timedelta(days=city.days), time(2, 0), LOCAL_TZ)


class DayWriter:
    """Plants faults into a day and writes its gateway files under ``out``."""

    def __init__(self, city: City, out: Path, fault_rate: float, log: FaultLog) -> None:
        self.city, self.out, self.f, self.log = city, out, fault_rate, log
        self.gw_meters = [np.flatnonzero(city.m_gateway == g) for g in range(len(city.gateways))]
        ids = pa.array(city.meter_id)
        self.gw_ids = [ids.take(pa.array(m)) for m in self.gw_meters]
        self.rows_written = 0
        self.files_written = 0
        # pyarrow's writers and zlib release the GIL: write files on two threads
        self.pool = ThreadPoolExecutor(max_workers=2)
        self.futures: list[Future] = []

    def _submit(self, *args) -> None:
        if len(self.futures) >= 6:
            self.futures.pop(0).result()
        self.futures.append(self.pool.submit(write_readings, *args))

    def flush(self) -> None:
        for fut in self.futures:
            fut.result()
        self.futures.clear()

    def close(self) -> None:
        self.flush()
        self.pool.shutdown()

    # -- day-level --------------------------------------------------------------------------
    def _day_faults(self, d: Day, rng: np.random.Generator) -> tuple[list[dict], dict[int, int]]:
        city, f = self.city, self.f
        pending: list[dict] = []
        tagged: dict[int, int] = {}  # flat index -> pending record
        if f <= 0:
            return pending, tagged
        n = city.n_meters
        live = d.keep.any(axis=1)
        n_live = int(live.sum())
        day = d.day.isoformat()
        for kind in ("silent_meter", "gap", "backwards_reading"):
            self.log.chance(kind, n_live)
        silent = np.flatnonzero(live & (rng.random(n) < prob("silent_meter", f)))
        for m in silent:
            d.keep[m] = False
            pending.append({"kind": "silent_meter", "meter_id": city.meter_id[m], "day": day, "m": int(m),
                            "detail": "no reading at all for the day"})
        live[silent] = False
        for m in np.flatnonzero(live & (rng.random(n) < prob("gap", f))):
            on = np.flatnonzero(d.keep[m])
            t0 = int(on[rng.integers(0, len(on))])
            length = int(rng.integers(1, 13))
            t1 = min(t0 + length, 96)
            d.keep[m, t0:t1] = False
            pending.append({"kind": "gap", "meter_id": city.meter_id[m], "day": day, "m": int(m),
                            "detail": f"intervals {hhmm(t0)}-{hhmm(t1 - 1)} missing ({t1 - t0})"})
        for m in np.flatnonzero(live & (rng.random(n) < prob("backwards_reading", f))):
            ok = np.flatnonzero(d.keep[m, 1:] & d.keep[m, :-1]) + 1
            if len(ok) == 0:
                continue
            t = int(ok[rng.integers(0, len(ok))])
            prev = d.values[m, t - 1]
            step = max(0.5, 5 * city.m_base_raw[m] / 96)
            if prev < 2 * step:
                continue
            d.values[m, t] = round(prev - step, 2)
            flagged = rng.random() < 0.3  # sometimes the gateway itself marks it as an error
            if flagged:
                d.quality[m, t] = 2
            tagged[int(m) * 96 + t] = len(pending)
            pending.append({"kind": "backwards_reading", "meter_id": city.meter_id[m], "day": day, "m": int(m),
                            "detail": f"interval {hhmm(t)}: {d.values[m, t]:.2f} after {prev:.2f}"
                                      + (" (quality error)" if flagged else "")})
        for m, t in d.rollovers:
            rec = {"kind": "rollover", "meter_id": city.meter_id[m], "day": day, "m": m,
                   "detail": f"register wrapped at {city.m_max[m]:.2f} in interval {hhmm(t)}"}
            if d.keep[m, t]:
                tagged[m * 96 + t] = len(pending)
            pending.append(rec)
        return pending, tagged

    # -- file-level -------------------------------------------------------------------------
    def write_day(self, d: Day, rng: np.random.Generator) -> int:
        city, f, log = self.city, self.f, self.log
        pending, tagged = self._day_faults(d, rng)
        ymd = d.day.strftime("%Y%m%d")
        folder = self.out / "meter_readings" / f"date={d.day.isoformat()}"
        base_landing = datetime.combine(d.day + timedelta(days=1), time(0, 30), LOCAL_TZ)
        limit = last_night(city)
        by_meter_file: dict[int, str] = {}
        rows_total = 0
        for g, gw in enumerate(city.gateways):
            meters = self.gw_meters[g]
            if len(meters) == 0:
                continue
            name = f"{gw['name']}_{ymd}.{gw['format']}"
            rel = f"meter_readings/date={d.day.isoformat()}/{name}"
            for m in meters:
                by_meter_file[int(m)] = rel
            rows = file_rows(d, meters)
            for flat, rec in tagged.items():
                if city.m_gateway[flat // 96] == g:
                    pos = int(np.searchsorted(rows.flat, flat))
                    if pos < len(rows.flat) and rows.flat[pos] == flat:
                        rows.tag[pos] = rec
            file_recs: list[dict] = []
            if f > 0:
                self._file_faults(rows, d, meters, gw, rng, file_recs, len(pending))
            landed = base_landing + timedelta(seconds=int(rng.integers(0, 90 * 60)))
            corrected = None
            if f > 0:
                log.chance("late_file", 1)
                log.chance("corrected_file", 1)
                if rng.random() < prob("late_file", f):
                    late = landed + timedelta(days=int(rng.integers(2, 15)))
                    late = min(late, limit)
                    if late > landed + timedelta(days=1):
                        file_recs.append({"kind": "late_file", "day": d.day.isoformat(), "line": None,
                                          "detail": f"landed {late.isoformat()} instead of ~{landed.isoformat()}"})
                        landed = late
                if rng.random() < prob("corrected_file", f):
                    corrected = self._stuck_block(rows, d, meters, rng)
            all_recs = pending + file_recs
            table = to_table(rows, d, self.gw_ids[g], meters, as_text=False)
            self._submit(folder / name, table, gw["format"], gw["encoding"], landed)
            rows_total += table.num_rows
            self.files_written += 1
            if gw["encoding"] != "utf-8":
                log.add("gb18030_file", file=rel, day=d.day.isoformat(),
                        detail="legacy gateway export in GB18030 (meter ids with Chinese characters)")
            # lines of tagged rows (header = line 1)
            for pos in np.flatnonzero(rows.tag >= 0):
                rec = all_recs[int(rows.tag[pos])]
                rec.setdefault("file", rel)
                rec.setdefault("line", int(pos) + 2)
            if corrected is not None:
                good_vals, info = corrected
                cname = f"{gw['name']}_{ymd}_corrected.{gw['format']}"
                crel = f"meter_readings/date={d.day.isoformat()}/{cname}"
                clanded = min(landed + timedelta(hours=int(rng.integers(6, 72))), limit + timedelta(hours=1))
                rows.values = good_vals
                rows.quality = np.where(rows.quality == 1, 0, rows.quality).astype(np.int8)
                ctable = to_table(rows, d, self.gw_ids[g], meters, as_text=False)
                self._submit(folder / cname, ctable, gw["format"], gw["encoding"], clanded)
                rows_total += ctable.num_rows
                self.files_written += 1
                log.add("corrected_file", file=crel, line=info["line"], day=d.day.isoformat(),
                        meter_id=info["meter_id"],
                        detail=f"corrects {rel}: {info['detail']}; landed {clanded.isoformat()}")
            for rec in file_recs:
                rec.setdefault("file", rel)
                kind = rec.pop("kind")
                log.add(kind, **rec)
        for rec in pending:
            rec.setdefault("file", by_meter_file.get(rec["m"]))
            rec.setdefault("line", None)
            m = rec.pop("m")
            del m
            kind = rec.pop("kind")
            log.add(kind, **rec)
        self.flush()
        self.rows_written += rows_total
        return rows_total

    def _file_faults(self, rows: FileRows, d: Day, meters: np.ndarray, gw: dict, rng: np.random.Generator,
                     recs: list[dict], offset: int) -> None:
        city, f, log = self.city, self.f, self.log
        day = d.day.isoformat()
        n = len(meters)
        log.chance("out_of_order", n)
        log.chance("repeated_rows", n)
        for m in meters[rng.random(n) < prob("out_of_order", f)]:
            lo = int(np.searchsorted(rows.flat, m * 96))
            hi = int(np.searchsorted(rows.flat, m * 96 + 96))
            if hi - lo < 3:
                continue
            a = lo + int(rng.integers(0, hi - lo - 2))
            b = min(hi, a + int(rng.integers(3, 7)))
            for arr in (rows.flat, rows.values, rows.quality, rows.tag):
                arr[a:b] = arr[a:b][::-1].copy()
            rows.tag[a] = offset + len(recs) if rows.tag[a] < 0 else rows.tag[a]
            recs.append({"kind": "out_of_order", "meter_id": city.meter_id[m], "day": day,
                         "detail": f"{b - a} rows in reverse order"})
        dup_meters = meters[rng.random(n) < prob("repeated_rows", f)]
        for m in dup_meters:
            lo = int(np.searchsorted(rows.flat, m * 96))
            hi = int(np.searchsorted(rows.flat, m * 96 + 96))
            if hi <= lo:
                # meter rows may be out of order now; find them directly
                pos_all = np.flatnonzero((rows.flat >= m * 96) & (rows.flat < m * 96 + 96))
                if len(pos_all) == 0:
                    continue
                lo, hi = int(pos_all[0]), int(pos_all[-1]) + 1
            src = lo + int(rng.integers(0, hi - lo))
            dst = min(src + 1 + int(rng.integers(0, 4)), len(rows.flat))
            tag = offset + len(recs)
            rows.insert(dst, int(rows.flat[src]), float(rows.values[src]), int(rows.quality[src]), tag)
            t = int(rows.flat[src] % 96)
            recs.append({"kind": "repeated_rows", "meter_id": city.meter_id[m], "day": day,
                         "detail": f"interval {hhmm(t)} sent twice"})
        if gw["format"] == "parquet":
            return
        kinds = ("malformed_register", "malformed_timestamp", "misaligned_interval", "unknown_meter")
        for kind in kinds:
            log.chance(kind, 1)
            if rng.random() >= prob(kind, f) or len(rows.flat) == 0:
                continue
            pos = int(rng.integers(0, len(rows.flat)))
            src_flat = int(rows.flat[pos]) if rows.flat[pos] >= 0 else int(meters[0]) * 96
            m, t = src_flat // 96, src_flat % 96
            val = f"{d.values[m, t]:.2f}"
            mid = city.meter_id[m]
            ts = d.ts[t]
            if kind == "malformed_register":
                val = str(rng.choice(["ERR", "--", "1.2.3", "NaN!"]))
                detail = f"register_end {val!r} is not a number"
            elif kind == "malformed_timestamp":
                ts = str(rng.choice([d.day.strftime("%d/%m/%Y ") + hhmm(t),
                                     d.day.isoformat() + "T24:" + f"{t % 4 * 15:02d}:00+08:00",
                                     d.day.isoformat() + " " + hhmm(t)]))
                detail = f"interval_start {ts!r} is not an ISO-8601 timestamp with offset"
            elif kind == "misaligned_interval":
                ts = ts[:14] + f"{t % 4 * 15 + 7:02d}" + ts[16:]
                detail = f"interval_start {ts!r} is not aligned to 15 minutes"
            else:
                mid = f"M{9_000_000 + int(rng.integers(0, 999_999)):07d}"
                detail = f"meter_id {mid!r} is not in the registry"
            rows.extras.append((mid, ts, val))
            rows.insert(pos, -len(rows.extras), 0.0, 0, offset + len(recs))
            recs.append({"kind": kind, "meter_id": mid, "day": day, "detail": detail})

    def _stuck_block(self, rows: FileRows, d: Day, meters: np.ndarray, rng: np.random.Generator
                     ) -> tuple[np.ndarray, dict] | None:
        """Freeze a run of registers in the original (quality estimated); return the true values."""
        good = rows.values.copy()
        cand = np.flatnonzero((rows.flat >= 0) & (rows.tag < 0))
        if len(cand) < 20:
            return None
        pos = int(cand[rng.integers(1, len(cand) - 12)])
        m = int(rows.flat[pos] // 96)
        run = [pos]
        while len(run) < int(rng.integers(4, 12)):
            nxt = run[-1] + 1
            if nxt >= len(rows.flat) or rows.flat[nxt] != rows.flat[run[-1]] + 1 or rows.flat[nxt] // 96 != m:
                break
            run.append(nxt)
        prev = rows.flat[pos - 1]
        if prev < 0 or prev // 96 != m or prev != rows.flat[pos] - 1:
            return None
        for p in run:
            rows.values[p] = rows.values[pos - 1]
            rows.quality[p] = 1
        t0, t1 = int(rows.flat[run[0]] % 96), int(rows.flat[run[-1]] % 96)
        return good, {"meter_id": self.city.meter_id[m], "line": pos + 2,
                      "detail": f"{self.city.meter_id[m]} {hhmm(t0)}-{hhmm(t1)} frozen in the original, true values here"}


def day_of(city: City, k: int) -> date:
    return city.start + timedelta(days=k)
