"""Row and file rules at the door: every bad input gets its reason and its line number."""

from __future__ import annotations

import gzip
import io
import random
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_ingest_support import (
    CC1,
    CC2,
    METERS_HEADER,
    READINGS_HEADER,
    assert_accounting,
    cc,
    landing_env,
    readings_csv,
    snapshot,
    write,
    write_meters,
)

from nengtan.config import LOCAL_TZ, settings
from nengtan.ingest import (
    load_certificates,
    load_declarations,
    load_ets,
    load_meter_readings,
    load_projects,
    load_registry,
    load_targets,
    load_weather,
)

DAY = date(2026, 3, 1)
LANDED = datetime(2026, 3, 2, 1, 0)


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    landing, con = landing_env(tmp_path, monkeypatch)
    write_meters(landing, ["M1", "M2"])
    load_registry(con, landing, "test")
    yield landing, con
    con.close()


def quarantine(con, source: str) -> dict[int, str]:
    return dict(con.execute(
        "SELECT line, reason FROM raw.quarantine WHERE source = ? ORDER BY line", [source]).fetchall())


READING_CASES = [
    # (row text, expected reason fragment or None for a good row)
    ("M1,2026-03-01T00:00:00+08:00,10.5,ok", None),
    ("M1,2026-03-01T00:07:00+08:00,10.5,ok",
     "interval_start '2026-03-01T00:07:00+08:00' is not aligned to :00/:15/:30/:45"),
    ("M1,2026-03-01T00:15:30+08:00,10.5,ok", "has non-zero seconds"),
    ("M1,2026-03-01T00:15:00,10.5,ok", "is not an ISO-8601 timestamp with offset"),
    ("M1,2026-03-01T24:00:00+08:00,10.5,ok", "interval_start '2026-03-01T24:00:00+08:00' is not an ISO-8601"),
    ("M1,2026-02-28T24:00:00+08:00,10.5,ok", "is not an ISO-8601 timestamp with offset"),
    ("M1,2026-02-30T00:15:00+08:00,10.5,ok", "is not a valid date/time"),
    ("M1,2026-03-05T00:00:00+08:00,10.5,ok", "is in the future"),
    ("M1,2026-03-01T00:30:00+08:00,NaN,ok", "register_end 'NaN' is not a number (NaN)"),
    ("M1,2026-03-01T00:30:00+08:00,inf,ok", "register_end 'inf' is not a finite number"),
    ("M1,2026-03-01T00:30:00+08:00,1_000,ok", "register_end '1_000' is not a number"),
    ("M1,2026-03-01T00:30:00+08:00,1e309,ok", "register_end '1e309' is not a finite number"),
    ("M1,2026-03-01T00:30:00+08:00,-3,ok", "register_end '-3' must be at least 0"),
    ("M1,2026-03-01T00:30:00+08:00,abc,ok", "register_end 'abc' is not a number"),
    ("M1,2026-03-01T00:30:00+08:00,,ok", "register_end is empty"),
    ("M1,2026-03-01T00:30:00+08:00,5,bad", "quality 'bad' is not one of ok/estimated/error"),
    ("M9,2026-03-01T00:30:00+08:00,5,ok", "meter_id 'M9' is not in the meter registry"),
    ("M1,2026-03-01T00:30:00+08:00,5,ok,extra", "expected 4 fields as in the header, found 5"),
    ("M1,2026-03-01T00:30:00+08:00", "expected 4 fields as in the header, found 2"),
    ('M1,"2026-03-01T00:30:00+08:00,5,ok', "malformed CSV quoting"),
    ("", "empty line"),
    ("M1\x00,2026-03-01T00:30:00+08:00,5,ok", "is not in the meter registry"),  # NUL: that row only
    ("M1,2026-03-01T00:45:00+08:00,-0,estimated", None),
    ("M2,2026-03-01T00:15:00+05:30,7,error", None),  # 02:45 local
    ('"M2","2026-03-01T01:00:00Z","8",ok', None),  # 09:00 local, quoted fields
]


def test_each_bad_reading_gets_its_reason_and_line(env) -> None:
    landing, con = env
    rel = "meter_readings/date=2026-03-01/gw.csv"
    write(landing, rel, readings_csv([r for r, _ in READING_CASES]), LANDED)
    summary = load_meter_readings(con, landing, DAY, "test")
    got = quarantine(con, "meter_readings")
    for i, (row, expected) in enumerate(READING_CASES):
        line = i + 2  # header is line 1
        if expected is None:
            assert line not in got, (row, got.get(line))
        else:
            assert expected in got[line], (row, got.get(line))
            assert got[line].startswith(f"{rel}:{line}: ")
    raw_text = dict(con.execute("SELECT line, raw_text FROM raw.quarantine").fetchall())
    assert raw_text[3] == READING_CASES[1][0]
    good = con.execute("SELECT meter_id, interval_start, register_end, quality, source_line, reading_day "
                       "FROM raw.meter_readings ORDER BY source_line").fetchall()
    assert [g[4] for g in good] == [i + 2 for i, (_, e) in enumerate(READING_CASES) if e is None]
    assert str(good[1][2]) == "0.0000"  # '-0' becomes 0
    assert good[2][1] == datetime(2026, 3, 1, 2, 45)
    assert good[3][:2] == ("M2", datetime(2026, 3, 1, 9, 0))
    assert summary.rows_read == len(READING_CASES)
    assert summary.rows_loaded == 4
    assert summary.rows_read == summary.rows_loaded + summary.rows_quarantined
    landed = con.execute("SELECT landed_at, status FROM raw.load_log WHERE path = ?", [rel]).fetchone()
    assert landed == (LANDED, "partial")
    assert_accounting(con)


def test_bom_crlf_and_final_empty_line(env) -> None:
    landing, con = env
    text = readings_csv(["M1,2026-03-01T00:00:00+08:00,1,ok", "M1,2026-03-01T00:15:00+08:00,2,ok"])
    write(landing, "meter_readings/date=2026-03-01/bom.csv",
          b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode() + b"\r\n", LANDED)
    summary = load_meter_readings(con, landing, DAY, "test")
    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined) == (2, 2, 0)
    assert con.execute("SELECT encoding, status FROM raw.load_log WHERE source='meter_readings'"
                       ).fetchone() == ("utf-8", "loaded")


def test_gzip_and_parquet_readings(env) -> None:
    landing, con = env
    gz = gzip.compress(readings_csv(["M1,2026-03-01T00:00:00+08:00,1,ok",
                                     "M1,2026-03-01T00:03:00+08:00,1,ok"]).encode())
    write(landing, "meter_readings/date=2026-03-01/a.csv.gz", gz, LANDED)
    table = pa.table({
        "meter_id": ["M2", "M2", "M2"],
        "interval_start": pa.array([datetime(2026, 3, 1, 0, m, tzinfo=LOCAL_TZ) for m in (0, 15, 20)],
                                   pa.timestamp("s", tz="Asia/Shanghai")),
        "register_end": [1.0, float("nan"), 3.0],
        "quality": ["ok", "ok", "ok"],
    })
    buf = io.BytesIO()
    pq.write_table(table, buf)
    write(landing, "meter_readings/date=2026-03-01/b.parquet", buf.getvalue(), LANDED)
    load_meter_readings(con, landing, DAY, "test")
    q = con.execute("SELECT path, line, reason FROM raw.quarantine ORDER BY path, line").fetchall()
    assert [(p.rsplit("/", 1)[1], line) for p, line, _ in q] == [("a.csv.gz", 3), ("b.parquet", 3),
                                                                 ("b.parquet", 4)]
    assert "not a number" in q[1][2] and "not aligned" in q[2][2]
    rows = con.execute("SELECT meter_id, interval_start, register_end FROM raw.meter_readings "
                       "ORDER BY meter_id").fetchall()
    assert rows == [("M1", datetime(2026, 3, 1), 1), ("M2", datetime(2026, 3, 1), 1)]
    assert_accounting(con)


def _garbage() -> bytes:
    return random.Random(1).randbytes(3000)


UNREADABLE = [
    ("empty.csv", b"", "file is empty", 0),
    ("trunc.csv.gz", gzip.compress(readings_csv(["M1,2026-03-01T00:00:00+08:00,1,ok"] * 50).encode())[:60],
     "cannot decompress gzip", 0),
    ("garbage.csv", _garbage(), "neither valid UTF-8 nor GB18030", 0),
    ("latin.csv", (READINGS_HEADER + "\nM1,2026-03-01T00:00:00+08:00,1,ok\xff\xff\n").encode("latin-1"),
     "neither valid UTF-8 nor GB18030", 0),
    ("header.csv", b"meter,ts,value,quality\nM1,2026-03-01T00:00:00+08:00,1,ok\nM1,x,1,ok\n",
     "missing required column(s) meter_id, interval_start, register_end", 2),
    ("noheader.csv", b"\nM1,2026-03-01T00:00:00+08:00,1,ok\n", "header line is empty", 1),
    ("broken.parquet", b"PAR1 this is not parquet", "cannot read parquet", 0),
    ("notes.txt", b"hello\n", "unsupported file type", 0),
]


@pytest.mark.parametrize(("name", "content", "reason", "rows"), UNREADABLE, ids=[u[0] for u in UNREADABLE])
def test_unreadable_file_is_rejected_whole(env, name: str, content: bytes, reason: str, rows: int) -> None:
    landing, con = env
    rel = f"meter_readings/date=2026-03-01/{name}"
    write(landing, rel, content, LANDED)
    summary = load_meter_readings(con, landing, DAY, "test")
    assert summary.files_rejected == 1
    file_id, status, error, read, quarantined = con.execute(
        "SELECT file_id, status, error, rows_read, rows_quarantined FROM raw.load_log WHERE path = ?",
        [rel]).fetchone()
    assert status == "rejected" and reason in error and rel in error
    assert read == quarantined == rows
    q = con.execute("SELECT line, reason FROM raw.quarantine WHERE file_id = ?", [file_id]).fetchall()
    assert len(q) == 1 and q[0][0] == 0 and reason in q[0][1]
    copy = settings().quarantine_dir / file_id / name
    assert copy.read_bytes() == content
    assert con.execute("SELECT count(*) FROM raw.meter_readings").fetchone()[0] == 0
    assert_accounting(con)


def test_gb18030_registry_keeps_chinese(env) -> None:
    landing, con = env
    text = ("park_id,name_zh,name_en,district,contact_email\n"
            "P01,苏州工业园区能源中心,SIP Energy,姑苏区,p01@example.cn\n")
    write(landing, "registry/parks.csv", text, encoding="gb18030")
    ent = ("credit_code,name_zh,name_en,park_id,industry_code,key_energy_user,ets_covered,contact_email\n"
           f"{CC1},苏州电子有限公司,Suzhou Electronics,P01,39,true,false,a@example.cn\n"
           "91320500MA1MXA0B0X,坏代码,Bad Code,P01,39,maybe,false,b@example.cn\n"
           f"{CC2},好,Good,P01,39,TRUE,yes,c@example.cn\n")
    write(landing, "registry/enterprises.csv", ent, encoding="gb18030")
    load_registry(con, landing, "test")
    assert con.execute("SELECT name_zh, district FROM raw.parks").fetchall() == [("苏州工业园区能源中心", "姑苏区")]
    assert con.execute("SELECT encoding FROM raw.load_log WHERE source = 'registry_parks'"
                       ).fetchone()[0] == "gb18030"
    assert con.execute("SELECT name_zh, key_energy_user, ets_covered FROM raw.enterprises").fetchall() == [
        ("苏州电子有限公司", True, False)]
    q = quarantine(con, "registry_enterprises")
    assert "fails its check character" in q[3]
    assert "ets_covered 'yes' is not a boolean" in q[4]
    assert_accounting(con)


def test_meter_registry_rules(env) -> None:
    landing, con = env
    rows = [
        f"M1,{CC1},electricity,kWh,80,99999999,0,2025-01-01T00:00:00+08:00,,",
        f"M2,{CC1},natural_gas,kWh,1,99999999,0,2025-01-01T00:00:00+08:00,,",
        f"M3,{CC1},heat,GJ,0,99999999,0,2025-01-01T00:00:00+08:00,,",
        f"M4,{CC1},steam,t,1,-5,0,2025-01-01T00:00:00+08:00,,",
        f"M5,{CC1},water,m3,1,100,0,2025-01-01T00:00:00+08:00,,",
        f"M6,{CC1},steam,t,1,100,0,2025-01-01 00:00:00,,",
    ]
    header = ("meter_id,credit_code,energy_type,unit,multiplier,register_max,register_at_install,"
              "installed_at,removed_at,replaces_meter_id")
    write(landing, "registry/meters.csv", "\n".join([header, *rows]) + "\n", datetime(2026, 2, 1))
    summary = load_registry(con, landing, "test")
    assert summary.files_loaded == 1 and summary.files_skipped == 0
    q = quarantine(con, "registry_meters")  # the first version (fixture) was clean
    assert "unit 'kWh' does not match energy_type 'natural_gas' (expected 'm3')" in q[3]
    assert "multiplier '0' must be greater than 0" in q[4]
    assert "register_max '-5' must be greater than 0" in q[5]
    assert "energy_type 'water' is not one of" in q[6]
    assert "installed_at '2025-01-01 00:00:00' is not an ISO-8601 timestamp with offset" in q[7]
    # readings are checked against the registry in force, the rule of stg_raw__meters: M2's refused new row
    # leaves its last valid row (the fixture's) in force; M5 was never delivered valid, so it is unknown
    write(landing, "meter_readings/date=2026-03-01/a.csv",
          readings_csv(["M1,2026-03-01T00:00:00+08:00,1,ok", "M2,2026-03-01T00:00:00+08:00,1,ok",
                        "M5,2026-03-01T00:00:00+08:00,1,ok"]), LANDED)
    load_meter_readings(con, landing, DAY, "test")
    assert list(quarantine(con, "meter_readings")) == [4]
    assert "meter_id 'M5' is not in the meter registry" in quarantine(con, "meter_readings")[4]
    assert_accounting(con)


DECL_ROWS = [
    (f"{CC1},2026-02,S1,2026-03-01T09:00:00+08:00,electricity_purchased,1200.5,kWh", None),
    (f"{CC1},2026-02,S1,2026-03-01T09:00:00+08:00,product_output,30,台", None),
    (f"{CC1},2026-02,S1,2026-03-01T09:00:00+08:00,natural_gas,10,kWh",
     "unit 'kWh' does not match item 'natural_gas' (expected 'm3')"),
    (f"{CC1},2026-13,S1,2026-03-01T09:00:00+08:00,diesel,1,t", "period '2026-13' is not a month YYYY-MM"),
    (f"{CC1},2026-02,S1,2026-03-01T09:00:00+08:00,unicorns,1,t", "item 'unicorns' is not one of"),
    (f"{CC1},2026-02,S1,2026-03-01T09:00:00+08:00,diesel,lots,t", "quantity 'lots' is not a number"),
    ("12345,2026-02,S1,2026-03-01T09:00:00+08:00,diesel,1,t", "credit_code: credit code '12345' has 5"),
    # Chinese unit names on the forms are the same units: accepted, stored canonical.
    (f"{CC1},2026-02,S1,2026-03-01T09:00:00+08:00,value_added,523.75,万元", None),
    (f"{CC1},2026-02,S1,2026-03-01T09:00:00+08:00,natural_gas,88,立方米", None),
    (f"{CC1},2026-02,S1,2026-03-01T09:00:00+08:00,diesel,2,吨", None),
    (f"{CC1},2026-02,S1,2026-03-01T09:00:00+08:00,raw_coal,2,万元",
     "unit '万元' does not match item 'raw_coal' (expected 't')"),
]


def test_declaration_rules_csv(env) -> None:
    landing, con = env
    header = "credit_code,period,submission_id,submitted_at,item,quantity,unit"
    write(landing, "declarations/month=2026-03/d.csv",
          "\n".join([header, *[r for r, _ in DECL_ROWS]]) + "\n", LANDED)
    load_declarations(con, landing, DAY, "test")
    q = quarantine(con, "declarations")
    for i, (_, expected) in enumerate(DECL_ROWS):
        if expected is None:
            assert i + 2 not in q
        else:
            assert expected in q[i + 2]
    stored = con.execute("SELECT item, unit FROM raw.declarations ORDER BY source_line").fetchall()
    assert stored[1] == ("product_output", "台")
    assert stored[-3:] == [("value_added", "10k CNY"), ("natural_gas", "m3"), ("diesel", "t")]
    assert_accounting(con)


def test_xlsx_declaration_with_chinese_headers(env) -> None:
    landing, con = env
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["统一社会信用代码", "统计期", "申报编号", "申报时间", "项目", "数量", "计量单位"])
    ws.append([CC1, "2026-02", "S9", "2026-03-02T10:00:00+08:00", "value_added", 523.75, "10k CNY"])
    ws.append([CC1, "2026-02", "S9", "2026-03-02T10:00:00+08:00", "raw_coal", 12, "t"])
    ws.append([CC2, "2026-02", "S9", "2026-03-02T10:00:00+08:00", "raw_coal", "十二", "t"])
    buf = io.BytesIO()
    wb.save(buf)
    write(landing, "declarations/month=2026-03/申报.xlsx", buf.getvalue(), LANDED)
    summary = load_declarations(con, landing, DAY, "test")
    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined) == (3, 2, 1)
    rows = con.execute("SELECT credit_code, item, quantity, source_line FROM raw.declarations ORDER BY 4"
                       ).fetchall()
    assert [(r[1], float(r[2]), r[3]) for r in rows] == [("value_added", 523.75, 2), ("raw_coal", 12.0, 3)]
    assert "quantity '十二' is not a number" in quarantine(con, "declarations")[4]
    assert_accounting(con)


def test_certificates_and_targets(env) -> None:
    landing, con = env
    write(landing, "green_certificates/gec.csv", "\n".join([
        "certificate_id,project_id,generation_month,owner_credit_code,claimed_period,claimed_at",
        f"GEC1,PRJ1,2026-01,{CC1},2026-02,2026-02-10T08:00:00+08:00",
        f"GEC2,PRJ1,2026-01,{CC1},,",
        f"GEC3,PRJ1,2026/01,{CC1},,",
        f"GEC4,PRJ1,2026-01,{CC1},2026-02,",
    ]) + "\n", LANDED)
    write(landing, "targets/year=2026/t.csv", "\n".join([
        "level,entity_id,year,energy_budget_tce,carbon_budget_tco2,energy_intensity_target,"
        "carbon_intensity_target",
        "city,SZ,2026,100000,250000,0.35,0.8",
        "country,CN,2026,1,1,1,1",
        f"enterprise,{CC1},2026,500,,0.2,",
    ]) + "\n", LANDED)
    load_certificates(con, landing, DAY, "test")
    load_targets(con, landing, DAY, "test")
    q = quarantine(con, "green_certificates")
    assert "generation_month '2026/01' is not a month YYYY-MM" in q[4]
    assert "claimed_period '2026-02' is set but claimed_at is empty" in q[5]
    assert "level 'country' is not one of enterprise/park/city" in quarantine(con, "targets")[3]
    assert con.execute("SELECT count(*) FROM raw.green_certificates").fetchone()[0] == 2
    assert con.execute("SELECT entity_id, carbon_budget_tco2 FROM raw.targets ORDER BY source_line"
                       ).fetchall()[1] == (CC1, None)
    assert_accounting(con)


# --- the contract's optional columns, new items and new sources -------------------------------------

ENT_HEADER = "credit_code,name_zh,name_en,park_id,industry_code,key_energy_user,ets_covered,contact_email"
CERT_HEADER = "certificate_id,project_id,generation_month,owner_credit_code,claimed_period,claimed_at"
TARGET_HEADER = ("level,entity_id,year,energy_budget_tce,carbon_budget_tco2,energy_intensity_target,"
                 "carbon_intensity_target")
DECL_HEADER = "credit_code,period,submission_id,submitted_at,item,quantity,unit"
ETS_HEADER = ("credit_code,year,sector,verified_emissions_tco2,allowances_allocated_t,allowances_surrendered_t,"
              "ccer_surrendered_t,compliance_deadline")
PROJECT_HEADER = ("project_id,credit_code,name_zh,name_en,kind,measure,meter_ids,baseline_start,baseline_end,"
                  "commissioned_on,expected_annual_savings_tce,approved_annual_energy_tce,status,updated_at")
WEATHER_HEADER = "district,date,temp_mean_c,temp_min_c,temp_max_c"
SUBMITTED = "2026-03-01T09:00:00+08:00"


def csv_text(header: str, rows: list[str]) -> str:
    return "\n".join([header, *rows]) + "\n"


def check_cases(con, source: str, rel: str, cases: list[tuple[str, str | None]]) -> dict[int, str]:
    """Each case's line is quarantined with its reason (prefixed by file and line) or loaded."""
    q = quarantine(con, source)
    for i, (row, expected) in enumerate(cases):
        line = i + 2
        if expected is None:
            assert line not in q, (row, q.get(line))
        else:
            assert line in q, (row, expected)
            assert expected in q[line], (row, q[line])
            assert q[line].startswith(f"{rel}:{line}: ")
    assert_accounting(con)
    return q


def test_older_exports_without_the_optional_columns_load(env) -> None:
    """Files written before the contract gained its optional columns: valid, values empty."""
    landing, con = env
    write(landing, "registry/enterprises.csv", csv_text(ENT_HEADER, [f"{CC1},甲,A,P01,30,true,false,a@x.cn"]))
    write(landing, "registry/meters.csv", csv_text(
        "meter_id,credit_code,energy_type,unit,multiplier,register_max,register_at_install,installed_at,"
        "removed_at,replaces_meter_id", [f"S1,{CC1},steam,t,1,100000,0,2025-01-01T00:00:00+08:00,,"]),
        datetime(2026, 2, 1))
    write(landing, "green_certificates/gec.csv", csv_text(CERT_HEADER, [f"G1,PRJ,2026-01,{CC1},2026-02,"
                                                                        "2026-02-10T08:00:00+08:00"]), LANDED)
    write(landing, "targets/year=2026/t.csv", csv_text(TARGET_HEADER, ["city,SZ,2026,1,2,3,4"]), LANDED)
    write(landing, "projects/p.csv", csv_text(PROJECT_HEADER, [  # no approved_annual_co2_t
        f"NF1,{CC1},新厂,New plant,new_facility,process,S1,,,2026-01-05,,5000,commissioned,"
        "2026-01-06T10:00:00+08:00"]), LANDED)
    summary = load_registry(con, landing, "test")
    for fn in (load_certificates, load_targets, load_projects):
        summary.merge(fn(con, landing, DAY, "test"))
    assert summary.files_rejected == 0 and summary.rows_quarantined == 0
    assert summary.rows_loaded == summary.rows_read == 5
    assert con.execute("SELECT industry_class FROM raw.enterprises").fetchall() == [(None,)]
    assert con.execute("SELECT steam_pressure_mpa, steam_temperature_c, steam_enthalpy_kj_kg FROM raw.meters "
                       "WHERE meter_id = 'S1'").fetchall() == [(None, None, None)]
    assert con.execute("SELECT trade_type, trade_id FROM raw.green_certificates").fetchall() == [(None, None)]
    assert con.execute("SELECT base_year, energy_intensity_reduction_pct, carbon_intensity_reduction_pct "
                       "FROM raw.targets").fetchall() == [(None, None, None)]
    assert con.execute("SELECT approved_annual_energy_tce, approved_annual_co2_t FROM raw.projects"
                       ).fetchall() == [(5000, None)]
    assert_accounting(con)


def test_a_missing_required_column_still_rejects_the_file(env) -> None:
    landing, con = env
    write(landing, "ets/year=2025/e.csv", csv_text(ETS_HEADER.replace(",sector", ""), [
        f"{CC1},2025,1,1,1,1,2026-12-31"]), LANDED)
    summary = load_ets(con, landing, DAY, "test")
    assert summary.files_rejected == 1
    assert "missing required column(s) sector" in quarantine(con, "ets")[0]
    assert_accounting(con)


ENT_CASES = [
    (f"{CC1},甲,A,P01,30,true,true,a@x.cn,3011", None),
    (f"{CC2},乙,B,P01,,true,false,b@x.cn,4411", None),  # class without division: fine
    (f"{cc('91320500MA1MXA0B2')},丙,C,P01,31,true,false,c@x.cn,", None),
    (f"{cc('91320500MA1MXA0B3')},丁,D,P01,30,true,false,d@x.cn,301",
     "industry_class '301' is not a GB/T 4754 four-digit class"),
    (f"{cc('91320500MA1MXA0B4')},戊,E,P01,30,true,false,e@x.cn,30A1",
     "industry_class '30A1' is not a GB/T 4754 four-digit class"),
    (f"{cc('91320500MA1MXA0B5')},己,F,P01,32,true,false,f@x.cn,3011",
     "industry_class '3011' is not in industry_code '32'"),
]


def test_enterprise_industry_class(env) -> None:
    landing, con = env
    write(landing, "registry/enterprises.csv", csv_text(ENT_HEADER + ",industry_class",
                                                        [r for r, _ in ENT_CASES]))
    load_registry(con, landing, "test")
    check_cases(con, "registry_enterprises", "registry/enterprises.csv", ENT_CASES)
    assert con.execute("SELECT industry_class FROM raw.enterprises ORDER BY source_line").fetchall() == [
        ("3011",), ("4411",), (None,)]


STEAM_HEADER = METERS_HEADER + ",steam_temperature_c,steam_pressure_mpa"  # any column order
_M = f"{CC1},steam,t,1,100000,0,2025-01-01T00:00:00+08:00,,"
STEAM_CASES = [
    (f"S1,{_M},,1.0", None),  # saturated at 1.0 MPa
    (f"S2,{_M},250,1.0", None),  # superheated
    (f"S3,{_M},,", None),  # no conditions: the default applies downstream
    (f"S4,{_M},,0", "steam_pressure_mpa 0 is impossible"),
    (f"S5,{_M},,-0.3", "steam_pressure_mpa -0.3 is impossible"),
    (f"S6,{_M},,1000", "steam_pressure_mpa 1000 is outside the IAPWS-IF97 range"),
    (f"S7,{_M},200,", "steam_temperature_c 200 given without steam_pressure_mpa"),
    (f"S8,{_M},150,1.0", "steam_temperature_c 150 is below the saturation temperature 179.89 °C at "
                         "steam_pressure_mpa 1: that is water, not steam"),
    (f"S9,{_M},900,1.0", "steam_temperature_c 900 is above 800 °C"),
    (f"H1,{CC1},heat,GJ,1,100000,0,2025-01-01T00:00:00+08:00,,,,0.8",
     "steam_pressure_mpa 0.8 given on a meter of energy_type 'heat'"),
    (f"S10,{_M},,abc", "steam_pressure_mpa 'abc' is not a number"),
]


def test_steam_conditions_checked_and_enthalpy_derived(env) -> None:
    landing, con = env
    write(landing, "registry/meters.csv", csv_text(STEAM_HEADER, [r for r, _ in STEAM_CASES]), datetime(2026, 2, 1))
    load_registry(con, landing, "test")
    check_cases(con, "registry_meters", "registry/meters.csv", STEAM_CASES)
    got = dict(con.execute("SELECT meter_id, steam_enthalpy_kj_kg FROM raw.meters WHERE energy_type = 'steam'"
                           ).fetchall())
    assert got["S1"] == pytest.approx(2777.12, abs=0.01)
    assert got["S2"] == pytest.approx(2943.22, abs=0.01)
    assert got["S3"] is None
    assert con.execute("SELECT steam_pressure_mpa, steam_temperature_c FROM raw.meters WHERE meter_id = 'S2'"
                       ).fetchone() == (1, 250)
    # the readings of a meter whose registry row was refused say where to look
    write(landing, "meter_readings/date=2026-03-01/s.csv",
          readings_csv(["S1,2026-03-01T00:00:00+08:00,1,ok", "S4,2026-03-01T00:00:00+08:00,1,ok"]), LANDED)
    load_meter_readings(con, landing, DAY, "test")
    assert "a row quarantined there, e.g. for impossible steam conditions" in quarantine(con, "meter_readings")[3]
    assert_accounting(con)


DECL_NEW_CASES = [
    # every new item with its unit loads
    *((f"{CC1},2026-02,S1,{SUBMITTED},{item},1,{unit}", None) for item, unit in [
        ("electricity_exported", "kWh"), ("heat_exported", "GJ"), ("steam_exported", "t"),
        ("process_emissions_tco2", "t"), ("raw_coal_stock_end", "t"), ("diesel_stock_end", "t"),
        ("gasoline_stock_end", "t"), ("fuel_oil_stock_end", "t"), ("lpg_stock_end", "t")]),
    (f"{CC1},2026-02,S1,{SUBMITTED},raw_coal,100,t", None),
    (f"{CC1},2026-02,S1,{SUBMITTED},raw_coal_feedstock,100,t", None),  # all of it: allowed
    (f"{CC1},2026-02,S1,{SUBMITTED},natural_gas,500,m3", None),
    (f"{CC1},2026-02,S1,{SUBMITTED},natural_gas_feedstock,120.5,立方米", None),
    (f"{CC1},2026-02,S1,{SUBMITTED},heat_exported,5,t", "unit 't' does not match item 'heat_exported' (expected 'GJ')"),
    (f"{CC1},2026-02,S1,{SUBMITTED},diesel,-2,t", "quantity '-2' must be at least 0"),
    (f"{CC1},2026-02,S1,{SUBMITTED},coal_gangue,1,t",
     "item 'coal_gangue' is not one of electricity_purchased/"),
]


def test_new_declaration_items_and_row_rules(env) -> None:
    landing, con = env
    rel = "declarations/month=2026-03/d.csv"
    write(landing, rel, csv_text(DECL_HEADER, [r for r, _ in DECL_NEW_CASES]), LANDED)
    load_declarations(con, landing, DAY, "test")
    q = check_cases(con, "declarations", rel, DECL_NEW_CASES)
    unknown = q[len(DECL_NEW_CASES) + 1]
    for item in ("raw_coal_feedstock", "process_emissions_tco2", "lpg_stock_end", "electricity_exported"):
        assert item in unknown  # the reason lists what is accepted
    assert con.execute("SELECT quantity, unit FROM raw.declarations WHERE item = 'natural_gas_feedstock'"
                       ).fetchone() == (Decimal("120.5"), "m3")


FEED_CASES = [
    # S1: raw_coal_feedstock above raw_coal -> the whole submission is refused
    (f"{CC1},2026-02,S1,{SUBMITTED},raw_coal,100,t",
     f"submission 'S1' of {CC1} for 2026-02 refused as a whole (it would replace the earlier submission as a "
     "whole): line 4: raw_coal_feedstock 120 t exceeds raw_coal 100 t"),
    (f"{CC1},2026-02,S1,{SUBMITTED},value_added,50,10k CNY", "line 4: raw_coal_feedstock 120 t exceeds"),
    (f"{CC1},2026-02,S1,{SUBMITTED},raw_coal_feedstock,120,t",
     "raw_coal_feedstock 120 t exceeds raw_coal 100 t of the same submission"),
    # S2 (another enterprise, same file): within its fuel, loads
    (f"{CC2},2026-02,S2,{SUBMITTED},fuel_oil,3,t", None),
    (f"{CC2},2026-02,S2,{SUBMITTED},fuel_oil_feedstock,2.5,t", None),
    (f"{CC2},2026-02,S2,{SUBMITTED},lpg,1,t", None),
    # S3: feedstock without its fuel at all
    (f"{CC2},2026-01,S3,{SUBMITTED},lpg_feedstock,0.5,t",
     "lpg_feedstock 0.5 t exceeds lpg (no valid lpg row) of the same submission"),
    (f"{CC2},2026-01,S3,{SUBMITTED},value_added,9,10k CNY", "refused as a whole"),
    # S4: the fuel row itself is bad (quarantined for its own reason): its feedstock has no fuel
    (f"{CC2},2025-12,S4,{SUBMITTED},natural_gas,100,t", "unit 't' does not match item 'natural_gas'"),
    (f"{CC2},2025-12,S4,{SUBMITTED},natural_gas_feedstock,10,m3",
     "natural_gas_feedstock 10 m3 exceeds natural_gas (no valid natural_gas row)"),
    # S5: a zero feedstock without the fuel is no contradiction
    (f"{CC2},2025-11,S5,{SUBMITTED},raw_coal_feedstock,0,t", None),
]


def test_feedstock_above_its_fuel_refuses_the_submission(env) -> None:
    landing, con = env
    rel = "declarations/month=2026-03/d.csv"
    write(landing, rel, csv_text(DECL_HEADER, [r for r, _ in FEED_CASES]), LANDED)
    summary = load_declarations(con, landing, DAY, "test")
    check_cases(con, "declarations", rel, FEED_CASES)
    assert (summary.rows_read, summary.rows_loaded) == (len(FEED_CASES), 4)
    assert con.execute("SELECT DISTINCT submission_id FROM raw.declarations ORDER BY 1").fetchall() == [
        ("S2",), ("S5",)]


def test_feedstock_rule_in_the_xlsx_form(env) -> None:
    landing, con = env
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["统一社会信用代码", "统计期", "申报编号", "申报时间", "项目", "数量", "计量单位"])
    ws.append([CC1, "2026-02", "X1", SUBMITTED, "fuel_oil", 2, "吨"])
    ws.append([CC1, "2026-02", "X1", SUBMITTED, "fuel_oil_feedstock", 2.5, "吨"])
    ws.append([CC2, "2026-02", "X2", SUBMITTED, "lpg", 2, "t"])
    ws.append([CC2, "2026-02", "X2", SUBMITTED, "lpg_feedstock", 1, "t"])
    ws.append([CC2, "2026-02", "X2", SUBMITTED, "steam_exported", -1, "t"])
    buf = io.BytesIO()
    wb.save(buf)
    rel = "declarations/month=2026-03/申报.xlsx"
    write(landing, rel, buf.getvalue(), LANDED)
    summary = load_declarations(con, landing, DAY, "test")
    assert (summary.rows_read, summary.rows_loaded, summary.rows_quarantined) == (5, 2, 3)
    q = quarantine(con, "declarations")
    assert "fuel_oil_feedstock 2.5 t exceeds fuel_oil 2 t" in q[3] and q[3].startswith(f"{rel}:3: ")
    assert "submission 'X1'" in q[2] and "line 3" in q[2]
    assert "quantity '-1' must be at least 0" in q[6]
    assert_accounting(con)


CERT_CASES = [
    (f"G1,PRJ,2026-01,{CC1},2026-02,2026-02-10T08:00:00+08:00,green_power,T-1", None),
    (f"G2,PRJ,2026-01,{CC1},2026-02,2026-02-10T08:00:00+08:00,green_power,", None),
    (f"G3,PRJ,2026-01,{CC1},2026-02,2026-02-10T08:00:00+08:00,standalone,", None),
    (f"G4,PRJ,2026-01,{CC1},2026-02,2026-02-10T08:00:00+08:00,,", None),  # empty = standalone
    (f"G5,PRJ,2026-01,{CC1},,,bundled,", "trade_type 'bundled' is not one of green_power/standalone"),
    (f"G6,PRJ,2026-01,{CC1},,,standalone,T-2",
     "trade_id 'T-2' is set but trade_type is 'standalone': a certificate that came with a green-power trade"),
    (f"G7,PRJ,2026-01,{CC1},,,,T-3", "trade_id 'T-3' is set but trade_type is empty (= standalone)"),
]


def test_certificate_trade_type(env) -> None:
    landing, con = env
    rel = "green_certificates/gec.csv"
    write(landing, rel, csv_text(CERT_HEADER + ",trade_type,trade_id", [r for r, _ in CERT_CASES]), LANDED)
    load_certificates(con, landing, DAY, "test")
    check_cases(con, "green_certificates", rel, CERT_CASES)
    assert con.execute("SELECT certificate_id, trade_type, trade_id FROM raw.green_certificates ORDER BY 1"
                       ).fetchall() == [("G1", "green_power", "T-1"), ("G2", "green_power", None),
                                        ("G3", "standalone", None), ("G4", None, None)]


TARGET_CASES = [
    ("city,SZ,2026,,,,,2020,13.5,18", None),
    ("park,P01,2026,100,,,,,,", None),
    ("city,SZ,2027,,,,,2027,3,", "base_year '2027' is not before year 2027"),
    ("city,SZ,2028,,,,,2020,100,", "energy_intensity_reduction_pct '100' must be below 100"),
    ("city,SZ,2029,,,,,,,18", "a reduction target (carbon_intensity_reduction_pct 18) needs its base_year"),
    ("city,SZ,2030,,,,,20x0,,", "base_year '20x0' is not a year YYYY"),
]


def test_target_base_year_and_reductions(env) -> None:
    landing, con = env
    rel = "targets/year=2026/t.csv"
    write(landing, rel, csv_text(TARGET_HEADER + ",base_year,energy_intensity_reduction_pct,"
                                 "carbon_intensity_reduction_pct", [r for r, _ in TARGET_CASES]), LANDED)
    load_targets(con, landing, DAY, "test")
    check_cases(con, "targets", rel, TARGET_CASES)
    assert con.execute("SELECT base_year, energy_intensity_reduction_pct, carbon_intensity_reduction_pct "
                       "FROM raw.targets ORDER BY source_line").fetchall() == [
        (2020, Decimal("13.5"), Decimal("18")), (None, None, None)]


ETS_CASES = [
    (f"{CC1},2025,power,1000000,950000,900000,80000,2026-12-31", None),
    (f"{CC2},2025,cement,30000,28000,,,2026-12-31", None),  # nothing surrendered yet
    (f"{CC1},2024,power,1,1,0,0,2026-12-31", "year '2024' does not match the folder year=2025"),
    (f"{CC1},2025,glass,1,1,0,0,2026-12-31", "sector 'glass' is not one of power/steel/cement/aluminium"),
    (f"{CC1},2025,steel,-5,1,0,0,2026-12-31", "verified_emissions_tco2 '-5' must be at least 0"),
    (f"{CC1},2025,steel,5,1,0,-1,2026-12-31", "ccer_surrendered_t '-1' must be at least 0"),
    (f"{CC1},2025,steel,5,1,0,0,2026/12/31", "compliance_deadline '2026/12/31' is not a date YYYY-MM-DD"),
    (f"{CC1},2025,steel,5,1,0,0,2026-02-30", "compliance_deadline '2026-02-30' is not a valid date"),
    (f"{CC1},2025,steel,5,1,0,0,2025-06-30",
     "compliance_deadline '2025-06-30' is not after the data year 2025"),
    (f"{CC1},2025,steel,5,,0,0,2026-12-31", "allowances_allocated_t is empty"),
]


def test_ets_rules(env) -> None:
    landing, con = env
    rel = "ets/year=2025/registry.csv"
    write(landing, rel, csv_text(ETS_HEADER, [r for r, _ in ETS_CASES]), LANDED)
    load_ets(con, landing, DAY, "test")
    check_cases(con, "ets", rel, ETS_CASES)
    assert con.execute("SELECT credit_code, year, sector, verified_emissions_tco2, allowances_surrendered_t, "
                       "compliance_deadline FROM raw.ets ORDER BY source_line").fetchall() == [
        (CC1, 2025, "power", 1000000, 900000, date(2026, 12, 31)),
        (CC2, 2025, "cement", 30000, None, date(2026, 12, 31))]


_UPD = "2026-02-01T10:00:00+08:00"
PROJECT_CASES = [
    (f"R1,{CC1},余热回收,WHR,retrofit,waste_heat_recovery,M1  \tM2,2024-01-01,2024-12-31,2025-03-01,800,,"
     f"commissioned,{_UPD},", None),
    (f"N1,{CC1},新产线,New line,new_facility,process,M2,,,,,12000,in_progress,{_UPD},30000", None),
    (f"R2,{CC1},照明,Lighting,retrofit,lighting,,,,,50,,planned,{_UPD},", None),
    (f"R3,{CC1},x,x,upgrade,hvac,M1,,,,1,,planned,{_UPD},", "kind 'upgrade' is not one of retrofit/new_facility"),
    (f"R4,{CC1},x,x,retrofit,hvac,M1,,,,1,,done,{_UPD},",
     "status 'done' is not one of planned/in_progress/commissioned/cancelled"),
    (f"R5,{CC1},x,x,retrofit,hvac,M1,2024-01-01,,,1,,planned,{_UPD},",
     "baseline_start '2024-01-01' and baseline_end '' must be given together"),
    (f"R6,{CC1},x,x,retrofit,hvac,M1,2024-12-31,2024-01-01,,1,,planned,{_UPD},",
     "baseline_end '2024-01-01' is before baseline_start '2024-12-31'"),
    (f"R7,{CC1},x,x,retrofit,hvac,M1,2024-01-01,2025-06-30,2025-03-01,1,,commissioned,{_UPD},",
     "baseline_end '2025-06-30' is after commissioned_on '2025-03-01'"),
    (f"R8,{CC1},x,x,retrofit,hvac,M1,,,,1,,commissioned,{_UPD},", "status commissioned but commissioned_on is empty"),
    (f"N2,{CC1},x,x,new_facility,process,M2,,,,,,planned,{_UPD},", "new_facility without approved_annual_energy_tce"),
    (f'R9,{CC1},x,x,retrofit,hvac,"M1,M2",,,,1,,planned,{_UPD},', "meter_ids 'M1,M2' must be separated by spaces"),
    (f"R10,{CC1},x,x,retrofit,hvac,M1,,,,-1,,planned,{_UPD},", "expected_annual_savings_tce '-1' must be at least 0"),
    (f"R11,{CC1},x,x,retrofit,hvac,M1,,,,1,,planned,2026-02-01 10:00,",
     "updated_at '2026-02-01 10:00' is not an ISO-8601 timestamp with offset"),
]


def test_project_rules(env) -> None:
    landing, con = env
    rel = "projects/projects-2026-02.csv"
    write(landing, rel, csv_text(PROJECT_HEADER + ",approved_annual_co2_t", [r for r, _ in PROJECT_CASES]), LANDED)
    load_projects(con, landing, DAY, "test")
    check_cases(con, "projects", rel, PROJECT_CASES)
    assert con.execute("SELECT project_id, kind, meter_ids, baseline_start, commissioned_on, "
                       "approved_annual_co2_t, updated_at FROM raw.projects ORDER BY source_line").fetchall() == [
        ("R1", "retrofit", "M1 M2", date(2024, 1, 1), date(2025, 3, 1), None, datetime(2026, 2, 1, 10)),
        ("N1", "new_facility", "M2", None, None, Decimal("30000"), datetime(2026, 2, 1, 10)),
        ("R2", "retrofit", None, None, None, None, datetime(2026, 2, 1, 10))]


WEATHER_CASES = [
    ("新吴区,2026-03-01,5.5,1.2,9.8", None),
    ("滨湖区,2026-03-01,-3,-3,-3", None),
    ("梁溪区,2026-03-02,5,1,9", "date '2026-03-02' does not match the folder date=2026-03-01"),
    ("梁溪区,2026-03-01,5,6,9", "temp_min_c 6 <= temp_mean_c 5 <= temp_max_c 9 does not hold"),
    ("梁溪区,2026-03-01,5,1,4", "temp_min_c 1 <= temp_mean_c 5 <= temp_max_c 4 does not hold"),
    ("梁溪区,2026-03-01,75,1,80", "temp_mean_c '75' is outside the plausible range -60 to 60 °C"),
    ("梁溪区,2026-03-01,5,-99,9", "temp_min_c '-99' is outside the plausible range -60 to 60 °C"),
    ("梁溪区,2026-03-01,,1,9", "temp_mean_c is empty"),
    (",2026-03-01,5,1,9", "district is empty"),
    ("梁溪区,2026-3-1,5,1,9", "date '2026-3-1' is not a date YYYY-MM-DD"),
]


def test_weather_rules(env) -> None:
    landing, con = env
    rel = "weather/date=2026-03-01/wx.csv"
    write(landing, rel, csv_text(WEATHER_HEADER, [r for r, _ in WEATHER_CASES]), LANDED)
    load_weather(con, landing, DAY, "test")
    check_cases(con, "weather", rel, WEATHER_CASES)
    assert con.execute("SELECT district, date, temp_mean_c, temp_min_c, temp_max_c FROM raw.weather "
                       "ORDER BY source_line").fetchall() == [
        ("新吴区", DAY, Decimal("5.5"), Decimal("1.2"), Decimal("9.8")), ("滨湖区", DAY, -3, -3, -3)]


def test_weather_observation_cannot_land_before_its_day(env) -> None:
    landing, con = env
    rel = "weather/date=2026-03-01/early.csv"
    write(landing, rel, csv_text(WEATHER_HEADER, ["新吴区,2026-03-01,5,1,9"]), datetime(2026, 2, 28, 23))
    load_weather(con, landing, DAY, "test")
    assert "is after the day the file landed (2026-02-28)" in quarantine(con, "weather")[2]
    assert_accounting(con)


def test_absent_or_empty_new_source_folders_are_a_normal_night(env) -> None:
    landing, con = env
    for fn in (load_ets, load_projects, load_weather):
        s = fn(con, landing, DAY, "test")
        assert (s.files_seen, s.files_loaded, s.rows_read) == (0, 0, 0)
    for folder in ("ets", "ets/year=2026", "projects", "weather", "weather/date=2026-03-01"):
        (landing / folder).mkdir(parents=True, exist_ok=True)
    for fn in (load_ets, load_projects, load_weather):
        s = fn(con, landing, DAY, "test")
        assert (s.files_seen, s.files_loaded, s.rows_read) == (0, 0, 0)
    assert_accounting(con)


def test_new_sources_wait_for_their_night_and_reruns_change_nothing(env) -> None:
    landing, con = env
    write(landing, "ets/year=2026/e.csv", csv_text(ETS_HEADER, [f"{CC1},2026,power,1,1,0,0,2027-12-31"]), LANDED)
    write(landing, "ets/year=2025/e.csv", csv_text(ETS_HEADER, [f"{CC1},2025,power,1,1,0,0,2026-12-31"]), LANDED)
    write(landing, "weather/date=2026-03-01/w.csv", csv_text(WEATHER_HEADER, ["A,2026-03-01,5,1,9"]), LANDED)
    write(landing, "weather/date=2026-03-02/w.csv", csv_text(WEATHER_HEADER, ["A,2026-03-02,5,1,9"]),
          datetime(2026, 3, 3, 1))
    write(landing, "projects/p.csv", csv_text(PROJECT_HEADER, [
        f"R2,{CC1},照明,Lighting,retrofit,lighting,,,,,50,,planned,{_UPD}"]), LANDED)
    night = (load_ets, load_projects, load_weather)
    for fn in night:
        fn(con, landing, date(2025, 12, 31), "n1")
    assert con.execute("SELECT year FROM raw.ets").fetchall() == [(2025,)]
    assert con.execute("SELECT count(*) FROM raw.weather").fetchone()[0] == 0
    for fn in night:
        fn(con, landing, DAY, "n2")
    assert con.execute("SELECT count(*) FROM raw.ets").fetchone()[0] == 2
    assert con.execute("SELECT date FROM raw.weather").fetchall() == [(DAY,)]
    before = snapshot(con)
    for fn in night:
        assert fn(con, landing, DAY, "n3").files_loaded == 0
    assert snapshot(con) == before
    assert_accounting(con)


def test_old_and_new_layouts_in_one_batch(env) -> None:
    """Files of one night with and without the optional columns are validated in one pass: each row
    reads its own file's header."""
    landing, con = env
    write(landing, "green_certificates/old.csv", csv_text(CERT_HEADER, [f"G1,PRJ,2026-01,{CC1},,"]), LANDED)
    write(landing, "green_certificates/new.csv", csv_text(
        "trade_id,certificate_id,project_id,generation_month,owner_credit_code,claimed_period,claimed_at,trade_type",
        ["T9,G2,PRJ,2026-01," + CC1 + ",2026-02,2026-02-10T08:00:00+08:00,green_power",
         "T9,G3,PRJ,2026-01," + CC1 + ",,,standalone"]), LANDED)
    summary = load_certificates(con, landing, DAY, "test")
    assert (summary.files_loaded, summary.rows_read, summary.rows_loaded) == (2, 3, 2)
    assert con.execute("SELECT certificate_id, trade_type, trade_id FROM raw.green_certificates ORDER BY 1"
                       ).fetchall() == [("G1", None, None), ("G2", "green_power", "T9")]
    assert "trade_id 'T9' is set but trade_type is 'standalone'" in quarantine(con, "green_certificates")[3]
    assert_accounting(con)
