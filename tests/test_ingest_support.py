"""Shared helpers for the ingestion tests (no tests here): tiny landing zones written on purpose."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import duckdb

from nengtan.config import LOCAL_TZ
from nengtan.credit_code import check_character
from nengtan.ingest.sources import ALL_SPECS
from nengtan.warehouse import connect, ensure_raw_schema

READINGS_HEADER = "meter_id,interval_start,register_end,quality"
METERS_HEADER = ("meter_id,credit_code,energy_type,unit,multiplier,register_max,register_at_install,"
                 "installed_at,removed_at,replaces_meter_id")
# every source's raw table (from the specs, so a new source is covered by every test using these)
SOURCE_TABLES = {spec.source: spec.table.split(".")[1] for spec in ALL_SPECS}
RAW_TABLES = ("load_log", "quarantine", *SOURCE_TABLES.values())
VOLATILE = {"run_id", "loaded_at", "quarantined_at"}


def cc(prefix17: str = "91320500MA1MXA0B0") -> str:
    """A valid credit code for the given first 17 characters."""
    return prefix17 + check_character(prefix17)


CC1 = cc()
CC2 = cc("91320500MA1MXA0B1")


def write(landing: Path, rel: str, content: str | bytes, mtime: datetime | None = None,
          encoding: str = "utf-8") -> Path:
    path = landing / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    if mtime is not None:
        ts = mtime.replace(tzinfo=LOCAL_TZ).timestamp()
        os.utime(path, (ts, ts))
    return path


def write_meters(landing: Path, meter_ids: list[str], mtime: datetime | None = None) -> None:
    rows = [f"{m},{CC1},electricity,kWh,1,99999999,0,2025-01-01T00:00:00+08:00,," for m in meter_ids]
    write(landing, "registry/meters.csv", "\n".join([METERS_HEADER, *rows]) + "\n",
          mtime or datetime(2026, 1, 1))


def readings_csv(rows: list[str]) -> str:
    return "\n".join([READINGS_HEADER, *rows]) + "\n"


def warehouse(tmp: Path) -> duckdb.DuckDBPyConnection:
    con = connect(tmp / "warehouse.duckdb")
    ensure_raw_schema(con)
    return con


def landing_env(tmp_path: Path, monkeypatch) -> tuple[Path, duckdb.DuckDBPyConnection]:  # noqa: ANN001
    """A test's landing zone and data root set in the environment, and a writer connection to its warehouse."""
    landing = tmp_path / "landing"
    monkeypatch.setenv("NENGTAN_LANDING", str(landing))
    monkeypatch.setenv("NENGTAN_DATA", str(tmp_path / "data"))
    return landing, warehouse(tmp_path)


def assert_accounting(con: duckdb.DuckDBPyConnection) -> None:
    """rows_read = loaded + quarantined per file, and the counts match the tables."""
    bad = con.execute(
        "SELECT path FROM raw.load_log WHERE rows_read <> rows_loaded + rows_quarantined").fetchall()
    assert bad == []
    assert {"ets", "projects", "weather", "declarations", "registry_meters"} <= set(SOURCE_TABLES)
    for source, table in SOURCE_TABLES.items():
        mismatch = con.execute(
            f"""
            SELECT l.path, l.rows_loaded, (SELECT count(*) FROM raw.{table} t WHERE t.file_id = l.file_id),
                   l.rows_quarantined, l.status,
                   (SELECT count(*) FROM raw.quarantine q WHERE q.file_id = l.file_id)
            FROM raw.load_log l WHERE l.source = ? AND l.status <> 'superseded'
            """, [source]).fetchall()  # a superseded version's rows moved to raw.superseded_* (ingest.versions)
        for path, loaded, in_table, quarantined, status, q_rows in mismatch:
            assert loaded == in_table, path
            if status == "rejected":
                assert q_rows == 1 and in_table == 0, path
            else:
                assert quarantined == q_rows, path


def snapshot(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """All raw tables without the per-run columns, sorted: equal means same content."""
    out = {}
    for table in RAW_TABLES:
        cols = [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'raw' "
            "AND table_name = ? ORDER BY ordinal_position", [table]).fetchall() if r[0] not in VOLATILE]
        rows = con.execute(f"SELECT {', '.join(cols)} FROM raw.{table}").fetchall()
        out[table] = sorted(rows, key=repr)
    return out
