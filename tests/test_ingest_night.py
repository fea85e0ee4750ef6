"""Night-level behaviour: which files a night loads, idempotence, late/corrected files, crashes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from test_ingest_support import (
    CC1,
    assert_accounting,
    readings_csv,
    snapshot,
    warehouse,
    write,
    write_meters,
)

from nengtan.ingest import (
    load_certificates,
    load_declarations,
    load_meter_readings,
    load_registry,
    load_targets,
)
from nengtan.ingest import loader as ingest_loader
from nengtan.ingest.loader import load_night

D1 = date(2026, 3, 1)
D2 = date(2026, 3, 2)
REPO = Path(__file__).resolve().parent.parent


def day_rows(day: date, meters: list[str], base: float = 0.0) -> list[str]:
    return [f"{m},{day.isoformat()}T{q // 4:02d}:{q % 4 * 15:02d}:00+08:00,{base + q:.2f},ok"
            for m in meters for q in range(96)]


def build_landing(landing: Path) -> None:
    """Two days of readings, a declaration month, targets, certificates, and noise."""
    write_meters(landing, ["M1", "M2", "M3"])
    write(landing, "registry/parks.csv", "park_id,name_zh,name_en,district,contact_email\nP01,园区,Park,区,p@x.cn\n",
          datetime(2026, 1, 1))
    write(landing, "meter_readings/date=2026-03-01/gw1.csv", readings_csv(day_rows(D1, ["M1", "M2"])),
          datetime(2026, 3, 2, 0, 30))
    write(landing, "meter_readings/date=2026-03-01/gw2.csv",
          readings_csv(day_rows(D1, ["M3"]) + ["M3,2026-03-01T00:07:00+08:00,1,ok"]),
          datetime(2026, 3, 2, 0, 31))
    write(landing, "meter_readings/date=2026-03-02/gw1.csv", readings_csv(day_rows(D2, ["M1", "M2", "M3"], 100)),
          datetime(2026, 3, 3, 0, 30))
    write(landing, "declarations/month=2026-03/d.csv",
          "credit_code,period,submission_id,submitted_at,item,quantity,unit\n"
          f"{CC1},2026-02,S1,2026-03-01T09:00:00+08:00,diesel,2,t\n", datetime(2026, 3, 1, 9))
    write(landing, "declarations/month=2026-04/d.csv",
          "credit_code,period,submission_id,submitted_at,item,quantity,unit\n"
          f"{CC1},2026-03,S2,2026-04-01T09:00:00+08:00,diesel,3,t\n", datetime(2026, 4, 1, 9))
    write(landing, "targets/year=2026/t.csv",
          "level,entity_id,year,energy_budget_tce,carbon_budget_tco2,energy_intensity_target,"
          "carbon_intensity_target\ncity,SZ,2026,1,2,3,4\n", datetime(2026, 1, 2))
    write(landing, "targets/year=2027/t.csv",
          "level,entity_id,year,energy_budget_tce,carbon_budget_tco2,energy_intensity_target,"
          "carbon_intensity_target\ncity,SZ,2027,1,2,3,4\n", datetime(2026, 12, 2))
    write(landing, "green_certificates/gec.csv",
          "certificate_id,project_id,generation_month,owner_credit_code,claimed_period,claimed_at\n"
          f"G1,P,2026-01,{CC1},,\n", datetime(2026, 2, 1))
    write(landing, "ets/year=2026/e.csv",
          "credit_code,year,sector,verified_emissions_tco2,allowances_allocated_t,allowances_surrendered_t,"
          f"ccer_surrendered_t,compliance_deadline\n{CC1},2026,power,1,1,0,0,2027-12-31\n", datetime(2026, 2, 1))
    write(landing, "projects/p.csv",
          "project_id,credit_code,name_zh,name_en,kind,measure,meter_ids,baseline_start,baseline_end,"
          "commissioned_on,expected_annual_savings_tce,approved_annual_energy_tce,status,updated_at\n"
          f"P1,{CC1},照明,Lighting,retrofit,lighting,M1,,,,5,,planned,2026-02-01T09:00:00+08:00\n",
          datetime(2026, 2, 1))
    for day in (D1, D2):
        write(landing, f"weather/date={day.isoformat()}/w.csv",
              f"district,date,temp_mean_c,temp_min_c,temp_max_c\n区,{day.isoformat()},5,1,9\n",
              datetime(day.year, day.month, day.day + 1, 0, 20))
    # noise outside the contract folders and markers inside them: never loaded
    write(landing, "_generator/state.json", "{}")
    write(landing, "meter_readings/notes.csv", "x\n")
    write(landing, "meter_readings/date=2026-03-01/_SUCCESS", "")
    write(landing, "meter_readings/date=2026-03-01/sub/deep.csv", "x\n")
    write(landing, "meter_readings/date=garbage/x.csv", "x\n")
    write(landing, "registry/other.csv", "x\n")


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    landing = tmp_path / "landing"
    monkeypatch.setenv("NENGTAN_LANDING", str(landing))
    monkeypatch.setenv("NENGTAN_DATA", str(tmp_path / "data"))
    build_landing(landing)
    con = warehouse(tmp_path)
    yield landing, con
    con.close()


def test_empty_or_absent_landing_is_a_normal_night(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NENGTAN_DATA", str(tmp_path / "data"))
    landing = tmp_path / "landing"
    (landing / "meter_readings").mkdir(parents=True)
    con = warehouse(tmp_path)
    summary = load_night(con, landing, D1, "r1")
    assert summary.as_dict()["files_seen"] == 0
    assert con.execute("SELECT count(*) FROM raw.load_log").fetchone()[0] == 0


def test_night_loads_only_folders_up_to_d_and_twice_is_idempotent(env) -> None:
    landing, con = env
    summary = load_night(con, landing, D1, "night1")
    paths = sorted(r[0] for r in con.execute("SELECT path FROM raw.load_log").fetchall())
    assert paths == ["declarations/month=2026-03/d.csv", "ets/year=2026/e.csv", "green_certificates/gec.csv",
                     "meter_readings/date=2026-03-01/gw1.csv", "meter_readings/date=2026-03-01/gw2.csv",
                     "projects/p.csv", "registry/meters.csv", "registry/parks.csv", "targets/year=2026/t.csv",
                     "targets/year=2027/t.csv", "weather/date=2026-03-01/w.csv"]  # the roadmap's targets too
    assert summary.rows_read == 2 * 96 + 97 + 3 + 1 + 1 + 1 + 1 + 1 + 3 == summary.rows_loaded + summary.rows_quarantined
    assert summary.rows_quarantined == 1
    assert con.execute("SELECT max(reading_day) FROM raw.meter_readings").fetchone()[0] == D1
    assert_accounting(con)
    before = snapshot(con)

    again = load_night(con, landing, D1, "night1-retry")
    assert again.files_loaded == 0 and again.rows_read == 0
    assert again.files_skipped == again.files_seen == 11
    assert snapshot(con) == before

    # the next night picks up its own folder and nothing twice
    n2 = load_night(con, landing, D2, "night2")
    assert [f.path for f in n2.files if f.status != "skipped"] == ["weather/date=2026-03-02/w.csv",
                                                                   "meter_readings/date=2026-03-02/gw1.csv"]
    assert_accounting(con)
    as_json = json.loads(json.dumps(n2.as_dict()))  # the XCom must be JSON-serialisable
    new = [f for f in as_json["files"] if f["status"] == "loaded"]
    assert len(new) == 2 and all(len(f["sha256"]) == 64 and f["partition_key"] == "2026-03-02" for f in new)


def test_second_night_hashes_nothing_old(env, monkeypatch: pytest.MonkeyPatch) -> None:
    landing, con = env
    load_night(con, landing, D1, "night1")
    opened: list[str] = []
    real = ingest_loader.fetch  # what opens and hashes a file (in a reader thread)

    def spy(cand):
        opened.append(cand.path)
        return real(cand)

    monkeypatch.setattr(ingest_loader, "fetch", spy)
    load_night(con, landing, D2, "night2")
    assert opened == ["weather/date=2026-03-02/w.csv", "meter_readings/date=2026-03-02/gw1.csv"]
    # the same bytes landing again later are a new delivery (identity by content and landing time, as a
    # rebuild sees the file): only that file is read, and it loads as the version that landed last
    p = landing / "meter_readings/date=2026-03-01/gw1.csv"
    os.utime(p, (p.stat().st_atime, p.stat().st_mtime + 3600))
    opened.clear()
    summary = load_meter_readings(con, landing, D2, "night2b")
    assert opened == ["meter_readings/date=2026-03-01/gw1.csv"]
    assert summary.files_loaded == 1 and summary.files_skipped == 2 and summary.files_seen == 3


def test_corrected_and_late_files_are_new_versions(env) -> None:
    landing, con = env
    load_night(con, landing, D1, "night1")
    rel = "meter_readings/date=2026-03-01/gw1.csv"
    old_id = con.execute("SELECT file_id FROM raw.load_log WHERE path = ?", [rel]).fetchone()[0]
    # corrected: same path, new bytes, landed later; late: a new file in an old folder
    write(landing, rel, readings_csv(day_rows(D1, ["M1"], base=0.5)), datetime(2026, 3, 3, 2))
    write(landing, "meter_readings/date=2026-03-01/late.csv", readings_csv(day_rows(D1, ["M2"], base=0.7)),
          datetime(2026, 3, 3, 3))
    summary = load_meter_readings(con, landing, D2, "night2")
    loaded = {f.path for f in summary.files if f.status == "loaded"}
    assert loaded == {rel, "meter_readings/date=2026-03-01/late.csv", "meter_readings/date=2026-03-02/gw1.csv"}
    versions = con.execute("SELECT file_id, landed_at FROM raw.load_log WHERE path = ? ORDER BY landed_at",
                           [rel]).fetchall()
    assert len(versions) == 2 and versions[0][0] == old_id
    assert versions[1][1] == datetime(2026, 3, 3, 2)
    per_file = dict(con.execute("SELECT file_id, count(*) FROM raw.meter_readings WHERE reading_day = ? "
                                "GROUP BY file_id", [D1]).fetchall())
    # the corrected version replaces the old one as a whole (the version that landed last is the file, as a
    # rebuild sees it: nengtan.ingest.versions); the old rows are kept aside, with the file that replaced them
    assert old_id not in per_file
    assert con.execute("SELECT count(*), any_value(superseded_by) FROM raw.superseded_meter_readings "
                       "WHERE file_id = ?", [old_id]).fetchone() == (2 * 96, versions[1][0])
    assert per_file[versions[1][0]] == 96
    latest = con.execute(
        "SELECT register_end FROM raw.meter_readings WHERE meter_id = 'M1' AND interval_start = ? "
        "ORDER BY landed_at DESC LIMIT 1", [datetime(2026, 3, 1, 0, 15)]).fetchone()[0]
    assert float(latest) == 1.5
    assert_accounting(con)


def test_registry_reloads_only_when_content_changes(env) -> None:
    landing, con = env
    assert load_registry(con, landing, "r1").files_loaded == 2
    assert load_registry(con, landing, "r2").files_loaded == 0
    write_meters(landing, ["M1", "M2", "M3", "M4"], datetime(2026, 3, 1, 12))
    s = load_registry(con, landing, "r3")
    assert [f.path for f in s.files if f.status == "loaded"] == ["registry/meters.csv"]
    assert con.execute("SELECT count(DISTINCT file_id), count(*) FROM raw.meters").fetchone() == (2, 7)
    # M4 is known for readings from now on (the latest registry version)
    write(landing, "meter_readings/date=2026-03-01/m4.csv", readings_csv(day_rows(D1, ["M4"])),
          datetime(2026, 3, 2, 5))
    load_meter_readings(con, landing, D1, "r3")
    assert con.execute("SELECT count(*) FROM raw.meter_readings WHERE meter_id = 'M4'").fetchone()[0] == 96


def test_per_source_folders_after_d_wait(env) -> None:
    landing, con = env
    load_declarations(con, landing, D1, "n")
    load_targets(con, landing, D1, "n")
    load_certificates(con, landing, D1, "n")
    assert con.execute("SELECT period FROM raw.declarations").fetchall() == [("2026-02",)]
    # targets of future years are the roadmap: they load whenever they land, not in their year
    assert con.execute("SELECT year FROM raw.targets ORDER BY year").fetchall() == [(2026,), (2027,)]
    load_declarations(con, landing, date(2026, 4, 1), "n")
    load_targets(con, landing, date(2027, 1, 1), "n")
    assert con.execute("SELECT count(*) FROM raw.declarations").fetchone()[0] == 2
    assert con.execute("SELECT count(*) FROM raw.targets").fetchone()[0] == 2  # nothing loaded twice


CRASH_SCRIPT = textwrap.dedent("""
    import sys, time
    from datetime import date
    from pathlib import Path
    from nengtan.ingest import loader
    from nengtan.warehouse import connect, ensure_raw_schema

    marker = Path(sys.argv[3])
    def hold(cand):
        if cand.path.endswith("gw2.csv"):
            marker.write_text(cand.path)
            time.sleep(120)   # killed here: rows inserted, transaction not committed
    if sys.argv[4] == "crash":
        loader.before_commit = hold
    con = connect(Path(sys.argv[1]))
    ensure_raw_schema(con)
    loader.load_night(con, Path(sys.argv[2]), date(2026, 3, 1), "run-" + sys.argv[4])
    con.close()
""")


def _run(db: Path, landing: Path, marker: Path, mode: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CRASH_SCRIPT, str(db), str(landing), str(marker), mode],
                            cwd=REPO, env=os.environ.copy())


def test_sigkill_mid_load_then_rerun_equals_uninterrupted(env, tmp_path: Path) -> None:
    landing, con = env
    con.close()
    marker = tmp_path / "marker"
    crashed_db = tmp_path / "crashed.duckdb"
    proc = _run(crashed_db, landing, marker, "crash")
    deadline = time.monotonic() + 90
    while not marker.exists():
        assert proc.poll() is None, "loader exited before reaching the hold point"
        assert time.monotonic() < deadline, "loader never reached gw2.csv"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    c = warehouse_at(crashed_db)
    assert c.execute("SELECT count(*) FROM raw.load_log WHERE path LIKE '%gw2.csv'").fetchone()[0] == 0
    assert c.execute("SELECT count(*) FROM raw.meter_readings WHERE meter_id = 'M3'").fetchone()[0] == 0
    assert c.execute("SELECT count(*) FROM raw.quarantine").fetchone()[0] == 0
    assert c.execute("SELECT count(*) FROM raw.load_log").fetchone()[0] >= 1  # gw1 committed before
    c.close()

    assert _run(crashed_db, landing, marker, "rerun").wait(timeout=120) == 0
    clean_db = tmp_path / "clean.duckdb"
    assert _run(clean_db, landing, marker, "clean").wait(timeout=120) == 0
    a, b = warehouse_at(crashed_db), warehouse_at(clean_db)
    snap_a, snap_b = snapshot(a), snapshot(b)
    assert snap_a == snap_b
    assert len(snap_a["meter_readings"]) == 3 * 96
    assert_accounting(a)
    a.close()
    b.close()


def warehouse_at(path: Path):
    from nengtan.warehouse import connect

    return connect(path)


def test_generated_city_accounts_for_every_row(tmp_path: Path, request, monkeypatch) -> None:
    """The shared generated city (with its injected faults): every row is loaded or quarantined."""
    generate = pytest.importorskip("nengtan.tools.generate")
    if not hasattr(generate, "generate_city"):
        pytest.skip("nengtan.tools.generate.generate_city is not written yet")
    city_landing: Path = request.getfixturevalue("city_landing")
    monkeypatch.setenv("NENGTAN_DATA", str(tmp_path / "data"))
    con = warehouse(tmp_path)
    days = sorted(p.name[5:] for p in (city_landing / "meter_readings").glob("date=*"))
    assert days, "the generator wrote no meter readings"
    summary = load_night(con, city_landing, date.fromisoformat(days[-1]), "city")
    assert summary.files_loaded > 0 and summary.rows_loaded > 0
    assert summary.rows_read == summary.rows_loaded + summary.rows_quarantined
    assert_accounting(con)
    # counts in load_log agree with physical data lines of every CSV
    for path, rows_read in con.execute(
            "SELECT path, rows_read FROM raw.load_log WHERE path LIKE '%.csv' AND status <> 'rejected'"
    ).fetchall():
        data = (city_landing / path).read_bytes()
        lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        assert rows_read == lines - 1, path
    # the generator's manifest names the faults it injected: the ones the door must stop
    # are quarantined at exactly their file and line; its GB18030 exports load as such
    manifest = city_landing / "_generator" / "manifest.json"
    if not manifest.exists():
        return
    faults = json.loads(manifest.read_text()).get("faults", [])
    quarantined = set(con.execute("SELECT path, line FROM raw.quarantine").fetchall())
    door = [f for f in faults if f.get("kind") in DOOR_KINDS]
    missed = [f for f in door if (f["file"], f["line"]) not in quarantined]
    assert missed == []
    encodings = dict(con.execute("SELECT path, encoding FROM raw.load_log").fetchall())
    for f in faults:
        if f.get("kind") == "gb18030_file" and f["file"] in encodings:
            assert encodings[f["file"]] == "gb18030", f["file"]


DOOR_KINDS = {"misaligned_interval", "malformed_timestamp", "malformed_register", "unknown_meter"}


def test_new_sources_through_staging_latest_wins(tmp_path: Path, monkeypatch) -> None:
    """Real loads of the new sources and columns, then the real `dbt build --select staging` (models, data
    tests, unit tests) on them: late and corrected files resolved as the contract says."""
    from nengtan.config import settings
    from nengtan.transform import run_dbt
    from nengtan.warehouse import connect, ensure_raw_schema

    monkeypatch.setenv("NENGTAN_DATA", str(tmp_path / "data"))
    cfg = settings()
    cfg.ensure_dirs()
    landing = tmp_path / "landing"
    write(landing, "registry/enterprises.csv",
          "credit_code,name_zh,name_en,park_id,industry_code,key_energy_user,ets_covered,contact_email,"
          f"industry_class\n{CC1},水泥,Cement,P01,30,true,true,a@x.cn,3011\n", datetime(2026, 1, 1))
    write(landing, "registry/meters.csv",
          "meter_id,credit_code,energy_type,unit,multiplier,register_max,register_at_install,installed_at,"
          "removed_at,replaces_meter_id,steam_pressure_mpa,steam_temperature_c\n"
          f"S1,{CC1},steam,t,1,100000,0,2025-01-01T00:00:00+08:00,,,1.0,\n"
          f"S2,{CC1},steam,t,1,100000,0,2025-01-01T00:00:00+08:00,,,,\n", datetime(2026, 1, 1))
    ets = ("credit_code,year,sector,verified_emissions_tco2,allowances_allocated_t,allowances_surrendered_t,"
           "ccer_surrendered_t,compliance_deadline\n")
    write(landing, "ets/year=2025/a.csv", ets + f"{CC1},2025,cement,1000,900,100,,2026-12-31\n",
          datetime(2026, 2, 1))
    write(landing, "ets/year=2025/b.csv", ets + f"{CC1},2025,cement,1000,900,950,40,2026-12-31\n",
          datetime(2026, 2, 20))
    weather = "district,date,temp_mean_c,temp_min_c,temp_max_c\n"
    write(landing, "weather/date=2026-03-01/night.csv", weather + "新吴区,2026-03-01,5,1,9\n", datetime(2026, 3, 2, 1))
    write(landing, "weather/date=2026-03-01/corrected.csv", weather + "新吴区,2026-03-01,5.5,1,9\n",
          datetime(2026, 3, 2, 9))
    projects = ("project_id,credit_code,name_zh,name_en,kind,measure,meter_ids,baseline_start,baseline_end,"
                "commissioned_on,expected_annual_savings_tce,approved_annual_energy_tce,status,updated_at\n")
    write(landing, "projects/feb.csv", projects + f"P1,{CC1},余热,WHR,retrofit,waste_heat_recovery,S1,2025-01-01,"
          "2025-12-31,2026-02-01,300,,commissioned,2026-02-02T09:00:00+08:00\n", datetime(2026, 2, 3))
    write(landing, "projects/resent.csv", projects + f"P1,{CC1},余热,WHR,retrofit,waste_heat_recovery,S1,2025-01-01,"
          "2025-12-31,,300,,planned,2025-11-02T09:00:00+08:00\n", datetime(2026, 2, 10))
    con = connect(cfg.warehouse_db)
    ensure_raw_schema(con)
    summary = load_night(con, landing, D1, "stg")
    assert summary.rows_quarantined == 0 and summary.rows_loaded == 9
    assert_accounting(con)
    con.close()

    counts = run_dbt(["build", "--select", "staging"], cfg=cfg)
    assert counts["tests_failed"] == 0 and counts["unit_tests"] >= 10

    con = connect(cfg.warehouse_db, read_only=True)
    try:
        assert con.execute("SELECT allowances_surrendered_t, ccer_surrendered_t FROM staging.stg_raw__ets"
                           ).fetchall() == [(950, 40)]
        assert con.execute("SELECT day, temp_mean_c FROM staging.stg_raw__weather").fetchall() == [
            (D1, Decimal("5.5"))]
        assert con.execute("SELECT status, version_number FROM staging.stg_raw__projects").fetchall() == [
            ("commissioned", 2)]
        assert con.execute("SELECT count(*) FROM staging.stg_raw__project_versions").fetchone()[0] == 2
        assert con.execute("SELECT project_id, meter_id, position FROM staging.stg_raw__project_meters"
                           ).fetchall() == [("P1", "S1", 1)]
        steam = dict(con.execute("SELECT meter_id, steam_enthalpy_kj_kg FROM staging.stg_raw__meters").fetchall())
        assert steam["S1"] == pytest.approx(2777.12, abs=0.01) and steam["S2"] is None
        assert con.execute("SELECT industry_class FROM staging.stg_raw__enterprises").fetchall() == [("3011",)]
    finally:
        con.close()
