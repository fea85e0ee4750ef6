"""Lineage: every fact-mart row names the night (run_id) that built it, incremental marts keep the old
run for rows a later night did not touch, and a meter-day traces through marts.meter_day_sources to
file paths that are in raw.load_log and in the tamper-evident ledger."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from nengtan.config import settings
from nengtan.ingest import load_night
from nengtan.ledger import read_ledger, record_from_load_log
from nengtan.tools.generate import generate_city
from nengtan.transform import run_transform
from nengtan.warehouse import warehouse

START = date(2026, 1, 29)
DAYS = 5
FACT_MARTS = ["meter_daily", "enterprise_energy_daily", "enterprise_carbon_monthly", "park_carbon_monthly",
              "city_carbon_monthly", "dual_control_warnings", "meter_day_sources"]


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    root: Path = tmp_path_factory.mktemp("lineage")
    landing, data = root / "landing", root / "data"
    mp = pytest.MonkeyPatch()
    mp.setenv("NENGTAN_LANDING", str(landing))
    mp.setenv("NENGTAN_DATA", str(data))
    cfg = settings()
    generate_city(landing, START, DAYS, 3, parks=2, seed=5, fault_rate=0.0)
    for night in range(DAYS):
        with warehouse(cfg) as con:
            load_night(con, landing, START + timedelta(days=night), f"load-{night}")
            record_from_load_log(con, run_id=f"load-{night}", cfg=cfg)
        if night == 2:
            run_transform("night-A", cfg=cfg)
        if night == 3:  # a late correction of one Feb 1 reading: it lands last, so it wins
            with warehouse(cfg) as con:
                meter_id, ts, value, quality = con.execute(
                    "select meter_id, interval_start, register_end, quality from raw.meter_readings "
                    "where reading_day = date '2026-02-01' order by meter_id, interval_start limit 1").fetchone()
            late = landing / "meter_readings" / "date=2026-02-01" / "late correction.csv"
            late.write_text("meter_id,interval_start,register_end,quality\n"
                            f"{meter_id},{ts:%Y-%m-%dT%H:%M:%S}+08:00,{value},{quality}\n")
    run_transform("night-B", cfg=cfg)
    yield cfg
    mp.undo()


def test_every_mart_row_has_the_run_that_built_it(city):
    with warehouse(city) as con:
        for mart in FACT_MARTS:
            total, nulls = con.execute(
                f"select count(*), count(*) - count(built_run_id) from marts.{mart}").fetchone()
            assert total > 0, mart
            assert nulls == 0, mart
            runs = {r for (r,) in con.execute(f"select distinct built_run_id from marts.{mart}").fetchall()}
            assert runs <= {"night-A", "night-B"}, (mart, runs)
            assert "night-B" in runs, mart
        # incremental marts keep night A's stamp where night B did not rebuild (January before the nights
        # B loaded); table marts (park/city/warnings) are rebuilt whole and carry night B.
        for mart, key in [("meter_daily", "day"), ("enterprise_carbon_monthly", "month"),
                          ("meter_day_sources", "day")]:
            old = con.execute(f"select count(*) from marts.{mart} where {key} < date '2026-01-31' "
                              "and built_run_id = 'night-A'").fetchone()[0]
            assert old > 0, mart
        newest = con.execute("select distinct built_run_id from marts.meter_daily "
                             "where day = (select max(day) from marts.meter_daily)").fetchall()
        assert newest == [("night-B",)]


def test_meter_day_traces_to_load_log_and_ledger(city):
    with warehouse(city) as con:
        meter_id, day = con.execute(
            "select meter_id, day from marts.meter_daily where not is_silent order by day desc, meter_id limit 1"
        ).fetchone()
        sources = con.execute(
            "select s.path, s.file_id, s.rows, s.rows_winning, l.path, l.sha256 from marts.meter_day_sources s "
            "left join raw.load_log l on s.file_id = l.file_id where s.meter_id = ? and s.day = ?",
            [meter_id, day]).fetchall()
        assert sources, (meter_id, day)
        for path, _file_id, rows, winning, log_path, _ in sources:
            assert log_path == path  # the file is in raw.load_log
            assert path.startswith("meter_readings/")
            assert 0 <= winning <= rows
        # the winning rows are exactly the day's deduplicated readings
        readings = con.execute(
            "select count(*) from intermediate.int_meter_readings where meter_id = ? and reading_day = ? "
            "and not is_install_baseline", [meter_id, day]).fetchone()[0]
        assert sum(s[3] for s in sources) == readings
        # every source row of every meter-day is accounted for, and all of them point at the load log
        orphans = con.execute("select count(*) from marts.meter_day_sources s "
                              "where not exists (select 1 from raw.load_log l where l.path = s.path "
                              "and l.file_id = s.file_id)").fetchone()[0]
        assert orphans == 0
        raw_rows = con.execute("select count(*) from raw.meter_readings r join marts.meter_daily d "
                               "on r.meter_id = d.meter_id and r.reading_day = d.day").fetchone()[0]
        assert con.execute("select sum(rows) from marts.meter_day_sources").fetchone()[0] == raw_rows
    entries, problems, _ = read_ledger(city)
    assert not problems
    recorded = {(e["payload"]["path"], e["payload"]["sha256"]) for e in entries if e["kind"] == "file"}
    for path, _file_id, _rows, _winning, _log_path, sha in sources:
        assert (path, sha) in recorded
        assert (city.landing / path).exists()


def test_a_late_file_is_a_source_that_wins_its_rows(city):
    with warehouse(city) as con:
        rows = con.execute(
            "select s.path, s.rows, s.rows_winning, s.built_run_id from marts.meter_day_sources s "
            "where (s.meter_id, s.day) in (select meter_id, day from marts.meter_day_sources "
            "where path like '%late correction.csv') order by s.landed_at").fetchall()
    assert rows[-1] == ("meter_readings/date=2026-02-01/late correction.csv", 1, 1, "night-B")
    assert len(rows) >= 2 and sum(r[1] for r in rows) == sum(r[2] for r in rows) + 1  # one row overruled


def test_incremental_lineage_equals_a_full_refresh(city, tmp_path, monkeypatch):
    cols = "meter_id, day, file_id, path, landed_at, rows, rows_winning"
    with warehouse(city) as con:
        incremental = con.execute(f"select {cols} from marts.meter_day_sources order by all").fetchall()
    copy = tmp_path / "data"
    shutil.copytree(city.data, copy)
    monkeypatch.setenv("NENGTAN_DATA", str(copy))
    cfg = settings()
    run_transform("full", full_refresh=True, cfg=cfg)
    with warehouse(cfg) as con:
        full = con.execute(f"select {cols} from marts.meter_day_sources order by all").fetchall()
        assert {r for (r,) in con.execute("select distinct built_run_id from marts.meter_daily").fetchall()} \
            == {"full"}
    assert full == incremental
