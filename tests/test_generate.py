"""The synthetic landing-zone generator: contract conformance, determinism, planted faults."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from nengtan.credit_code import is_valid
from nengtan.tools.generate import check_landing, generate_city
from nengtan.tools.generate.contract_check import decode
from nengtan.tools.generate.faults import KINDS

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
        assert r["industry_code"] in {"39", "17", "26", "34", "31"}  # no planted cases below 20 enterprises
        assert re.fullmatch(r"\d{4}", r["industry_class"]) and r["industry_class"][:2] == r["industry_code"]


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
        key = f.get("meter_id") or f.get("credit_code") or f.get("certificate_id") or f.get("entity_id")
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
    assert report["roles"] == {}  # a five-enterprise city is too small for the planted cases
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
            "from nengtan.tools.generate import generate_city; "
            f"generate_city(Path(sys.argv[1]), date({START.year}, {START.month}, {START.day}), 4, 8, parks=2, "
            "seed=7, fault_rate=0.01)")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "p")], check=True, env=env)
    assert _files(tmp_path / "p") == _files(out)


# --------------------------------------------------------------------------------------------
# The planted cases of a city large enough for them (issues 13 and 14), checked against the
# landing zone itself with the contract's and the methodology's rules, not the generator's code.

CASE_START = date(2026, 1, 1)
CASE_DAYS = 90  # the demo's range: the night of 2026-03-31; March's declarations are due 15 April
CASE_END = date(2026, 3, 31)
TCE = {"electricity": 0.0001229, "natural_gas": 0.0012143, "heat": 0.03412, "steam": 0.1286, "raw_coal": 0.7143,
       "diesel": 1.4571, "gasoline": 1.4714, "fuel_oil": 1.4286, "lpg": 1.7143}
FUEL_CO2 = {"natural_gas": 0.002162, "raw_coal": 1.900, "diesel": 3.096, "gasoline": 2.925, "fuel_oil": 3.170,
            "lpg": 3.101}
ITEM_TYPE = {"electricity_purchased": "electricity", "natural_gas": "natural_gas", "heat_purchased": "heat",
             "steam_purchased": "steam"}


@pytest.fixture(scope="module")
def cases(tmp_path_factory) -> tuple[Path, dict, dict]:
    out = tmp_path_factory.mktemp("landing_cases")
    report = generate_city(out, CASE_START, CASE_DAYS, 40, parks=2, seed=5, fault_rate=0.01)
    manifest = json.loads((out / "_generator" / "manifest.json").read_text(encoding="utf-8"))
    return out, report, manifest


def _csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(_text(path))))


def _declarations(out: Path) -> list[dict]:
    """Every declaration row with its file and line (xlsx rows numbered as the CSV's)."""
    rows = []
    for f in sorted((out / "declarations").rglob("*")):
        if f.suffix == ".csv":
            got = _csv(f)
        elif f.suffix == ".xlsx":
            wb = load_workbook(f, read_only=True)
            it = wb.worksheets[0].iter_rows(values_only=True)
            next(it)
            keys = ["credit_code", "period", "submission_id", "submitted_at", "item", "quantity", "unit"]
            got = [dict(zip(keys, ["" if v is None else str(v) for v in r], strict=True)) for r in it]
            wb.close()
        else:
            continue
        for n, r in enumerate(got, start=2):
            rows.append({**r, "quantity": float(r["quantity"]), "file": str(f.relative_to(out)), "line": n})
    return rows


def _latest(decl: list[dict]) -> dict[tuple[str, str], dict[str, float]]:
    """(credit_code, period) -> item -> quantity of the latest submission."""
    subs: dict[tuple[str, str], tuple[str, dict[str, float]]] = {}
    for r in decl:
        key = (r["credit_code"], r["period"])
        at = r["submitted_at"]
        if key not in subs or at > subs[key][0]:
            subs[key] = (at, {})
        if subs[key][0] == at:
            subs[key][1][r["item"]] = r["quantity"]
    return {k: v[1] for k, v in subs.items()}


def _truth_by_type(out: Path) -> dict[tuple[str, str, str], float]:
    """(credit_code, YYYY-MM, energy_type) -> true metered quantity."""
    meters = {r["meter_id"]: r for r in _csv(out / "registry" / "meters.csv")}
    acc: dict[tuple[str, str, str], float] = {}
    with gzip.open(out / "_generator" / "truth_meter_daily.csv.gz", "rt", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            m = meters[r["meter_id"]]
            key = (m["credit_code"], r["day"][:7], m["energy_type"])
            acc[key] = acc.get(key, 0.0) + float(r["quantity"])
    return acc


def _records(manifest: dict, kind: str) -> list[dict]:
    return [f for f in manifest["faults"] if f["kind"] == kind]


def _month_after(period: str, k: int = 1) -> str:
    y, m = divmod(int(period[:4]) * 12 + int(period[5:]) - 1 + k, 12)
    return f"{y:04d}-{m + 1:02d}"


def test_case_city_conforms_and_plants_every_case(cases):
    out, report, manifest = cases
    assert check_landing(out) == []
    expected_roles = {"chp", "chp_heat_customer", "feedstock_chemical", "cement", "aluminium", "green_power_trader",
                      "green_power_uncovered", "certificate_over_consumption", "certificate_expired_claim",
                      "certificate_premature_claim", "late_declarer", "late_declarer_2", "ets_shortfall",
                      "ets_ccer_over_cap", "ets_cross_check_mismatch", "ets_candidate", "key_energy_user_candidate",
                      "budget_exceeded", "intensity_reduction_behind"}
    assert expected_roles <= set(report["roles"])
    assert [k for k, v in report["cases"].items() if v["planted"] == 0] == []
    for source in ("ets", "weather", "targets"):
        assert report["files"][source] > 0
    assert sorted(p.name for p in (out / "targets").iterdir()) == ["year=2026", "year=2027"]  # with the roadmap
    for f in manifest["faults"]:
        if f["file"] and f["line"] and not f["file"].endswith((".parquet", ".xlsx")):
            line = _text(out / f["file"]).splitlines()[f["line"] - 1]
            key = f.get("credit_code") or f.get("meter_id") or f.get("certificate_id") or f.get("entity_id")
            if f["kind"] in ("certificate_double_claim", "target_exceeded", "intensity_reduction_behind",
                             "ets_shortfall", "ets_ccer_over_cap", "ets_cross_check_mismatch",
                             "ets_candidate", "key_energy_user_candidate", "late_declaration",
                             "energy_exported", "feedstock", "process_emissions", "green_power_uncovered",
                             "certificate_over_consumption", "certificate_expired", "certificate_premature",
                             "project_savings", "new_facility_over_approval"):
                assert key in line, (f, line)


def test_registry_classes_and_steam_conditions(cases):
    from iapws import IAPWS97

    out, report, _ = cases
    ents = {r["credit_code"]: r for r in _csv(out / "registry" / "enterprises.csv")}
    roles = report["roles"]
    for code, r in ents.items():
        if code == roles.get("ets_candidate_2"):  # planted: an older row without the class, division 31
            assert r["industry_class"] == "" and r["industry_code"] == "31"
            continue
        assert re.fullmatch(r"\d{4}", r["industry_class"]) and r["industry_class"][:2] == r["industry_code"]
    assert [ents[roles[k]]["industry_class"] for k in ("chp", "cement", "aluminium", "feedstock_chemical")] == \
        ["4411", "3011", "3216", "2621"]
    meters = _csv(out / "registry" / "meters.csv")
    steam = [m for m in meters if m["energy_type"] == "steam"]
    kinds = {(bool(m["steam_pressure_mpa"]), bool(m["steam_temperature_c"])) for m in steam}
    assert kinds == {(True, True), (True, False), (False, False)}  # superheated, saturated, default
    for m in steam:
        if m["steam_pressure_mpa"]:
            p = float(m["steam_pressure_mpa"])
            assert 0.6 <= p <= 1.6
            if m["steam_temperature_c"]:
                assert float(m["steam_temperature_c"]) > IAPWS97(P=p, x=1).T - 273.15 + 5
    assert all(not m["steam_pressure_mpa"] and not m["steam_temperature_c"] for m in meters
               if m["energy_type"] != "steam")


def test_chp_exported_heat_is_the_neighbours_metered_heat(cases):
    out, report, manifest = cases
    chp, customer = report["roles"]["chp"], report["roles"]["chp_heat_customer"]
    ents = {r["credit_code"]: r for r in _csv(out / "registry" / "enterprises.csv")}
    assert ents[chp]["park_id"] == ents[customer]["park_id"]
    truth = _truth_by_type(out)
    latest = _latest(_declarations(out))
    months = [p for (c, p) in latest if c == chp and p.startswith("2026")]
    assert months == ["2026-01", "2026-02"]
    for period in months:
        items = latest[(chp, period)]
        assert items["heat_exported"] == pytest.approx(truth[(customer, period, "heat")], abs=0.006)
        assert items["heat_exported"] > 1000 and items["electricity_exported"] > 1e6 and items["raw_coal"] > 1000
        assert "heat" not in {t for (c, _p, t) in truth if c == chp}  # the plant meters no heat itself
        assert latest[(customer, period)]["heat_purchased"] == pytest.approx(items["heat_exported"], rel=0.3)
    assert {r["month"] for r in _records(manifest, "energy_exported")} == set(months)


def test_feedstock_never_above_its_fuel(cases):
    out, report, _ = cases
    subs: dict[str, dict[str, float]] = {}
    for r in _declarations(out):
        subs.setdefault(r["submission_id"], {})[r["item"]] = r["quantity"]
    fed = 0
    for sub, items in subs.items():
        for feed, fuel in (("raw_coal_feedstock", "raw_coal"), ("natural_gas_feedstock", "natural_gas")):
            if feed in items:
                assert 0 < items[feed] <= items[fuel], (sub, items)
                fed += 1
    chem = report["roles"]["feedstock_chemical"]
    latest = _latest(_declarations(out))
    for period in ("2026-01", "2026-02", "2025-06"):
        items = latest[(chem, period)]
        assert 0.3 * items["raw_coal"] < items["raw_coal_feedstock"] < items["raw_coal"]
        assert 0.2 * items["natural_gas"] < items["natural_gas_feedstock"] < items["natural_gas"]
    assert fed >= 2 * 14  # both items, every month of the base year and the range


def test_process_emissions_and_fuel_stocks(cases):
    out, report, _ = cases
    ents = {r["credit_code"]: r for r in _csv(out / "registry" / "enterprises.csv")}
    latest = _latest(_declarations(out))
    for role in ("cement", "aluminium"):
        for period in ("2026-01", "2026-02"):
            assert latest[(report["roles"][role], period)]["process_emissions_tco2"] > 1000
    for (code, _period), items in latest.items():
        if not ents[code]["industry_class"]:
            continue  # the planted row without a class
        has_process = "process_emissions_tco2" in items
        assert has_process == (ents[code]["industry_class"] in ("3011", "3110", "3120", "3216")
                               and ("raw_coal" in items or ents[code]["industry_class"] == "3216")), code
        for fuel in ("raw_coal", "diesel", "gasoline", "fuel_oil", "lpg"):
            assert (fuel in items) == (f"{fuel}_stock_end" in items)


def test_declaration_timing_late_and_march_pending(cases):
    """January and February land in early February / March; the planted late declarers after
    the 15th; March's declarations do not exist on the night of 31 March (due 15 April)."""
    from datetime import datetime

    out, report, manifest = cases
    assert sorted(p.name for p in (out / "declarations").iterdir() if p.name.startswith("month=2026")) == \
        ["month=2026-01", "month=2026-02"]
    assert report["declarations"]["pending_months"] == ["2026-03"]
    assert [r["month"] for r in _records(manifest, "declarations_pending")] == ["2026-03"]
    late_found = set()
    first: dict[tuple[str, str], datetime] = {}
    for r in _declarations(out):
        at = datetime.fromisoformat(r["submitted_at"])
        assert at.strftime("%Y-%m") >= _month_after(r["period"]) and at.date() <= CASE_END, r
        key = (r["credit_code"], r["period"])
        first[key] = min(first.get(key, at), at)
    for key, at in first.items():  # a declaration is late by its first submission, not a correction
        deadline = date.fromisoformat(_month_after(key[1]) + "-15")
        if at.date() > deadline:
            late_found.add(key)
        else:
            assert at.day >= 5 and at.strftime("%Y-%m") == _month_after(key[1]), key
    planted = {(f["credit_code"], f["month"]) for f in _records(manifest, "late_declaration")}
    assert late_found == planted
    late_roles = {report["roles"]["late_declarer"], report["roles"]["late_declarer_2"]}
    assert {c for c, p in planted if p == "2026-02"} == late_roles


def test_green_power_certificates_match_the_declared_trades(cases):
    out, report, manifest = cases
    latest = _latest(_declarations(out))
    certs = [r for f in sorted((out / "green_certificates").iterdir()) for r in _csv(f)]
    trades: dict[tuple[str, str], set[str]] = {}
    n_trade: dict[tuple[str, str], int] = {}
    for c in certs:
        assert c["trade_type"] in ("green_power", "standalone", "")
        assert bool(c["trade_id"]) == (c["trade_type"] == "green_power")
        if c["trade_type"] == "green_power" and c["claimed_period"]:
            key = (c["owner_credit_code"], c["claimed_period"])
            trades.setdefault(key, set()).add(c["trade_id"])
            n_trade[key] = n_trade.get(key, 0) + 1
    declared = {k: v["green_electricity_direct"] for k, v in latest.items() if "green_electricity_direct" in v}
    uncovered = report["roles"]["green_power_uncovered"]
    assert declared and set(declared) >= {k for k in n_trade if k[0] != uncovered}
    for key, kwh in declared.items():
        got = n_trade.get(key, 0)
        if key[0] == uncovered:
            assert got < kwh / 1000, key
        else:
            # a double claim of a trade certificate by another holder is that holder's problem
            assert got == kwh / 1000 and len(trades[key]) == 1, (key, got, kwh)
    assert {f["credit_code"] for f in _records(manifest, "green_power_uncovered")} == {uncovered}


def _cert_rows(out: Path, rec: dict) -> list[dict[str, str]]:
    rows = _csv(out / rec["file"])
    n = int(rec["detail"].split()[0])
    return rows[rec["line"] - 2: rec["line"] - 2 + n]


def _valid_through(gen: str) -> str:
    return "2025-12" if gen < "2024-01" else _month_after(gen, 23)


def test_expired_premature_and_last_valid_claims_really_are(cases):
    out, _, manifest = cases
    expired = _records(manifest, "certificate_expired")
    assert len(expired) == 2  # two years old, and pre-2024 power claimed for 2026
    for rec in expired:
        for c in _cert_rows(out, rec):
            assert c["claimed_period"] > _valid_through(c["generation_month"]), c
    assert any(c["generation_month"] < "2024-01" for rec in expired for c in _cert_rows(out, rec))
    for rec in _records(manifest, "certificate_last_valid_month"):
        for c in _cert_rows(out, rec):
            assert c["claimed_period"] == _valid_through(c["generation_month"]) and c["generation_month"] >= "2024-01"
    premature = _records(manifest, "certificate_premature")
    assert premature
    for rec in premature:
        for c in _cert_rows(out, rec):
            assert c["claimed_period"] < c["generation_month"], c


def test_certificates_above_the_months_electricity(cases):
    out, report, manifest = cases
    holder = report["roles"]["certificate_over_consumption"]
    truth = _truth_by_type(out)
    claims: dict[str, int] = {}
    seen: set[str] = set()
    for f in sorted((out / "green_certificates").iterdir()):
        for c in sorted(_csv(f), key=lambda c: c["claimed_at"]):
            if c["claimed_period"] and c["certificate_id"] not in seen:
                seen.add(c["certificate_id"])
                if c["owner_credit_code"] == holder and c["claimed_period"] <= _valid_through(c["generation_month"]):
                    claims[c["claimed_period"]] = claims.get(c["claimed_period"], 0) + 1
    recs = _records(manifest, "certificate_over_consumption")
    assert {r["month"] for r in recs} == {"2026-01", "2026-02"}
    for period in ("2026-01", "2026-02"):
        assert claims[period] > truth[(holder, period, "electricity")] / 1000


def _projection(out: Path, latest: dict, truth: dict, code: str) -> float:
    """Projected 2026 energy (tce) as the methodology projects it on the last night: metered ÷ days
    metered × 365 plus declared (fuels, less feedstock and exports) ÷ declared months × 12."""
    metered = sum(TCE[t] * q for (c, p, t), q in truth.items() if c == code and p.startswith("2026"))
    months = [items for (c, p), items in latest.items() if c == code and p.startswith("2026")]
    decl = 0.0
    for items in months:
        decl += sum(TCE[f] * (items.get(f, 0.0) - items.get(f"{f}_feedstock", 0.0))
                    for f in ("raw_coal", "diesel", "gasoline", "fuel_oil", "lpg"))
        decl -= TCE["natural_gas"] * items.get("natural_gas_feedstock", 0.0)
        decl -= TCE["heat"] * items.get("heat_exported", 0.0) + TCE["electricity"] * items.get("electricity_exported", 0.0)
    return metered / CASE_DAYS * 365 + (decl / len(months) * 12 if months else 0.0)


def test_budgets_sized_from_the_truth_no_false_reds(cases):
    """Only the planted exceeders reach orange or red on the last night; every one of them really
    does. Certificate holders are left out (their non-fossil deduction is the warehouse's to make)."""
    out, report, manifest = cases
    latest = _latest(_declarations(out))
    truth = _truth_by_type(out)
    holders = {c["owner_credit_code"] for f in (out / "green_certificates").iterdir() for c in _csv(f)}
    planted = {r["credit_code"] for r in _records(manifest, "target_exceeded") if r["year"] == 2026}
    assert report["roles"]["budget_exceeded"] in planted
    targets = [r for r in _csv(out / "targets" / "year=2026" / "targets_2026.csv") if r["level"] == "enterprise"]
    checked = 0
    for t in targets:
        if t["entity_id"] in holders or not t["energy_budget_tce"]:
            continue
        ratio = _projection(out, latest, truth, t["entity_id"]) / float(t["energy_budget_tce"])
        if t["entity_id"] in planted:
            assert ratio > 1.0, (t, ratio)
        else:
            assert ratio < 1.0, (t, ratio)
        checked += 1
    assert checked >= 15
    empty = sum(1 for t in targets for c in ("energy_budget_tce", "carbon_budget_tco2", "energy_intensity_target",
                                             "carbon_intensity_target") if not t[c])
    assert empty > 0  # some targets are not set
    with_base = [t for t in targets if t["base_year"]]
    assert with_base and all(t["base_year"] == "2025" and t["energy_intensity_reduction_pct"] for t in with_base)
    roadmap = _csv(out / "targets" / "year=2027" / "targets_2027.csv")
    assert {r["level"] for r in roadmap} == {"enterprise", "park", "city"}


def test_intensity_reduction_behind_really_is(cases):
    """Against the base-year archive: 1 - (intensity 2026 YTD ÷ intensity 2025)."""
    out, report, manifest = cases
    latest = _latest(_declarations(out))
    truth = _truth_by_type(out)
    code = report["roles"]["intensity_reduction_behind"]
    rec = [r for r in _records(manifest, "intensity_reduction_behind") if r["credit_code"] == code]
    assert rec
    target = next(t for t in _csv(out / "targets" / "year=2026" / "targets_2026.csv") if t["entity_id"] == code)

    def intensity(periods, metered_from_truth):
        energy = va = 0.0
        for p in periods:
            items = latest[(code, p)]
            va += items["value_added"]
            for item, q in items.items():
                if item in ITEM_TYPE and not metered_from_truth:
                    energy += TCE[ITEM_TYPE[item]] * q
                elif item in TCE and item not in ("natural_gas",):
                    energy += TCE[item] * (q - items.get(f"{item}_feedstock", 0.0))
            if metered_from_truth:
                energy += sum(TCE[t] * truth.get((code, p, t), 0.0) for t in ITEM_TYPE.values())
        return energy / va

    base = intensity([f"2025-{m:02d}" for m in range(1, 13)], False)
    now = intensity(["2026-01", "2026-02"], True)
    achieved = (1 - now / base) * 100
    assert achieved < float(target["energy_intensity_reduction_pct"]), (achieved, target)


def _scope12_2025(latest: dict, code: str) -> tuple[float, float, float]:
    """(scope 1 + scope 2 location, scope 1 with process, net tce) of 2025 from the archive;
    steam at the default saturated 1.0 MPa heat content (2.6934 GJ/t)."""
    s1 = s2 = tce = 0.0
    for m in range(1, 13):
        items = latest[(code, f"2025-{m:02d}")]
        for fuel, f in FUEL_CO2.items():
            s1 += f * (items.get(fuel, 0.0) - items.get(f"{fuel}_feedstock", 0.0))
        s1 += items.get("process_emissions_tco2", 0.0)
        s2 += 0.5827e-3 * items.get("electricity_purchased", 0.0) + 0.11 * items.get("heat_purchased", 0.0) \
            + 0.11 * 2.6934 * items.get("steam_purchased", 0.0)
        for item, q in items.items():
            key = ITEM_TYPE.get(item, item)
            if key in TCE:
                tce += TCE[key] * q
        tce -= TCE["heat"] * items.get("heat_exported", 0.0) + TCE["electricity"] * items.get("electricity_exported", 0.0)
    return s1 + s2, s1, tce


def test_ets_cases(cases):
    from datetime import timedelta

    out, report, manifest = cases
    ents = {r["credit_code"]: r for r in _csv(out / "registry" / "enterprises.csv")}
    ets = {r["credit_code"]: r for r in _csv(out / "ets" / "year=2025" / "ets_2025.csv")}
    sector = {"4411": "power", "3110": "steel", "3120": "steel", "3130": "steel", "3011": "cement", "3216": "aluminium"}
    assert set(ets) == {c for c, e in ents.items() if e["ets_covered"] == "true"}
    assert {r["sector"] for r in ets.values()} >= {"power", "cement", "aluminium"}
    latest = _latest(_declarations(out))
    roles = report["roles"]
    for code, r in ets.items():
        assert r["sector"] == sector[ents[code]["industry_class"]]
        v = float(r["verified_emissions_tco2"])
        gap = v - float(r["allowances_surrendered_t"]) - min(float(r["ccer_surrendered_t"]), 0.05 * v)
        days_left = (date.fromisoformat(r["compliance_deadline"]) - CASE_END).days
        warehouse = _scope12_2025(latest, code)[0]
        diff = (warehouse - v) / v
        if code == roles["ets_cross_check_mismatch"]:
            assert abs(diff) > 0.10, diff
        else:
            assert abs(diff) < 0.05, (code, diff)
        if code == roles["ets_shortfall"]:
            assert gap > 0 and 0 < days_left <= 60
        elif gap > 1:
            assert days_left > 60, code  # no other gap is due within the alert window
        if code == roles["ets_ccer_over_cap"]:
            assert float(r["ccer_surrendered_t"]) > 0.05 * v and gap > 0
    for role in ("ets_candidate", "ets_candidate_2"):
        code = roles.get(role)
        if code:  # with only the division (no class), 31 counts as steel
            assert ents[code]["ets_covered"] == "false"
            assert ents[code]["industry_class"] in sector or ents[code]["industry_code"] == "31"
            assert _scope12_2025(latest, code)[1] >= 26_000
    keu = roles["key_energy_user_candidate"]
    assert ents[keu]["key_energy_user"] == "false" and _scope12_2025(latest, keu)[2] >= 10_000
    assert report["ets"]["cross_checkable"] == len(ets)
    del timedelta


def test_weather_per_district_and_day(cases):
    out, _, _ = cases
    districts = {r["district"] for r in _csv(out / "registry" / "parks.csv")}
    days = sorted(p.name for p in (out / "weather").iterdir())
    assert len(days) == CASE_DAYS and days[0] == "date=2026-01-01"
    jan = [float(r["temp_mean_c"]) for d in days[:31] for f in (out / "weather" / d).iterdir() for r in _csv(f)]
    assert {r["district"] for f in (out / "weather" / days[0]).iterdir() for r in _csv(f)} == districts
    assert -5 < sum(jan) / len(jan) < 10  # a Wuxi January


def test_case_city_deterministic(cases, tmp_path):
    """Same bytes and mtimes from a second generation, in another process with another string hash seed."""
    import os
    import subprocess
    import sys

    out, report, _ = cases
    code = ("import sys; from datetime import date; from pathlib import Path; "
            "from nengtan.tools.generate import generate_city; "
            "generate_city(Path(sys.argv[1]), date(2026, 1, 1), 90, 40, parks=2, seed=5, fault_rate=0.01)")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "again")], check=True,
                   env={**os.environ, "PYTHONHASHSEED": "4242"})
    assert _files(out) == _files(tmp_path / "again")


def test_contract_check_catches_broken_new_fields(cases, tmp_path):
    """The checker fails on what the contract forbids: a feedstock above its fuel, superheated
    steam below saturation, a class outside its division, a green_power certificate without a trade."""
    import shutil

    out, report, _ = cases
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    ent = bad / "registry" / "enterprises.csv"
    ent.write_text(ent.read_text(encoding="utf-8").replace(",4411,", ",3011,", 1), encoding="utf-8")
    meters = bad / "registry" / "meters.csv"
    lines = meters.read_text(encoding="utf-8").splitlines()
    k = next(i for i, line in enumerate(lines) if line.split(",")[-1] and line.split(",")[-2] == "1.0")
    lines[k] = ",".join(lines[k].split(",")[:-1] + ["150"])
    meters.write_text("\n".join(lines) + "\n", encoding="utf-8")
    chem = report["roles"]["feedstock_chemical"]
    for f in (bad / "declarations" / "month=2025-06").glob("*.csv"):
        rows = f.read_text(encoding="utf-8").splitlines()
        rows = [",".join(r.split(",")[:5] + ["99999999.00"] + r.split(",")[6:])
                if r.startswith(chem) and ",raw_coal_feedstock," in r else r for r in rows]
        f.write_text("\n".join(rows) + "\n", encoding="utf-8")
    problems = check_landing(bad)
    assert any("industry_class '3011'" in p for p in problems), problems
    assert any("not above the saturation temperature" in p for p in problems), problems
    assert any("raw_coal_feedstock 99999999.0 exceeds raw_coal" in p for p in problems), problems


def test_projects_versions_and_real_savings(cases):
    """Projects as versions (latest updated_at wins), boundary meters of the owner, a baseline
    ending the day before commissioning; the savings are real: the same day simulated with and
    without the projects differs on the boundary meters only, by the planted fraction."""
    from nengtan.tools.generate.city import build_city
    from nengtan.tools.generate.projects import plan_projects
    from nengtan.tools.generate.readings import simulate_day

    out, report, manifest = cases
    meters = {r["meter_id"]: r for r in _csv(out / "registry" / "meters.csv")}
    latest: dict[str, dict[str, str]] = {}
    versions = 0
    for f in sorted((out / "projects").iterdir()):
        for r in _csv(f):
            versions += 1
            if r["project_id"] not in latest or r["updated_at"] > latest[r["project_id"]]["updated_at"]:
                latest[r["project_id"]] = r
    assert versions > len(latest)  # the commissioned retrofits were first exported in progress
    assert {r["status"] for r in latest.values()} == {"commissioned", "planned", "cancelled"}
    for r in latest.values():
        assert all(meters[m]["credit_code"] == r["credit_code"] for m in r["meter_ids"].split())
        if r["kind"] == "retrofit" and r["status"] == "commissioned":
            assert date.fromisoformat(r["baseline_end"]) == date.fromisoformat(r["commissioned_on"]) - timedelta(1)
        if r["kind"] == "new_facility":
            assert float(r["approved_annual_energy_tce"]) > 0 and float(r["approved_annual_co2_t"]) > 0
    saved = _records(manifest, "project_savings")
    assert len(saved) == 2 and len(_records(manifest, "new_facility_over_approval")) == 1
    city = build_city(CASE_START, CASE_DAYS, 40, 2, 5, 0.01, 3.5)
    plan_projects(city, np.random.default_rng([5, 16]))
    k = CASE_DAYS - 1
    with_projects = simulate_day(city, k, city.m_install_reg.copy(), np.random.default_rng(1)).consumption
    city.m_save_factor = None
    without = simulate_day(city, k, city.m_install_reg.copy(), np.random.default_rng(1)).consumption
    ratio = np.where(without > 0, with_projects / np.where(without > 0, without, 1), 1.0)  # removed meters: 0
    project_meters = [city.meter_id.index(r["meter_id"]) for r in saved]
    assert sorted(np.flatnonzero(np.abs(ratio - 1) > 1e-9)) == sorted(project_meters)
    assert sorted(np.round(ratio[project_meters], 6)) == [0.88, 0.92]


def test_heat_follows_the_weather(cases):
    """Heat use responds to the day's temperature (heating degrees), so a baseline against
    weather has something to fit: daily heat relative to the profile's expectation falls on
    warmer-than-normal days."""
    from nengtan.tools.generate.weather import normal_temperature

    out, _, _ = cases
    heat_meters = {r["meter_id"] for r in _csv(out / "registry" / "meters.csv") if r["energy_type"] == "heat"}
    daily: dict[str, float] = {}
    with gzip.open(out / "_generator" / "truth_meter_daily.csv.gz", "rt", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["meter_id"] in heat_meters:
                daily[r["day"]] = daily.get(r["day"], 0.0) + float(r["quantity"])
    anomaly, use = [], []
    for d in sorted((out / "weather").iterdir()):
        day = d.name.removeprefix("date=")
        temps = [float(r["temp_mean_c"]) for f in d.iterdir() for r in _csv(f)]
        anomaly.append(sum(temps) / len(temps) - normal_temperature(date.fromisoformat(day)))
        use.append(daily[day])
    # compare each day with its neighbours' mean: removes the season and the Spring Festival shape
    use_a, anom_a = np.array(use), np.array(anomaly)
    rel = use_a[1:-1] / ((use_a[:-2] + use_a[2:]) / 2)
    rel_t = anom_a[1:-1] - (anom_a[:-2] + anom_a[2:]) / 2
    assert np.corrcoef(rel, rel_t)[0, 1] < -0.3
