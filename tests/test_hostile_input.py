"""Hostile input next to good files: each bad file or row gets a clear reason in raw.quarantine (file,
line, cause), every row is accounted for, the good files still load, and nothing from a file is ever
pasted into SQL. Cases already covered by test_ingest_rules.py (empty, truncated gzip, garbage, headers,
BOM/CRLF, NaN/inf/1e309/-0 rows, +05:30 and Z offsets) are not repeated here."""

from __future__ import annotations

import os
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from test_ingest_support import (
    CC1,
    READINGS_HEADER,
    assert_accounting,
    landing_env,
    readings_csv,
    write,
    write_meters,
)

from nengtan.ingest import load_declarations, load_ets, load_meter_readings, load_registry, load_weather

DAY = date(2026, 3, 1)
LANDED = datetime(2026, 3, 2, 1, 0)
PART = "meter_readings/date=2026-03-01"
GOOD_ROWS = ["M1,2026-03-01T00:00:00+08:00,1,ok", "M1,2026-03-01T00:15:00+08:00,2,ok"]
SQL_ID = "x'); DROP TABLE raw.meter_readings; --"


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    landing, con = landing_env(tmp_path, monkeypatch)
    write_meters(landing, ["M1", "M2"])
    load_registry(con, landing, "test")
    write(landing, f"{PART}/good.csv", readings_csv(GOOD_ROWS), LANDED)
    yield landing, con
    con.close()


def quarantined(con, rel: str) -> dict[int, str]:
    return dict(con.execute("SELECT q.line, q.reason FROM raw.quarantine q WHERE q.path = ? ORDER BY q.line",
                            [rel]).fetchall())


def log_row(con, rel: str) -> tuple:
    return con.execute("SELECT status, rows_read, rows_loaded, rows_quarantined, error FROM raw.load_log "
                       "WHERE path = ?", [rel]).fetchone()


def assert_good_file_loaded(con) -> None:
    row = log_row(con, f"{PART}/good.csv")
    assert row[:4] == ("loaded", 2, 2, 0)
    assert con.execute("SELECT count(*) FROM raw.meter_readings r JOIN raw.load_log l USING (file_id) "
                       "WHERE l.path = ?", [f"{PART}/good.csv"]).fetchone()[0] == 2
    assert_accounting(con)


def test_line_of_several_megabytes(env) -> None:
    landing, con = env
    rel = f"{PART}/huge.csv"
    huge = "M1,2026-03-01T00:30:00+08:00," + "9" * (4 * 1024 * 1024) + ",ok"
    write(landing, rel, readings_csv(["M2,2026-03-01T00:00:00+08:00,1,ok", huge,
                                      "M2,2026-03-01T00:15:00+08:00,2,ok"]), LANDED)
    load_meter_readings(con, landing, DAY, "test")
    q = quarantined(con, rel)
    assert list(q) == [3]
    assert q[3].startswith(f"{rel}:3: ") and "register_end" in q[3]
    assert len(q[3]) < 2000  # the reason stays readable; the raw text is kept separately
    assert log_row(con, rel)[:4] == ("partial", 3, 2, 1)
    assert_good_file_loaded(con)


def test_wrong_delimiter_is_rejected_with_reason(env) -> None:
    landing, con = env
    rel = f"{PART}/semi.csv"
    write(landing, rel, READINGS_HEADER.replace(",", ";") + "\n"
          + "\n".join(r.replace(",", ";") for r in GOOD_ROWS) + "\n", LANDED)
    load_meter_readings(con, landing, DAY, "test")
    status, read, loaded, _, error = log_row(con, rel)
    assert loaded == 0 and rel in error and "missing required column" in error
    assert status == "rejected"
    q = quarantined(con, rel)
    assert list(q) == [0] and "missing required column" in q[0]
    assert_good_file_loaded(con)


def test_offsets_converted_to_local_and_future_rows_quarantined(env) -> None:
    landing, con = env
    rel = f"{PART}/utc.csv"
    write(landing, rel, readings_csv([
        "M2,2026-02-28T16:00:00+00:00,5,ok",  # = 2026-03-01 00:00 local
        "M2,2026-02-28T16:15:00Z,6,ok",
        "M2,2026-03-01T00:30:00-05:00,7,ok",  # = 2026-03-01 13:30 local
        "M2,2099-01-01T00:00:00+08:00,8,ok",  # the future
    ]), LANDED)
    load_meter_readings(con, landing, DAY, "test")
    rows = con.execute("SELECT interval_start, reading_day FROM raw.meter_readings WHERE meter_id = 'M2' "
                       "ORDER BY interval_start").fetchall()
    assert rows == [(datetime(2026, 3, 1, 0, 0), DAY), (datetime(2026, 3, 1, 0, 15), DAY),
                    (datetime(2026, 3, 1, 13, 30), DAY)]
    q = quarantined(con, rel)
    assert set(q) == {5}
    assert all("is in the future" in q[line] and q[line].startswith(f"{rel}:{line}: ") for line in q)
    assert log_row(con, rel)[:4] == ("partial", 4, 3, 1)
    assert_good_file_loaded(con)


def test_numbers_that_are_not_numbers(env) -> None:
    landing, con = env
    rel = f"{PART}/numbers.csv"
    write(landing, rel, readings_csv([
        "M2,2026-03-01T00:00:00+08:00,1e309,ok",
        "M2,2026-03-01T00:15:00+08:00,NaN,ok",
        "M2,2026-03-01T00:30:00+08:00,-0,ok",
        "M2,2026-03-01T00:45:00+08:00,-1e309,ok",
        "M2,2026-03-01T01:00:00+08:00,1e-400,ok",  # underflows to 0: a valid (if odd) zero
    ]), LANDED)
    load_meter_readings(con, landing, DAY, "test")
    q = quarantined(con, rel)
    assert set(q) == {2, 3, 5}
    assert "not a finite number" in q[2] and "not a number (NaN)" in q[3] and "not a finite number" in q[5]
    values = con.execute("SELECT source_line, register_end FROM raw.meter_readings WHERE meter_id = 'M2' "
                         "ORDER BY source_line").fetchall()
    assert [(line, str(v)) for line, v in values] == [(4, "0.0000"), (6, "0.0000")]
    assert_good_file_loaded(con)


@pytest.mark.parametrize("name", ["gw P01 02.csv", "a..b.csv", " lead and trail .csv", "x'; DROP TABLE raw.load_log; --.csv"])
def test_odd_file_names_load_under_their_own_name(env, name: str) -> None:
    landing, con = env
    rel = f"{PART}/{name}"
    write(landing, rel, readings_csv(["M2,2026-03-01T00:00:00+08:00,1,ok", "M2,2026-03-01T00:15:00+08:00,x,ok"]),
          LANDED)
    load_meter_readings(con, landing, DAY, "test")
    assert log_row(con, rel)[:4] == ("partial", 2, 1, 1)
    q = quarantined(con, rel)
    assert list(q) == [3] and q[3].startswith(f"{rel}:3: ")
    paths = {p for (p,) in con.execute("SELECT path FROM raw.load_log WHERE source = 'meter_readings'").fetchall()}
    assert paths == {f"{PART}/good.csv", rel}
    assert_good_file_loaded(con)


def test_no_path_escapes_the_landing_root(env, tmp_path: Path) -> None:
    landing, con = env
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = write(outside, "secret.csv", readings_csv(["M2,2026-03-01T00:00:00+08:00,1,ok"]), LANDED)
    os.symlink(secret, landing / PART / "link.csv")  # a file that points outside
    os.symlink(outside, landing / "meter_readings" / "date=2026-02-28")  # a partition that points outside
    write(landing, f"{PART}/..csv", readings_csv(["M2,2026-03-01T00:00:00+08:00,1,ok"]), LANDED)  # hidden
    load_meter_readings(con, landing, DAY, "test")
    paths = [p for (p,) in con.execute("SELECT path FROM raw.load_log").fetchall()]
    assert all(not p.startswith(("/", "..")) and "/../" not in p for p in paths)
    assert f"{PART}/link.csv" not in paths and not any(p.startswith("meter_readings/date=2026-02-28") for p in paths)
    assert con.execute("SELECT count(*) FROM raw.meter_readings WHERE meter_id = 'M2'").fetchone()[0] == 0
    assert_good_file_loaded(con)


def test_ids_that_look_like_sql_are_data(env) -> None:
    landing, con = env
    rel = f"{PART}/sql.csv"
    quoted = '"' + SQL_ID.replace('"', '""') + '"'
    write(landing, rel, readings_csv([f"{quoted},2026-03-01T00:00:00+08:00,1,ok",
                                      "M2,2026-03-01T00:00:00+08:00,1,ok"]), LANDED)
    # the same id in the registry: stored verbatim
    write_meters(landing, ["M1", "M2", SQL_ID], LANDED)
    load_registry(con, landing, "test2")
    load_meter_readings(con, landing, DAY, "test")
    tables = {t for (t,) in con.execute("SELECT table_name FROM information_schema.tables "
                                        "WHERE table_schema = 'raw'").fetchall()}
    assert {"meter_readings", "load_log", "quarantine", "meters"} <= tables
    assert con.execute("SELECT count(*) FROM raw.meters WHERE meter_id = ?", [SQL_ID]).fetchone()[0] == 1
    stored = con.execute("SELECT meter_id FROM raw.meter_readings r JOIN raw.load_log l USING (file_id) "
                         "WHERE l.path = ? ORDER BY source_line", [rel]).fetchall()
    assert stored == [(SQL_ID,), ("M2",)]
    assert_good_file_loaded(con)


def test_sql_id_not_in_registry_is_quarantined_verbatim(env) -> None:
    landing, con = env
    rel = f"{PART}/sql.csv"
    quoted = '"' + SQL_ID + '"'
    write(landing, rel, readings_csv([f"{quoted},2026-03-01T00:00:00+08:00,1,ok"]), LANDED)
    load_meter_readings(con, landing, DAY, "test")
    reason, raw_text = con.execute("SELECT reason, raw_text FROM raw.quarantine WHERE path = ?", [rel]).fetchone()
    assert f"meter_id '{SQL_ID}' is not in the meter registry" in reason
    assert SQL_ID in raw_text
    assert con.execute("SELECT count(*) FROM raw.meter_readings").fetchone()[0] == 2
    assert_good_file_loaded(con)


def test_csv_cut_mid_row(env) -> None:
    landing, con = env
    rel = f"{PART}/cut.csv"
    full = readings_csv(["M2,2026-03-01T00:00:00+08:00,1,ok", "M2,2026-03-01T00:15:00+08:00,2,ok"])
    write(landing, rel, full[: full.rindex(",2,ok") + 2], LANDED)  # cut inside the last row, no newline
    load_meter_readings(con, landing, DAY, "test")
    q = quarantined(con, rel)
    assert list(q) == [3] and "expected 4 fields as in the header, found 3" in q[3]
    assert log_row(con, rel)[:4] == ("partial", 2, 1, 1)
    assert_good_file_loaded(con)


# --- the new sources and columns ---------------------------------------------------------------------

ETS_HEADER = ("credit_code,year,sector,verified_emissions_tco2,allowances_allocated_t,allowances_surrendered_t,"
              "ccer_surrendered_t,compliance_deadline")


def test_headers_by_name_in_any_order_with_unknown_extra_columns(env) -> None:
    landing, con = env
    rel = "weather/date=2026-03-01/wx.csv"
    write(landing, rel, "station,temp_max_c,date,temp_min_c,district,temp_mean_c,remark\n"
                        "58354,9.5,2026-03-01,1.5,新吴区,5.25,晴\n"
                        "58354,9.5,2026-03-01,1.5,滨湖区,5.25\n", LANDED)
    load_weather(con, landing, DAY, "test")
    assert con.execute("SELECT district, temp_mean_c, temp_min_c, temp_max_c FROM raw.weather").fetchall() == [
        ("新吴区", Decimal("5.25"), Decimal("1.5"), Decimal("9.5"))]
    assert "expected 7 fields as in the header, found 6" in quarantined(con, rel)[3]
    assert_accounting(con)


def test_gb18030_weather_and_semicolon_ets_next_to_good_files(env) -> None:
    landing, con = env
    write(landing, "weather/date=2026-03-01/gb.csv", "district,date,temp_mean_c,temp_min_c,temp_max_c\n"
          "梁溪区,2026-03-01,4,0,8\n", LANDED, encoding="gb18030")
    write(landing, "ets/year=2025/semi.csv", ETS_HEADER.replace(",", ";") + "\n"
          + f"{CC1};2025;power;1;1;0;0;2026-12-31\n", LANDED)
    write(landing, "ets/year=2025/good.csv", ETS_HEADER + f"\n{CC1},2025,power,1,1,0,0,2026-12-31\n", LANDED)
    load_weather(con, landing, DAY, "test")
    load_ets(con, landing, DAY, "test")
    assert con.execute("SELECT district FROM raw.weather").fetchall() == [("梁溪区",)]
    assert con.execute("SELECT encoding FROM raw.load_log WHERE source = 'weather'").fetchone() == ("gb18030",)
    assert log_row(con, "ets/year=2025/semi.csv")[0] == "rejected"
    assert "missing required column" in quarantined(con, "ets/year=2025/semi.csv")[0]
    assert log_row(con, "ets/year=2025/good.csv")[:4] == ("loaded", 1, 1, 0)
    assert_accounting(con)


def test_sql_looking_submission_id_in_a_refused_submission_is_data(env) -> None:
    landing, con = env
    rel = "declarations/month=2026-03/sql.csv"
    sub = '"' + SQL_ID.replace('"', '""') + '"'
    write(landing, rel, "credit_code,period,submission_id,submitted_at,item,quantity,unit\n"
          f"{CC1},2026-02,{sub},2026-03-01T09:00:00+08:00,lpg,1,t\n"
          f"{CC1},2026-02,{sub},2026-03-01T09:00:00+08:00,lpg_feedstock,3,t\n", LANDED)
    load_declarations(con, landing, DAY, "test")
    q = quarantined(con, rel)
    assert f"submission '{SQL_ID}' of {CC1} for 2026-02 refused as a whole" in q[2]
    assert "lpg_feedstock 3 t exceeds lpg 1 t" in q[3]
    assert con.execute("SELECT count(*) FROM raw.declarations").fetchone()[0] == 0
    assert_good_file_loaded_after(con, landing)


def test_steam_conditions_that_are_not_numbers(env) -> None:
    landing, con = env
    header = ("meter_id,credit_code,energy_type,unit,multiplier,register_max,register_at_install,installed_at,"
              "removed_at,replaces_meter_id,steam_pressure_mpa,steam_temperature_c")
    tail = "1,100000,0,2025-01-01T00:00:00+08:00,,"
    write(landing, "registry/meters.csv", "\n".join([
        header, f"M1,{CC1},electricity,kWh,{tail},,", f"M2,{CC1},electricity,kWh,{tail},,",
        f"S1,{CC1},steam,t,{tail},1e400,", f"S2,{CC1},steam,t,{tail},NaN,", f"S3,{CC1},steam,t,{tail},1.0,-inf",
        f"S4,{CC1},steam,t,{tail},0.000001,"]) + "\n", datetime(2026, 2, 1))
    load_registry(con, landing, "test2")
    q = quarantined(con, "registry/meters.csv")
    assert "steam_pressure_mpa '1e400' is not a finite number" in q[4]
    assert "steam_pressure_mpa 'NaN' is not a number (NaN)" in q[5]
    assert "steam_temperature_c '-inf' is not a finite number" in q[6]
    assert "steam_pressure_mpa 1e-06 is below the IAPWS-IF97 range" in q[7]
    assert_good_file_loaded_after(con, landing)


def assert_good_file_loaded_after(con, landing: Path) -> None:
    load_meter_readings(con, landing, DAY, "test")
    assert_good_file_loaded(con)
