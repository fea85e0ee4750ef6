"""The night's rebuild scope is derived by dbt (int_rebuild_meters, int_rebuild_months) from what the loader
recorded as landed, and the publish reads the bounds the models' delete hooks wrote (int_rebuild_bounds)."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest
from test_ingest_support import CC1, METERS_HEADER, landing_env, readings_csv, write, write_meters

from nengtan.config import Settings
from nengtan.dbt_parse import target_dir
from nengtan.ingest import load_declarations, load_meter_readings, load_registry
from nengtan.publish_scope import incremental_tables, transform_scope
from nengtan.rebuild import mart_differences
from nengtan.transform import run_dbt, run_transform

DAY = date(2026, 3, 1)
SCOPE_MODELS = ["int_numbers", "int_rebuild_bounds", "int_rebuild_meters", "int_rebuild_months"]
DECL_HEADER = "credit_code,period,submission_id,submitted_at,item,quantity,unit\n"


def _registry(landing: Path) -> None:
    write(landing, "registry/parks.csv", "park_id,name_zh,name_en,district,contact_email\nP01,园区,Park,区,p@x.cn\n",
          datetime(2026, 1, 1))
    write(landing, "registry/enterprises.csv",
          "credit_code,name_zh,name_en,park_id,industry_code,key_energy_user,ets_covered,contact_email\n"
          f"{CC1},甲,E,P01,39,true,false,e@x.cn\n", datetime(2026, 1, 1))
    meters = [f"M{k},{CC1},electricity,kWh,1,99999999,0,2025-01-01T00:00:00+08:00,," for k in (1, 2)]
    write(landing, "registry/meters.csv", "\n".join([METERS_HEADER, *meters]) + "\n", datetime(2026, 1, 1))


def _day_rows(meters: list[str]) -> list[str]:
    return [f"{m},2026-03-01T00:{q * 15:02d}:00+08:00,{q + 1},ok" for m in meters for q in range(4)]


def _derive_scope(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> Settings:
    """Build the scope models on a copy of the test's warehouse, as the night's dbt build does first."""
    con.close()
    cfg = Settings(landing=tmp_path / "landing", data=tmp_path / "data")
    cfg.warehouse_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tmp_path / "warehouse.duckdb", cfg.warehouse_db)
    run_dbt(["run", "--select", *SCOPE_MODELS], cfg=cfg)
    return cfg


def test_the_scope_takes_what_a_replaced_version_held(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rows a rewrite dropped leave the marts too: the scope takes the meter-days and months of the
    replaced version's rows (raw.superseded_*), not only those of the new version."""
    landing, con = landing_env(tmp_path, monkeypatch)
    _registry(landing)
    load_registry(con, landing, "n0")
    rel, decl = "meter_readings/date=2026-03-01/gw.csv", "declarations/month=2026-03/d.csv"
    write(landing, rel, readings_csv(_day_rows(["M1", "M2"])), datetime(2026, 3, 2, 1))
    write(landing, decl, DECL_HEADER + f"{CC1},2026-02,S1,2026-03-05T09:00:00+08:00,raw_coal,5,t\n",
          datetime(2026, 3, 5, 10))
    load_meter_readings(con, landing, DAY, "n1")
    load_declarations(con, landing, date(2026, 3, 5), "n1")
    con.execute("UPDATE raw.load_log SET transformed_run_id = 'n1'")  # that night's transform ran
    write(landing, rel, readings_csv(_day_rows(["M1"])), datetime(2026, 3, 2, 9))  # M2 gone
    write(landing, decl, DECL_HEADER, datetime(2026, 3, 6, 10))  # the submission withdrawn: a header only
    load_meter_readings(con, landing, DAY, "n2")
    load_declarations(con, landing, date(2026, 3, 6), "n2")
    cfg = _derive_scope(tmp_path, con)
    out = duckdb.connect(str(cfg.warehouse_db), read_only=True)
    try:
        meters = dict(((m, (f, t)) for m, f, t in out.execute(
            "SELECT meter_id, from_day, to_day FROM intermediate.int_rebuild_meters").fetchall()))
        months = set(out.execute("SELECT credit_code, month FROM intermediate.int_rebuild_months").fetchall())
    finally:
        out.close()
    # no earlier good reading: both meters from their installation day to the as-of day
    assert meters == {"M1": (date(2025, 1, 1), DAY), "M2": (date(2025, 1, 1), DAY)}
    assert (CC1, date(2026, 2, 1)) in months  # the withdrawn declaration's month
    assert (CC1, date(2025, 1, 1)) in months and (CC1, DAY.replace(day=1)) in months


def _bounds(rows: list[tuple]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA intermediate")
    con.execute("CREATE TABLE intermediate.int_rebuild_bounds (table_name VARCHAR, day_column VARCHAR, "
                "watermark VARCHAR, since_day DATE, whole BOOLEAN)")
    if rows:
        con.executemany("INSERT INTO intermediate.int_rebuild_bounds VALUES (?, ?, ?, ?, ?)", rows)
    return con


def test_the_publish_reads_the_bounds_the_hooks_wrote() -> None:
    d1, d2, m = date(2026, 3, 4), date(2026, 3, 2), date(2026, 2, 1)
    con = _bounds([("marts.meter_daily", "day", "since_day", d1, False),
                   ("marts.meter_day_sources", "day", "since_day", d2, False),
                   ("marts.enterprise_energy_daily", "day", "since_month", m, False)])
    assert transform_scope(con, ["meter_readings"], full_refresh=False) == (d2, m, False)
    assert incremental_tables(con) == {"marts.meter_daily": ("day", "since_day"),
                                       "marts.meter_day_sources": ("day", "since_day"),
                                       "marts.enterprise_energy_daily": ("day", "since_month")}
    assert transform_scope(con, ["registry_meters"], full_refresh=False)[2] is True
    # a hook that deleted every row of some meters (their registry values changed): a full copy
    con.execute("INSERT INTO intermediate.int_rebuild_bounds VALUES ('marts.meter_daily', 'day', 'since_day', "
                "NULL, true)")
    assert transform_scope(con, ["meter_readings"], full_refresh=False) == (d2, m, True)
    # nothing recorded (a run whose hooks did not run): a full copy, no table updated in place
    empty = _bounds([])
    assert transform_scope(empty, ["meter_readings"], full_refresh=False)[2] is True
    assert incremental_tables(empty) == {}


def test_a_silent_meter_costs_its_new_days_and_a_reading_meter_its_baseline(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Night 1 has 00:00-00:45 of 1 March for M1 and M2 (installed 2025-01-01, install baseline 2024-12-31 23:45);
    night 2 has 00:00-00:45 of 2 March for M1 only. M1 (touched by readings from 2 March) goes back to the day
    after its last good reading before 2 March (1 March 00:45), and from there to the reading before 1 March
    (its install baseline): found by the search before the two-day window. M2 is touched only by the growing
    spine: it starts at its new day, 2 March, with the slot before it as baseline, and is not looked up."""
    landing, con = landing_env(tmp_path, monkeypatch)
    _registry(landing)
    load_registry(con, landing, "n0")
    # registers far above the install register: the gap of 14 months spreads 100,000 kWh, not a remainder
    day1 = [f"{m},2026-03-01T00:{q * 15:02d}:00+08:00,{100000 + q},ok" for m in ("M1", "M2") for q in range(4)]
    write(landing, "meter_readings/date=2026-03-01/gw.csv", readings_csv(day1), datetime(2026, 3, 2, 1))
    load_meter_readings(con, landing, DAY, "n1")
    cfg = _derive_scope(tmp_path, con)
    run_transform("n1", cfg=cfg)
    day2 = [f"M1,2026-03-02T00:{q * 15:02d}:00+08:00,{100010 + q},ok" for q in range(4)]
    write(landing, "meter_readings/date=2026-03-02/gw.csv", readings_csv(day2), datetime(2026, 3, 3, 1))
    con = duckdb.connect(str(cfg.warehouse_db))
    load_meter_readings(con, landing, date(2026, 3, 2), "n2")
    con.close()
    run_dbt(["run", "--select", *SCOPE_MODELS, "int_meter_rebuild_scope"], cfg=cfg)
    out = duckdb.connect(str(cfg.warehouse_db), read_only=True)
    try:
        meters = {m: rest for m, *rest in out.execute(
            "SELECT meter_id, from_day, to_day, rebuilds_readings FROM intermediate.int_rebuild_meters").fetchall()}
        scope = {m: rest for m, *rest in out.execute(
            "SELECT meter_id, from_day, baseline_ts, rebuild_from_ts, rebuild_from_day "
            "FROM intermediate.int_meter_rebuild_scope").fetchall()}
    finally:
        out.close()
    day2_date = date(2026, 3, 2)
    assert meters == {"M1": [DAY, day2_date, True], "M2": [day2_date, day2_date, False]}
    install_baseline = datetime(2024, 12, 31, 23, 45)
    assert scope["M1"] == [DAY, install_baseline, install_baseline, DAY]
    slot_before = datetime(2026, 3, 1, 23, 45)
    assert scope["M2"] == [day2_date, slot_before, slot_before, day2_date]


def _full_days(meters: list[str], day: date, start: int) -> list[str]:
    """Every 15-minute reading of `day` for each meter, registers rising by one from `start`."""
    return [f"{m},{day.isoformat()}T{q // 4:02d}:{q % 4 * 15:02d}:00+08:00,{start + q},ok"
            for m in meters for q in range(96)]


def _run_nights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, nights: list[tuple[date, list[str]]]) -> Settings:
    """Meters M1-M3 registered; night n lands and transforms every reading of its day for its meters."""
    landing, con = landing_env(tmp_path, monkeypatch)
    _registry(landing)
    write_meters(landing, ["M1", "M2", "M3"])
    load_registry(con, landing, "n0")
    for n, (day, meters) in enumerate(nights, 1):
        write(landing, f"meter_readings/date={day}/gw.csv", readings_csv(_full_days(meters, day, 100000 + 100 * n)),
              datetime(day.year, day.month, day.day + 1, 1))
        if n == 1:
            cfg = _derive_scope(tmp_path, con)
        con = duckdb.connect(str(cfg.warehouse_db))
        load_meter_readings(con, landing, day, f"n{n}")
        con.close()
        run_transform(f"n{n}", cfg=cfg)
    return cfg


def _query(cfg: Settings, sql: str) -> dict[str, list]:
    """{first column: the other columns} of a query on the warehouse."""
    out = duckdb.connect(str(cfg.warehouse_db), read_only=True)
    try:
        return {key: rest for key, *rest in out.execute(sql).fetchall()}
    finally:
        out.close()


def _assert_equals_full_rebuild(tmp_path: Path, cfg: Settings) -> None:
    """The night's marts and meter tables equal a full rebuild's."""
    night = tmp_path / "night.duckdb"
    shutil.copyfile(cfg.warehouse_db, night)
    run_transform("full", full_refresh=True, cfg=cfg)
    assert mart_differences(night, cfg.warehouse_db, "marts") == {}
    inter = mart_differences(night, cfg.warehouse_db, "intermediate")
    assert {t: d for t, d in inter.items() if t in ("int_meter_readings", "int_meter_daily")} == {}


def test_a_meter_reaching_back_reads_its_older_days_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Per-meter rebuild bound: night 3 rebuilds M2 and M3 from their last reading of 2 March (23:45), and M1,
    silent on 2 March, from its last good reading of 1 March (23:45). The meter models read each meter from
    its own bound: every meter from 2 March 23:45 and only M1 (listed) from 1 March 23:45, not every meter
    from 1 March; and the night's tables equal a full rebuild."""
    cfg = _run_nights(tmp_path, monkeypatch, [(DAY, ["M1", "M2", "M3"]), (date(2026, 3, 2), ["M2", "M3"]),
                                             (date(2026, 3, 3), ["M1", "M2", "M3"])])
    scope = _query(cfg, "SELECT meter_id, rebuild_from_ts, rebuild_from_day FROM intermediate.int_meter_rebuild_scope")
    assert scope == {"M1": [datetime(2026, 3, 1, 23, 45), date(2026, 3, 2)],
                     "M2": [datetime(2026, 3, 2, 23, 45), date(2026, 3, 3)],
                     "M3": [datetime(2026, 3, 2, 23, 45), date(2026, 3, 3)]}
    compiled = (target_dir(cfg) / "compiled" / "nengtan" / "models" / "intermediate" / "int_meter_readings.sql").read_text()
    # the raw readings: from the earliest bound, and from the usual one unless the meter is M1
    assert ("interval_start >= cast('2026-03-01 23:45:00' as timestamp) and (interval_start >= "
            "cast('2026-03-02 23:45:00' as timestamp) or meter_id in ('M1'))") in compiled
    _assert_equals_full_rebuild(tmp_path, cfg)


def test_a_meter_back_after_days_of_silence_is_looked_up_on_its_last_received_day(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """M1 reads all of 1 March, is silent 2-4 March while M2 reads, and reads again on 5 March. Night 5's search
    for M1's last good reading before 5 March finds nothing in the two days before it (3-4 March) and then looks
    on M1's last day with a received interval in int_meter_daily (1 March), not through the whole history: M1 is
    rebuilt from 1 March 23:45 (from 2 March), M2 from 4 March 23:45; and the night's tables equal a full rebuild."""
    cfg = _run_nights(tmp_path, monkeypatch,
                      [(date(2026, 3, d), ["M1", "M2"] if d in (1, 5) else ["M2"]) for d in range(1, 6)])
    rebuilt = _query(cfg, "SELECT meter_id, from_day, rebuilds_readings FROM intermediate.int_rebuild_meters")
    scope = _query(cfg, "SELECT meter_id, baseline_ts, rebuild_from_day FROM intermediate.int_meter_rebuild_scope")
    assert rebuilt["M1"] == [date(2026, 3, 2), True] and rebuilt["M2"] == [date(2026, 3, 5), True]
    assert scope["M1"] == [datetime(2026, 3, 1, 23, 45), date(2026, 3, 2)]
    assert scope["M2"] == [datetime(2026, 3, 4, 23, 45), date(2026, 3, 5)]
    compiled = (target_dir(cfg) / "compiled" / "nengtan" / "models" / "intermediate" / "int_rebuild_meters.sql").read_text()
    assert "older_days as materialized" in compiled  # the bounded search, on int_meter_daily's received days
    _assert_equals_full_rebuild(tmp_path, cfg)
