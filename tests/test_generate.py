"""The synthetic landing-zone generator: contract conformance, determinism, planted faults."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from nengtan.credit_code import is_valid
from nengtan.generate import check_landing, generate_city
from nengtan.generate.contract_check import decode
from nengtan.generate.faults import KINDS

START = date(2026, 1, 29)  # crosses a month end, so January is declared inside the range


def _files(root: Path) -> dict[str, tuple[str, int]]:
    return {str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def _text(path: Path) -> str:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    text, _enc = decode(data)
    assert text is not None
    return text


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("landing_small")
    lines: list[str] = []
    report = generate_city(out, START, 4, 8, parks=2, seed=7, fault_rate=0.01, progress=lines.append)
    assert len(lines) == 4  # one progress line per day
    return out, report


@pytest.fixture(scope="module")
def faulty(tmp_path_factory) -> tuple[Path, dict]:
    """High fault rate over a month end so every kind of fault gets planted."""
    out = tmp_path_factory.mktemp("landing_faulty")
    report = generate_city(out, date(2026, 2, 1), 45, 40, parks=2, seed=3, fault_rate=0.12)
    return out, report


def test_small_city_conforms_to_contract(small):
    out, report = small
    assert check_landing(out) == []
    assert report["parks"] == 2 and report["enterprises"] == 8
    assert report["meters"] >= 8 and report["readings"] > 0
    for source in ("registry", "meter_readings", "targets"):
        assert report["files"][source] > 0
    days = sorted(p.name for p in (out / "meter_readings").iterdir())
    assert days == [f"date=2026-01-{d}" for d in (29, 30, 31)] + ["date=2026-02-01"]


def test_credit_codes_valid_and_names_bilingual(small):
    out, _ = small
    rows = list(csv.DictReader(io.StringIO(_text(out / "registry" / "enterprises.csv"))))
    assert len(rows) == 8
    for r in rows:
        assert is_valid(r["credit_code"]), r["credit_code"]
        assert r["credit_code"][:2] == "91" and r["credit_code"][2:4] == "32"
        assert re.search(r"[\u4e00-\u9fff]", r["name_zh"]) and r["name_en"].isascii()
        assert r["industry_code"] in {"39", "17", "26", "34", "31"}


def test_readings_aligned_with_offset_and_mixed_formats(small):
    out, _ = small
    exts = set()
    for f in (out / "meter_readings").rglob("*"):
        if not f.is_file():
            continue
        exts.add(f.name.split(".", 1)[1])
        day = f.parent.name.removeprefix("date=")
        if f.suffix == ".parquet":
            stamps = pq.read_table(f).column("interval_start").to_pylist()
        else:
            stamps = [r["interval_start"] for r in csv.DictReader(io.StringIO(_text(f)))]
        good = [s for s in stamps if re.fullmatch(rf"{day}T\d\d:(00|15|30|45):00\+08:00", s)]
        # only planted malformed rows may differ
        assert len(stamps) - len(good) <= 3, f
    assert exts == {"csv", "csv.gz", "parquet"}


def test_deterministic_bytes_and_mtimes(small, tmp_path):
    out, report = small
    again = generate_city(tmp_path / "again", START, 4, 8, parks=2, seed=7, fault_rate=0.01)
    assert _files(out) == _files(tmp_path / "again")
    assert again["faults"] == report["faults"]
    other = generate_city(tmp_path / "other", START, 4, 8, parks=2, seed=8, fault_rate=0.01)
    assert other["readings"] != report["readings"] or _files(tmp_path / "other") != _files(out)


def test_report_counts_match_manifest(faulty):
    out, report = faulty
    manifest = json.loads((out / "_generator" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["faults"], "no faults recorded"
    counted: dict[str, int] = {}
    for f in manifest["faults"]:
        counted[f["kind"]] = counted.get(f["kind"], 0) + 1
    for kind, stats in report["faults"].items():
        assert stats["planted"] == counted.get(kind, 0), kind
        assert manifest["faults"] is not None
    assert manifest["meters"] == report["meters"]


def test_every_fault_kind_planted_with_file_and_line(faulty):
    out, report = faulty
    missing = [k for k in KINDS if report["faults"][k]["planted"] == 0]
    assert missing == []
    manifest = json.loads((out / "_generator" / "manifest.json").read_text(encoding="utf-8"))
    cache: dict[str, list[str]] = {}
    checked = 0
    for f in manifest["faults"]:
        if not f["file"] or not f["line"]:
            continue
        path = out / f["file"]
        assert path.exists(), f
        if path.suffix in (".parquet", ".xlsx"):
            continue
        lines = cache.setdefault(f["file"], _text(path).splitlines())
        text = lines[f["line"] - 1]
        key = f.get("meter_id") or f.get("credit_code") or f.get("certificate_id")
        assert key in text, (f, text)
        checked += 1
    assert checked > 20


def test_faulty_landing_still_structurally_valid(faulty):
    out, _ = faulty
    assert check_landing(out, max_bad_row_share=0.2) == []


def test_declarations_after_month_end_xlsx_chinese_headers(faulty):
    out, _ = faulty
    decl = out / "declarations" / "month=2026-02"
    xlsx = sorted(decl.glob("*.xlsx"))
    assert xlsx and sorted(decl.glob("*.csv"))
    wb = load_workbook(xlsx[0], read_only=True)
    header = next(wb.worksheets[0].iter_rows(values_only=True))
    assert list(header) == ["统一社会信用代码", "统计期", "申报编号", "申报时间", "项目", "数量", "计量单位"]
    # no declaration for March: its landing day lies after the simulated range
    assert not (out / "declarations" / "month=2026-03").exists()


def test_gb18030_files_really_are_gb18030(faulty):
    out, _ = faulty
    manifest = json.loads((out / "_generator" / "manifest.json").read_text(encoding="utf-8"))
    gb = [f["file"] for f in manifest["faults"] if f["kind"] == "gb18030_file"]
    assert any(p.startswith("meter_readings/") for p in gb)
    assert any(p.startswith("declarations/") for p in gb)
    for rel in {gb[0], next(p for p in gb if p.startswith("declarations/"))}:
        data = (out / rel).read_bytes()
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
        assert re.search(r"[\u4e00-\u9fff]", data.decode("gb18030"))


def test_replacement_in_registry(faulty):
    out, _ = faulty
    rows = list(csv.DictReader(io.StringIO(_text(out / "registry" / "meters.csv"))))
    by_id = {r["meter_id"]: r for r in rows}
    new = [r for r in rows if r["replaces_meter_id"]]
    assert new
    for r in new:
        old = by_id[r["replaces_meter_id"]]
        assert old["removed_at"] == r["installed_at"] and old["removed_at"].endswith("+08:00")


def test_zero_fault_rate_plants_nothing(tmp_path):
    report = generate_city(tmp_path, date(2026, 6, 1), 2, 5, parks=1, seed=1, fault_rate=0.0)
    planted = {k: v["planted"] for k, v in report["faults"].items() if k != "rollover"}
    assert set(planted.values()) == {0}
    assert check_landing(tmp_path, max_bad_row_share=0.0) == []
    for f in (tmp_path / "meter_readings").rglob("*.csv"):
        f.read_bytes().decode("utf-8")


def test_plausible_consumption(tmp_path):
    """An electronics plant uses megawatt-hours a day, not watts or gigawatts."""
    generate_city(tmp_path, date(2026, 4, 6), 2, 30, parks=1, seed=5, fault_rate=0.0)
    meters = list(csv.DictReader(io.StringIO(_text(tmp_path / "registry" / "meters.csv"))))
    ents = {r["credit_code"]: r for r in csv.DictReader(io.StringIO(_text(tmp_path / "registry" / "enterprises.csv")))}
    regs: dict[str, list[float]] = {}
    for f in (tmp_path / "meter_readings" / "date=2026-04-07").iterdir():
        if f.suffix == ".parquet":
            t = pq.read_table(f).to_pylist()
        else:
            t = list(csv.DictReader(io.StringIO(_text(f))))
        for r in t:
            regs.setdefault(r["meter_id"], []).append(float(r["register_end"]))
    daily: dict[str, float] = {}
    for m in meters:
        if m["energy_type"] != "electricity" or m["meter_id"] not in regs:
            continue
        v = regs[m["meter_id"]]
        use = (max(v) - min(v)) * float(m["multiplier"])
        daily[m["credit_code"]] = daily.get(m["credit_code"], 0.0) + use
    elec = [kwh for code, kwh in daily.items() if ents[code]["industry_code"] == "39"]
    assert elec and all(500 < kwh < 500_000 for kwh in elec), elec


def _all_readings(out: Path) -> list[tuple[str, str, str, float, int]]:
    """(meter_id, interval_start, register_end, landed mtime, order) for every row of every file."""
    rows = []
    for f in sorted((out / "meter_readings").rglob("*")):
        if not f.is_file():
            continue
        mtime = f.stat().st_mtime_ns
        if f.suffix == ".parquet":
            t = pq.read_table(f).to_pylist()
            got = [(r["meter_id"], r["interval_start"], str(r["register_end"])) for r in t]
        else:
            got = [(r["meter_id"], r["interval_start"], r["register_end"])
                   for r in csv.DictReader(io.StringIO(_text(f)))]
        rows.extend((m, ts, v, mtime, i) for i, (m, ts, v) in enumerate(got))
    return rows


def test_registers_reproduce_ground_truth(faulty):
    """Following the contract's rules (last landed wins, rollover at register_max, backwards
    readings dropped) the registers give back the manifest's true consumption per meter."""
    from datetime import datetime

    out, _ = faulty
    meters = {r["meter_id"]: r for r in csv.DictReader(io.StringIO(_text(out / "registry" / "meters.csv")))}
    latest: dict[tuple[str, datetime], tuple[int, float]] = {}
    for m, ts, v, mtime, _i in _all_readings(out):
        try:
            when = datetime.fromisoformat(ts)
            value = float(v)
        except ValueError:
            continue
        if m not in meters or when.tzinfo is None or when.minute % 15 or not re.fullmatch(r"\d+(\.\d+)?", v):
            continue
        key = (m, when)
        if key not in latest or mtime >= latest[key][0]:
            latest[key] = (mtime, value)
    series: dict[str, list[tuple[datetime, float]]] = {}
    for (m, when), (_t, value) in latest.items():
        series.setdefault(m, []).append((when, value))
    truth: dict[str, float] = {}
    with gzip.open(out / "_generator" / "truth_meter_daily.csv.gz", "rt", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            truth[r["meter_id"]] = truth.get(r["meter_id"], 0.0) + float(r["quantity"])
    last_ts = max(w for s in series.values() for w, _ in s)
    compared = backwards = rolled = 0
    for m, s in series.items():
        info = meters[m]
        s.sort()
        if info["removed_at"] or s[-1][0] != last_ts:
            continue  # consumption after the last reading is not known yet
        rmax, mult = float(info["register_max"]), float(info["multiplier"])
        good = float(info["register_at_install"])
        total = 0.0
        accepted = False
        for _w, value in s:
            accepted = True
            if value >= good:
                total += value - good
            elif rmax - good + value < 0.5 * rmax:
                total += rmax - good + value
                rolled += 1
            else:
                backwards += 1
                accepted = False
                continue
            good = value
        if not accepted:
            continue  # the very last reading went backwards: the last interval is not known yet
        compared += 1
        assert total * mult == pytest.approx(truth[m], rel=1e-6, abs=0.02 * mult), m
    assert compared > 50 and backwards > 0 and rolled > 0


def test_deterministic_across_processes(small, tmp_path):
    """String hashing differs per process; the output must not."""
    import os
    import subprocess
    import sys

    out, _ = small
    code = ("import sys; from datetime import date; from pathlib import Path; "
            "from nengtan.generate import generate_city; "
            f"generate_city(Path(sys.argv[1]), date({START.year}, {START.month}, {START.day}), 4, 8, parks=2, "
            "seed=7, fault_rate=0.01)")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "p")], check=True, env=env)
    assert _files(tmp_path / "p") == _files(out)
