"""Rebuild from the landing zone, the system of record, into an empty warehouse, and
prove the incremental warehouse agrees with it table by table."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

import duckdb

from nengtan.config import Settings, settings
from nengtan.warehouse import sql_string

_PARTITION = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")

# Columns that only say which run wrote a row, when, or in which situation: two warehouses
# built by different runs from the same files differ there and nowhere else. (A factor pin's
# applied_reason says whether its month was still open when it was pinned, which depends on
# the nights a backfill ran, not on the figures.)
RUN_BOOKKEEPING_COLUMNS = (
    "run_id", "loaded_at", "quarantined_at", "transformed_run_id", "built_run_id", "built_at",
    "applied_run_id", "applied_at", "applied_reason", "checked_at", "published_at", "load_run_id",
    "publish_run_id", "restated_at",
)


class RebuildFailed(RuntimeError):
    """The rebuild's own nights failed: there is nothing to compare."""


# A rebuild catches up this many days per night: a year in one night would not fit the memory
# limit, and fewer, larger nights are faster than one night per day.
REBUILD_STEP_DAYS = 30


def reading_days(landing: Path) -> tuple[date, date]:
    """The first and last day the landing zone holds meter readings for."""
    from nengtan.ingest.discovery import partition_problem  # date=2026-01-00 matches the pattern, is no day

    days = [date.fromisoformat(m.group(1)) for p in (landing / "meter_readings").glob("date=*")
            if (m := _PARTITION.match(p.name)) and partition_problem(p.name, "date") is None]
    if not days:
        raise FileNotFoundError(f"no meter_readings/date=YYYY-MM-DD folders under {landing}")
    return min(days), max(days)


def latest_night(landing: Path) -> date:
    """The last day the landing zone holds meter readings for."""
    return reading_days(landing)[1]


def mart_differences(a: Path, b: Path, schema: str = "marts") -> dict[str, str]:
    """Tables of ``schema`` whose contents differ between two DuckDB files (set difference
    both ways, ignoring columns that name the run that produced a row). Views are not compared: they hold
    nothing of their own, and one names its file's catalog, which an attached copy does not have."""
    con = duckdb.connect()
    con.execute(f"ATTACH {sql_string(a)} AS a (READ_ONLY)")
    con.execute(f"ATTACH {sql_string(b)} AS b (READ_ONLY)")
    tables = lambda db: {r[0] for r in con.execute(  # noqa: E731
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND table_schema = ? "
        "AND table_type = 'BASE TABLE'",
        [db, schema]).fetchall()}
    ta, tb = tables("a"), tables("b")
    diffs = {t: "missing in rebuild" for t in ta - tb} | {t: "missing in incremental" for t in tb - ta}
    for t in sorted(ta & tb):
        cols = [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_catalog = 'a' AND table_schema = ? "
            "AND table_name = ? AND column_name NOT IN (SELECT unnest(?)) "
            "ORDER BY ordinal_position", [schema, t, list(RUN_BOOKKEEPING_COLUMNS)]).fetchall()]
        sel = ", ".join(f'"{c}"' for c in cols)
        n = con.execute(
            f'SELECT (SELECT count(*) FROM (SELECT {sel} FROM a."{schema}"."{t}" EXCEPT ALL '
            f'SELECT {sel} FROM b."{schema}"."{t}")) + (SELECT count(*) FROM (SELECT {sel} FROM b."{schema}"."{t}" '
            f'EXCEPT ALL SELECT {sel} FROM a."{schema}"."{t}"))').fetchone()[0]
        if n:
            diffs[t] = f"{n} rows differ"
    con.close()
    return diffs


def rebuild(into: Path | None = None, cfg: Settings | None = None) -> dict:
    """Run the whole landing zone through the DAGs into an empty data root (every
    ``REBUILD_STEP_DAYS``-th night and the last), then compare."""
    cfg = cfg or settings()
    target = into or Path(tempfile.mkdtemp(prefix="nengtan-rebuild-", dir=cfg.data))
    first, night = reading_days(cfg.landing)
    env = {**os.environ, "NENGTAN_DATA": str(target), "AIRFLOW_HOME": str(target / "airflow"),
           "NENGTAN_LANDING": str(cfg.landing)}
    done = subprocess.run([sys.executable, "-m", "nengtan.cli", "backfill", "--start", first.isoformat(),
                           "--end", night.isoformat(), "--step", str(REBUILD_STEP_DAYS)], env=env)
    if done.returncode:
        raise RebuildFailed(f"the backfill into {target} exited with {done.returncode} (its output is above)")
    rebuilt = target / "warehouse" / "nengtan.duckdb"
    result: dict = {"rebuilt_into": str(rebuilt), "night": night.isoformat()}
    if cfg.warehouse_db.exists():
        result["differences"] = mart_differences(cfg.warehouse_db, rebuilt)
        result["identical"] = not result["differences"]
    return result


def verdict(result: dict) -> tuple[int, str]:
    """The exit status of ``nengtan rebuild`` and its last line: 1 when the rebuilt marts differ
    from the incremental ones (history no longer matches the landing zone)."""
    if "identical" not in result:
        return 0, f"rebuilt into {result['rebuilt_into']}; no incremental warehouse to compare with"
    if result["identical"]:
        return 0, "rebuild identical to the incremental warehouse"
    return 1, "rebuild NOT identical to the incremental warehouse: " + "; ".join(
        f"{t}: {why}" for t, why in sorted(result["differences"].items()))
