"""Row and file rules at the door: every bad input gets its reason and its line number."""

from __future__ import annotations

import gzip
import io
import random
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_ingest_support import (
    CC1,
    CC2,
    READINGS_HEADER,
    assert_accounting,
    readings_csv,
    warehouse,
    write,
    write_meters,
)

from nengtan.config import LOCAL_TZ, settings
from nengtan.ingest import (
    load_certificates,
    load_declarations,
    load_meter_readings,
    load_registry,
    load_targets,
)

DAY = date(2026, 3, 1)
LANDED = datetime(2026, 3, 2, 1, 0)


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    landing = tmp_path / "landing"
    monkeypatch.setenv("NENGTAN_LANDING", str(landing))
    monkeypatch.setenv("NENGTAN_DATA", str(tmp_path / "data"))
    con = warehouse(tmp_path)
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
    # readings are now checked against this latest version: M2 is no longer a known meter
    write(landing, "meter_readings/date=2026-03-01/a.csv",
          readings_csv(["M1,2026-03-01T00:00:00+08:00,1,ok", "M2,2026-03-01T00:00:00+08:00,1,ok"]), LANDED)
    load_meter_readings(con, landing, DAY, "test")
    assert "meter_id 'M2' is not in the meter registry" in quarantine(con, "meter_readings")[3]
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
