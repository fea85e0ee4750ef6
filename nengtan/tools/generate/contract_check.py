"""Does a landing zone follow docs/data-contract.md? A checker for generated data.

Structure (layout, names, headers, encodings, registry/declaration/certificate/target
fields) must be exact. Meter-reading files may carry the row faults upstream gateways
really send (the warehouse quarantines them), so a reading file is only a problem when
more than ``max_bad_row_share`` of its rows are malformed.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from nengtan.credit_code import invalid_reason
from nengtan.tools.generate.steam import saturation_temperature_c

READINGS_COLS = ["meter_id", "interval_start", "register_end", "quality"]
PARKS_COLS = ["park_id", "name_zh", "name_en", "district", "contact_email"]
ENT_COLS = ["credit_code", "name_zh", "name_en", "park_id", "industry_code", "industry_class", "key_energy_user",
            "ets_covered", "contact_email"]
ENT_OPTIONAL = ["industry_class"]
METER_COLS = ["meter_id", "credit_code", "energy_type", "unit", "multiplier", "register_max",
              "register_at_install", "installed_at", "removed_at", "replaces_meter_id", "steam_pressure_mpa",
              "steam_temperature_c"]
METER_OPTIONAL = ["steam_pressure_mpa", "steam_temperature_c"]
DECL_COLS = ["credit_code", "period", "submission_id", "submitted_at", "item", "quantity", "unit"]
DECL_COLS_ZH = ["统一社会信用代码", "统计期", "申报编号", "申报时间", "项目", "数量", "计量单位"]
CERT_COLS = ["certificate_id", "project_id", "generation_month", "owner_credit_code", "claimed_period",
             "claimed_at", "trade_type", "trade_id"]
CERT_OPTIONAL = ["trade_type", "trade_id"]
TARGET_COLS = ["level", "entity_id", "year", "energy_budget_tce", "carbon_budget_tco2",
               "energy_intensity_target", "carbon_intensity_target", "base_year", "energy_intensity_reduction_pct",
               "carbon_intensity_reduction_pct"]
TARGET_OPTIONAL = ["base_year", "energy_intensity_reduction_pct", "carbon_intensity_reduction_pct"]
ETS_COLS = ["credit_code", "year", "sector", "verified_emissions_tco2", "allowances_allocated_t",
            "allowances_surrendered_t", "ccer_surrendered_t", "compliance_deadline"]
ETS_SECTORS = ("power", "steel", "cement", "aluminium")
PROJECT_COLS = ["project_id", "credit_code", "name_zh", "name_en", "kind", "measure", "meter_ids",
                "baseline_start", "baseline_end", "commissioned_on", "expected_annual_savings_tce",
                "approved_annual_energy_tce", "approved_annual_co2_t", "status", "updated_at"]
PROJECT_OPTIONAL = ["approved_annual_co2_t"]
WEATHER_COLS = ["district", "date", "temp_mean_c", "temp_min_c", "temp_max_c"]
UNITS = {"electricity": "kWh", "natural_gas": "m3", "heat": "GJ", "steam": "t"}
ITEM_UNITS = {"electricity_purchased": "kWh", "natural_gas": "m3", "heat_purchased": "GJ",
              "steam_purchased": "t", "raw_coal": "t", "diesel": "t", "gasoline": "t", "fuel_oil": "t",
              "lpg": "t", "green_electricity_direct": "kWh", "industrial_output_value": "万元",
              "value_added": "万元", "product_output": None,
              "electricity_exported": "kWh", "heat_exported": "GJ", "steam_exported": "t",
              "raw_coal_feedstock": "t", "natural_gas_feedstock": "m3", "fuel_oil_feedstock": "t",
              "lpg_feedstock": "t", "process_emissions_tco2": "t", "raw_coal_stock_end": "t",
              "diesel_stock_end": "t", "gasoline_stock_end": "t", "fuel_oil_stock_end": "t", "lpg_stock_end": "t"}
FEEDSTOCK_OF = {"raw_coal_feedstock": "raw_coal", "natural_gas_feedstock": "natural_gas",
                "fuel_oil_feedstock": "fuel_oil", "lpg_feedstock": "lpg"}
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?[+-]\d{2}:\d{2}$")
MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
NUM_RE = re.compile(r"^-?\d+(\.\d+)?$")
TOP = {"registry", "meter_readings", "declarations", "green_certificates", "targets", "ets", "projects", "weather"}
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _is_ts(s: str) -> bool:
    if not TS_RE.match(s):
        return False
    try:
        datetime.fromisoformat(s)
    except ValueError:
        return False
    return True


def decode(data: bytes) -> tuple[str | None, str]:
    """Text and encoding per the contract: UTF-8, else GB18030, else (None, reason)."""
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        return None, "neither UTF-8 nor GB18030"


def _read_csv(path: Path, problems: list[str], rel: str) -> list[list[str]] | None:
    text, enc = decode(path.read_bytes())
    if text is None:
        problems.append(f"{rel}: {enc}")
        return None
    return list(csv.reader(io.StringIO(text)))


def _header(rows: list[list[str]] | None, columns: list[str], rel: str, problems: list[str],
            optional: list[str] | tuple[str, ...] = ()) -> bool:
    """The header is the contract's columns in contract order, any of the ``optional`` ones
    left out; rows are rewritten to the full column list (an absent optional column is empty)."""
    if not rows:
        problems.append(f"{rel}: empty file, expected header {columns}")
        return False
    head = rows[0]
    if head != [c for c in columns if c in head or c not in optional] or not set(head) <= set(columns):
        problems.append(f"{rel}: header {head} != {columns}" + (f" (optional: {list(optional)})" if optional else ""))
        return False
    bad = [i + 1 for i, r in enumerate(rows) if len(r) != len(head)]
    if bad:
        problems.append(f"{rel}: lines {bad[:5]} have the wrong number of fields")
        return False
    if len(head) < len(columns):
        pos = {c: head.index(c) for c in head}
        for k in range(len(rows)):
            r = rows[k]
            rows[k] = [r[pos[c]] if c in pos else "" for c in columns]
    return True


def _num(x: str) -> float | None:
    return float(x) if NUM_RE.match(x) else None


def check_landing(landing: Path, max_bad_row_share: float = 0.05) -> list[str]:
    """Problems found in ``landing`` (empty list = it conforms to the data contract)."""
    landing = Path(landing)
    problems: list[str] = []
    if not landing.is_dir():
        return [f"{landing}: not a directory"]
    for p in landing.iterdir():
        if p.name.startswith((".", "_")):
            continue
        if p.name not in TOP:
            problems.append(f"{p.name}: not a folder of the contract")
    codes, parks, meters = _check_registry(landing, problems)
    _check_readings(landing, meters, problems, max_bad_row_share)
    _check_declarations(landing, codes, problems)
    _check_certificates(landing, codes, problems)
    _check_targets(landing, codes, parks, problems)
    _check_ets(landing, codes, problems)
    _check_projects(landing, codes, meters, problems)
    _check_weather(landing, districts(landing), problems)
    return problems


def _check_registry(landing: Path, problems: list[str]) -> tuple[set[str], set[str], set[str]]:
    reg = landing / "registry"
    codes: set[str] = set()
    parks: set[str] = set()
    meters: set[str] = set()
    if not reg.exists():
        return codes, parks, meters
    for p in reg.iterdir():
        if p.name not in ("parks.csv", "enterprises.csv", "meters.csv"):
            problems.append(f"registry/{p.name}: not a registry file of the contract")
    if (reg / "parks.csv").exists():
        rows = _read_csv(reg / "parks.csv", problems, "registry/parks.csv")
        if _header(rows, PARKS_COLS, "registry/parks.csv", problems):
            for i, r in enumerate(rows[1:], start=2):
                if not r[0] or r[0] in parks:
                    problems.append(f"registry/parks.csv line {i}: park_id {r[0]!r} empty or repeated")
                parks.add(r[0])
                if "@" not in r[4]:
                    problems.append(f"registry/parks.csv line {i}: contact_email {r[4]!r} is not an address")
    if (reg / "enterprises.csv").exists():
        rows = _read_csv(reg / "enterprises.csv", problems, "registry/enterprises.csv")
        if _header(rows, ENT_COLS, "registry/enterprises.csv", problems, ENT_OPTIONAL):
            for i, r in enumerate(rows[1:], start=2):
                where = f"registry/enterprises.csv line {i}"
                why = invalid_reason(r[0])
                if why:
                    problems.append(f"{where}: {why}")
                if r[0] in codes:
                    problems.append(f"{where}: credit_code {r[0]} repeated")
                codes.add(r[0])
                if parks and r[3] not in parks:
                    problems.append(f"{where}: park_id {r[3]!r} not in parks.csv")
                if not re.fullmatch(r"\d{2}", r[4]):
                    problems.append(f"{where}: industry_code {r[4]!r} is not a two-digit division")
                for c in (6, 7):
                    if r[c] not in ("true", "false"):
                        problems.append(f"{where}: {ENT_COLS[c]} {r[c]!r} is not true/false")
                if "@" not in r[8]:
                    problems.append(f"{where}: contact_email {r[8]!r} is not an address")
                if r[5] and not (re.fullmatch(r"\d{4}", r[5]) and r[5][:2] == r[4]):
                    problems.append(f"{where}: industry_class {r[5]!r} is not a four-digit class of division {r[4]}")
    if (reg / "meters.csv").exists():
        rows = _read_csv(reg / "meters.csv", problems, "registry/meters.csv")
        if _header(rows, METER_COLS, "registry/meters.csv", problems, METER_OPTIONAL):
            ids = {r[0] for r in rows[1:]}
            for i, r in enumerate(rows[1:], start=2):
                where = f"registry/meters.csv line {i}"
                if r[0] in meters or not r[0]:
                    problems.append(f"{where}: meter_id {r[0]!r} empty or repeated")
                meters.add(r[0])
                if codes and r[1] not in codes:
                    problems.append(f"{where}: credit_code {r[1]} not in enterprises.csv")
                if UNITS.get(r[2]) != r[3]:
                    problems.append(f"{where}: energy_type {r[2]!r} with unit {r[3]!r}")
                if not all(NUM_RE.match(r[c]) for c in (4, 5, 6)):
                    problems.append(f"{where}: multiplier/register_max/register_at_install not numeric")
                elif not (float(r[4]) > 0 and 0 <= float(r[6]) < float(r[5])):
                    problems.append(f"{where}: multiplier must be > 0 and 0 <= register_at_install < register_max")
                if not _is_ts(r[7]) or (r[8] and not _is_ts(r[8])):
                    problems.append(f"{where}: installed_at/removed_at not ISO-8601 with offset")
                if r[9] and r[9] not in ids:
                    problems.append(f"{where}: replaces_meter_id {r[9]!r} is not a meter")
                why = _steam_problem(r[2], r[10], r[11])
                if why:
                    problems.append(f"{where}: {why}")
    return codes, parks, meters


def _steam_problem(energy_type: str, pressure: str, temperature: str) -> str | None:
    """Steam conditions: only on steam meters; an absolute pressure within the saturation line;
    a temperature only with a pressure, and above saturation (superheated)."""
    if not pressure and not temperature:
        return None
    if energy_type != "steam":
        return f"steam_pressure_mpa/steam_temperature_c on a {energy_type} meter"
    p = _num(pressure)
    if p is None or not 0.01 <= p <= 22.064:
        return f"steam_pressure_mpa {pressure!r} is not an absolute pressure in MPa (0.01-22.064)"
    if temperature:
        t = _num(temperature)
        if t is None or t <= saturation_temperature_c(p):
            return (f"steam_temperature_c {temperature!r} is not above the saturation temperature "
                    f"{saturation_temperature_c(p):.1f} °C at {p} MPa")
    return None


def _read_readings(path: Path) -> pa.Table:
    if path.name.endswith(".parquet"):
        t = pq.read_table(path)
        return t.cast(pa.schema([(n, pa.string()) for n in t.column_names])) if t.num_columns == 4 else t
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    text, enc = decode(data)
    if text is None:
        raise ValueError(enc)
    if enc != "utf-8":
        data = text.encode("utf-8")
    opts = pacsv.ConvertOptions(column_types={c: pa.string() for c in READINGS_COLS}, strings_can_be_null=False)
    return pacsv.read_csv(io.BytesIO(data), convert_options=opts)


def _check_readings(landing: Path, meters: set[str], problems: list[str], share: float) -> None:
    root = landing / "meter_readings"
    if not root.exists():
        return
    known = pa.array(sorted(meters), pa.string())
    for folder in sorted(root.iterdir()):
        m = re.fullmatch(r"date=(\d{4}-\d{2}-\d{2})", folder.name)
        try:
            day = date.fromisoformat(m.group(1)) if m else None
        except ValueError:
            day = None
        if day is None or not folder.is_dir():
            problems.append(f"meter_readings/{folder.name}: not a date=YYYY-MM-DD folder")
            continue
        for f in sorted(folder.iterdir()):
            rel = f"meter_readings/{folder.name}/{f.name}"
            if not f.name.endswith((".csv", ".csv.gz", ".parquet")):
                problems.append(f"{rel}: extension not .csv, .csv.gz or .parquet")
                continue
            try:
                t = _read_readings(f)
            except Exception as exc:  # noqa: BLE001 - any unreadable file is a finding
                problems.append(f"{rel}: unreadable ({exc})")
                continue
            if t.column_names != READINGS_COLS:
                problems.append(f"{rel}: columns {t.column_names} != {READINGS_COLS}")
                continue
            if t.num_rows == 0:
                continue
            ts = t["interval_start"]
            ok = pc.match_substring_regex(ts, rf"^{day.isoformat()}T\d{{2}}:(00|15|30|45):00\+08:00$")
            ok = pc.and_(ok, pc.match_substring_regex(t["register_end"], r"^\d+(\.\d+)?$"))
            ok = pc.and_(ok, pc.is_in(t["quality"], value_set=pa.array(["ok", "estimated", "error"])))
            if meters:
                ok = pc.and_(ok, pc.is_in(t["meter_id"], value_set=known))
            bad = t.num_rows - pc.sum(pc.cast(ok, pa.int64())).as_py()
            if bad > max(share * t.num_rows, 5):
                problems.append(f"{rel}: {bad} of {t.num_rows} rows malformed (unknown meter, timestamp "
                                f"not aligned/on {day}/with +08:00, non-numeric register or bad quality)")


def _xlsx_rows(path: Path) -> list[list[str]]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    ws = wb.worksheets[0]
    out = [["" if v is None else (f"{v}" if not isinstance(v, float) else repr(v)) for v in row]
           for row in ws.iter_rows(values_only=True)]
    wb.close()
    return out


def _check_declarations(landing: Path, codes: set[str], problems: list[str]) -> None:
    root = landing / "declarations"
    if not root.exists():
        return
    for folder in sorted(root.iterdir()):
        m = re.fullmatch(r"month=(\d{4}-\d{2})", folder.name)
        if not m or not MONTH_RE.match(m.group(1)):
            problems.append(f"declarations/{folder.name}: not a month=YYYY-MM folder")
            continue
        for f in sorted(folder.iterdir()):
            rel = f"declarations/{folder.name}/{f.name}"
            if f.suffix == ".csv":
                rows = _read_csv(f, problems, rel)
                if not _header(rows, DECL_COLS, rel, problems):
                    continue
            elif f.suffix == ".xlsx":
                rows = _xlsx_rows(f)
                if not _header(rows, DECL_COLS_ZH, rel, problems):
                    continue
            else:
                problems.append(f"{rel}: extension not .csv or .xlsx")
                continue
            subs: dict[tuple[str, str], dict[str, tuple[int, float]]] = {}
            for i, r in enumerate(rows[1:], start=2):
                where = f"{rel} line {i}"
                why = invalid_reason(r[0])
                if why or (codes and r[0] not in codes):
                    problems.append(f"{where}: {why or 'credit code not in the registry'}")
                q = _num(str(r[5]))
                if q is not None and q < 0:
                    problems.append(f"{where}: quantity {r[5]!r} is negative")
                if q is not None:
                    subs.setdefault((r[0], r[2]), {})[r[4]] = (i, q)
                if r[1] != m.group(1):
                    problems.append(f"{where}: period {r[1]!r} outside folder {folder.name}")
                if not r[2] or not _is_ts(r[3]):
                    problems.append(f"{where}: submission_id empty or submitted_at not ISO-8601 with offset")
                if r[4] not in ITEM_UNITS:
                    problems.append(f"{where}: unknown item {r[4]!r}")
                elif ITEM_UNITS[r[4]] not in (None, r[6]) or not r[6]:
                    problems.append(f"{where}: unit {r[6]!r} for {r[4]}")
                if not NUM_RE.match(str(r[5])):
                    problems.append(f"{where}: quantity {r[5]!r} is not a decimal")
            for (_code, sub), items in subs.items():
                for feed, fuel in FEEDSTOCK_OF.items():
                    if feed in items and items[feed][1] > items.get(fuel, (0, 0.0))[1]:
                        problems.append(f"{rel} line {items[feed][0]}: {feed} {items[feed][1]} exceeds {fuel} "
                                        f"{items.get(fuel, (0, 0.0))[1]} of submission {sub}")


def _check_certificates(landing: Path, codes: set[str], problems: list[str]) -> None:
    root = landing / "green_certificates"
    if not root.exists():
        return
    for f in sorted(root.iterdir()):
        rel = f"green_certificates/{f.name}"
        if f.suffix != ".csv" or not f.is_file():
            problems.append(f"{rel}: not a .csv file")
            continue
        rows = _read_csv(f, problems, rel)
        if not _header(rows, CERT_COLS, rel, problems, CERT_OPTIONAL):
            continue
        for i, r in enumerate(rows[1:], start=2):
            where = f"{rel} line {i}"
            if not r[0] or not r[1] or not MONTH_RE.match(r[2]):
                problems.append(f"{where}: certificate_id/project_id empty or generation_month not YYYY-MM")
            if invalid_reason(r[3]) or (codes and r[3] not in codes):
                problems.append(f"{where}: owner_credit_code {r[3]!r} invalid or unknown")
            if bool(r[4]) != bool(r[5]) or (r[4] and (not MONTH_RE.match(r[4]) or not _is_ts(r[5]))):
                problems.append(f"{where}: claimed_period/claimed_at must both be empty or YYYY-MM + timestamp")
            if r[6] not in ("", "green_power", "standalone") or bool(r[7]) != (r[6] == "green_power"):
                problems.append(f"{where}: trade_type {r[6]!r} / trade_id {r[7]!r}: a trade_id goes with green_power")


def _check_targets(landing: Path, codes: set[str], parks: set[str], problems: list[str]) -> None:
    root = landing / "targets"
    if not root.exists():
        return
    for folder in sorted(root.iterdir()):
        m = re.fullmatch(r"year=(\d{4})", folder.name)
        if not m:
            problems.append(f"targets/{folder.name}: not a year=YYYY folder")
            continue
        for f in sorted(folder.iterdir()):
            rel = f"targets/{folder.name}/{f.name}"
            if f.suffix != ".csv":
                problems.append(f"{rel}: not a .csv file")
                continue
            rows = _read_csv(f, problems, rel)
            if not _header(rows, TARGET_COLS, rel, problems, TARGET_OPTIONAL):
                continue
            for i, r in enumerate(rows[1:], start=2):
                where = f"{rel} line {i}"
                if r[0] not in ("enterprise", "park", "city"):
                    problems.append(f"{where}: level {r[0]!r}")
                if (r[0] == "enterprise" and codes and r[1] not in codes) or (
                        r[0] == "park" and parks and r[1] not in parks):
                    problems.append(f"{where}: entity_id {r[1]!r} not in the registry")
                if r[2] != m.group(1):
                    problems.append(f"{where}: year {r[2]!r} outside folder {folder.name}")
                if not all(x == "" or (NUM_RE.match(x) and float(x) >= 0) for x in r[3:7] + r[8:]):
                    problems.append(f"{where}: budgets and targets must be empty (not set) or non-negative decimals")
                if r[7] and not (re.fullmatch(r"\d{4}", r[7]) and r[7] < r[2]):
                    problems.append(f"{where}: base_year {r[7]!r} is not a year before {r[2]}")
                if bool(r[7]) != bool(r[8] or r[9]):
                    problems.append(f"{where}: a base_year goes with a reduction target and the other way round")


def districts(landing: Path) -> set[str]:
    rows = _read_csv(landing / "registry" / "parks.csv", [], "") if (landing / "registry" / "parks.csv").exists() else None
    return {r[3] for r in rows[1:] if len(r) > 3} if rows else set()


def _files_in(root: Path, kind: str, problems: list[str], top: str):
    """(folder key, file, rel) of ``<root>/<kind>=KEY/*.csv`` (``kind`` None: files directly in root)."""
    if not root.exists():
        return
    pattern = {"year": r"\d{4}", "date": r"\d{4}-\d{2}-\d{2}"}.get(kind or "")
    for folder in sorted(root.iterdir()) if kind else [root]:
        m = re.fullmatch(rf"{kind}=({pattern})", folder.name) if kind else None
        if kind and (not m or not folder.is_dir()):
            problems.append(f"{top}/{folder.name}: not a {kind}= folder")
            continue
        for f in sorted(folder.iterdir()):
            rel = f"{top}/{folder.name}/{f.name}" if kind else f"{top}/{f.name}"
            if f.suffix != ".csv" or not f.is_file():
                problems.append(f"{rel}: not a .csv file")
                continue
            yield (m.group(1) if m else None), f, rel


def _check_ets(landing: Path, codes: set[str], problems: list[str]) -> None:
    for key, f, rel in _files_in(landing / "ets", "year", problems, "ets"):
        rows = _read_csv(f, problems, rel)
        if not _header(rows, ETS_COLS, rel, problems):
            continue
        for i, r in enumerate(rows[1:], start=2):
            where = f"{rel} line {i}"
            if invalid_reason(r[0]) or (codes and r[0] not in codes):
                problems.append(f"{where}: credit_code {r[0]!r} invalid or unknown")
            if r[1] != key:
                problems.append(f"{where}: year {r[1]!r} outside folder year={key}")
            if r[2] not in ETS_SECTORS:
                problems.append(f"{where}: sector {r[2]!r} not one of {ETS_SECTORS}")
            if not all(_num(x) is not None and float(x) >= 0 for x in r[3:7]):
                problems.append(f"{where}: emissions, allowances and CCER must be non-negative decimals")
            try:
                date.fromisoformat(r[7])
            except ValueError:
                problems.append(f"{where}: compliance_deadline {r[7]!r} is not a date")


def _check_projects(landing: Path, codes: set[str], meters: set[str], problems: list[str]) -> None:
    for _key, f, rel in _files_in(landing / "projects", None, problems, "projects"):
        rows = _read_csv(f, problems, rel)
        if not _header(rows, PROJECT_COLS, rel, problems, PROJECT_OPTIONAL):
            continue
        for i, r in enumerate(rows[1:], start=2):
            where = f"{rel} line {i}"
            if not r[0] or invalid_reason(r[1]) or (codes and r[1] not in codes):
                problems.append(f"{where}: project_id empty or credit_code {r[1]!r} invalid or unknown")
            if r[4] not in ("retrofit", "new_facility"):
                problems.append(f"{where}: kind {r[4]!r}")
            unknown = [m for m in r[6].split() if meters and m not in meters]
            if unknown:
                problems.append(f"{where}: meter_ids {unknown} not in the registry")
            if any(x and not DATE_RE.match(x) for x in (r[7], r[8], r[9])):
                problems.append(f"{where}: baseline_start/baseline_end/commissioned_on not YYYY-MM-DD")
            if any(x and (_num(x) is None or float(x) < 0) for x in (r[10], r[11], r[12])):
                problems.append(f"{where}: savings/approved figures must be non-negative decimals")
            if r[13] not in ("planned", "in_progress", "commissioned", "cancelled") or not _is_ts(r[14]):
                problems.append(f"{where}: status {r[13]!r} or updated_at {r[14]!r}")


def _check_weather(landing: Path, known: set[str], problems: list[str]) -> None:
    for key, f, rel in _files_in(landing / "weather", "date", problems, "weather"):
        rows = _read_csv(f, problems, rel)
        if not _header(rows, WEATHER_COLS, rel, problems):
            continue
        for i, r in enumerate(rows[1:], start=2):
            where = f"{rel} line {i}"
            if known and r[0] not in known:
                problems.append(f"{where}: district {r[0]!r} is not a district of parks.csv")
            if r[1] != key:
                problems.append(f"{where}: date {r[1]!r} outside folder date={key}")
            t = [_num(x) for x in r[2:5]]
            if None in t or not t[1] <= t[0] <= t[2]:
                problems.append(f"{where}: temperatures must be decimals with min <= mean <= max")
