"""The floor: DuckDB alone turning one night's reading files into daily consumption per
meter, in one SQL statement. No validation, quarantine, lineage, dbt, checks or publish —
the least work that gives the answer, so night/floor says what the pipeline costs."""

from __future__ import annotations

import gzip
import time
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

PROBE_BYTES = 1 << 16


def head_bytes(path: Path) -> bytes:
    """The first PROBE_BYTES of a file, decompressed when gzipped."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as f:
        return f.read(PROBE_BYTES)


def is_utf8_head(data: bytes) -> bool:
    """Whether a file's head (head_bytes) is UTF-8: legacy gateways write GB18030."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start > len(data) - 4  # a character cut at the probe's end is fine
    return True


def transcode_legacy(files: list[Path], tmp: Path) -> tuple[list[Path], int]:
    """DuckDB reads UTF-8 only (its encodings extension needs a download), so legacy GB18030
    gateway files are rewritten as UTF-8 first; the floor's time includes this."""
    out, n = [], 0
    for path in files:
        if path.name.endswith((".csv", ".csv.gz")) and not is_utf8_head(head_bytes(path)):
            raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
            target = tmp / (path.name.removesuffix(".gz"))
            target.write_bytes(raw.decode("gb18030").encode("utf-8"))
            out.append(target)
            n += 1
        else:
            out.append(path)
    return out, n


def _sql_list(paths: list[Path]) -> str:
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


def night_files(landing: Path, day: date) -> list[Path]:
    folder = landing / "meter_readings" / f"date={day.isoformat()}"
    if not folder.exists():
        raise FileNotFoundError(f"no reading files under {folder}")
    return sorted(p for p in folder.iterdir() if p.is_file())


def floor_sql(landing: Path, files: list[Path]) -> str:
    """The one statement over ``files`` (the night's reading files, legacy ones transcoded)."""
    csvs = [p for p in files if p.name.endswith((".csv", ".csv.gz"))]
    parquets = [p for p in files if p.name.endswith(".parquet")]
    branches = []
    if csvs:
        # Typed parsing with a fixed schema: no per-file sniffing (union_by_name would triple the
        # time); rows that do not parse are skipped (the pipeline quarantines them with a reason).
        branches.append(
            "SELECT meter_id, interval_start AS ts, register_end AS reg "
            f"FROM read_csv({_sql_list(csvs)}, header = true, ignore_errors = true, "
            "timestampformat = '%Y-%m-%dT%H:%M:%S%z', columns = {'meter_id': 'VARCHAR', "
            "'interval_start': 'TIMESTAMPTZ', 'register_end': 'DOUBLE', 'quality': 'VARCHAR'})"
        )
    if parquets:
        branches.append(
            "SELECT CAST(meter_id AS VARCHAR) AS meter_id, try_cast(CAST(interval_start AS VARCHAR) AS TIMESTAMPTZ) "
            "AS ts, try_cast(register_end AS DOUBLE) AS reg "
            f"FROM read_parquet({_sql_list(parquets)}, union_by_name = true, hive_partitioning = false)"
        )
    if not branches:
        raise FileNotFoundError("no reading files for the floor")
    meters = landing / "registry" / "meters.csv"
    sql = f"""
CREATE TEMP TABLE floor_daily AS
WITH readings AS (
    {" UNION ALL ".join(branches)}
), registry AS (
    SELECT meter_id, try_cast(multiplier AS DOUBLE) AS multiplier, try_cast(register_max AS DOUBLE) AS register_max
    FROM read_csv('{str(meters).replace("'", "''")}', header = true, all_varchar = true)
), diffs AS (
    SELECT r.meter_id, m.multiplier, m.register_max, r.reg,
           r.reg - lag(r.reg) OVER (PARTITION BY r.meter_id ORDER BY r.ts) AS d
    FROM readings r JOIN registry m USING (meter_id)
    WHERE r.ts IS NOT NULL AND r.reg IS NOT NULL
)
SELECT meter_id,
       sum(CASE WHEN d IS NULL THEN 0
                WHEN d >= 0 THEN d
                WHEN d + register_max < 0.5 * register_max THEN d + register_max  -- rollover
                ELSE 0 END                                                     -- backwards: a fault
       ) * any_value(multiplier) AS consumption,
       count(*) AS intervals
FROM diffs
GROUP BY meter_id
"""
    return sql


def run_floor(landing: Path, day: date, *, memory_limit: str, tmp: Path, threads: int = 0) -> dict[str, Any]:
    """Time the floor (legacy transcoding + the statement) on a fresh in-memory DuckDB
    with the pipeline's memory limit."""
    files = night_files(landing, day)
    tmp.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit = '{memory_limit}'")
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        con.execute("SET TimeZone = 'Asia/Shanghai'")
        con.execute("SET enable_progress_bar = false")
        started = time.perf_counter()
        readable, transcoded = transcode_legacy(files, tmp)
        t_sql = time.perf_counter()
        con.execute(floor_sql(landing, readable))
        done = time.perf_counter()
        seconds = done - started
        meters, rows, total = con.execute(
            "SELECT count(*), sum(intervals), sum(consumption) FROM floor_daily").fetchone()
        used_threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    finally:
        con.close()
    return {"seconds": seconds, "sql_seconds": done - t_sql, "transcode_seconds": t_sql - started,
            "meters": meters, "rows_read": int(rows or 0), "total_consumption": float(total or 0.0),
            "threads": used_threads, "memory_limit": memory_limit, "files": len(files),
            "csv_files": sum(p.name.endswith((".csv", ".csv.gz")) for p in files),
            "parquet_files": sum(p.name.endswith(".parquet") for p in files),
            "legacy_files_transcoded": transcoded, "bytes": sum(p.stat().st_size for p in files)}
