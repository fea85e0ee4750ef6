"""Issue 20, the file level: a hostile upstream cannot make us read outside the landing root, stop
the city with one file, exhaust memory, or have files lie unread in silence; two nights cannot run
at once. Loader-level cases (fast), then one small city night through the real CLI and DAGs."""

from __future__ import annotations

import gzip
import io
import os
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
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

from nengtan.ingest import (
    load_certificates,
    load_declarations,
    load_meter_readings,
    load_projects,
    load_registry,
)
from nengtan.ingest.discovery import survey
from nengtan.ingest.limits import printable

REPO = Path(__file__).resolve().parent.parent
DAY = date(2026, 3, 1)
LANDED = datetime(2026, 3, 2, 1, 0)
PART = "meter_readings/date=2026-03-01"
GOOD = f"{PART}/good.csv"
GOOD_ROWS = ["M1,2026-03-01T00:00:00+08:00,1,ok", "M1,2026-03-01T00:15:00+08:00,2,ok"]
SECRET = "TOP-SECRET-CONTENT-7f3a"
PARKS_HEADER = "park_id,name_zh,name_en,district,contact_email"
ENTERPRISES_HEADER = "credit_code,name_zh,name_en,park_id,industry_code,key_energy_user,ets_covered,contact_email"


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    landing, con = landing_env(tmp_path, monkeypatch)
    write(landing, "registry/parks.csv", f"{PARKS_HEADER}\nP1,园区,Park,新吴区,p@x.cn\n", datetime(2026, 1, 1))
    write(landing, "registry/enterprises.csv", f"{ENTERPRISES_HEADER}\n{CC1},甲,A,P1,30,true,false,a@x.cn\n",
          datetime(2026, 1, 1))
    write_meters(landing, ["M1", "M2"])
    load_registry(con, landing, "test")
    write(landing, GOOD, readings_csv(GOOD_ROWS), LANDED)
    yield landing, con
    con.close()


@pytest.fixture()
def outside(tmp_path: Path) -> Path:
    """A folder next to the landing root holding what must never be read."""
    out = tmp_path / "outside"
    write(out, "parks.csv", f"{PARKS_HEADER}\nP9,{SECRET},x,y,z\n", LANDED)
    write(out, "claims.csv", "certificate_id,project_id,generation_month,owner_credit_code,claimed_period,"
          f"claimed_at\nGEC-{SECRET},PRJ,2026-01,{CC1},2026-02,2026-02-03T00:00:00+08:00\n", LANDED)
    write(out, "secret.csv", readings_csv(["M2,2026-03-01T00:00:00+08:00,1,ok"]), LANDED)
    return out


def log_row(con, rel: str) -> tuple | None:
    return con.execute("SELECT status, rows_read, rows_loaded, rows_quarantined, error FROM raw.load_log "
                       "WHERE path = ?", [rel]).fetchone()


def quarantined(con, rel: str) -> dict[int, str]:
    return dict(con.execute("SELECT line, reason FROM raw.quarantine WHERE path = ? ORDER BY line",
                            [rel]).fetchall())


def assert_good_file_loaded(con) -> None:
    assert log_row(con, GOOD)[:4] == ("loaded", 2, 2, 0)
    assert_accounting(con)


def warehouse_mentions(con, needle: str) -> list[str]:
    """Every raw/meta text cell that contains ``needle`` (table.column)."""
    hits = []
    for schema, table, column in con.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE table_schema IN ('raw', 'meta') AND data_type = 'VARCHAR'").fetchall():
        n = con.execute(f'SELECT count(*) FROM "{schema}"."{table}" WHERE contains("{column}", ?)',
                        [needle]).fetchone()[0]
        if n:
            hits.append(f"{schema}.{table}.{column}")
    return hits


def unread_of(summary) -> dict[str, str]:
    return {u["path"]: u["reason"] for u in summary.unread}


# --- the landing root is a boundary -------------------------------------------------------------------


def test_registry_file_linked_outside_is_refused_by_name(env, outside: Path, tmp_path: Path) -> None:
    landing, con = env
    (landing / "registry" / "parks.csv").unlink()
    os.symlink(outside / "parks.csv", landing / "registry" / "parks.csv")
    summary = load_registry(con, landing, "night")
    assert con.execute("SELECT count(*) FROM raw.load_log WHERE path = 'registry/parks.csv' AND run_id = 'night'"
                       ).fetchone()[0] == 0  # the version loaded before the link stays; nothing new is read
    assert "outside the landing root" in unread_of(summary)["registry/parks.csv"]
    # noted by name in the warehouse, never by content; nothing copied into quarantine
    assert con.execute("SELECT reason FROM meta.landing_unread WHERE run_id = 'night' AND path = ?",
                       ["registry/parks.csv"]).fetchone()[0].startswith("a symbolic link")
    assert warehouse_mentions(con, SECRET) == []
    quarantine_dir = tmp_path / "data" / "quarantine"
    copies = [p for p in quarantine_dir.rglob("*") if p.is_file()] if quarantine_dir.exists() else []
    assert all(SECRET not in p.read_text(errors="replace") for p in copies)


@pytest.mark.parametrize("folder", ["green_certificates", "projects"])
def test_source_folder_linked_outside_is_not_read(env, outside: Path, folder: str) -> None:
    landing, con = env
    os.symlink(outside, landing / folder)
    load = {"green_certificates": load_certificates, "projects": load_projects}[folder]
    summary = load(con, landing, DAY, "night")
    assert summary.files_seen == 0
    assert con.execute("SELECT count(*) FROM raw.load_log WHERE run_id = 'night'").fetchone()[0] == 0
    assert warehouse_mentions(con, SECRET) == []
    assert "outside the landing root" in {u.path: u.reason for u in survey(landing)}[folder]


def test_links_inside_the_root_are_followed_and_partition_links_outside_are_not(env, outside: Path) -> None:
    landing, con = env
    write(landing, "meter_readings/date=2026-02-27/real.csv",
          readings_csv(["M2,2026-02-27T00:00:00+08:00,5,ok"]), LANDED)
    os.symlink(landing / "meter_readings" / "date=2026-02-27" / "real.csv", landing / PART / "alias.csv")
    os.symlink(outside, landing / "meter_readings" / "date=2026-02-28")
    os.symlink(outside / "secret.csv", landing / PART / "secret.csv")
    load_meter_readings(con, landing, DAY, "night")
    paths = {p for (p,) in con.execute("SELECT path FROM raw.load_log WHERE source = 'meter_readings'").fetchall()}
    assert paths == {GOOD, "meter_readings/date=2026-02-27/real.csv", f"{PART}/alias.csv"}
    unread = {u.path: u.reason for u in survey(landing)}
    assert {"meter_readings/date=2026-02-28", f"{PART}/secret.csv"} <= unread.keys()
    assert_good_file_loaded(con)


# --- one file never stops the city ---------------------------------------------------------------------


def _cr_only() -> bytes:
    return readings_csv(["M2,2026-03-01T00:00:00+08:00,1,ok", "M2,2026-03-01T00:15:00+08:00,2,ok"]
                        ).replace("\n", "\r").encode()


@pytest.mark.parametrize(("name", "content", "expect", "rows"), [
    ("cr.csv", _cr_only(), "line ends are CR only", 2),
    ("cr-then-lf.csv", _cr_only() + b"\n", "line ends are CR only", 2),
    ("wide.csv", ("h" * 200_000 + "\n" + "M2\n").encode(), "missing required column(s)", 1),
    ("nul.csv", b"\x00" * 16_537 + b"\nM2,2026-03-01T00:00:00+08:00,1,ok\n", "missing required column(s)", 1),
    ("nul-data.csv", b"\x00" * 300 + b"\n", "missing required column(s)", 0),
])
def test_a_file_that_cannot_be_parsed_is_rejected_whole_and_the_night_goes_on(
        env, name: str, content: bytes, expect: str, rows: int) -> None:
    landing, con = env
    rel = f"{PART}/{name}"
    write(landing, rel, content, LANDED)
    summary = load_meter_readings(con, landing, DAY, "night")
    status, read, loaded, quarantined_rows, error = log_row(con, rel)
    assert (status, read, loaded, quarantined_rows) == ("rejected", rows, 0, rows)
    reason = quarantined(con, rel)[0]
    assert reason == error and reason.startswith(f"{rel}:0: whole file rejected: ") and expect in reason
    assert len(reason) <= len(rel) + 30 + 500 and reason.isprintable()  # capped and printable
    assert "\x00" not in reason and summary.files_rejected == 1
    assert_good_file_loaded(con)


def test_a_file_name_that_is_not_utf8_is_rejected_under_a_printable_name(env) -> None:
    landing, con = env
    folder = os.fsencode(landing / PART)
    with open(folder + b"/gw-\xff\xfe.csv", "wb") as fh:
        fh.write(readings_csv(["M2,2026-03-01T00:00:00+08:00,1,ok"]).encode())
    load_meter_readings(con, landing, DAY, "night")
    rel = f"{PART}/gw-\\xff\\xfe.csv"
    status, read, *_ = log_row(con, rel)
    assert status == "rejected" and read == 1
    assert "file name is not valid UTF-8" in quarantined(con, rel)[0]
    assert_good_file_loaded(con)


def test_any_parser_failure_is_the_files_alone(env, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault injection: a reader bug on one file (an exception nobody anticipated) rejects that file."""
    from nengtan.ingest import readers

    landing, con = env
    real = readers._stage_csv

    def flaky(data: bytes, limits=None):
        if b"BOOM" in data:
            raise ValueError("unexpected parser state " + "\x00" * 20_000)
        return real(data, limits)

    monkeypatch.setattr(readers, "_stage_csv", flaky)
    rel = f"{PART}/boom.csv"
    write(landing, rel, readings_csv(["M2,2026-03-01T00:00:00+08:00,1,BOOM"]), LANDED)
    load_meter_readings(con, landing, DAY, "night")
    reason = quarantined(con, rel)[0]
    assert "cannot read the file: ValueError: unexpected parser state \\x00" in reason and len(reason) < 600
    assert_good_file_loaded(con)


def test_a_batch_that_fails_validation_is_retried_file_by_file(env, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault injection at the validation pass: the good file of the same batch still loads."""
    from nengtan.ingest import loader

    landing, con = env
    real = loader._load_batch

    def fragile(con_, spec, batch, run_id):
        if any(r.cand.name == "poison.csv" for r in batch):
            raise duckdb.ConversionException("Could not convert string 'x' to INT32")
        return real(con_, spec, batch, run_id)

    monkeypatch.setattr(loader, "_load_batch", fragile)
    rel = f"{PART}/poison.csv"
    write(landing, rel, readings_csv(["M2,2026-03-01T00:00:00+08:00,1,ok"]), LANDED)
    load_meter_readings(con, landing, DAY, "night")
    assert log_row(con, rel)[:4] == ("rejected", 1, 0, 1)
    assert "cannot validate the file: ConversionException" in quarantined(con, rel)[0]
    assert_good_file_loaded(con)


def test_printable_caps_and_escapes() -> None:
    text = printable("a\x00b\r\n\udcff" + "x" * 2000)
    assert text.startswith("a\\x00b\\r\\n\\udcff") and len(text) <= 500 and "characters cut" in text
    assert printable("新吴区 ok") == "新吴区 ok"


# --- limits ---------------------------------------------------------------------------------------------


def test_gzip_bomb_is_refused_while_decompressing(env, monkeypatch: pytest.MonkeyPatch) -> None:
    landing, con = env
    monkeypatch.setenv("NENGTAN_MAX_FILE_MB", "8")
    line = b"M2,2026-03-01T00:00:00+08:00,1,ok\n"
    raw = READINGS_HEADER.encode() + b"\n" + line * (64 * 1024 * 1024 // len(line))  # 64 MB of text
    bomb = gzip.compress(raw, compresslevel=9)
    del raw
    assert len(bomb) < 1024 * 1024
    rel = f"{PART}/bomb.csv.gz"
    write(landing, rel, bomb, LANDED)
    tracemalloc.start()
    try:
        load_meter_readings(con, landing, DAY, "night")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * 8 * 1024 * 1024, f"peak {peak / 2**20:.0f} MB for an 8 MB limit"
    reason = quarantined(con, rel)[0]
    assert "decompresses to more than 8 MB (NENGTAN_MAX_FILE_MB)" in reason
    assert_good_file_loaded(con)


def test_file_and_line_limits(env, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    landing, con = env
    monkeypatch.setenv("NENGTAN_MAX_FILE_MB", "1")
    monkeypatch.setenv("NENGTAN_MAX_LINE_KB", "64")
    big = f"{PART}/big.csv"
    write(landing, big, readings_csv(["M2,2026-03-01T00:00:00+08:00,1,ok"] * 40_000), LANDED)  # ~1.4 MB
    long_line = f"{PART}/long.csv"
    write(landing, long_line, readings_csv(["M2,2026-03-01T00:00:00+08:00,1,ok",
                                            "M2,2026-03-01T00:15:00+08:00," + "9" * 100_000 + ",ok"]), LANDED)
    table = pa.table({"meter_id": ["M2"] * 60_000, "interval_start": [f"2026-03-01T00:00:00+08:00 {i:020d}"
                                                                      for i in range(60_000)],
                      "register_end": ["1"] * 60_000, "quality": ["ok"] * 60_000})
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    wide = f"{PART}/wide.parquet"
    write(landing, wide, buf.getvalue(), LANDED)
    load_meter_readings(con, landing, DAY, "night")
    assert "file is 1.3 MB, over the limit of 1 MB (NENGTAN_MAX_FILE_MB)" in quarantined(con, big)[0]
    assert log_row(con, big)[0] == "rejected"
    assert not list((tmp_path / "data" / "quarantine").rglob("big.csv"))  # too large to copy
    assert "line 3 is 97.7 KB, over the line limit of 64 KB (NENGTAN_MAX_LINE_KB)" in quarantined(con, long_line)[0]
    assert log_row(con, long_line)[:4] == ("rejected", 2, 0, 2)
    assert "of uncompressed data, over the limit of 1 MB" in quarantined(con, wide)[0]
    assert_good_file_loaded(con)


# --- nothing unread in silence ----------------------------------------------------------------------------


def test_every_file_no_source_reads_is_listed_with_its_reason(env, tmp_path: Path) -> None:
    landing, con = env
    row = readings_csv(["M2,2026-03-01T00:00:00+08:00,1,ok"])
    odd = {
        f"{PART}/foo.csv/a.csv": "in a sub-folder of meter_readings/date=2026-03-01/",
        f"{PART}/sub/deeper/b.csv": "in a sub-folder of meter_readings/date=2026-03-01/",
        "meter_readings/date=2026-1-5/c.csv": "'2026-1-5' is not YYYY-MM-DD",
        "meter_readings/DATE=2026-03-01/d.csv": "partition folders are lower case",
        "meter_readings/date=2026-01-00/e.csv": "'2026-01-00' is not a calendar date",
        "meter_readings/f.csv": "directly in meter_readings/, outside any date=YYYY-MM-DD folder",
        "declarations/month=2026-13/g.csv": "'2026-13' is not a calendar month",
        "registry/meters_old.csv": "registry/ holds only parks.csv, enterprises.csv, meters.csv",
        "misc/notes/h.txt": "'misc' is not a folder of the data contract",
        "readme.txt": "'readme.txt' is not a folder of the data contract",
        "projects/2026/p.csv": "projects/ has no sub-folders",
    }
    for rel in odd:
        write(landing, rel, row, LANDED)
    write(landing, f"{PART}/_SUCCESS", "", LANDED)  # a marker, not a delivery
    write(landing, f"{PART}/.partial.csv", row, LANDED)  # an upload in progress
    os.mkfifo(landing / PART / "pipe.csv")  # opening it would hang the night
    os.symlink(landing / PART / "gone.csv", landing / PART / "dangling.csv")  # a link to nothing
    summary = load_registry(con, landing, "night")
    load_meter_readings(con, landing, DAY, "night")
    unread = unread_of(summary)
    for rel, why in odd.items():
        assert why in unread.get(rel, ""), (rel, unread.get(rel))
    assert "not a regular file" in unread[f"{PART}/pipe.csv"]
    assert "a symbolic link to nothing" in unread[f"{PART}/dangling.csv"]
    assert set(unread) == set(odd) | {f"{PART}/pipe.csv", f"{PART}/dangling.csv"}
    assert not any("_SUCCESS" in p or ".partial" in p for p in unread)
    # the malformed partition is not loaded (it used to load, then fail a dbt test)
    paths = {p for (p,) in con.execute("SELECT path FROM raw.load_log").fetchall()}
    assert not any("2026-01-00" in p or "2026-1-5" in p or "DATE=" in p for p in paths)
    assert_good_file_loaded(con)
    stored = dict(con.execute("SELECT path, reason FROM meta.landing_unread WHERE run_id = 'night'").fetchall())
    assert stored == unread
    load_registry(con, landing, "night")  # a rerun replaces the run's notes, it does not add to them
    assert con.execute("SELECT count(*) FROM meta.landing_unread WHERE run_id = 'night'").fetchone()[0] == len(unread)

    from nengtan.ledger import record_from_load_log, verify

    record_from_load_log(con, run_id="night")
    report = verify()
    listed = {n["path"]: n["detail"] for n in report.notes if n["kind"] == "unread"}
    assert listed == unread
    assert f"{len(unread)} that no source reads" in report.summary()
    assert "meter_readings/date=2026-01-00/e.csv" in report.summary()


def test_the_summary_lists_the_first_unread_files_and_the_table_all(env, monkeypatch: pytest.MonkeyPatch) -> None:
    from nengtan.ingest import loader

    landing, con = env
    monkeypatch.setattr(loader, "UNREAD_IN_SUMMARY", 3)
    for k in range(5):
        write(landing, f"dump/{k}.csv", "x", LANDED)
    unread = load_registry(con, landing, "night").unread
    assert [u["path"] for u in unread] == ["dump/0.csv", "dump/1.csv", "dump/2.csv", "…"]
    assert unread[-1]["reason"].startswith("and 2 more")
    assert con.execute("SELECT count(*) FROM meta.landing_unread WHERE run_id = 'night'").fetchone()[0] == 5


def test_unknown_extension_in_a_partition_is_rejected_not_ignored(env) -> None:
    landing, con = env
    rel = f"{PART}/readings.json"
    write(landing, rel, "{}", LANDED)
    load_meter_readings(con, landing, DAY, "night")
    assert log_row(con, rel)[0] == "rejected"
    assert "unsupported file type for meter_readings" in quarantined(con, rel)[0]


# --- workbooks: every sheet or none -----------------------------------------------------------------------

XLSX_HEADER = ["统一社会信用代码", "统计期", "申报编号", "申报时间", "项目", "数量", "计量单位"]


def _row(sub: str, item: str, qty: object, unit: str = "t") -> list[object]:
    return [CC1, "2026-02", sub, "2026-03-02T10:00:00+08:00", item, qty, unit]


def _xlsx(sheets: dict[str, list[list[object]]]) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_every_sheet_with_the_contract_header_is_loaded(env) -> None:
    landing, con = env
    rel = "declarations/month=2026-03/form.xlsx"
    write(landing, rel, _xlsx({
        "一月": [XLSX_HEADER, _row("S1", "raw_coal", 12), _row("S1", "diesel", 3)],
        "补充": [XLSX_HEADER[::-1], _row("S2", "lpg", 2)[::-1], _row("S2", "lpg", "两")[::-1]],
        "空白": [],
    }), LANDED)
    load_declarations(con, landing, DAY, "night")
    assert log_row(con, rel)[:4] == ("partial", 4, 3, 1)
    rows = con.execute("SELECT submission_id, item, source_line FROM raw.declarations ORDER BY 1, 3").fetchall()
    assert rows == [("S1", "raw_coal", 2), ("S1", "diesel", 3), ("S2", "lpg", 2)]  # lines numbered per sheet
    q = quarantined(con, rel)
    assert list(q) == [3] and q[3].startswith(f"{rel}:3: sheet '补充': quantity '两' is not a number")
    assert_accounting(con)


def test_a_sheet_without_the_contract_header_refuses_the_workbook(env) -> None:
    landing, con = env
    rel = "declarations/month=2026-03/form2.xlsx"
    write(landing, rel, _xlsx({
        "data": [XLSX_HEADER, _row("S1", "raw_coal", 12)],
        "more": [["企业", "煤"], ["x", 5]],
    }), LANDED)
    load_declarations(con, landing, DAY, "night")
    assert log_row(con, rel)[:4] == ("rejected", 2, 0, 2)
    reason = quarantined(con, rel)[0]
    assert "sheet(s) 'more' hold rows without the contract's header" in reason
    assert con.execute("SELECT count(*) FROM raw.declarations").fetchone()[0] == 0


def test_a_formula_without_a_cached_value_is_not_read_as_empty(env) -> None:
    landing, con = env
    rel = "declarations/month=2026-03/formula.xlsx"
    write(landing, rel, _xlsx({"Sheet1": [XLSX_HEADER, _row("S1", "raw_coal", 12), _row("S2", "diesel", "=1+2")]}),
          LANDED)
    load_declarations(con, landing, DAY, "night")
    assert log_row(con, rel)[:4] == ("partial", 2, 1, 1)
    q = quarantined(con, rel)
    assert "sheet 'Sheet1': cell F3 holds the formula '=1+2' with no cached value" in q[3]
    raw_text = con.execute("SELECT raw_text FROM raw.quarantine WHERE path = ?", [rel]).fetchone()[0]
    assert "diesel" in raw_text
    assert_accounting(con)


def _with_cached_values(xlsx: bytes, cached: dict[str, str]) -> bytes:
    """The workbook as a spreadsheet program saves it: each formula with its computed value."""
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                for formula, value in cached.items():
                    data = data.replace(f"<f>{formula}</f><v />".encode(), f"<f>{formula}</f><v>{value}</v>".encode())
            dst.writestr(item, data)
    return out.getvalue()


def test_a_formula_with_a_cached_value_is_read_as_that_value(env) -> None:
    landing, con = env
    rel = "declarations/month=2026-03/cached.xlsx"
    book = _xlsx({"Sheet1": [XLSX_HEADER, _row("S1", "raw_coal", "=10+2.5")]})
    write(landing, rel, _with_cached_values(book, {"10+2.5": "12.5"}), LANDED)
    load_declarations(con, landing, DAY, "night")
    assert log_row(con, rel)[:4] == ("loaded", 1, 1, 0)
    assert [(i, float(q)) for i, q in con.execute("SELECT item, quantity FROM raw.declarations").fetchall()] == [
        ("raw_coal", 12.5)]


# --- dates and times ---------------------------------------------------------------------------------------


def test_iso_times_without_seconds_are_accepted_and_converted_to_local_time(env) -> None:
    landing, con = env
    rel = f"{PART}/short.csv"
    write(landing, rel, readings_csv(["M2,2026-03-01T01:30+08:00,1,ok", "M2,2026-02-28T17:45Z,2,ok",
                                      "M2,2026-03-01 02:00+0800,3,ok", "M2,2026-03-01T01:3+08:00,4,ok"]), LANDED)
    load_meter_readings(con, landing, DAY, "night")
    rows = con.execute("SELECT interval_start FROM raw.meter_readings WHERE meter_id = 'M2' ORDER BY 1").fetchall()
    assert rows == [(datetime(2026, 3, 1, 1, 30),), (datetime(2026, 3, 1, 1, 45),), (datetime(2026, 3, 1, 2, 0),)]
    assert "is not an ISO-8601 timestamp with offset" in quarantined(con, rel)[5]
    assert_good_file_loaded(con)


@pytest.mark.parametrize(("earliest", "bad"), [
    (None, ["0001-01-01T00:00:00+08:00", "1999-12-31T23:45:00+08:00"]),
    ("2026-02-01", ["2026-01-31T23:45:00+08:00"]),
])
def test_readings_before_the_plausible_range_are_quarantined(env, monkeypatch: pytest.MonkeyPatch,
                                                            earliest: str | None, bad: list[str]) -> None:
    landing, con = env
    if earliest:
        monkeypatch.setenv("NENGTAN_EARLIEST_READING", earliest)
    rel = f"{PART}/old.csv"
    write(landing, rel, readings_csv([f"M2,{ts},1,ok" for ts in bad] + ["M2,2026-02-01T00:00:00+08:00,1,ok"]), LANDED)
    load_meter_readings(con, landing, DAY, "night")
    q = quarantined(con, rel)
    assert sorted(q) == list(range(2, 2 + len(bad)))
    bound = earliest or "2000-01-01"
    assert all(f"is before {bound} (outside the plausible range, NENGTAN_EARLIEST_READING)" in r for r in q.values())
    assert con.execute("SELECT count(*) FROM raw.meter_readings WHERE meter_id = 'M2'").fetchone()[0] == 1
    assert_good_file_loaded(con)


# --- one night at a time ----------------------------------------------------------------------------------

HOLDER = textwrap.dedent("""
    import sys, time
    from datetime import date
    from nengtan.nightlock import night_lock
    with night_lock(date(2026, 3, 1)):
        print("held", flush=True)
        time.sleep(120)
""")


def _hold_lock(data: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER], cwd=REPO, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "NENGTAN_DATA": str(data)})
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_night_waits_then_says_another_night_is_running(tmp_path: Path) -> None:
    data = tmp_path / "data"
    holder = _hold_lock(data)
    try:
        env = {**os.environ, "NENGTAN_DATA": str(data), "NENGTAN_LANDING": str(tmp_path / "landing"),
               "NENGTAN_NIGHT_LOCK_WAIT": "1"}
        started = time.monotonic()
        second = subprocess.run([sys.executable, "-m", "nengtan.cli", "nightly", "--date", "2026-03-01"],
                                cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 75, second.stderr  # EX_TEMPFAIL: try later; a message, not a traceback
        assert "Traceback" not in second.stderr
        assert "another night is running" in second.stderr and f"pid {holder.pid}" in second.stderr
        assert "night 2026-03-01" in second.stderr and "IntegrityError" not in second.stderr
        assert time.monotonic() - started < 60
    finally:
        holder.send_signal(signal.SIGKILL)  # a night that dies leaves no stale lock
        holder.wait()
    from nengtan.config import settings
    from nengtan.nightlock import night_lock

    os.environ["NENGTAN_DATA"], saved = str(data), os.environ["NENGTAN_DATA"]
    try:
        with night_lock(date(2026, 3, 2), wait=0):
            pass
        assert settings().warehouse_dir == data / "warehouse"
    finally:
        os.environ["NENGTAN_DATA"] = saved


# --- one small city night ---------------------------------------------------------------------------------

CITY_START = date(2025, 11, 3)
CITY_DAYS = 2


def _as_csv(path: Path) -> bytes:
    if path.suffix == ".parquet":
        rows = pq.read_table(path).to_pylist()
        return readings_csv([f"{r['meter_id']},{r['interval_start']},{r['register_end']},{r['quality']}"
                             for r in rows]).encode()
    return gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()


@pytest.fixture(scope="module")
def hostile_night(tmp_path_factory):
    """A tiny generated city with hostile files added, run for one night through the real CLI."""
    from nengtan.tools.generate import generate_city

    root = tmp_path_factory.mktemp("hostile_city")
    landing, data, outside = root / "landing", root / "data", root / "outside"
    generate_city(landing, CITY_START, CITY_DAYS, 3, parks=1, seed=5, fault_rate=0.0)
    night = CITY_START + timedelta(days=CITY_DAYS - 1)
    part = landing / "meter_readings" / f"date={night.isoformat()}"
    text = _as_csv(sorted(part.iterdir())[0])  # a gateway's real readings, as CSV bytes
    write(outside, "secret.csv", text, None)
    os.symlink(outside / "secret.csv", part / "link-out.csv")
    (part / "cr-only.csv").write_bytes(text.replace(b"\r\n", b"\n").replace(b"\n", b"\r"))
    (part / "wide-header.csv").write_bytes(b"x" * 200_000 + b"\n" + b"a\n")
    with open(os.fsencode(part) + b"/bad-\xff.csv", "wb") as fh:
        fh.write(text)
    write(landing, f"meter_readings/date={night.isoformat()}/sub/hidden-away.csv", text, None)
    write(landing, "meter_readings/date=2025-11-00/zero-day.csv", text, None)
    # the models' own unit tests are not this night's point (test_dbt_handworked runs them)
    env = {**os.environ, "NENGTAN_DATA": str(data), "NENGTAN_LANDING": str(landing), "NENGTAN_DBT_UNIT_TESTS": "0"}
    proc = subprocess.run([sys.executable, "-m", "nengtan.cli", "nightly", "--date", night.isoformat()],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=1200)
    return proc, data, landing, night, text


def test_a_hostile_night_publishes_what_is_valid(hostile_night) -> None:
    proc, data, landing, night, text = hostile_night
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    con = duckdb.connect(str(data / "warehouse" / "nengtan.duckdb"), read_only=True)
    try:
        rel = f"meter_readings/date={night.isoformat()}"
        status = dict(con.execute("SELECT path, status FROM raw.load_log WHERE path LIKE ?", [rel + "/%"]).fetchall())
        assert status[f"{rel}/cr-only.csv"] == "rejected" and status[f"{rel}/wide-header.csv"] == "rejected"
        assert status[f"{rel}/bad-\\xff.csv"] == "rejected"
        assert f"{rel}/link-out.csv" not in status
        assert sum(s in ("loaded", "partial") for s in status.values()) >= 1
        # rows in = loaded + quarantined, for every file of the night
        assert con.execute("SELECT count(*) FROM raw.load_log WHERE rows_read <> rows_loaded + rows_quarantined"
                           ).fetchone()[0] == 0
        unread = dict(con.execute("SELECT path, reason FROM meta.landing_unread").fetchall())
        assert "outside the landing root" in unread[f"{rel}/link-out.csv"]
        assert f"{rel}/sub/hidden-away.csv" in unread and "meter_readings/date=2025-11-00/zero-day.csv" in unread
    finally:
        con.close()
    serving = duckdb.connect(str(data / "serving" / "nengtan.duckdb"), read_only=True)
    try:
        assert serving.execute("SELECT data_day FROM meta.publication").fetchone()[0] == night
        assert serving.execute("SELECT count(*) FROM marts.meter_daily").fetchone()[0] > 0
        categories = [c for (c,) in serving.execute("SELECT DISTINCT reason_category FROM marts.quarantine_daily")
                      .fetchall()]
        assert any(c.startswith("whole file rejected: line ends are CR only") for c in categories), categories
        assert not any(c.startswith("hole file") for c in categories)
    finally:
        serving.close()
