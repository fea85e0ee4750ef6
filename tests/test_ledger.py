"""The tamper-evident ledger: record a small landing zone and serving copy, then tamper
with each in turn and check ``verify`` names exactly what was changed."""

from __future__ import annotations

import gzip
import json
import multiprocessing
import os
import time
from pathlib import Path

import duckdb
import pytest

from nengtan import ledger
from nengtan.config import settings

LANDING_FILES = {
    "registry/parks.csv": b"park_id,name_zh,name_en,district,contact_email\nP01,\xe4\xb8\x80\xe5\x9b\xad,One,D1,p@x\n",
    "registry/enterprises.csv": b"credit_code,name_zh\n91310000MA1FL8XQ30,\xe7\x94\xb2\n",
    "registry/meters.csv": b"meter_id,credit_code\nM1,91310000MA1FL8XQ30\n",
    "meter_readings/date=2026-03-01/gw1.csv": b"meter_id,interval_start,register_end,quality\n"
                                              b"M1,2026-03-01T00:00:00+08:00,1.0,ok\n",
    "meter_readings/date=2026-03-02/gw1.csv.gz": gzip.compress(b"meter_id,interval_start,register_end,quality\n"
                                                               b"M1,2026-03-02T00:00:00+08:00,2.0,ok\n", mtime=0),
    "declarations/month=2026-02/d.csv": b"credit_code,period\n91310000MA1FL8XQ30,2026-02\n",
    "green_certificates/gec.csv": b"certificate_id\nGEC1\n",
}


def _make_serving(db: Path, run_id: str, day: str = "2026-03-02") -> None:
    db.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db))
    con.execute("CREATE SCHEMA marts; CREATE SCHEMA quality; CREATE SCHEMA meta")
    con.execute("CREATE TABLE marts.enterprise_energy_daily AS SELECT 'E' || (i % 7) AS credit_code, "
                "DATE '2026-03-01' + (i % 2)::INTEGER AS day, (i * 1.25)::DECIMAL(18, 4) AS quantity, "
                "CASE WHEN i % 5 = 0 THEN NULL ELSE i / 3.0 END AS co2_t FROM range(2000) t(i)")
    con.execute("CREATE TABLE marts.city_carbon_monthly AS SELECT DATE '2026-03-01' AS month, 1.5 AS energy_tce")
    con.execute("CREATE TABLE quality.check_results AS SELECT 'rule' || i AS rule, i % 2 = 0 AS passed FROM range(50) t(i)")
    con.execute("CREATE TABLE meta.publication AS SELECT ?::VARCHAR AS run_id, ?::DATE AS data_day, "
                "TIMESTAMP '2026-03-02 02:00:00' AS published_at", [run_id, day])
    con.execute("CHECKPOINT")
    con.close()


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("NENGTAN_LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("NENGTAN_DATA", str(tmp_path / "data"))
    cfg = settings()
    old = time.time() - 3600  # the files landed an hour before the night ran
    for rel, content in LANDING_FILES.items():
        path = cfg.landing / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        os.utime(path, (old, old))
    return cfg


def _file_entry(cfg, rel: str) -> dict:
    sha, size = ledger.sha256_file(cfg.landing / rel)
    return {"path": rel, "sha256": sha, "size_bytes": size, "file_id": sha[:32], "status": "loaded"}


@pytest.fixture
def recorded(env):
    """The night 2026-03-02 loaded every file and published."""
    cfg = env
    assert ledger.record_files([_file_entry(cfg, rel) for rel in LANDING_FILES], run_id="night-0302", cfg=cfg) == 7
    _make_serving(cfg.serving_db, "night-0302")
    out = ledger.record_publish(cfg.serving_db, run_id="night-0302", cfg=cfg)
    assert out["seq"] == 8 and out["tables"] == 4
    return cfg


def _kinds(report) -> list[tuple[str, str]]:
    return sorted((p["kind"], str(p.get("path") or p.get("table") or p.get("seq"))) for p in report.problems)


def _lines(cfg) -> list[bytes]:
    return cfg.ledger_path.read_bytes().splitlines(keepends=True)


def test_untouched_night_verifies(recorded):
    report = ledger.verify(recorded)
    assert report.ok, report.summary()
    assert report.stats["files_checked"] == 7
    assert report.stats["head"]["seq"] == 8
    assert report.stats["last_night"] == "2026-03-02"
    assert "verify OK" in report.summary()
    entries, problems, fragment = ledger.read_ledger(recorded)
    assert [e["seq"] for e in entries] == list(range(1, 9)) and not problems and fragment == b""
    publish = entries[-1]["payload"]
    assert publish["data_day"] == "2026-03-02"
    assert publish["tables"]["marts.enterprise_energy_daily"]["rows"] == 2000


def test_one_changed_byte_is_named_altered(recorded):
    path = recorded.landing / "meter_readings/date=2026-03-01/gw1.csv"
    data = bytearray(path.read_bytes())
    data[-5] = ord("9")  # the register value 1.0 -> 9.0, same size
    path.write_bytes(bytes(data))
    report = ledger.verify(recorded)
    assert _kinds(report) == [("file_altered", "meter_readings/date=2026-03-01/gw1.csv")]
    assert not report.ok and "file_altered" in report.summary()


def test_deleted_file_is_named_removed(recorded):
    (recorded.landing / "declarations/month=2026-02/d.csv").unlink()
    assert _kinds(ledger.verify(recorded)) == [("file_removed", "declarations/month=2026-02/d.csv")]


def test_backdated_file_in_loaded_partition_is_inserted(recorded):
    sneaky = recorded.landing / "meter_readings/date=2026-03-01/extra.csv"
    sneaky.write_bytes(b"meter_id,interval_start,register_end,quality\nM1,2026-03-01T00:15:00+08:00,0.5,ok\n")
    old = time.time() - 7200
    os.utime(sneaky, (old, old))
    report = ledger.verify(recorded)
    assert _kinds(report) == [("file_inserted", "meter_readings/date=2026-03-01/extra.csv")]


def test_late_and_future_files_are_unrecorded_not_problems(recorded):
    late = recorded.landing / "meter_readings/date=2026-03-01/late-correction.csv"
    late.write_bytes(b"meter_id,interval_start,register_end,quality\n")  # landed now, after the night
    future = recorded.landing / "meter_readings/date=2026-03-03/gw1.csv"
    future.parent.mkdir()
    future.write_bytes(b"meter_id,interval_start,register_end,quality\n")
    old = time.time() - 7200
    os.utime(future, (old, old))  # even back-dated: night 03-03 has not run yet
    report = ledger.verify(recorded)
    assert report.ok, report.summary()
    assert sorted(n["path"] for n in report.notes if n["kind"] == "unrecorded") == [
        "meter_readings/date=2026-03-01/late-correction.csv", "meter_readings/date=2026-03-03/gw1.csv"]
    assert report.stats["files_unrecorded"] == 2
    # once a night loads them they are recorded and verify has nothing to say
    ledger.record_files([_file_entry(recorded, "meter_readings/date=2026-03-01/late-correction.csv"),
                         _file_entry(recorded, "meter_readings/date=2026-03-03/gw1.csv")],
                        run_id="night-0303", cfg=recorded)
    assert ledger.verify(recorded).stats["files_unrecorded"] == 0


def test_updated_value_in_published_table_is_named(recorded):
    con = duckdb.connect(str(recorded.serving_db))
    changed = con.execute("UPDATE marts.enterprise_energy_daily SET quantity = quantity + 0.0001 "
                          "WHERE quantity = 3.75").fetchone()[0]
    assert changed == 1  # one value in one row of 2000
    con.execute("CHECKPOINT")
    con.close()
    report = ledger.verify(recorded)
    kinds = _kinds(report)
    assert ("table_altered", "marts.enterprise_energy_daily") in kinds
    assert [k for k in kinds if k[0].startswith("table_")] == [("table_altered", "marts.enterprise_energy_daily")]
    assert [k[0] for k in kinds] == ["serving_altered", "table_altered"]


def test_dropped_and_added_tables_are_named(recorded):
    con = duckdb.connect(str(recorded.serving_db))
    con.execute("DROP TABLE quality.check_results")
    con.execute("CREATE TABLE marts.shadow AS SELECT 1 AS x")
    con.close()
    kinds = _kinds(ledger.verify(recorded))
    assert ("table_removed", "quality.check_results") in kinds
    assert ("table_inserted", "marts.shadow") in kinds
    assert ("table_altered", "marts.enterprise_energy_daily") not in kinds


def test_republished_serving_copy_outside_pipeline(recorded):
    recorded.serving_db.unlink()
    _make_serving(recorded.serving_db, "rogue-run")
    problems = ledger.verify(recorded).problems
    serving = [p for p in problems if p["kind"] == "serving_altered"]
    assert len(serving) == 1 and "rogue-run" in serving[0]["detail"]
    assert ("table_altered", "meta.publication") in _kinds(ledger.verify(recorded))


def test_edited_payload_breaks_chain_at_that_seq(recorded):
    lines = _lines(recorded)
    entry = json.loads(lines[2])
    assert entry["seq"] == 3
    entry["payload"]["size_bytes"] += 1
    lines[2] = ledger.canonical(entry) + b"\n"
    recorded.ledger_path.write_bytes(b"".join(lines))
    chain = [p for p in ledger.verify(recorded).problems if p["kind"] == "chain_broken"]
    assert [p["seq"] for p in chain] == [3]
    assert "edited" in chain[0]["detail"]


def test_rehashed_or_removed_entry_breaks_chain_at_next_seq(recorded):
    lines = _lines(recorded)
    entry = json.loads(lines[3])
    entry["payload"]["run_id"] = "someone-else"
    entry["entry_hash"] = ledger.compute_entry_hash(entry)  # a careful forger fixes the entry's own hash
    lines[3] = ledger.canonical(entry) + b"\n"
    recorded.ledger_path.write_bytes(b"".join(lines))
    assert [p["seq"] for p in ledger.verify(recorded).problems if p["kind"] == "chain_broken"] == [5]

    del lines[5]  # drop seq 6 altogether
    recorded.ledger_path.write_bytes(b"".join(lines))
    broken = [p for p in ledger.verify(recorded).problems if p["kind"] == "chain_broken"]
    assert [p["seq"] for p in broken] == [5, 7]
    assert "seq 7 follows seq 5" in broken[1]["detail"]


def test_torn_last_line_is_detected_then_repaired_without_losing_entries(recorded):
    data = recorded.ledger_path.read_bytes()
    recorded.ledger_path.write_bytes(data[: len(data) - 40])  # cut the publish entry mid-way
    report = ledger.verify(recorded)
    assert [p["kind"] for p in report.problems if p["kind"].startswith("ledger")] == ["ledger_torn"]
    assert ("serving_altered", str(recorded.serving_db)) in _kinds(report)  # its publish entry is gone

    out = ledger.record_publish(recorded.serving_db, run_id="night-0302-retry", cfg=recorded)
    entries, problems, fragment = ledger.read_ledger(recorded)
    assert not problems and fragment == b""
    assert [e["kind"] for e in entries[-2:]] == ["repair", "publish"] and out["seq"] == 9
    repair = entries[-2]["payload"]
    saved = recorded.ledger_path.parent / repair["saved_as"]
    assert saved.read_bytes() == data[data.rfind(b"\n", 0, len(data) - 1) + 1: len(data) - 40]
    assert len(entries) == 9  # seq 1..7 survived untouched
    report = ledger.verify(recorded)
    assert report.ok, report.summary()
    assert [n["kind"] for n in report.notes] == ["ledger_repaired"]


def test_whole_entry_missing_only_its_newline_is_kept(recorded):
    data = recorded.ledger_path.read_bytes()
    recorded.ledger_path.write_bytes(data[:-1])
    ledger.record_event("restatement", {"month": "2026-02", "reason": "test"}, cfg=recorded)
    entries, problems, _ = ledger.read_ledger(recorded)
    assert not problems
    assert [e["kind"] for e in entries[-2:]] == ["publish", "restatement"] and entries[-1]["seq"] == 9


def test_garbage_last_line_refuses_to_chain(recorded):
    with open(recorded.ledger_path, "ab") as fh:
        fh.write(b"not json at all\n")
    with pytest.raises(ledger.LedgerError, match="not a ledger entry"):
        ledger.record_event("restatement", {}, cfg=recorded)
    assert any(p["kind"] == "chain_broken" and p["line"] == 9 for p in ledger.verify(recorded).problems)


def _append_many(args) -> None:
    data, landing, worker = args
    os.environ["NENGTAN_DATA"], os.environ["NENGTAN_LANDING"] = data, landing
    for i in range(20):
        ledger.record_files([{"path": f"green_certificates/w{worker}-{i}.csv", "sha256": "0" * 64,
                              "size_bytes": i}, {"path": f"green_certificates/w{worker}-{i}b.csv",
                                                 "sha256": "1" * 64, "size_bytes": i}], run_id=f"w{worker}")


def test_concurrent_writers_keep_one_chain(env):
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        pool.map(_append_many, [(str(env.data), str(env.landing), w) for w in range(4)])
    entries, problems, fragment = ledger.read_ledger(env)
    assert not problems and fragment == b""
    assert [e["seq"] for e in entries] == list(range(1, 161))
    # each record_files call is one contiguous batch
    for first, second in zip(entries[::2], entries[1::2], strict=True):
        assert second["payload"]["path"] == first["payload"]["path"].replace(".csv", "b.csv")


def test_table_hash_ignores_row_order_but_not_duplicates(tmp_path):
    def build(name: str, sql: str) -> dict:
        con = duckdb.connect(str(tmp_path / name))
        con.execute("CREATE SCHEMA marts")
        con.execute(f"CREATE TABLE marts.t AS {sql}")
        con.close()
        return ledger.table_hashes(tmp_path / name)["marts.t"]

    forward = build("a.duckdb", "SELECT i, 'x' || i AS s, NULL::DOUBLE AS d FROM range(1000) t(i) ORDER BY i")
    backward = build("b.duckdb", "SELECT i, 'x' || i AS s, NULL::DOUBLE AS d FROM range(1000) t(i) ORDER BY i DESC")
    assert forward == backward and forward["rows"] == 1000
    twice_a = build("c.duckdb", "SELECT 'a' AS v UNION ALL SELECT 'a'")
    twice_b = build("d.duckdb", "SELECT 'b' AS v UNION ALL SELECT 'b'")
    assert twice_a["hash"] != twice_b["hash"]  # XOR would cancel both to the same value
    renamed = build("e.duckdb", "SELECT i AS j, 'x' || i AS s, NULL::DOUBLE AS d FROM range(1000) t(i)")
    assert renamed["hash"] != forward["hash"]
    shifted_1 = build("g.duckdb", "SELECT 'a' || chr(31) || 'b' AS x, 'c' AS y")
    shifted_2 = build("h.duckdb", "SELECT 'a' AS x, 'b' || chr(31) || 'c' AS y")
    assert shifted_1["hash"] != shifted_2["hash"]  # the separator cannot be smuggled in
    null = build("i.duckdb", "SELECT NULL::VARCHAR AS x")
    backslash_n = build("j.duckdb", "SELECT '\\N' AS x")
    assert null["hash"] != backslash_n["hash"]
    nested_1 = build("k.duckdb", "SELECT ['a, b', 'c'] AS l, {'k': 1.5} AS s, TIMESTAMPTZ '2026-03-01 00:00:00+08' AS t")
    nested_2 = build("l.duckdb", "SELECT ['a', 'b', 'c'] AS l, {'k': 1.5} AS s, TIMESTAMPTZ '2026-03-01 00:00:00+08' AS t")
    assert nested_1["hash"] != nested_2["hash"]
    empty = build("f.duckdb", "SELECT 1 AS x WHERE false")
    assert empty["rows"] == 0 and len(empty["hash"]) == 64


def test_anchor_kept_outside_detects_rewritten_ledger(recorded):
    head = ledger.head(recorded)
    assert ledger.verify(recorded, anchor=f"{head['seq']}:{head['entry_hash']}").ok
    # a forger rebuilds the whole chain consistently with a changed entry: only the anchor notices
    entries, _, _ = ledger.read_ledger(recorded)
    recorded.ledger_path.unlink()
    for e in entries:
        payload = dict(e["payload"], run_id="forged") if e["seq"] == 2 else e["payload"]
        ledger.record_event(e["kind"], payload, cfg=recorded)
    report = ledger.verify(recorded, anchor=f"{head['seq']}:{head['entry_hash']}")
    assert [p["kind"] for p in report.problems] == ["anchor_mismatch"]


def test_record_from_load_log_records_new_and_lost_loads(env):
    from nengtan.warehouse import connect, ensure_raw_schema

    con = connect(env.warehouse_db, cfg=env)
    ensure_raw_schema(con)

    def load(rel: str, run_id: str) -> None:
        e = _file_entry(env, rel)
        con.execute("INSERT INTO raw.load_log VALUES (?, 'x', ?, NULL, ?, ?, now()::TIMESTAMP, 'utf-8', 1, 1, 0, "
                    "'loaded', NULL, ?, now()::TIMESTAMP, NULL)", [e["file_id"], rel, e["sha256"], e["size_bytes"], run_id])

    load("registry/parks.csv", "night-1")
    load("green_certificates/gec.csv", "night-1")
    ledger.record_files([_file_entry(env, "registry/parks.csv")], run_id="night-1", cfg=env)
    # night-1 crashed before recording gec.csv; night-2 loads meters.csv and records both
    load("registry/meters.csv", "night-2")
    assert ledger.record_from_load_log(con, run_id="night-2", cfg=env) == 2
    assert ledger.record_from_load_log(con, run_id="night-2", cfg=env) == 0
    con.close()
    entries, problems, _ = ledger.read_ledger(env)
    assert not problems
    by_path = {e["payload"]["path"]: e["payload"] for e in entries}
    assert by_path["green_certificates/gec.csv"]["recovered"] is True
    assert by_path["green_certificates/gec.csv"]["run_id"] == "night-1"
    assert "recovered" not in by_path["registry/meters.csv"]
    assert by_path["registry/meters.csv"]["sha256"] == _file_entry(env, "registry/meters.csv")["sha256"]


def test_a_crash_between_append_and_marking_records_nothing_twice(env):
    """The ledger is appended first, meta.ledger_recorded marked after: losing the marks (a
    crash in between) makes the next night find those entries at the ledger's tail."""
    from nengtan.warehouse import connect, ensure_raw_schema

    con = connect(env.warehouse_db, cfg=env)
    ensure_raw_schema(con)
    for rel in ("registry/parks.csv", "registry/meters.csv"):
        e = _file_entry(env, rel)
        con.execute("INSERT INTO raw.load_log VALUES (?, 'x', ?, NULL, ?, ?, now()::TIMESTAMP, 'utf-8', 1, 1, 0, "
                    "'loaded', NULL, 'night-1', now()::TIMESTAMP, NULL)", [e["file_id"], rel, e["sha256"], e["size_bytes"]])
        assert ledger.record_from_load_log(con, run_id="night-1", cfg=env) == 1
    marks = con.execute("SELECT file_id, seq FROM meta.ledger_recorded ORDER BY seq").fetchall()
    assert [seq for _, seq in marks] == [1, 2]
    con.execute("DELETE FROM meta.ledger_recorded WHERE seq = 2")  # the crash lost the second mark
    assert ledger.record_from_load_log(con, run_id="night-2", cfg=env) == 0
    assert con.execute("SELECT file_id, seq FROM meta.ledger_recorded ORDER BY seq").fetchall() == marks
    con.close()
    entries, problems, _ = ledger.read_ledger(env)
    assert not problems and [e["seq"] for e in entries] == [1, 2]


def test_files_the_loader_ignores_are_ignored_and_rewrites_noted(recorded):
    old = time.time() - 7200
    for rel in ("meter_readings/date=2026-03-01/_SUCCESS", "meter_readings/date=2026-03-01/.upload.tmp",
                "meter_readings/date=2026-03-01/nested/x.csv", "meter_readings/notes.txt", "registry/old/parks.csv"):
        path = recorded.landing / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
        os.utime(path, (old, old))
    report = ledger.verify(recorded)
    assert report.ok and report.stats["files_unrecorded"] == 0, report.summary()
    assert sorted(n["path"] for n in report.notes if n["kind"] == "unread") == [  # listed, never loaded (issue 20)
        "meter_readings/date=2026-03-01/nested/x.csv", "meter_readings/notes.txt", "registry/old/parks.csv"]
    # a file rewritten in place and loaded again verifies, but the rewrite is shown
    path = recorded.landing / "registry/parks.csv"
    original = path.read_bytes()
    path.write_bytes(original + b"P02,,Two,D2,q@x\n")
    new_version = [_file_entry(recorded, "registry/parks.csv")]
    assert ledger.record_files(new_version, run_id="night-0303", cfg=recorded) == 1
    assert ledger.record_files(new_version, run_id="night-0303", cfg=recorded) == 0  # once per version
    report = ledger.verify(recorded)
    assert report.ok
    assert [(n["kind"], n["path"]) for n in report.notes if n["kind"] != "unread"] == [
        ("file_rewritten", "registry/parks.csv")]
    # put back in place, the old bytes no longer match the latest recorded version
    path.write_bytes(original)
    altered = ledger.verify(recorded).problems
    assert [p["kind"] for p in altered] == ["file_altered"]
    assert "earlier version recorded at seq 1" in altered[0]["detail"]


def test_cli_verify_exit_code(recorded, capsys):
    from nengtan.cli import main

    assert main(["verify"]) == 0
    (recorded.landing / "registry/meters.csv").write_bytes(b"meter_id\n")
    assert main(["verify"]) == 1
    assert "file_altered: registry/meters.csv" in capsys.readouterr().out


def _publish(con, serving: Path, run_id: str, day) -> None:
    """What nengtan.publish does (copy marts into a new file, then os.replace)."""
    tmp = serving.with_name(".publishing.duckdb")
    serving.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"ATTACH '{tmp}' AS serving_new")
    con.execute("CREATE SCHEMA serving_new.marts; CREATE SCHEMA serving_new.meta")
    con.execute("CREATE TABLE serving_new.marts.readings_per_day AS SELECT * FROM marts.readings_per_day")
    con.execute("CREATE TABLE serving_new.meta.publication AS SELECT ?::VARCHAR AS run_id, ?::DATE AS data_day",
                [run_id, day])
    con.execute("DETACH serving_new")
    os.replace(tmp, serving)


def test_real_loader_night_verifies(tmp_path, monkeypatch):
    """A generated landing zone through the real loader and publish step (no Airflow/dbt):
    the ledger lists exactly the files the loader considers, then catches a changed one."""
    from datetime import date

    from nengtan.ingest import load_night
    from nengtan.tools.generate import generate_city
    from nengtan.warehouse import warehouse

    monkeypatch.setenv("NENGTAN_LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("NENGTAN_DATA", str(tmp_path / "data"))
    cfg = settings()
    generate_city(cfg.landing, date(2026, 1, 28), 6, 4, parks=1, seed=3, fault_rate=0.05)
    night = date(2026, 1, 31)  # the later days wait for their nights
    with warehouse(cfg) as con:
        load_night(con, cfg.landing, night, "night-0131")
        assert ledger.record_from_load_log(con, run_id="night-0131", cfg=cfg) > 0
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        con.execute("CREATE TABLE marts.readings_per_day AS SELECT reading_day, count(*) AS n "
                    "FROM raw.meter_readings GROUP BY ALL")
        _publish(con, cfg.serving_db, "night-0131", night)
        loaded = {r[0] for r in con.execute("SELECT path FROM raw.load_log").fetchall()}
    ledger.record_publish(cfg.serving_db, run_id="night-0131", cfg=cfg)
    report = ledger.verify(cfg)
    assert report.ok, report.summary()
    assert report.stats["files_checked"] == len(loaded)
    later = {n["path"] for n in report.notes if n["kind"] == "unrecorded"}
    # the later days' readings and weather wait for their nights
    assert later and all(p.startswith(("meter_readings/date=2026-02-0", "weather/date=2026-02-0")) for p in later), later

    parquet = sorted(p for p in loaded if p.endswith(".parquet"))[0]
    with open(cfg.landing / parquet, "r+b") as fh:
        fh.seek(100)
        byte = fh.read(1)
        fh.seek(100)
        fh.write(bytes([byte[0] ^ 1]))
    assert _kinds(ledger.verify(cfg)) == [("file_altered", parquet)]
