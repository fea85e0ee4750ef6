"""Night N of the full city (issue 18): a year of the city cannot be generated or loaded on a bench
machine (3.6 bn readings, ~175 GB of warehouse), so after the timed night 1 the history is synthesized
in the warehouse by SQL up to day N-2, night N-1 runs through the night worker (untimed for the ratio: it
leaves night N what any night leaves the next, the spare serving file of its publish among it), and night N
is timed through the night worker as night 1 was.

What is synthesized, and at which scale (the report lists it table by table):
* the meter-day tables (int_meter_daily, meter_daily, meter_day_sources), the quality tables and weather
  for days 2..N-2 at full scale: day 1's rows with the date shifted (meters removed by then left out);
* the enterprise- and park-level tables keyed by day or month (enterprise_energy_daily, park_energy_daily,
  int_enterprise_monthly_sources, enterprise_carbon_monthly, int_factor_applied's months, the monthly
  marts) at full scale, by one untimed dbt build (full refresh) of those models from the synthesized meter
  days and declarations, with their tests: the history is as consistent as the models make it;
* the monthly upstream inputs the models read in full (declarations): the city's year-before archive
  shifted a year, for the months before day N's (at the archive's scale: the generator declares the base
  year for the enterprises its cases need only);
* the reading-level tables (raw.meter_readings, int_meter_readings; int_meter_intervals is a view of the
  latter): only the last
  ``reading_days`` days before night N (night N-1's own day among them), because disk cannot hold a year of them and every nightly scan of
  them is bounded by time literals (the rebuild scope's two-day lookback);
* the load log (every synthesized file version, transformed and recorded in the ledger), and the serving
  copy and ledger (one untimed publish + record of the synthesized history), on which night N-1 publishes
  as a night does, so night N pays the incremental publish and ledger record it would pay then.

Registers continue: on day k a meter reads day 1's register plus (k-1) times its day-1 consumption
(raw units, unwrapped), wrapped at its register_max, so the registers keep increasing and the first
reading of a day follows the last of the day before exactly as on day 1. Days N-1's and N's landing files
are day 1's files rewritten the same way (timestamps + N-1 days, registers continued, file mtimes shifted,
malformed lines left as they were).
"""

from __future__ import annotations

import gzip
import os
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from nengtan.tools.bench.floor import head_bytes, is_utf8_head

SYNTH_RUN_ID = "bench-synthesized-history"

# (table, its day column): rows of day 1 copied to every day 2..N-1
DAY_TABLES = (
    ("intermediate.int_meter_daily", "day"),
    ("marts.meter_daily", "day"),
    ("marts.meter_day_sources", "day"),
    ("quality.check_results", "day"),
    ("quality.alert_log", "day"),
    ("quality.warning_alerts", "day"),
    ("raw.weather", "date"),
)
# Built by dbt from the synthesized meter days and declarations (one untimed full-refresh build of these
# models and everything downstream), so that month rows and enterprise/park days agree with the meter days
# as the models' tests require: enterprise_energy_daily, park_energy_daily, int_enterprise_monthly_sources,
# enterprise_carbon_monthly, int_factor_applied (its new months), the monthly marts.
# The calendar tables they join (int_calendar, int_months, int_factor_selection: rebuilt every night, so night 1
# left them ending in its own month) are rebuilt first over the synthesized days: without them the factor pins
# (int_factor_applied) of February..the last month were never written, and night N wrote the whole month's.
DBT_SELECT = ("int_calendar", "int_months", "int_factor_selection", "enterprise_energy_daily+",
              "int_enterprise_monthly_sources+")
# the reading-level tables: only the last days before night N
READING_TABLES = ("raw.meter_readings", "intermediate.int_meter_readings")


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? "
                            "AND table_name = ? AND table_type = 'BASE TABLE'", [schema, name]).fetchone()[0])


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    schema, name = table.split(".")
    return [r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = ? "
                                      "AND table_name = ? ORDER BY ordinal_position", [schema, name]).fetchall()]


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def _insert_shifted(con: duckdb.DuckDBPyConnection, table: str, source: str, exprs: dict[str, str],
                    joins: str = "", where: str = "") -> int:
    """INSERT INTO table SELECT its columns from ``source`` (aliased t), each column replaced by
    ``exprs`` where given; returns the rows added."""
    cols = _columns(con, table)
    select = ", ".join(exprs.get(c, f't."{c}"') for c in cols)
    before = _count(con, table)
    con.execute(f"INSERT INTO {table} SELECT {select} FROM {source} {joins} {where}")
    return _count(con, table) - before


def _meters(con: duckdb.DuckDBPyConnection, day1: date) -> None:
    """Per meter: its day-1 consumption in raw register units (last good unwrapped register of day 1
    minus the install baseline), its register_max and removal, as _syn_meters."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _syn_meters AS
        WITH reg AS (
            SELECT meter_id, max(register_max) AS rmax, min(removed_at) AS removed_at
            FROM raw.meters GROUP BY meter_id
        ), used AS (
            SELECT meter_id,
                   max(unwrapped) FILTER (WHERE is_good AND reading_day = DATE '{day1}')
                   - min(unwrapped) FILTER (WHERE status = 'install_baseline') AS d
            FROM intermediate.int_meter_readings GROUP BY meter_id
        )
        SELECT reg.meter_id, CAST(greatest(coalesce(used.d, 0), 0) AS DECIMAL(38, 4)) AS d, reg.rmax, reg.removed_at
        FROM reg LEFT JOIN used USING (meter_id)
    """)


# Days inserted by one statement: rows of these days interleave in the table's row groups, so a night's
# scan bounded by a time literal skips the older chunks by their zonemaps, as it skips older nights' rows
# (the reading-level tables go a day at a time).
CHUNK_DAYS = 30


def _chunks(start: int, stop: int, size: int) -> list[tuple[int, int]]:
    return [(a, min(a + size, stop)) for a in range(start, stop, size)]


def _range(start: int, stop: int) -> str:
    """Days k = start .. stop-1 as INTEGER (a date plus a BIGINT does not bind)."""
    return f"(SELECT CAST(range AS INTEGER) AS k FROM range({start}, {stop})) AS r"


def _register(expr: str, k: str) -> str:
    """A register continued to day k (register + (k-1) x day-1 consumption, wrapped at register_max)."""
    moved = f"(CAST({expr} AS DECIMAL(38, 4)) + ({k} - 1) * m.d)"
    return f"CAST(CASE WHEN m.rmax > 0 THEN {moved} % m.rmax ELSE {moved} END AS DECIMAL(18, 4))"


def _wraps(expr: str, k: str) -> str:
    moved = f"(CAST({expr} AS DECIMAL(38, 4)) + ({k} - 1) * m.d)"
    return f"CAST(CASE WHEN m.rmax > 0 THEN floor({moved} / m.rmax) ELSE 0 END AS INTEGER)"


def _files(con: duckdb.DuckDBPyConnection, day1: date, days: tuple[int, int], months: list[tuple[str, str]]) -> int:
    """Synthesized load-log rows: day 1's day-partitioned file versions for days ``days`` (inclusive),
    the declarations archive's for ``months`` (old period, new period); mapping in _syn_files."""
    d1 = day1.isoformat()
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _syn_files AS
        SELECT l.file_id AS old_id, k, NULL::VARCHAR AS new_period,
               replace(replace(l.path, '{d1}', CAST(DATE '{d1}' + (k - 1) AS VARCHAR)),
                       '{day1:%Y%m%d}', strftime(DATE '{d1}' + (k - 1), '%Y%m%d')) AS new_path
        FROM raw.load_log l, {_range(days[0], days[1] + 1)}
        WHERE l.partition_key = '{d1}' AND l.source IN ('meter_readings', 'weather')
    """)
    for old, new in months:
        con.execute("""
            INSERT INTO _syn_files
            SELECT file_id, 0, ?, replace(replace(path, ?, ?), ?, ?) FROM raw.load_log
            WHERE source = 'declarations' AND partition_key = ?
        """, [new, old, new, old.replace("-", ""), new.replace("-", ""), old])
    con.execute("ALTER TABLE _syn_files ADD COLUMN new_id VARCHAR")
    con.execute("UPDATE _syn_files SET new_id = left(md5(new_path || old_id), 32)")
    shift = "to_days(CAST(f.k - 1 AS INTEGER))"
    return _insert_shifted(con, "raw.load_log", "raw.load_log AS t JOIN _syn_files AS f ON t.file_id = f.old_id", {
        "file_id": "f.new_id", "path": "f.new_path",
        "partition_key": f"coalesce(f.new_period, CAST(DATE '{d1}' + (f.k - 1) AS VARCHAR))",
        "landed_at": f"t.landed_at + CASE WHEN f.k > 0 THEN {shift} ELSE INTERVAL 1 YEAR END",
        "run_id": f"'{SYNTH_RUN_ID}'", "transformed_run_id": f"'{SYNTH_RUN_ID}'"})


def synthesize(con: duckdb.DuckDBPyConnection, day1: date, n: int, reading_days: int,
               progress: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Write days 2..n-1 of the city into the warehouse after its night 1 (see the module docstring);
    returns what was synthesized, table by table."""
    d1, last = day1.isoformat(), day1 + timedelta(days=n - 2)
    first_reading_day = max(2, n - reading_days)
    month1 = day1.replace(day=1)
    months = []
    m = month1
    while True:
        m = (m + timedelta(days=32)).replace(day=1)
        if m > last:
            break
        months.append(m)
    out: list[dict[str, Any]] = []
    _meters(con, day1)
    archive = [(f"{mm.year - 1}-{mm.month:02d}", f"{mm:%Y-%m}") for mm in [month1, *months]
               if mm < (day1 + timedelta(days=n - 1)).replace(day=1)]
    archive = [(o, nw) for o, nw in archive if con.execute(
        "SELECT count(*) FROM raw.load_log WHERE source = 'declarations' AND partition_key = ?", [o]).fetchone()[0]
        and not con.execute("SELECT count(*) FROM raw.load_log WHERE source = 'declarations' AND partition_key = ?",
                            [nw]).fetchone()[0]]
    added = _files(con, day1, (2, n - 1), archive)
    out.append({"table": "raw.load_log", "rows": added, "scale": "full",
                "what": f"day 1's reading and weather file versions for days 2..{n - 1}, "
                        f"declaration archive months shifted a year ({len(archive)}); transformed, run {SYNTH_RUN_ID}"})
    not_removed = "(m.removed_at IS NULL OR m.removed_at > {ts})"
    for table, col in DAY_TABLES:
        if not _exists(con, table):
            continue
        cols = _columns(con, table)
        t0 = time.perf_counter()
        exprs = {col: f"t.{col} + (r.k - 1)"}
        joins = " CROSS JOIN {days}"
        where = f"WHERE t.{col} = DATE '{d1}'"
        if "file_id" in cols:
            joins += " LEFT JOIN _syn_files AS f ON f.old_id = t.file_id AND f.k = r.k"
            exprs["file_id"] = "coalesce(f.new_id, t.file_id)"
            if "path" in cols:
                exprs["path"] = "coalesce(f.new_path, t.path)"
        if "meter_id" in cols and table != "quality.check_results":
            joins += " JOIN _syn_meters AS m ON m.meter_id = t.meter_id"
            where += " AND " + not_removed.format(ts=f"CAST(t.{col} + (r.k - 1) AS TIMESTAMP)")
        rows = sum(_insert_shifted(con, table, f"{table} AS t", exprs, joins.format(days=_range(a, b)), where)
                   for a, b in _chunks(2, n, CHUNK_DAYS))
        out.append({"table": table, "rows": rows, "scale": "full", "what": f"days 2..{n - 1} (day 1 shifted)",
                    "seconds": round(time.perf_counter() - t0, 2)})
        progress(f"[bench]   {table}: {rows:,} rows in {out[-1]['seconds']} s")
    if archive and _exists(con, "raw.declarations"):
        t0 = time.perf_counter()
        rows = _insert_shifted(con, "raw.declarations", "raw.declarations AS t JOIN _syn_files AS f "
                               "ON f.old_id = t.file_id AND f.k = 0", {
                                   "period": "f.new_period", "file_id": "f.new_id",
                                   "submitted_at": "t.submitted_at + INTERVAL 1 YEAR",
                                   "landed_at": "t.landed_at + INTERVAL 1 YEAR"})
        ents = con.execute("SELECT count(DISTINCT credit_code) FROM raw.declarations WHERE period = ?",
                           [archive[0][1]]).fetchone()[0]
        out.append({"table": "raw.declarations", "rows": rows,
                    "scale": f"the generated archive's {ents:,} enterprises",
                    "what": f"periods {archive[0][1]}..{archive[-1][1]} (the year-before archive shifted a year)",
                    "seconds": round(time.perf_counter() - t0, 2)})
    if _exists(con, "raw.quarantine"):
        rows = _insert_shifted(con, "raw.quarantine", "raw.quarantine AS t JOIN _syn_files AS f "
                               "ON f.old_id = t.file_id AND f.k > 0", {
                                   "file_id": "f.new_id", "path": "f.new_path", "run_id": f"'{SYNTH_RUN_ID}'"})
        out.append({"table": "raw.quarantine", "rows": rows, "scale": "full",
                    "what": f"day 1's quarantined rows for the files of days 2..{n - 1}"})
    # the reading-level tables: the last days only
    shift = "to_days(CAST(r.k - 1 AS INTEGER))"
    span = f"days {first_reading_day}..{n - 1} only"
    reading_exprs = {
        "raw.meter_readings": {
            "interval_start": f"t.interval_start + {shift}", "reading_day": "t.reading_day + (r.k - 1)",
            "register_end": _register("t.register_end", "r.k"), "landed_at": f"t.landed_at + {shift}",
            "file_id": "coalesce(f.new_id, t.file_id)"},
        "intermediate.int_meter_readings": {
            "interval_start": f"t.interval_start + {shift}", "reading_day": "t.reading_day + (r.k - 1)",
            "register_end": _register("t.register_end", "r.k"),
            "wraps": f"CASE WHEN t.register_end IS NULL THEN t.wraps ELSE t.wraps + {_wraps('t.register_end', 'r.k')} END",
            "unwrapped": "t.unwrapped + (r.k - 1) * m.d", "file_id": "coalesce(f.new_id, t.file_id)"},
    }
    for table in READING_TABLES:
        if not _exists(con, table):
            continue
        t0 = time.perf_counter()
        cols = _columns(con, table)
        exprs = {c: e for c, e in reading_exprs[table].items() if c in cols}
        joins = " CROSS JOIN {days} JOIN _syn_meters AS m ON m.meter_id = t.meter_id"
        if "file_id" in cols:
            joins += " LEFT JOIN _syn_files AS f ON f.old_id = t.file_id AND f.k = r.k"
        where = f"WHERE t.reading_day = DATE '{d1}'"
        if table != "raw.meter_readings":  # the models keep a meter's rows while it is in service
            where += " AND " + not_removed.format(ts=f"t.interval_start + {shift}")
        if "status" in cols:
            where += " AND t.status <> 'install_baseline'"
        rows = sum(_insert_shifted(con, table, f"{table} AS t", exprs, joins.format(days=_range(k, k + 1)), where)
                   for k in range(first_reading_day, n))  # a day at a time, as nights append them
        out.append({"table": table, "rows": rows, "scale": f"full, {span}",
                    "what": "day 1 shifted, registers continued", "seconds": round(time.perf_counter() - t0, 2)})
        progress(f"[bench]   {table}: {rows:,} rows in {out[-1]['seconds']} s")
    return out


def _continue_register(text: str, meter: str, offsets: dict[str, tuple[Decimal, Decimal]], k: int) -> str | None:
    off = offsets.get(meter)
    if off is None:
        return None
    try:
        value = Decimal(text) + (k - 1) * off[0]
    except (InvalidOperation, ValueError):
        return None
    if off[1] > 0:
        value %= off[1]
    return f"{value:f}"  # the offset's four places: exactly what the synthesized days hold


def _rewrite_csv(src: Path, dst: Path, delta: timedelta, offsets: dict[str, tuple[Decimal, Decimal]], k: int) -> int:
    """A reading CSV (plain or gzip, UTF-8 or GB18030) with timestamps and registers moved; a line that
    does not parse is written as it was."""
    encoding = "utf-8" if is_utf8_head(head_bytes(src)) else "gb18030"
    opener = gzip.open if src.name.endswith(".gz") else open
    with opener(src, "rb") as f:
        lines = f.read().decode(encoding).split("\n")
    out = [lines[0]]
    for line in lines[1:]:
        parts = line.split(",")
        if len(parts) == 4:
            try:
                parts[1] = (datetime.fromisoformat(parts[1]) + delta).isoformat()
                reg = _continue_register(parts[2], parts[0], offsets, k)
                if reg is not None:
                    parts[2] = reg
                line = ",".join(parts)
            except ValueError:
                pass
        out.append(line)
    data = "\n".join(out).encode(encoding)
    if src.name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    dst.write_bytes(data)
    return len(out) - 1


def _rewrite_parquet(src: Path, dst: Path, delta: timedelta, offsets: dict[str, tuple[Decimal, Decimal]],
                     k: int) -> int:
    table = pq.read_table(src)
    cols = {}
    ts = table.column("interval_start")
    if pa.types.is_timestamp(ts.type):
        cols["interval_start"] = pc.add(ts, pa.scalar(delta, pa.duration(ts.type.unit)))
    else:
        moved = []
        for v in ts.to_pylist():
            try:
                moved.append(None if v is None else (datetime.fromisoformat(v) + delta).isoformat())
            except ValueError:
                moved.append(v)
        cols["interval_start"] = pa.array(moved, ts.type)
    reg = table.column("register_end")
    meters = table.column("meter_id").to_pylist()
    values = []
    for meter, v in zip(meters, reg.to_pylist(), strict=True):
        moved = None if v is None else _continue_register(str(v), str(meter), offsets, k)
        values.append(v if moved is None else (moved if pa.types.is_string(reg.type) else Decimal(moved)))
    if pa.types.is_floating(reg.type):
        values = [None if v is None else float(v) for v in values]
    cols["register_end"] = pa.array(values, reg.type)
    for name, col in cols.items():
        table = table.set_column(table.schema.get_field_index(name), name, col)
    pq.write_table(table, dst)
    return table.num_rows


def land_day(landing: Path, day1: date, n: int, offsets: dict[str, tuple[Decimal, Decimal]]) -> dict[str, Any]:
    """Day n's reading and weather files: day 1's, moved n-1 days (registers continued), mtimes moved too."""
    delta = timedelta(days=n - 1)
    day = day1 + delta
    files = rows = 0
    for source in ("meter_readings", "weather"):
        src_dir = landing / source / f"date={day1}"
        if not src_dir.is_dir():
            continue
        dst_dir = landing / source / f"date={day}"
        dst_dir.mkdir(parents=True, exist_ok=True)
        for src in sorted(p for p in src_dir.iterdir() if p.is_file()):
            dst = dst_dir / src.name.replace(f"{day1:%Y%m%d}", f"{day:%Y%m%d}").replace(str(day1), str(day))
            if source == "weather":
                dst.write_bytes(src.read_bytes().replace(str(day1).encode(), str(day).encode()))
            elif src.name.endswith(".parquet"):
                rows += _rewrite_parquet(src, dst, delta, offsets, n)
            else:
                rows += _rewrite_csv(src, dst, delta, offsets, n)
            st = src.stat()
            shift_ns = int(delta.total_seconds()) * 1_000_000_000
            os.utime(dst, ns=(st.st_atime_ns + shift_ns, st.st_mtime_ns + shift_ns))
            files += 1
    return {"day": day.isoformat(), "files": files, "reading_rows": rows}


def publish_synthesized(con: duckdb.DuckDBPyConnection, cfg: Any, day: date) -> dict[str, Any]:
    """The untimed publish and ledger records of the synthesized year, as a night before night N left them."""
    from nengtan.ledger.record import record_from_load_log, record_publish
    from nengtan.publish import publish
    from nengtan.publish_scope import request_full_copy

    t0 = time.perf_counter()
    recorded = record_from_load_log(con, run_id=SYNTH_RUN_ID, cfg=cfg)
    t1 = time.perf_counter()
    request_full_copy(con)
    result = publish(con, run_id=SYNTH_RUN_ID, day=day, cfg=cfg)
    t2 = time.perf_counter()
    record_publish(cfg.serving_db, run_id=SYNTH_RUN_ID, cfg=cfg, changes=result.pop("hash_changes", None))
    t3 = time.perf_counter()
    return {"files_recorded": recorded, "ledger_files_seconds": round(t1 - t0, 2),
            "publish_seconds": round(t2 - t1, 2), "publish_rows": sum(result["tables"].values()),
            "publish_mode": result.get("mode"), "ledger_publish_seconds": round(t3 - t2, 2)}


def _dbt_build(root: Any) -> dict[str, Any]:
    """The untimed full-refresh build of DBT_SELECT and their tests, in its own process with the root's
    environment (as the night's transform runs dbt); raises when it fails (the history is then unusable)."""
    import json
    import sys

    from nengtan.config import REPO_ROOT
    from nengtan.tools.bench.procwatch import run_watched

    args = ["build", "--full-refresh", "--select", *DBT_SELECT, "--exclude-resource-type", "unit_test"]
    code = ("import json, sys; from nengtan.config import settings; from nengtan.transform import run_dbt; "
            f"r = run_dbt({args!r}, cfg=settings()); print('BUILT ' + json.dumps(r))")
    w = run_watched([sys.executable, "-c", code], root.environ(), root.settings.logs_dir / "bench-synthesis-dbt.log",
                    cwd=REPO_ROOT)
    if w.returncode != 0:
        raise RuntimeError(f"the synthesized history's dbt build failed (exit {w.returncode}):\n{w.tail()}")
    text = (root.settings.logs_dir / "bench-synthesis-dbt.log").read_text(errors="replace")
    line = [ln for ln in text.splitlines() if ln.startswith("BUILT ")]
    out = json.loads(line[-1][6:]) if line else {}
    out.pop("slowest_nodes", None)
    return {**out, "peak_rss_gib": round(w.peak_rss_bytes / 2**30, 3)}


def _built_tables(con: duckdb.DuckDBPyConnection, day1: date, n: int) -> list[dict[str, Any]]:
    """What the synthesis build left in the day- and month-keyed enterprise and park tables."""
    out = []
    for table, col in (("marts.enterprise_energy_daily", "day"), ("marts.park_energy_daily", "day"),
                       ("intermediate.int_enterprise_monthly_sources", "month"),
                       ("marts.enterprise_carbon_monthly", "month"), ("intermediate.int_factor_applied", "month")):
        if _exists(con, table):
            rows, first, last = con.execute(f"SELECT count(*), min({col}), max({col}) FROM {table} "
                                            f"WHERE {col} >= DATE '{day1.replace(day=1)}'").fetchone()
            out.append({"table": table, "rows": rows, "scale": "full",
                        "what": f"built by dbt from the synthesized days: {first}..{last}"})
    return out


def run_city_history(root: Any, day1: date, n: int, reading_days: int, timeout: float,
                     progress: Callable[[str], None] = print) -> dict[str, Any]:
    """Synthesize days 2..n-2 on the city's warehouse after its night 1, publish the synthesized history
    untimed, run night n-1 through the night worker (untimed for the ratio: it leaves what a night leaves
    for the next, its publish's spare serving file included), then time night n as night 1 was."""
    from nengtan.tools.bench.night import run_night
    from nengtan.warehouse import connect

    cfg = root.settings
    day_n = day1 + timedelta(days=n - 1)
    before = n - 1  # the night before night n, run through the DAGs
    t0 = time.perf_counter()
    progress(f"[bench] full city: synthesizing days 2..{before - 1} in the warehouse (untimed for the ratio) …")
    con = connect(root.warehouse_db, cfg=cfg)
    try:
        con.execute("SET preserve_insertion_order = false")
        # statement by statement: no year in one WAL; the reading-level tables' last days include night n-1's
        tables = synthesize(con, day1, before, reading_days - 1, progress)
        con.execute("CHECKPOINT")
        offsets = {mid: (d, rmax or Decimal(0)) for mid, d, rmax in
                   con.execute("SELECT meter_id, d, rmax FROM _syn_meters").fetchall()}
        con.execute("DELETE FROM meta.dbt_run")
        con.execute("INSERT INTO meta.dbt_run VALUES (?)", [SYNTH_RUN_ID])
    finally:
        con.close()
    progress("[bench] full city: dbt build of the enterprise and month levels over the synthesized days (untimed) …")
    t1 = time.perf_counter()
    built = _dbt_build(root)
    dbt_seconds = time.perf_counter() - t1
    synth_seconds = time.perf_counter() - t0
    con = connect(root.warehouse_db, cfg=cfg)
    try:
        tables += _built_tables(con, day1, before)
        t1 = time.perf_counter()
        landed = [land_day(root.landing, day1, before, offsets)]
        land_seconds = time.perf_counter() - t1
        progress("[bench] full city: publishing the synthesized history (untimed) …")
        published = publish_synthesized(con, cfg, day_n - timedelta(days=2))
    finally:
        con.close()
    progress(f"[bench] full city: night {before} ({day_n - timedelta(days=1)}) through the DAGs (untimed) …")
    night_before = run_night(root, day_n - timedelta(days=1), f"city-{before}", timeout)
    if not night_before.get("ok"):
        raise RuntimeError(f"night {before} failed:\n{night_before.get('error', '')}")
    t1 = time.perf_counter()
    landed.append(land_day(root.landing, day1, n, offsets))
    land_seconds += time.perf_counter() - t1
    size = root.warehouse_db.stat().st_size
    progress(f"[bench] full city: night {n} ({day_n}) through the DAGs …")
    night = run_night(root, day_n, f"city-{n}", timeout)
    night["n"] = n
    return {"n": n, "day": day_n.isoformat(), "synthesis_seconds": round(synth_seconds, 2),
            "dbt_seconds": round(dbt_seconds, 2), "dbt": built,
            "landing_seconds": round(land_seconds, 2), "landed": landed, "published": published,
            "night_before": {k: night_before.get(k) for k in ("day", "ok", "wall_seconds", "peak_rss_gib", "tasks")},
            "warehouse_bytes": size, "serving_bytes": root.serving_db.stat().st_size if root.serving_db.exists()
            else None, "reading_days": reading_days, "tables": tables, "night": night,
            "seconds_before_night": round(time.perf_counter() - t0 - (night.get("wall_seconds") or 0), 2)}
