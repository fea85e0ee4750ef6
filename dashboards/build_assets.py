"""Write the Superset asset bundle (dashboards/assets/**.yaml) from one compact spec.

The YAML under dashboards/assets/ is what Superset imports (its v1 export format) and what
reviewers diff; this script is how it is kept consistent (stable UUIDs, chart positions,
query contexts that the chart-data API can replay). Edit the spec here, then run
``.venv-superset/bin/python dashboards/build_assets.py`` (any Python with PyYAML works).

The database URI is a placeholder, ``${NENGTAN_SERVING_URI}``, rendered at import time
by bootstrap.py: no absolute path is committed.
"""

from __future__ import annotations

import csv
import json
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ASSETS = Path(__file__).resolve().parent / "assets"
NS = uuid.UUID("6f1c3a52-9d0e-4c1e-8a57-0d7b3c2e1a10")
DB_NAME = "nengtan_serving"
URI_PLACEHOLDER = "${NENGTAN_SERVING_URI}"


def uid(kind: str, name: str) -> str:
    return str(uuid.uuid5(NS, f"{kind}:{name}"))


# --------------------------------------------------------------------------------------
# Labels: what a reader sees instead of the marts' codes, in the dashboard's language
# --------------------------------------------------------------------------------------
# Superset has one title per chart and one verbose name per column, so titles and column headers
# are bilingual ("能耗 Energy"). Values are not: virtual datasets turn each code into a label column in
# the user's language. superset_config.py gives Jinja nengtan_lang() ("zh" / "en", from the session's
# locale); cache_key_wrapper() puts it into the cache key, so the two languages never share a result.
REPO = Path(__file__).resolve().parent.parent
WARNING_LEVELS_SEED = REPO / "seeds" / "warning_levels.csv"

LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "energy_type": {
        "electricity": ("电力", "Electricity"), "natural_gas": ("天然气", "Natural gas"), "heat": ("热力", "Heat"),
        "steam": ("蒸汽", "Steam"), "raw_coal": ("原煤", "Raw coal"), "diesel": ("柴油", "Diesel"),
        "gasoline": ("汽油", "Gasoline"), "fuel_oil": ("燃料油", "Fuel oil"), "lpg": ("液化石油气", "LPG"),
    },
    "metric": {
        "energy": ("能源消费总量", "Total energy"), "carbon": ("碳排放总量", "Total CO2"),
        "energy_intensity": ("能耗强度", "Energy intensity"), "carbon_intensity": ("碳排放强度", "Carbon intensity"),
    },
    "series": {  # what a multi-series monthly chart plots, one row per series (v_*_series)
        "energy_intensity": ("能耗强度（tce/万元）", "Energy intensity (tce/10k CNY)"),
        "carbon_intensity": ("碳排放强度（tCO2/万元）", "Carbon intensity (tCO2/10k CNY)"),
        "scope1": ("范围一：燃料燃烧与工业过程", "Scope 1: fuels and processes"),
        "scope2_location": ("范围二：外购电热（基于位置）", "Scope 2: purchased, location-based"),
        "scope2_market": ("范围二：外购电热（基于市场）", "Scope 2: purchased, market-based"),
        "carbon_intensity_reduction": ("碳排放强度下降（实际）", "Carbon intensity reduction, achieved"),
        "target_carbon_intensity_reduction": ("碳排放强度下降（目标）", "Carbon intensity reduction, target"),
        "energy_intensity_reduction": ("能耗强度下降（实际）", "Energy intensity reduction, achieved"),
        "target_energy_intensity_reduction": ("能耗强度下降（目标）", "Energy intensity reduction, target"),
        "bau_energy": ("照常情景能耗", "Business as usual"),
        "projected_energy": ("计入项目后预计能耗", "Projected with projects"),
        "target_energy": ("能耗总量目标", "Energy target"),
        "predicted": ("基准模型预测", "predicted by the baseline"), "metered": ("实际计量", "metered"),
    },
    "entity_level": {"city": ("全市", "City"), "park": ("园区", "Park"), "enterprise": ("企业", "Enterprise")},
    "reason_not_counted": {
        "double_claim": ("重复申领", "Already claimed"), "expired": ("已过有效期", "Expired"),
        "before_generation": ("早于发电月份", "Before generation"),
        "over_consumption": ("超过当月用电量", "Above the month's electricity"),
    },
    "rule": {
        "no_null_keys": ("关键字段非空", "Keys present"),
        "load_log_balanced": ("行数平衡（入库＋隔离＝收到）", "Rows balance (loaded + quarantined = received)"),
        "registry_delivery_applied": ("登记文件已采用", "Registry delivery applied"),
        "landing_file_read": ("落地区文件均被读取", "Every landing file read"),
        "park_equals_sum_of_enterprises": ("园区等于企业之和", "Park equals its enterprises"),
        "city_equals_sum_of_parks": ("全市等于园区之和", "City equals its parks"),
        "no_negative_values": ("无负值", "No negative values"),
        "certificate_counted_once": ("绿证只计一次", "Certificate counted once"),
        "daily_vs_monthly": ("日数与月数一致", "Daily and monthly totals agree"),
        "declared_vs_metered": ("申报与计量一致", "Declared and metered agree"),
        "declaration_on_time": ("按时申报", "Declaration on time"),
        "green_power_covered": ("绿电交易电量未被绿证覆盖", "Green-power trade not covered by certificates"),
        "certificate_validity": ("绿证在有效期内", "Certificate valid"),
        "certificate_claim_counts": ("绿证认领不计入", "Certificate claim not counted"),
        "certificate_single_claim": ("绿证只申领一次", "Certificate claimed once"),
        "completeness_min": ("完整率不低于90%", "Completeness at least 90 %"),
        "register_not_backwards": ("表码不倒走", "Register never runs backwards"),
        "meter_not_silent": ("表计有读数", "Meter reporting"),
        "quantity_plausible": ("用量合理", "Quantity plausible"),
        "park_silent_share": ("园区静默表计占比", "Share of silent meters in the park"),
        "compliance_gap_before_deadline": ("碳配额清缴缺口", "Carbon allowance shortfall before the deadline"),
        "regulatory_candidate": ("纳入名单候选", "Candidate for a regulatory list"),
        "ets_cross_check": ("核查排放与平台核算不符", "Verified emissions differ from the platform's"),
        "savings_below_half_expected": ("节能量不足预期一半", "Savings below half of those expected"),
        "new_facility_over_approval": ("新建项目用能超出节能审查批复", "New facility above its energy-review approval"),
        "baseline_qualified": ("节能项目基准期不合格", "Project baseline does not qualify"),
    },
    "sector": {  # national carbon market sectors (ets/ per the contract)
        "power": ("发电", "Power generation"), "steel": ("钢铁", "Iron and steel"), "cement": ("水泥", "Cement"),
        "aluminium": ("电解铝", "Aluminium smelting"),
    },
    "candidate_list": {
        "ets": ("全国碳市场重点排放单位", "National carbon market (ETS)"),
        "key_energy_user": ("重点用能单位", "Key energy users"),
    },
    "measure": {  # energy-saving measures (projects/ per the contract)
        "waste_heat_recovery": ("余热回收", "Waste heat recovery"), "motor_vfd": ("电机变频", "Motor VFDs"),
        "compressed_air": ("空压系统优化", "Compressed air"), "lighting": ("照明改造", "Lighting"),
        "hvac": ("暖通空调改造", "HVAC"), "boiler_upgrade": ("锅炉改造", "Boiler upgrade"),
        "rooftop_pv": ("屋顶光伏", "Rooftop PV"), "process": ("生产工艺", "Production process"),
    },
    "project_status": {"planned": ("计划中", "Planned"), "in_progress": ("实施中", "In progress"),
                       "commissioned": ("已投运", "Commissioned"), "cancelled": ("已取消", "Cancelled")},
    "severity": {"blocking": ("阻断发布", "Blocks publishing"), "routed": ("已转责任方", "Routed to the owner")},
    "declaration_status": {"on_time": ("按时申报", "On time"), "late": ("逾期申报", "Late"),
                           "outstanding": ("尚未申报", "Outstanding")},
    "source": {
        "meter_readings": ("表计读数", "Meter readings"), "declarations": ("企业申报", "Declarations"),
        "green_certificates": ("绿证", "Green certificates"), "targets": ("双控目标", "Targets"),
        "registry_parks": ("园区登记", "Park registry"), "registry_enterprises": ("企业登记", "Enterprise registry"),
        "registry_meters": ("表计登记", "Meter registry"), "ets": ("碳市场", "Carbon market"),
        "projects": ("节能项目", "Projects"), "weather": ("气象", "Weather"),
    },
}
PROVISIONAL = ("临时", "Provisional")
FINAL = ("正式", "Final")
PROVISIONAL_SUFFIX = ("（临时）", " (provisional)")
YES_NO = (("是", "Yes"), ("否", "No"))
CITY_NAME = ("全市", "Whole city")
NO_INTENSITY_TARGET = ("未设强度目标", "No intensity target")
FINDING = (("不符（差异超过10%）", "Finding (over 10 %)"), ("一致", "Agrees"))
SHORTFALL = (("有缺口", "Shortfall"), ("已足额", "Covered"))
MEETS = (("达标", "Meets"), ("未达标", "Not met"))
QUALIFIED = (("基准合格", "Baseline qualified"), ("基准不合格", "Baseline not qualified"))
SIGNIFICANT = (("超出不确定度", "Beyond its uncertainty"), ("在不确定度内", "Within its uncertainty"))
ON_TRACK = (("可达目标", "On track"), ("偏离目标", "Off track"))
OVER_APPROVAL = (("超出批复", "Above approval"), ("未超批复", "Within approval"))


def warning_levels() -> list[dict[str, str]]:
    """The levels of seeds/warning_levels.csv (the one home of levels, labels and colours), mildest first."""
    with WARNING_LEVELS_SEED.open(encoding="utf-8", newline="") as f:
        return sorted(csv.DictReader(f), key=lambda r: int(r["rank"]))


LANG = "{% set en = cache_key_wrapper(nengtan_lang()) == 'en' %}\n"


def by_lang(zh: str, en: str) -> str:
    """A SQL fragment per language (Jinja, rendered by Superset for each request)."""
    return "{% if en %}" + en + "{% else %}" + zh + "{% endif %}"


def lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def label_case(expr: str, kind: str, i: int) -> str:
    """CASE mapping each code of LABELS[kind] to its label in one language (0 zh, 1 en); an unknown code
    shows as itself."""
    whens = " ".join(f"WHEN {lit(code)} THEN {lit(pair[i])}" for code, pair in LABELS[kind].items())
    return f"CASE {expr} {whens} ELSE {expr} END"


def label(expr: str, kind: str) -> str:
    """CASE mapping each code of LABELS[kind] to its label in the user's language."""
    return by_lang(label_case(expr, kind, 0), label_case(expr, kind, 1))


def text(pair: tuple[str, str]) -> str:
    return by_lang(lit(pair[0]), lit(pair[1]))


def status(provisional: str) -> str:
    return f"CASE WHEN {provisional} THEN {text(PROVISIONAL)} ELSE {text(FINAL)} END"


def month_label(month: str, provisional: str) -> str:
    """'2026-02' or '2026-02（临时）': the axis and table label of a month."""
    return f"left(CAST({month} AS VARCHAR), 7) || CASE WHEN {provisional} THEN {text(PROVISIONAL_SUFFIX)} ELSE '' END"


def name(alias: str) -> str:
    return by_lang(f"{alias}.name_zh", f"coalesce({alias}.name_en, {alias}.name_zh)")


def series_sql(source: str, alias: str, keys: list[str], series: dict[str, str]) -> str:
    """One SELECT per series (UNION ALL): keys, the month with its label and status, series code, label, value."""
    selects = []
    for code, expr in series.items():
        cols = [*keys, f"{alias}.month", f"{month_label(alias + '.month', alias + '.is_provisional')} AS month_label",
                f"{alias}.is_provisional", f"{status(alias + '.is_provisional')} AS status",
                f"{lit(code)} AS series", f"{text(LABELS['series'][code])} AS series_label",
                f"CAST({expr} AS DOUBLE) AS value"]
        selects.append("SELECT " + ",\n       ".join(cols) + f"\nFROM {source}")
    return "\nUNION ALL\n".join(selects)


def yes_no(expr: str) -> str:
    return f"CASE WHEN {expr} THEN {text(YES_NO[0])} WHEN NOT {expr} THEN {text(YES_NO[1])} END"


def two_way(expr: str, pairs: tuple[tuple[str, str], tuple[str, str]]) -> str:
    """A boolean as words: the first pair when true, the second when false, empty when unknown."""
    return f"CASE WHEN {expr} THEN {text(pairs[0])} WHEN NOT {expr} THEN {text(pairs[1])} END"


def warning_label(expr: str) -> str:
    """A warning level code as the seed's label in the user's language; no level = no intensity target."""
    def case(key: str, other: str) -> str:
        whens = " ".join(f"WHEN {lit(r['warning_level'])} THEN {lit(r[key])}" for r in warning_levels())
        return f"CASE {expr} {whens} ELSE {lit(other)} END"

    return by_lang(case("label_zh", NO_INTENSITY_TARGET[0]), case("label_en", NO_INTENSITY_TARGET[1]))


def level_rank(expr: str) -> str:
    whens = " ".join(f"WHEN {lit(r['warning_level'])} THEN {int(r['rank'])}" for r in warning_levels())
    return f"CASE {expr} {whens} END"


# --------------------------------------------------------------------------------------
# Datasets: the marts (physical, so row-level security also applies to them inside the virtual
# datasets' SQL), and virtual datasets that only join names, pick labels or the latest month.
# Columns: "name TYPE, ..." (see columns()). bootstrap.py also syncs columns from the live file.
# --------------------------------------------------------------------------------------
_TIME_TYPES = ("DATE", "TIMESTAMP")
_TYPES = {"VARCHAR", "BOOLEAN", "BIGINT", "DOUBLE", "DECIMAL", *_TIME_TYPES}


def columns(ddl: str) -> list[tuple[str, str, bool]]:
    """(name, type, is_dttm) from "name TYPE, ..." as a CREATE TABLE lists them: one line per
    dataset, not one tuple per column; dates and timestamps are the time columns."""
    out = []
    for part in ddl.split(","):
        name_, type_ = part.split()
        if type_ not in _TYPES:
            raise ValueError(f"column {name_}: unknown type {type_}")
        out.append((name_, type_, type_ in _TIME_TYPES))
    return out


_LATEST_MONTH = "(SELECT max(month) FROM marts.{t})"
_MONTHLY = ("month DATE, month_label VARCHAR, is_provisional BOOLEAN, status VARCHAR")
_CARBON = ("energy_tce DOUBLE, energy_tce_dual_control DOUBLE, co2_t DOUBLE, scope1_co2_t DOUBLE,"
           "scope2_location_co2_t DOUBLE, scope2_market_co2_t DOUBLE")

# dual_control_assessment through the views: names, the level's label, the warning level as the seed's
# label, and park_id / credit_code for row-level security (the city row has neither: restricted users
# never see it). Equi-joins on CASE keys, as v_warnings.
_DUAL_CONTROL_SELECT = (
    f"SELECT a.level, {label('a.level', 'entity_level')} AS level_label, a.entity_id,\n"
    f"       CASE a.level WHEN 'enterprise' THEN {name('e')} WHEN 'park' THEN {name('p')}\n"
    f"                    ELSE {text(CITY_NAME)} END AS entity_name,\n"
    "       CASE WHEN a.level = 'park' THEN a.entity_id WHEN a.level = 'enterprise' THEN e.park_id END AS park_id,\n"
    "       CASE WHEN a.level = 'enterprise' THEN a.entity_id END AS credit_code,\n"
    "       CAST(a.year AS VARCHAR) AS year,\n"
    f"       CAST(a.year AS VARCHAR) || CASE WHEN a.is_provisional THEN {text(PROVISIONAL_SUFFIX)} ELSE '' END"
    " AS year_label,\n"
    "       a.year = (SELECT max(year) FROM marts.dual_control_assessment) AS is_latest_year,\n"
    "       a.as_of, CAST(a.base_year AS VARCHAR) AS base_year,\n"
    f"       a.status AS warning_level, {warning_label('a.status')} AS warning_label,\n"
    f"       {level_rank('a.status')} AS level_rank, a.is_provisional, {status('a.is_provisional')} AS status"
)
_DUAL_CONTROL_FROM = (
    "FROM marts.dual_control_assessment a\n"
    "LEFT JOIN marts.dim_enterprises e\n"
    "  ON e.credit_code = CASE WHEN a.level = 'enterprise' THEN a.entity_id END\n"
    "LEFT JOIN marts.dim_parks p\n"
    "  ON p.park_id = CASE WHEN a.level = 'park' THEN a.entity_id WHEN a.level = 'enterprise' THEN e.park_id END"
)
_DUAL_CONTROL_KEYS = (
    "level VARCHAR, level_label VARCHAR, entity_id VARCHAR, entity_name VARCHAR, park_id VARCHAR,"
    "credit_code VARCHAR, year VARCHAR, year_label VARCHAR, is_latest_year BOOLEAN, as_of DATE, base_year VARCHAR,"
    "warning_level VARCHAR, warning_label VARCHAR, level_rank BIGINT, is_provisional BOOLEAN, status VARCHAR"
)
_DUAL_CONTROL_FIGURES = (
    "energy_tce", "energy_tce_dual_control", "co2_t", "value_added_10k_cny", "energy_intensity", "carbon_intensity",
    "base_energy_intensity", "base_carbon_intensity", "energy_intensity_reduction_pct",
    "carbon_intensity_reduction_pct", "target_energy_intensity_reduction_pct",
    "target_carbon_intensity_reduction_pct", "energy_intensity_target", "carbon_intensity_target",
    "allowed_energy_intensity", "allowed_carbon_intensity", "energy_intensity_ratio", "carbon_intensity_ratio",
    "energy_budget_tce", "carbon_budget_tco2", "intensity_coverage",
)

DATASETS: dict[str, dict[str, Any]] = {
    "city_carbon_monthly": {
        "schema": "marts",
        "columns": columns(
            "city_id VARCHAR, month DATE, energy_tce DECIMAL, co2_t DECIMAL, scope1_co2_t DOUBLE,"
            "scope2_location_co2_t DOUBLE, scope2_market_co2_t DOUBLE, green_mwh DOUBLE,"
            "value_added_10k_cny DOUBLE, energy_intensity DOUBLE, carbon_intensity DOUBLE,"
            "ytd_energy_tce DOUBLE, ytd_co2_t DOUBLE, is_provisional BOOLEAN"
        ),
        "dttm": "month",
    },
    "park_carbon_monthly": {
        "schema": "marts",
        "columns": columns(
            "park_id VARCHAR, month DATE, energy_tce DOUBLE, co2_t DOUBLE, scope1_co2_t DOUBLE,"
            "scope2_location_co2_t DOUBLE, scope2_market_co2_t DOUBLE, ytd_energy_tce DOUBLE,"
            "ytd_co2_t DOUBLE, energy_intensity DOUBLE, is_provisional BOOLEAN"
        ),
        "dttm": "month",
    },
    "enterprise_carbon_monthly": {
        "schema": "marts",
        "columns": columns(
            "credit_code VARCHAR, park_id VARCHAR, month DATE, energy_tce DOUBLE, co2_t DOUBLE,"
            "scope1_co2_t DOUBLE, scope2_location_co2_t DOUBLE, scope2_market_co2_t DOUBLE,"
            "gap_pct_electricity DOUBLE, gap_pct_natural_gas DOUBLE, gap_pct_heat DOUBLE,"
            "gap_pct_steam DOUBLE, is_provisional BOOLEAN"
        ),
        "dttm": "month",
    },
    "enterprise_energy_daily": {
        "schema": "marts",
        "columns": columns(
            "credit_code VARCHAR, park_id VARCHAR, day DATE, energy_type VARCHAR, quantity DOUBLE,"
            "unit VARCHAR, energy_tce DOUBLE, co2_t DOUBLE, completeness DOUBLE"
        ),
        "dttm": "day",
    },
    "park_energy_daily": {
        # park x day x energy type sums of enterprise_energy_daily: what park and city charts read
        "schema": "marts",
        "columns": columns(
            "park_id VARCHAR, day DATE, energy_type VARCHAR, unit VARCHAR, quantity DECIMAL,"
            "energy_tce DECIMAL, co2_t DECIMAL, enterprises BIGINT, completeness_sum DECIMAL,"
            "intervals_received BIGINT"
        ),
        "dttm": "day",
    },
    "dim_parks": {
        "schema": "marts",
        "columns": columns("park_id VARCHAR, name_zh VARCHAR, name_en VARCHAR"),
    },
    "dim_enterprises": {
        "schema": "marts",
        "columns": columns("credit_code VARCHAR, name_zh VARCHAR, name_en VARCHAR, park_id VARCHAR"),
    },
    "meter_daily": {
        "schema": "marts",
        "columns": columns(
            "meter_id VARCHAR, credit_code VARCHAR, park_id VARCHAR, day DATE, energy_type VARCHAR,"
            "intervals_received BIGINT, completeness DOUBLE, is_silent BOOLEAN"
        ),
        "dttm": "day",
    },
    "meter_silent_days": {
        # the silent rows of meter_daily only (a few per thousand meter-days)
        "schema": "marts",
        "columns": columns(
            "day DATE, meter_id VARCHAR, credit_code VARCHAR, park_id VARCHAR, energy_type VARCHAR"
        ),
        "dttm": "day",
    },
    "quarantine_daily": {
        "schema": "marts",
        "columns": columns("day DATE, source VARCHAR, reason_category VARCHAR, rows BIGINT"),
        "dttm": "day",
    },
    "enterprise_energy_movers": {
        # each enterprise's latest month with the month and the year before (was a virtual dataset
        # joining enterprise_carbon_monthly to itself twice on every request)
        "schema": "marts",
        "columns": columns(
            "credit_code VARCHAR, park_id VARCHAR, name_zh VARCHAR, name_en VARCHAR, month DATE,"
            "energy_tce DOUBLE, co2_t DOUBLE, energy_tce_last_month DOUBLE, energy_tce_last_year DOUBLE,"
            "change_vs_last_month_tce DOUBLE, change_vs_last_year_tce DOUBLE,"
            "abs_change_vs_last_month_tce DOUBLE, abs_change_vs_last_year_tce DOUBLE"
        ),
    },
    # ---- virtual datasets: labels in the user's language ------------------------------------
    "v_city_monthly": {
        # the city's months with their provisional mark, and the green power share (counted green MWh over
        # the electricity the park x day aggregates hold)
        "sql": LANG + (
            f"SELECT c.month, {month_label('c.month', 'c.is_provisional')} AS month_label, c.is_provisional,\n"
            f"       {status('c.is_provisional')} AS status,\n"
            "       c.energy_tce, c.energy_tce_dual_control, c.co2_t, c.scope1_co2_t, c.scope2_location_co2_t,\n"
            "       c.scope2_market_co2_t, c.ytd_energy_tce, c.ytd_co2_t, c.value_added_10k_cny,\n"
            "       c.energy_intensity, c.carbon_intensity, c.intensity_coverage, c.green_mwh, e.electricity_mwh,\n"
            "       c.green_mwh / nullif(e.electricity_mwh, 0) AS green_share\n"
            "FROM marts.city_carbon_monthly c\n"
            "LEFT JOIN (SELECT date_trunc('month', day) AS month, sum(quantity) / 1000.0 AS electricity_mwh\n"
            "           FROM marts.park_energy_daily WHERE energy_type = 'electricity' GROUP BY 1) e\n"
            "  ON e.month = c.month"
        ),
        "columns": columns(
            f"{_MONTHLY}, {_CARBON}, ytd_energy_tce DOUBLE, ytd_co2_t DOUBLE, value_added_10k_cny DOUBLE,"
            "energy_intensity DOUBLE, carbon_intensity DOUBLE, intensity_coverage DOUBLE, green_mwh DOUBLE,"
            "electricity_mwh DOUBLE, green_share DOUBLE"
        ),
        "dttm": "month",
    },
    "v_city_series": {
        # the city's monthly figures a chart draws as several series, one row per month and series, so the
        # legend names each series in the user's language (a metric's label is one fixed string)
        "sql": LANG + series_sql(
            "marts.city_carbon_monthly c", "c", [],
            {"energy_intensity": "c.energy_intensity", "carbon_intensity": "c.carbon_intensity",
             "scope2_location": "c.scope2_location_co2_t", "scope2_market": "c.scope2_market_co2_t"}),
        "columns": columns(f"{_MONTHLY}, series VARCHAR, series_label VARCHAR, value DOUBLE"),
        "dttm": "month",
    },
    "v_enterprise_series": {
        "sql": LANG + series_sql(
            "marts.enterprise_carbon_monthly c LEFT JOIN marts.dim_enterprises e ON e.credit_code = c.credit_code",
            "c", ["c.credit_code", "c.park_id", f"{name('e')} AS enterprise_name"],
            {"scope1": "c.scope1_co2_t", "scope2_location": "c.scope2_location_co2_t"}),
        "columns": columns(
            f"credit_code VARCHAR, park_id VARCHAR, enterprise_name VARCHAR, {_MONTHLY}, series VARCHAR,"
            "series_label VARCHAR, value DOUBLE"),
        "dttm": "month",
    },
    "v_park_monthly": {
        "sql": LANG + (
            f"SELECT p.park_id, {name('d')} AS park_name, p.month,\n"
            f"       {month_label('p.month', 'p.is_provisional')} AS month_label, p.is_provisional,\n"
            f"       {status('p.is_provisional')} AS status,\n"
            "       p.energy_tce, p.energy_tce_dual_control, p.co2_t, p.scope1_co2_t, p.scope2_location_co2_t,\n"
            "       p.scope2_market_co2_t, p.ytd_energy_tce, p.ytd_co2_t, p.energy_intensity, p.carbon_intensity,\n"
            "       p.intensity_coverage\n"
            "FROM marts.park_carbon_monthly p LEFT JOIN marts.dim_parks d ON d.park_id = p.park_id"
        ),
        "columns": columns(
            f"park_id VARCHAR, park_name VARCHAR, {_MONTHLY}, {_CARBON}, ytd_energy_tce DOUBLE, ytd_co2_t DOUBLE,"
            "energy_intensity DOUBLE, carbon_intensity DOUBLE, intensity_coverage DOUBLE"
        ),
        "dttm": "month",
    },
    "v_park_latest": {
        "sql": LANG + (
            f"SELECT p.park_id, {name('d')} AS park_name, p.month,\n"
            f"       {month_label('p.month', 'p.is_provisional')} AS month_label, p.is_provisional,\n"
            f"       {status('p.is_provisional')} AS status,\n"
            "       p.energy_tce, p.co2_t, p.ytd_energy_tce, p.ytd_co2_t, p.energy_intensity, p.intensity_coverage\n"
            "FROM marts.park_carbon_monthly p LEFT JOIN marts.dim_parks d ON d.park_id = p.park_id\n"
            f"WHERE p.month = {_LATEST_MONTH.format(t='park_carbon_monthly')}"
        ),
        "columns": columns(
            f"park_id VARCHAR, park_name VARCHAR, {_MONTHLY}, energy_tce DOUBLE, co2_t DOUBLE,"
            "ytd_energy_tce DOUBLE, ytd_co2_t DOUBLE, energy_intensity DOUBLE, intensity_coverage DOUBLE"
        ),
    },
    "v_enterprise_monthly": {
        "sql": LANG + (
            f"SELECT m.credit_code, m.park_id, {name('e')} AS enterprise_name, m.month,\n"
            f"       {month_label('m.month', 'm.is_provisional')} AS month_label, m.is_provisional,\n"
            f"       {status('m.is_provisional')} AS status,\n"
            f"       {label('m.declaration_status', 'declaration_status')} AS declaration,\n"
            "       m.energy_tce, m.energy_tce_dual_control, m.co2_t, m.scope1_co2_t, m.scope2_location_co2_t,\n"
            "       m.scope2_market_co2_t, m.green_mwh, m.green_mwh_unused,\n"
            "       m.gap_pct_electricity, m.gap_pct_natural_gas, m.gap_pct_heat, m.gap_pct_steam\n"
            "FROM marts.enterprise_carbon_monthly m\n"
            "LEFT JOIN marts.dim_enterprises e ON e.credit_code = m.credit_code"
        ),
        "columns": columns(
            f"credit_code VARCHAR, park_id VARCHAR, enterprise_name VARCHAR, {_MONTHLY}, declaration VARCHAR,"
            f"{_CARBON}, green_mwh DOUBLE, green_mwh_unused DOUBLE, gap_pct_electricity DOUBLE,"
            "gap_pct_natural_gas DOUBLE, gap_pct_heat DOUBLE, gap_pct_steam DOUBLE"
        ),
        "dttm": "month",
    },
    "v_enterprise_movers": {
        "sql": LANG + (
            f"SELECT v.credit_code, v.park_id, {name('v')} AS enterprise_name, {name('d')} AS park_name, v.month,\n"
            f"       {month_label('v.month', 'm.is_provisional')} AS month_label, m.is_provisional,\n"
            f"       {status('m.is_provisional')} AS status,\n"
            "       v.energy_tce, v.co2_t, v.energy_tce_last_month, v.energy_tce_last_year,\n"
            "       v.change_vs_last_month_tce, v.change_vs_last_year_tce,\n"
            "       v.abs_change_vs_last_month_tce, v.abs_change_vs_last_year_tce\n"
            "FROM marts.enterprise_energy_movers v\n"
            "LEFT JOIN marts.enterprise_carbon_monthly m ON m.credit_code = v.credit_code AND m.month = v.month\n"
            "LEFT JOIN marts.dim_parks d ON d.park_id = v.park_id"
        ),
        "columns": columns(
            f"credit_code VARCHAR, park_id VARCHAR, enterprise_name VARCHAR, park_name VARCHAR, {_MONTHLY},"
            "energy_tce DOUBLE, co2_t DOUBLE, energy_tce_last_month DOUBLE, energy_tce_last_year DOUBLE,"
            "change_vs_last_month_tce DOUBLE, change_vs_last_year_tce DOUBLE,"
            "abs_change_vs_last_month_tce DOUBLE, abs_change_vs_last_year_tce DOUBLE"
        ),
    },
    "v_park_energy_daily": {
        "sql": LANG + (
            f"SELECT p.park_id, {name('d')} AS park_name, p.day, p.energy_type,\n"
            f"       {label('p.energy_type', 'energy_type')} AS energy_label, p.unit, p.quantity, p.energy_tce,\n"
            "       p.co2_t, p.enterprises, p.completeness_sum, p.intervals_received\n"
            "FROM marts.park_energy_daily p LEFT JOIN marts.dim_parks d ON d.park_id = p.park_id"
        ),
        "columns": columns(
            "park_id VARCHAR, park_name VARCHAR, day DATE, energy_type VARCHAR, energy_label VARCHAR, unit VARCHAR,"
            "quantity DECIMAL, energy_tce DECIMAL, co2_t DECIMAL, enterprises BIGINT, completeness_sum DECIMAL,"
            "intervals_received BIGINT"
        ),
        "dttm": "day",
    },
    "v_enterprise_energy_daily": {
        "sql": LANG + (
            f"SELECT x.credit_code, x.park_id, {name('e')} AS enterprise_name, x.day, x.energy_type,\n"
            f"       {label('x.energy_type', 'energy_type')} AS energy_label, x.quantity, x.unit, x.energy_tce,\n"
            "       x.co2_t, x.completeness\n"
            "FROM marts.enterprise_energy_daily x LEFT JOIN marts.dim_enterprises e ON e.credit_code = x.credit_code"
        ),
        "columns": columns(
            "credit_code VARCHAR, park_id VARCHAR, enterprise_name VARCHAR, day DATE, energy_type VARCHAR,"
            "energy_label VARCHAR, quantity DOUBLE, unit VARCHAR, energy_tce DOUBLE, co2_t DOUBLE, completeness DOUBLE"
        ),
        "dttm": "day",
    },
    "v_meter_silent_days": {
        "sql": LANG + (
            f"SELECT s.day, s.meter_id, s.credit_code, s.park_id, {name('e')} AS enterprise_name,\n"
            f"       {name('d')} AS park_name, s.energy_type, {label('s.energy_type', 'energy_type')} AS energy_label\n"
            "FROM marts.meter_silent_days s\n"
            "LEFT JOIN marts.dim_enterprises e ON e.credit_code = s.credit_code\n"
            "LEFT JOIN marts.dim_parks d ON d.park_id = s.park_id"
        ),
        "columns": columns(
            "day DATE, meter_id VARCHAR, credit_code VARCHAR, park_id VARCHAR, enterprise_name VARCHAR,"
            "park_name VARCHAR, energy_type VARCHAR, energy_label VARCHAR"
        ),
        "dttm": "day",
    },
    "v_quarantine_daily": {
        "sql": LANG + (
            f"SELECT q.day, q.source, {label('q.source', 'source')} AS source_label, q.reason_category, q.\"rows\"\n"
            "FROM marts.quarantine_daily q"
        ),
        "columns": columns("day DATE, source VARCHAR, source_label VARCHAR, reason_category VARCHAR, rows BIGINT"),
        "dttm": "day",
    },
    "v_certificate_claims": {
        "sql": LANG + (
            "SELECT c.certificate_id, c.project_id, c.generation_month, c.claimed_period, c.claimed_at,\n"
            f"       c.is_double_claim, c.counted, {yes_no('c.counted')} AS counted_label, c.reason_not_counted,\n"
            f"       {label('c.reason_not_counted', 'reason_not_counted')} AS reason_label,\n"
            f"       c.owner_credit_code AS credit_code, e.park_id, {name('e')} AS enterprise_name\n"
            "FROM marts.certificate_claims c\n"
            "LEFT JOIN marts.dim_enterprises e ON e.credit_code = c.owner_credit_code"
        ),
        "columns": columns(
            "certificate_id VARCHAR, project_id VARCHAR, generation_month VARCHAR, claimed_period VARCHAR,"
            "claimed_at TIMESTAMP, is_double_claim BOOLEAN, counted BOOLEAN, counted_label VARCHAR,"
            "reason_not_counted VARCHAR, reason_label VARCHAR, credit_code VARCHAR, park_id VARCHAR,"
            "enterprise_name VARCHAR"
        ),
    },
    "v_warnings": {
        # The join keys are CASE expressions, not "ON w.level = ... AND key = ...": a LEFT JOIN condition
        # on the left table alone makes DuckDB fall back to a nested-loop join (warnings x enterprises:
        # seconds for a city of 10,000 enterprises); an equality on an expression stays a hash join.
        # Labels and colours of the levels come from the mart (seeds/warning_levels.csv); level_rank orders
        # them by severity.
        "sql": LANG + (
            f"SELECT w.level, {label('w.level', 'entity_level')} AS level_label, w.entity_id,\n"
            f"       CASE w.level WHEN 'enterprise' THEN {name('e')} WHEN 'park' THEN {name('p')}\n"
            f"                    ELSE {text(CITY_NAME)} END AS entity_name,\n"
            f"       w.as_of, w.metric, {label('w.metric', 'metric')} AS metric_label, w.ytd_value,\n"
            "       w.projected_year_end, w.budget, w.ratio, w.warning_level,\n"
            f"       {by_lang('w.label_zh', 'w.label_en')} AS warning_label, w.colour,\n"
            f"       {level_rank('w.warning_level')} AS level_rank, w.is_provisional,\n"
            f"       {status('w.is_provisional')} AS status,\n"
            "       CASE WHEN w.level = 'park' THEN w.entity_id ELSE e.park_id END AS park_id,\n"
            "       CASE WHEN w.level = 'enterprise' THEN w.entity_id END AS credit_code,\n"
            f"       CASE WHEN w.level = 'enterprise' THEN {name('e')} END AS enterprise_name,\n"
            f"       {name('p')} AS park_name\n"
            "FROM marts.dual_control_warnings w\n"
            "LEFT JOIN marts.dim_enterprises e\n"
            "  ON e.credit_code = CASE WHEN w.level = 'enterprise' THEN w.entity_id END\n"
            "LEFT JOIN marts.dim_parks p\n"
            "  ON p.park_id = CASE WHEN w.level = 'park' THEN w.entity_id WHEN w.level = 'enterprise' THEN e.park_id END"
        ),
        "columns": columns(
            "level VARCHAR, level_label VARCHAR, entity_id VARCHAR, entity_name VARCHAR, as_of DATE, metric VARCHAR,"
            "metric_label VARCHAR, ytd_value DOUBLE, projected_year_end DOUBLE, budget DOUBLE, ratio DOUBLE,"
            "warning_level VARCHAR, warning_label VARCHAR, colour VARCHAR, level_rank BIGINT,"
            "is_provisional BOOLEAN, status VARCHAR, park_id VARCHAR, credit_code VARCHAR, enterprise_name VARCHAR,"
            "park_name VARCHAR"
        ),
    },
    "v_open_findings": {
        # failed rows of the latest run of each suite (check_results keeps every run's rows)
        "sql": LANG + (
            f"SELECT r.stage, r.suite, r.rule, {label('r.rule', 'rule')} AS rule_label, r.severity,\n"
            f"       {label('r.severity', 'severity')} AS severity_label,\n"
            "       r.level, r.entity_id, r.meter_id, r.day, r.observed, r.expected, r.checked_at, r.run_id,\n"
            f"       r.message_zh, r.message_en, {by_lang('r.message_zh', 'coalesce(r.message_en, r.message_zh)')} AS message,\n"
            f"       r.is_summary, r.unexpected_count, r.park_id, r.credit_code, {name('e')} AS enterprise_name\n"
            "FROM quality.check_results r\n"
            "LEFT JOIN marts.dim_enterprises e ON e.credit_code = r.credit_code\n"
            "WHERE NOT r.passed\n"
            "QUALIFY r.run_id = first_value(r.run_id) OVER (PARTITION BY r.suite ORDER BY r.checked_at DESC)"
        ),
        "columns": columns(
            "stage VARCHAR, suite VARCHAR, rule VARCHAR, rule_label VARCHAR, severity VARCHAR, severity_label VARCHAR,"
            "level VARCHAR,"
            "entity_id VARCHAR, meter_id VARCHAR, day DATE, observed VARCHAR, expected VARCHAR,"
            "checked_at TIMESTAMP, run_id VARCHAR, message_zh VARCHAR, message_en VARCHAR, message VARCHAR,"
            "is_summary BOOLEAN, unexpected_count BIGINT, park_id VARCHAR, credit_code VARCHAR,"
            "enterprise_name VARCHAR"
        ),
    },

    # ---- carbon dual control and the national carbon market ------------------------------
    # The ETS, candidate and zero-carbon marts have park_id (and credit_code): registered, so row-level
    # security applies to them inside the views too. dual_control_assessment has only level/entity_id:
    # it is read through v_dual_control alone, which carries park_id and credit_code for the filters.
    "ets_compliance": {
        "schema": "marts",
        "columns": columns(
            "credit_code VARCHAR, name_zh VARCHAR, name_en VARCHAR, park_id VARCHAR, year BIGINT, sector VARCHAR,"
            "verified_emissions_tco2 DECIMAL, allowances_allocated_t DECIMAL, allowances_surrendered_t DECIMAL,"
            "ccer_surrendered_t DECIMAL, ccer_usable_t DECIMAL, ccer_over_cap_t DECIMAL, compliance_gap_t DECIMAL,"
            "allocation_surplus_t DECIMAL, compliance_deadline DATE, as_of DATE, days_to_deadline BIGINT,"
            "gap_near_deadline BOOLEAN, warehouse_co2_t DECIMAL, warehouse_months BIGINT,"
            "cross_check_diff_pct DOUBLE, cross_check_finding BOOLEAN"
        ),
    },
    "regulatory_candidates": {
        "schema": "marts",
        "columns": columns(
            "credit_code VARCHAR, name_zh VARCHAR, name_en VARCHAR, park_id VARCHAR, year BIGINT, list VARCHAR,"
            "figure DECIMAL, threshold DECIMAL, unit VARCHAR, sector VARCHAR, months BIGINT,"
            "is_provisional BOOLEAN, reason VARCHAR"
        ),
    },
    "zero_carbon_park_indicators": {
        "schema": "marts",
        "columns": columns(
            "park_id VARCHAR, year BIGINT, energy_tce DECIMAL, co2_t DECIMAL, co2_per_tce DOUBLE,"
            "co2_per_tce_threshold DOUBLE, meets_core_indicator BOOLEAN, natural_gas_tce DECIMAL,"
            "non_fossil_tce DECIMAL, clean_energy_share DOUBLE, clean_energy_share_threshold DOUBLE,"
            "meets_clean_energy_share BOOLEAN, source_document VARCHAR, is_provisional BOOLEAN"
        ),
    },
    "v_dual_control": {
        "sql": LANG + _DUAL_CONTROL_SELECT + ",\n       " + ",\n       ".join(f"a.{c}" for c in _DUAL_CONTROL_FIGURES)
               + "\n" + _DUAL_CONTROL_FROM,
        "columns": columns(_DUAL_CONTROL_KEYS + ", " + ", ".join(f"{c} DOUBLE" for c in _DUAL_CONTROL_FIGURES)),
    },
    "v_dual_control_series": {
        # achieved vs target reductions, one row per entity, year and series (the legend in the user's language)
        "sql": LANG + "\nUNION ALL\n".join(
            _DUAL_CONTROL_SELECT + f",\n       {lit(code)} AS series, {text(LABELS['series'][code])} AS series_label,"
            f"\n       CAST(a.{code}_pct AS DOUBLE) AS value\n" + _DUAL_CONTROL_FROM
            for code in ("carbon_intensity_reduction", "target_carbon_intensity_reduction",
                         "energy_intensity_reduction", "target_energy_intensity_reduction")),
        "columns": columns(_DUAL_CONTROL_KEYS + ", series VARCHAR, series_label VARCHAR, value DOUBLE"),
    },
    "v_ets_compliance": {
        "sql": LANG + (
            f"SELECT c.credit_code, c.park_id, {name('c')} AS enterprise_name, {name('d')} AS park_name,\n"
            f"       CAST(c.year AS VARCHAR) AS year, c.sector, {label('c.sector', 'sector')} AS sector_label,\n"
            "       c.verified_emissions_tco2, c.allowances_allocated_t, c.allowances_surrendered_t,\n"
            "       c.ccer_surrendered_t, c.ccer_usable_t, c.ccer_over_cap_t, c.compliance_gap_t,\n"
            "       c.allocation_surplus_t, c.compliance_deadline, c.as_of, CAST(c.days_to_deadline AS BIGINT)\n"
            "       AS days_to_deadline, c.gap_near_deadline,\n"
            f"       {yes_no('c.gap_near_deadline')} AS near_deadline_label,\n"
            f"       {two_way('c.compliance_gap_t > 0', SHORTFALL)} AS compliance_label,\n"
            "       c.warehouse_co2_t, CAST(c.warehouse_months AS BIGINT) AS warehouse_months,\n"
            "       c.cross_check_diff_pct, abs(c.cross_check_diff_pct) AS abs_diff_pct, c.cross_check_finding,\n"
            f"       {two_way('c.cross_check_finding', FINDING)} AS finding_label\n"
            "FROM marts.ets_compliance c LEFT JOIN marts.dim_parks d ON d.park_id = c.park_id"
        ),
        "columns": columns(
            "credit_code VARCHAR, park_id VARCHAR, enterprise_name VARCHAR, park_name VARCHAR, year VARCHAR,"
            "sector VARCHAR, sector_label VARCHAR, verified_emissions_tco2 DECIMAL, allowances_allocated_t DECIMAL,"
            "allowances_surrendered_t DECIMAL, ccer_surrendered_t DECIMAL, ccer_usable_t DECIMAL,"
            "ccer_over_cap_t DECIMAL, compliance_gap_t DECIMAL, allocation_surplus_t DECIMAL,"
            "compliance_deadline DATE, as_of DATE, days_to_deadline BIGINT, gap_near_deadline BOOLEAN,"
            "near_deadline_label VARCHAR, compliance_label VARCHAR, warehouse_co2_t DECIMAL,"
            "warehouse_months BIGINT, cross_check_diff_pct DOUBLE, abs_diff_pct DOUBLE,"
            "cross_check_finding BOOLEAN, finding_label VARCHAR"
        ),
    },
    "v_regulatory_candidates": {
        # the mart's reason is English; the Chinese one is said from the same figures
        "sql": LANG + (
            f"SELECT r.credit_code, r.park_id, {name('r')} AS enterprise_name, {name('d')} AS park_name,\n"
            f"       CAST(r.year AS VARCHAR) AS year, r.list, {label('r.list', 'candidate_list')} AS list_label,\n"
            f"       r.sector, {label('r.sector', 'sector')} AS sector_label, r.figure, r.threshold, r.unit,\n"
            f"       CAST(r.months AS BIGINT) AS months, r.is_provisional, {status('r.is_provisional')} AS status,\n"
            "       " + by_lang(
                "CASE r.list WHEN 'ets' THEN CAST(r.year AS VARCHAR) || '年直接排放（范围一含工业过程，' || "
                "CAST(r.months AS VARCHAR) || '个月）达到' || "
                + label_case('r.sector', 'sector', 0)
                + " || '行业纳入门槛，未纳入全国碳市场' "
                "WHEN 'key_energy_user' THEN CAST(r.year AS VARCHAR) || '年综合能耗（' || CAST(r.months AS VARCHAR) "
                "|| '个月）达到重点用能单位门槛，尚未列为重点用能单位' ELSE r.reason END",
                "r.reason") + " AS reason\n"
            "FROM marts.regulatory_candidates r LEFT JOIN marts.dim_parks d ON d.park_id = r.park_id"
        ),
        "columns": columns(
            "credit_code VARCHAR, park_id VARCHAR, enterprise_name VARCHAR, park_name VARCHAR, year VARCHAR,"
            "list VARCHAR, list_label VARCHAR, sector VARCHAR, sector_label VARCHAR, figure DECIMAL,"
            "threshold DECIMAL, unit VARCHAR, months BIGINT, is_provisional BOOLEAN, status VARCHAR, reason VARCHAR"
        ),
    },
    "v_zero_carbon_parks": {
        "sql": LANG + (
            f"SELECT z.park_id, {name('d')} AS park_name,\n"
            f"       CAST(z.year AS VARCHAR) || CASE WHEN z.is_provisional THEN {text(PROVISIONAL_SUFFIX)} ELSE '' END"
            " AS year_label,\n"
            f"       z.year, z.is_provisional, {status('z.is_provisional')} AS status,\n"
            "       z.energy_tce, z.co2_t, z.co2_per_tce, z.co2_per_tce_threshold, z.meets_core_indicator,\n"
            f"       {two_way('z.meets_core_indicator', MEETS)} AS meets_core_label,\n"
            "       z.natural_gas_tce, z.non_fossil_tce, z.clean_energy_share, z.clean_energy_share_threshold,\n"
            f"       z.meets_clean_energy_share, {two_way('z.meets_clean_energy_share', MEETS)} AS meets_clean_label\n"
            "FROM marts.zero_carbon_park_indicators z LEFT JOIN marts.dim_parks d ON d.park_id = z.park_id"
        ),
        "columns": columns(
            "park_id VARCHAR, park_name VARCHAR, year_label VARCHAR, year BIGINT, is_provisional BOOLEAN,"
            "status VARCHAR, energy_tce DECIMAL, co2_t DECIMAL, co2_per_tce DOUBLE, co2_per_tce_threshold DOUBLE,"
            "meets_core_indicator BOOLEAN, meets_core_label VARCHAR, natural_gas_tce DECIMAL,"
            "non_fossil_tce DECIMAL, clean_energy_share DOUBLE, clean_energy_share_threshold DOUBLE,"
            "meets_clean_energy_share BOOLEAN, meets_clean_label VARCHAR"
        ),
    },
    # ---- energy-saving projects (issue 15): measured savings, baselines, new facilities, roadmap ----------
    # The project marts carry credit_code but not park_id: read through these views alone (park_id from
    # dim_enterprises, for row-level security), as dual_control_assessment is.
    "v_project_savings": {
        # per project, boundary energy type and reporting month; qualified or not (only qualified ones count)
        "sql": LANG + (
            f"SELECT s.project_id, s.credit_code, e.park_id, {by_lang('s.name_zh', 'coalesce(s.name_en, s.name_zh)')}"
            " AS project_name,\n"
            f"       {name('e')} AS enterprise_name, {name('d')} AS park_name, s.measure,\n"
            f"       {label('s.measure', 'measure')} AS measure_label, s.energy_type,\n"
            f"       {label('s.energy_type', 'energy_type')} AS energy_label, s.unit, s.month,\n"
            "       left(CAST(s.month AS VARCHAR), 7) AS month_label, s.baseline_qualified,\n"
            f"       {two_way('s.baseline_qualified', QUALIFIED)} AS qualification_label,\n"
            "       CAST(s.predicted AS DOUBLE) AS predicted, CAST(s.metered AS DOUBLE) AS metered,\n"
            "       CAST(s.savings AS DOUBLE) AS savings, CAST(s.savings_uncertainty AS DOUBLE) AS savings_uncertainty,\n"
            "       CAST(s.predicted_tce AS DOUBLE) AS predicted_tce, CAST(s.metered_tce AS DOUBLE) AS metered_tce,\n"
            "       CAST(s.savings_tce AS DOUBLE) AS savings_tce,\n"
            "       CAST(s.savings_uncertainty_tce AS DOUBLE) AS savings_uncertainty_tce,\n"
            "       CAST(s.savings_co2_t AS DOUBLE) AS savings_co2_t,\n"
            "       CAST(s.expected_savings_tce AS DOUBLE) AS expected_savings_tce,\n"
            "       CAST(s.fractional_savings AS DOUBLE) AS fractional_savings, CAST(s.cvrmse AS DOUBLE) AS cvrmse,\n"
            f"       {two_way('s.savings_significant', SIGNIFICANT)} AS significance_label,\n"
            "       CAST(s.days_metered AS BIGINT) AS days_metered, s.is_complete_month\n"
            "FROM marts.project_savings_monthly s\n"
            "LEFT JOIN marts.dim_enterprises e ON e.credit_code = s.credit_code\n"
            "LEFT JOIN marts.dim_parks d ON d.park_id = e.park_id"
        ),
        "columns": columns(
            "project_id VARCHAR, credit_code VARCHAR, park_id VARCHAR, project_name VARCHAR, enterprise_name VARCHAR,"
            "park_name VARCHAR, measure VARCHAR, measure_label VARCHAR, energy_type VARCHAR, energy_label VARCHAR,"
            "unit VARCHAR, month DATE, month_label VARCHAR, baseline_qualified BOOLEAN, qualification_label VARCHAR,"
            "predicted DOUBLE, metered DOUBLE, savings DOUBLE, savings_uncertainty DOUBLE, predicted_tce DOUBLE,"
            "metered_tce DOUBLE, savings_tce DOUBLE, savings_uncertainty_tce DOUBLE, savings_co2_t DOUBLE,"
            "expected_savings_tce DOUBLE, fractional_savings DOUBLE, cvrmse DOUBLE, significance_label VARCHAR,"
            "days_metered BIGINT, is_complete_month BOOLEAN"
        ),
        "dttm": "month",
    },
    "v_project_series": {
        # predicted vs metered per project and month, in tce (comparable across energy types), one row per series
        "sql": LANG + "\nUNION ALL\n".join(
            f"SELECT s.project_id, s.credit_code, e.park_id, {name('e')} AS enterprise_name, s.month,\n"
            "       left(CAST(s.month AS VARCHAR), 7) AS month_label, s.baseline_qualified,\n"
            f"       {lit(code)} AS series,\n"
            f"       {by_lang('s.name_zh', 'coalesce(s.name_en, s.name_zh)')} || ' · ' || "
            f"{text(LABELS['series'][code])} AS series_label,\n"
            f"       CAST(s.{code}_tce AS DOUBLE) AS value\n"
            "FROM marts.project_savings_monthly s\n"
            "LEFT JOIN marts.dim_enterprises e ON e.credit_code = s.credit_code"
            for code in ("predicted", "metered")),
        "columns": columns(
            "project_id VARCHAR, credit_code VARCHAR, park_id VARCHAR, enterprise_name VARCHAR, month DATE,"
            "month_label VARCHAR, baseline_qualified BOOLEAN, series VARCHAR, series_label VARCHAR, value DOUBLE"
        ),
        "dttm": "month",
    },
    "v_project_baselines": {
        # every retrofit measured (or refused), with the baseline's qualification, why, and the period to date
        "sql": LANG + (
            f"SELECT b.project_id, b.credit_code, b.park_id, {by_lang('b.name_zh', 'coalesce(b.name_en, b.name_zh)')}"
            " AS project_name,\n"
            f"       {name('e')} AS enterprise_name, {name('d')} AS park_name, b.measure,\n"
            f"       {label('b.measure', 'measure')} AS measure_label,\n"
            f"       {label('b.status', 'project_status')} AS project_status_label, b.energy_type,\n"
            f"       {label('b.energy_type', 'energy_type')} AS energy_label, b.unit, b.commissioned_on,\n"
            "       b.baseline_start, b.baseline_end, CAST(b.baseline_days AS BIGINT) AS baseline_days,\n"
            f"       b.baseline_qualified, {two_way('b.baseline_qualified', QUALIFIED)} AS qualification_label,\n"
            "       " + by_lang(
                "CASE WHEN b.baseline_days < 90 THEN '基准期仅' || CAST(b.baseline_days AS VARCHAR) || '天，至少需要90天'"
                " WHEN b.baseline_days IS NULL THEN '尚无基准期'"
                " WHEN b.cvrmse IS NULL THEN '无法拟合基准模型（数据不足）'"
                " WHEN b.cvrmse > 0.3 THEN 'CV(RMSE)超过30%'"
                " WHEN abs(b.nmbe) > 0.1 THEN 'NMBE超过±10%'"
                " WHEN NOT b.baseline_qualified THEN 'OpenDSM判定基准数据不充分'"
                " WHEN b.baseline_short THEN '基准期不足一年（' || CAST(b.baseline_days AS VARCHAR) || '天），已说明'"
                " ELSE '基准期一年，拟合合格' END",
                "coalesce(nullif(b.baseline_notes, ''), 'A year of baseline, fit within the thresholds')")
            + " AS baseline_note,\n"
            "       CAST(b.cvrmse AS DOUBLE) AS cvrmse, CAST(b.nmbe AS DOUBLE) AS nmbe,\n"
            "       CAST(b.r_squared AS DOUBLE) AS r_squared, b.reporting_start, b.reporting_end,\n"
            "       CAST(b.reporting_days AS BIGINT) AS reporting_days, CAST(b.predicted_total AS DOUBLE) AS predicted_total,\n"
            "       CAST(b.metered_total AS DOUBLE) AS metered_total, CAST(b.savings_total AS DOUBLE) AS savings_total,\n"
            "       CAST(b.savings_total_uncertainty AS DOUBLE) AS savings_total_uncertainty,\n"
            "       CAST(b.fractional_savings AS DOUBLE) AS fractional_savings,\n"
            f"       {two_way('b.savings_significant', SIGNIFICANT)} AS significance_label,\n"
            "       CAST(b.savings_tce AS DOUBLE) AS savings_tce, CAST(b.savings_co2_t AS DOUBLE) AS savings_co2_t,\n"
            "       CAST(b.expected_savings_tce AS DOUBLE) AS expected_savings_tce, b.model_version, b.as_of\n"
            "FROM marts.project_baselines b\n"
            "LEFT JOIN marts.dim_enterprises e ON e.credit_code = b.credit_code\n"
            "LEFT JOIN marts.dim_parks d ON d.park_id = b.park_id"
        ),
        "columns": columns(
            "project_id VARCHAR, credit_code VARCHAR, park_id VARCHAR, project_name VARCHAR, enterprise_name VARCHAR,"
            "park_name VARCHAR, measure VARCHAR, measure_label VARCHAR, project_status_label VARCHAR,"
            "energy_type VARCHAR, energy_label VARCHAR, unit VARCHAR, commissioned_on DATE, baseline_start DATE,"
            "baseline_end DATE, baseline_days BIGINT, baseline_qualified BOOLEAN, qualification_label VARCHAR,"
            "baseline_note VARCHAR, cvrmse DOUBLE, nmbe DOUBLE, r_squared DOUBLE, reporting_start DATE,"
            "reporting_end DATE, reporting_days BIGINT, predicted_total DOUBLE, metered_total DOUBLE,"
            "savings_total DOUBLE, savings_total_uncertainty DOUBLE, fractional_savings DOUBLE,"
            "significance_label VARCHAR, savings_tce DOUBLE, savings_co2_t DOUBLE, expected_savings_tce DOUBLE,"
            "model_version VARCHAR, as_of DATE"
        ),
    },
    "v_new_facilities": {
        "sql": LANG + (
            f"SELECT n.project_id, n.credit_code, e.park_id, {by_lang('n.name_zh', 'coalesce(n.name_en, n.name_zh)')}"
            " AS project_name,\n"
            f"       {name('e')} AS enterprise_name, {name('d')} AS park_name,\n"
            f"       {label('n.measure', 'measure')} AS measure_label, n.commissioned_on,\n"
            "       CAST(n.days_metered AS BIGINT) AS days_metered,\n"
            "       CAST(n.approved_annual_energy_tce AS DOUBLE) AS approved_annual_energy_tce,\n"
            "       CAST(n.actual_energy_tce AS DOUBLE) AS actual_energy_tce,\n"
            "       CAST(n.approved_pro_rata_tce AS DOUBLE) AS approved_pro_rata_tce,\n"
            "       CAST(n.energy_ratio AS DOUBLE) AS energy_ratio, CAST(n.actual_co2_t AS DOUBLE) AS actual_co2_t,\n"
            "       CAST(n.approved_pro_rata_co2_t AS DOUBLE) AS approved_pro_rata_co2_t,\n"
            "       CAST(n.co2_ratio AS DOUBLE) AS co2_ratio, n.over_approval,\n"
            f"       {two_way('n.over_approval', OVER_APPROVAL)} AS approval_label\n"
            "FROM marts.new_facility_tracking n\n"
            "LEFT JOIN marts.dim_enterprises e ON e.credit_code = n.credit_code\n"
            "LEFT JOIN marts.dim_parks d ON d.park_id = e.park_id"
        ),
        "columns": columns(
            "project_id VARCHAR, credit_code VARCHAR, park_id VARCHAR, project_name VARCHAR, enterprise_name VARCHAR,"
            "park_name VARCHAR, measure_label VARCHAR, commissioned_on DATE, days_metered BIGINT,"
            "approved_annual_energy_tce DOUBLE, actual_energy_tce DOUBLE, approved_pro_rata_tce DOUBLE,"
            "energy_ratio DOUBLE, actual_co2_t DOUBLE, approved_pro_rata_co2_t DOUBLE, co2_ratio DOUBLE,"
            "over_approval BOOLEAN, approval_label VARCHAR"
        ),
    },
    "v_enterprise_roadmap": {
        "sql": LANG + (
            f"SELECT r.credit_code, e.park_id, {name('e')} AS enterprise_name, CAST(r.year AS VARCHAR) AS year,\n"
            "       CAST(r.bau_energy_tce AS DOUBLE) AS bau_energy_tce,\n"
            "       CAST(r.expected_savings_tce AS DOUBLE) AS expected_savings_tce,\n"
            "       CAST(r.measured_savings_tce AS DOUBLE) AS measured_savings_tce,\n"
            "       CAST(r.projected_energy_tce AS DOUBLE) AS projected_energy_tce,\n"
            "       CAST(r.target_energy_tce AS DOUBLE) AS target_energy_tce, CAST(r.gap_tce AS DOUBLE) AS gap_tce,\n"
            "       CAST(r.bau_co2_t AS DOUBLE) AS bau_co2_t, CAST(r.projected_co2_t AS DOUBLE) AS projected_co2_t,\n"
            "       CAST(r.target_co2_t AS DOUBLE) AS target_co2_t, CAST(r.gap_co2_t AS DOUBLE) AS gap_co2_t,\n"
            f"       r.on_track, {two_way('r.on_track', ON_TRACK)} AS on_track_label\n"
            "FROM marts.enterprise_roadmap r\n"
            "LEFT JOIN marts.dim_enterprises e ON e.credit_code = r.credit_code"
        ),
        "columns": columns(
            "credit_code VARCHAR, park_id VARCHAR, enterprise_name VARCHAR, year VARCHAR, bau_energy_tce DOUBLE,"
            "expected_savings_tce DOUBLE, measured_savings_tce DOUBLE, projected_energy_tce DOUBLE,"
            "target_energy_tce DOUBLE, gap_tce DOUBLE, bau_co2_t DOUBLE, projected_co2_t DOUBLE, target_co2_t DOUBLE,"
            "gap_co2_t DOUBLE, on_track BOOLEAN, on_track_label VARCHAR"
        ),
    },
    "v_enterprise_roadmap_series": {
        # BAU, projected and target per enterprise and target year, one row per series
        "sql": LANG + "\nUNION ALL\n".join(
            f"SELECT r.credit_code, e.park_id, {name('e')} AS enterprise_name, CAST(r.year AS VARCHAR) AS year,\n"
            f"       {lit(code)} AS series, {text(LABELS['series'][code])} AS series_label,\n"
            f"       CAST(r.{column} AS DOUBLE) AS value\n"
            "FROM marts.enterprise_roadmap r\n"
            "LEFT JOIN marts.dim_enterprises e ON e.credit_code = r.credit_code"
            for code, column in (("bau_energy", "bau_energy_tce"), ("projected_energy", "projected_energy_tce"),
                                 ("target_energy", "target_energy_tce"))),
        "columns": columns(
            "credit_code VARCHAR, park_id VARCHAR, enterprise_name VARCHAR, year VARCHAR, series VARCHAR,"
            "series_label VARCHAR, value DOUBLE"
        ),
    },
}


# Column labels shown in tables and filters: one per column in Superset, so bilingual.
VERBOSE = {
    "park_id": "园区编号 Park ID", "park_name": "园区 Park", "credit_code": "统一社会信用代码 Credit code",
    "enterprise_name": "企业 Enterprise", "name_zh": "名称 Name", "name_en": "Name (EN)",
    "month": "月份 Month", "month_label": "月份 Month", "status": "数据状态 Status", "day": "日期 Day",
    "energy_type": "能源品种代码 Energy type code", "energy_label": "能源品种 Energy type",
    "energy_tce": "能耗 tce", "energy_tce_dual_control": "双控能耗 tce (dual control)", "co2_t": "碳排放 tCO2",
    "scope1_co2_t": "范围一 Scope 1 tCO2", "scope2_location_co2_t": "范围二（位置） Scope 2 location tCO2",
    "scope2_market_co2_t": "范围二（市场） Scope 2 market tCO2", "ytd_energy_tce": "年累计能耗 YTD tce",
    "ytd_co2_t": "年累计碳排放 YTD tCO2", "energy_intensity": "能耗强度 tce/万元 Energy intensity",
    "carbon_intensity": "碳排放强度 tCO2/万元 Carbon intensity", "intensity_coverage": "强度覆盖率 Intensity coverage",
    "value_added_10k_cny": "增加值（万元） Value added", "green_mwh": "绿电 Green MWh",
    "green_mwh_unused": "未计入绿证 Unused green MWh", "green_share": "绿电占比 Green share",
    "electricity_mwh": "用电量 Electricity MWh", "declaration": "申报状态 Declaration",
    "level": "层级代码 Level code", "level_label": "层级 Level", "entity_id": "对象编号 Entity ID",
    "entity_name": "对象 Entity", "metric": "指标代码 Metric code", "metric_label": "指标 Metric",
    "as_of": "截至 As of", "ytd_value": "年累计 YTD", "budget": "目标 Budget",
    "ratio": "预计/目标 Projected/budget", "projected_year_end": "预计全年 Projected year-end",
    "warning_level": "预警等级代码 Level code", "warning_label": "预警等级 Warning level",
    "level_rank": "严重程度 Severity rank", "label_zh": "预警 Warning", "label_en": "Warning (EN)",
    "energy_tce_last_month": "上月能耗 Last month tce", "energy_tce_last_year": "去年同期 Last year tce",
    "change_vs_last_month_tce": "环比变化 Change vs last month", "change_vs_last_year_tce": "同比变化 Change vs last year",
    "gap_pct_electricity": "电偏差% Electricity gap", "gap_pct_natural_gas": "气偏差% Gas gap",
    "gap_pct_heat": "热偏差% Heat gap", "gap_pct_steam": "汽偏差% Steam gap",
    "certificate_id": "绿证编号 Certificate", "generation_month": "发电月份 Generated",
    "claimed_period": "申领期 Claimed for", "counted": "计入 Counted", "counted_label": "是否计入 Counted",
    "reason_label": "未计入原因 Why not counted", "is_double_claim": "重复申领 Double claim",
    "meter_id": "表计 Meter", "suite": "检查组 Suite", "rule": "规则 Rule", "severity": "严重性代码 Severity code",
    "severity_label": "严重性 Severity", "rule_label": "检查规则 Check", "series": "系列代码 Series code",
    "series_label": "系列 Series", "value": "数值 Value", "observed": "实际 Observed", "expected": "期望 Expected",
    "source": "来源代码 Source code", "source_label": "来源 Source", "message_zh": "说明 Message",
    "message": "说明 Message", "reason_category": "原因 Reason", "is_provisional": "临时 Provisional",
    # dual control and the carbon market
    "year": "年度 Year", "year_label": "年度 Year", "base_year": "基准年 Base year",
"base_energy_intensity": "基准年能耗强度 Base energy intensity",
    "base_carbon_intensity": "基准年碳排放强度 Base carbon intensity",
    "energy_intensity_reduction_pct": "能耗强度下降% Energy intensity reduction",
    "carbon_intensity_reduction_pct": "碳排放强度下降% Carbon intensity reduction",
    "target_energy_intensity_reduction_pct": "能耗强度目标降幅% Target energy reduction",
    "target_carbon_intensity_reduction_pct": "碳排放强度目标降幅% Target carbon reduction",
    "energy_intensity_target": "能耗强度目标值 Energy intensity target",
    "carbon_intensity_target": "碳排放强度目标值 Carbon intensity target",
    "allowed_energy_intensity": "允许能耗强度 Allowed energy intensity",
    "allowed_carbon_intensity": "允许碳排放强度 Allowed carbon intensity",
    "energy_intensity_ratio": "能耗强度/允许 Energy intensity / allowed",
    "carbon_intensity_ratio": "碳排放强度/允许 Carbon intensity / allowed",
    "energy_budget_tce": "能耗总量目标 tce Energy budget", "carbon_budget_tco2": "碳排放总量目标 tCO2 Carbon budget",
    "is_latest_year": "最新年度 Latest year",
    "sector": "行业代码 Sector code", "sector_label": "行业 Sector",
    "verified_emissions_tco2": "核查排放量 tCO2 Verified emissions",
    "allowances_allocated_t": "分配配额 t Allowances allocated",
    "allowances_surrendered_t": "已清缴配额 t Allowances surrendered",
    "ccer_surrendered_t": "CCER清缴 t CCER surrendered", "ccer_usable_t": "CCER可抵销 t CCER usable (5 %)",
    "ccer_over_cap_t": "CCER超限 t CCER over the cap", "compliance_gap_t": "清缴缺口 t Compliance gap",
    "allocation_surplus_t": "配额盈余 t Allocation surplus", "compliance_deadline": "清缴截止 Deadline",
    "days_to_deadline": "剩余天数 Days left", "gap_near_deadline": "临近截止有缺口 Gap near deadline",
    "near_deadline_label": "60天内截止且有缺口 Gap, deadline within 60 days",
    "compliance_label": "清缴状态 Compliance", "warehouse_co2_t": "平台核算 tCO2 Platform scope 1+2",
    "warehouse_months": "平台月数 Platform months", "cross_check_diff_pct": "差异% Difference",
    "abs_diff_pct": "差异绝对值% Absolute difference", "cross_check_finding": "核查不符 Finding",
    "finding_label": "比对结果 Cross-check",
    "list": "名单代码 List code", "list_label": "名单 List", "figure": "数值 Figure", "threshold": "门槛 Threshold",
    "unit": "单位 Unit", "months": "月数 Months", "reason": "理由 Reason",
    "co2_per_tce": "单位能耗碳排放 tCO2/tce", "co2_per_tce_threshold": "门槛 tCO2/tce Threshold",
    "meets_core_indicator": "核心指标达标 Core indicator met", "meets_core_label": "核心指标 Core indicator",
    "natural_gas_tce": "天然气 tce Natural gas", "non_fossil_tce": "非化石能源 tce Non-fossil",
    "clean_energy_share": "清洁能源占比 Clean energy share",
    "clean_energy_share_threshold": "占比门槛 Share threshold",
    "meets_clean_energy_share": "清洁能源占比达标 Clean share met", "meets_clean_label": "清洁能源占比 Clean share",
    # energy-saving projects and the roadmap
    "project_id": "项目编号 Project ID", "project_name": "项目 Project", "measure": "措施代码 Measure code",
    "measure_label": "措施 Measure", "project_status_label": "项目状态 Project status",
    "qualification_label": "基准合格性 Baseline", "baseline_qualified": "基准合格 Qualified",
    "baseline_note": "基准说明 Baseline note", "baseline_start": "基准期起 Baseline from",
    "baseline_end": "基准期止 Baseline to", "baseline_days": "基准天数 Baseline days",
    "cvrmse": "CV(RMSE)", "nmbe": "NMBE", "r_squared": "R²", "commissioned_on": "投运日期 Commissioned",
    "reporting_start": "报告期起 Reporting from", "reporting_end": "报告期止 Reporting to",
    "reporting_days": "报告期计量天数 Days metered", "days_metered": "计量天数 Days metered",
    "predicted": "预测 Predicted", "metered": "实际计量 Metered", "savings": "节能量 Savings",
    "savings_uncertainty": "不确定度（90%） Uncertainty (90 %)",
    "predicted_total": "预测 Predicted", "metered_total": "实际计量 Metered", "savings_total": "节能量 Savings",
    "savings_total_uncertainty": "不确定度（90%） Uncertainty (90 %)",
    "predicted_tce": "预测 tce Predicted", "metered_tce": "实际 tce Metered",
    "savings_tce": "节能量 tce Savings", "savings_uncertainty_tce": "不确定度 tce Uncertainty",
    "savings_co2_t": "减碳 tCO2 CO2 avoided", "expected_savings_tce": "业主预期 tce Expected",
    "fractional_savings": "节能率 Savings share", "significance_label": "是否显著 Significance",
    "model_version": "模型版本 Model version", "is_complete_month": "整月 Whole month",
    "approved_annual_energy_tce": "批复年能耗 tce Approved a year",
    "actual_energy_tce": "实际能耗 tce Actual", "approved_pro_rata_tce": "批复折算 tce Approved pro rata",
    "energy_ratio": "实际/批复 Actual / approved", "actual_co2_t": "实际碳排放 tCO2 Actual",
    "approved_pro_rata_co2_t": "批复折算 tCO2 Approved pro rata", "co2_ratio": "碳排放 实际/批复 CO2 actual / approved",
    "over_approval": "超出批复 Above approval", "approval_label": "批复执行 Approval",
    "bau_energy_tce": "照常情景 tce BAU", "measured_savings_tce": "实测节能 tce Measured savings",
    "projected_energy_tce": "预计能耗 tce Projected", "target_energy_tce": "能耗目标 tce Target",
    "gap_tce": "缺口 tce Gap", "bau_co2_t": "照常情景 tCO2 BAU", "projected_co2_t": "预计碳排放 tCO2 Projected",
    "target_co2_t": "碳排放目标 tCO2 Target", "gap_co2_t": "缺口 tCO2 Gap", "on_track": "可达目标 On track",
    "on_track_label": "路线 Track",
}

# --------------------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------------------
def metric(sql: str, label_: str) -> dict[str, Any]:
    return {"expressionType": "SQL", "sqlExpression": sql, "label": label_, "hasCustomLabel": True,
            "optionName": "metric_" + uid("metric", sql + label_)[:8]}


def where(sql: str) -> dict[str, Any]:
    return {"expressionType": "SQL", "clause": "WHERE", "sqlExpression": sql,
            "filterOptionName": "filter_" + uid("filter", sql)[:8]}


PERCENT_COLUMNS = {"ratio", "completeness", "green_share", "intensity_coverage", "energy_intensity_ratio",
                   "carbon_intensity_ratio", "clean_energy_share", "clean_energy_share_threshold",
                   "fractional_savings", "cvrmse", "nmbe", "energy_ratio", "co2_ratio"}
INTENSITY_COLUMNS = {"energy_intensity", "carbon_intensity", "base_energy_intensity", "base_carbon_intensity",
                     "allowed_energy_intensity", "allowed_carbon_intensity", "energy_intensity_target",
                     "carbon_intensity_target", "co2_per_tce", "co2_per_tce_threshold"}


def column_formats(dataset: str, columns: list[str]) -> dict[str, dict[str, str]]:
    """Table number formats: 2 decimals (intensities 3), counts as integers, ratios as percentages."""
    types = {c: t for c, t, _ in DATASETS[dataset]["columns"]}
    out: dict[str, dict[str, str]] = {}
    for c in columns:
        if c in PERCENT_COLUMNS:
            out[c] = {"d3NumberFormat": ".1%"}
        elif c in INTENSITY_COLUMNS:
            out[c] = {"d3NumberFormat": ",.3f"}
        elif types.get(c) in ("DOUBLE", "DECIMAL"):
            out[c] = {"d3NumberFormat": ",.2f"}
        elif types.get(c) == "BIGINT":
            out[c] = {"d3NumberFormat": ",d"}
    return out


@dataclass
class Chart:
    key: str
    title: str
    dataset: str
    viz: str  # big_number | line | bar | table | agg_table | pie
    metrics: list[dict[str, Any]] = field(default_factory=list)
    x: str | None = None  # x axis: a time column (with grain) or a label column (categories)
    grain: str = "P1M"
    groupby: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)  # raw table columns
    order_by: list[tuple[str, bool]] = field(default_factory=list)  # (column, ascending)
    filters: list[str] = field(default_factory=list)
    fmt: str = ",.1f"
    width: int = 4
    height: int = 50
    row_limit: int = 1000
    compare: bool = True  # big number: show change vs the previous month
    description: str | None = None  # a note above the chart: what it shows, why it can be empty
    stack: bool = True  # bars with series: stacked (parts of a whole) or side by side (alternatives)
    colours: list[tuple[str, str, str]] = field(default_factory=list)  # table cells: (column, text, colour)
    horizontal: bool = False  # bars along the y axis: long category names (enterprises) stay readable
    series_by_name: bool = False  # series in label order (pairs such as achieved / target side by side)

    @property
    def uuid(self) -> str:
        return uid("chart", self.key)

    @property
    def temporal_x(self) -> bool:
        return bool(self.x) and any(c == self.x and dttm for c, _, dttm in DATASETS[self.dataset]["columns"])

    def params(self) -> dict[str, Any]:
        adhoc = [where(f) for f in self.filters]
        viz_type = {"big_number": "big_number", "line": "echarts_timeseries_line", "pie": "pie",
                    "bar": "echarts_timeseries_bar", "table": "table", "agg_table": "table"}[self.viz]
        p: dict[str, Any] = {"viz_type": viz_type, "adhoc_filters": adhoc, "row_limit": self.row_limit,
                             "extra_form_data": {}, "dashboards": []}
        if self.viz == "big_number":
            p.update({"metric": self.metrics[0], "x_axis": self.x, "time_grain_sqla": self.grain,
                      "y_axis_format": self.fmt, "show_trend_line": True, "start_y_axis_at_zero": True,
                      "header_font_size": 0.3, "subheader_font_size": 0.15, "show_timestamp": True,
                      "time_format": "%Y-%m"})
            if self.compare:
                p.update({"compare_lag": 1, "compare_suffix": "环比 MoM"})
        elif self.viz in ("line", "bar"):
            p.update({"x_axis": self.x, "metrics": self.metrics,
                      "groupby": self.groupby, "y_axis_format": self.fmt,
                      # one unnamed series needs no legend (its title says what it is)
                      "show_legend": bool(self.groupby) or len(self.metrics) > 1,
                      "legendType": "scroll", "legendOrientation": "top", "rich_tooltip": True,
                      "stack": self.viz == "bar" and bool(self.groupby) and self.stack,
                      "truncate_metric": True, "sort_series_type": "sum", "order_desc": True,
                      "show_value": self.viz == "bar" and not self.temporal_x})
            if self.horizontal:
                p["orientation"] = "horizontal"
            if self.series_by_name:
                p.update({"sort_series_type": "name", "sort_series_ascending": True})
            if self.temporal_x:
                p.update({"time_grain_sqla": self.grain,
                          "x_axis_time_format": "%Y-%m" if self.grain == "P1M" else "%m-%d"})
            else:  # label categories ("2026-02（临时）"), in label order; a month alone still shows a point
                p.update({"x_axis_sort_asc": True, "xAxisLabelRotation": 0, "markerEnabled": True, "markerSize": 6})
        elif self.viz == "pie":
            p.update({"groupby": self.groupby, "metric": self.metrics[0], "sort_by_metric": True,
                      "label_type": "key_value", "show_labels": True, "labels_outside": True, "label_line": True,
                      "show_labels_threshold": 0, "show_legend": True, "legendType": "plain",
                      "legendOrientation": "top", "donut": True, "innerRadius": 35, "outerRadius": 65,
                      "show_total": True, "number_format": ",d"})
        elif self.viz == "table":
            p["column_config"] = column_formats(self.dataset, self.columns)
            if self.colours:  # a cell reading a level or a finding, in its colour (the seed's)
                p["conditional_formatting"] = [
                    {"column": col, "operator": "=", "targetValue": value, "colorScheme": colour}
                    for col, value, colour in self.colours]
            p.update({"query_mode": "raw", "all_columns": self.columns,
                      "order_by_cols": [json.dumps([c, asc]) for c, asc in self.order_by],
                      "server_pagination": False, "table_timestamp_format": "%Y-%m-%d",
                      "show_cell_bars": False, "include_search": True, "page_length": 20})
        else:
            p.update({"query_mode": "aggregate", "groupby": self.groupby, "metrics": self.metrics,
                      "order_desc": True, "timeseries_limit_metric": self.metrics[0] if self.metrics else None,
                      "table_timestamp_format": "%Y-%m-%d", "include_search": True, "page_length": 20,
                      "show_cell_bars": True})
        return p

    def query(self) -> dict[str, Any]:
        """The saved query context: what GET /api/v1/chart/{id}/data replays."""
        filters: list[dict[str, Any]] = []
        extras = {"where": " AND ".join(f"({f})" for f in self.filters)} if self.filters else {}
        q: dict[str, Any] = {"filters": filters, "extras": extras, "row_limit": self.row_limit,
                             "applied_time_extras": {}, "url_params": {}, "custom_params": {},
                             "custom_form_data": {}}
        if self.viz in ("big_number", "line", "bar"):
            axis = {"columnType": "BASE_AXIS", "sqlExpression": self.x, "label": self.x, "expressionType": "SQL"}
            if self.temporal_x:
                axis["timeGrain"] = self.grain
            q.update({"columns": [axis, *self.groupby], "metrics": self.metrics,
                      "orderby": [] if self.temporal_x else [[self.x, True]],
                      "is_timeseries": False})
        elif self.viz == "table":
            # no "metrics" key: that is what makes a raw (ungrouped) query
            q.update({"columns": self.columns, "orderby": [[c, asc] for c, asc in self.order_by]})
        else:
            q.update({"columns": self.groupby, "metrics": self.metrics,
                      "orderby": [[self.metrics[0], False]] if self.metrics else []})
        return q


TCE = ",.1f"
# Daily series: a year of days x series (energy types, parks, sources) is more than the default 1000
# rows, which would silently cut the chart short.
DAILY_ROWS = 10_000
ENERGY = metric("SUM(energy_tce)", "能耗 Energy (tce)")
CO2_LOC = metric("SUM(co2_t)", "碳排放 CO2 (t)")
COUNT = metric("COUNT(*)", "数量 Count")
# the mean completeness of the enterprise rows summed into park_energy_daily (= AVG over enterprise_energy_daily)
COMPLETENESS = metric("SUM(completeness_sum) / SUM(enterprises)", "完整率 Completeness")
# the warning lists leave out the mildest level (on track): the summary above them counts it
MILDEST = warning_levels()[0]["warning_level"]
NOT_MILDEST = f"warning_level <> {lit(MILDEST)}"
SEVERITY_ORDER = [("level_rank", False), ("ratio", False), ("entity_id", True), ("metric", True)]

PROVISIONAL_NOTE = ("标“（临时）”的月份仍在等待企业申报（截止为次月15日），数字会变。"
                    "Months marked “(provisional)” still wait for declarations (due the 15th of the next month): "
                    "their figures will change.")

# Table cells coloured as the seed colours the levels: each level's label in both languages; a finding,
# a shortfall or a missed indicator in the most severe level's colour, their opposite in the mildest's.
_LEVELS = warning_levels()
WARNING_COLOURS = [("warning_label", r[k], r["colour"]) for r in _LEVELS for k in ("label_zh", "label_en")]
BAD, GOOD = _LEVELS[-1]["colour"], _LEVELS[0]["colour"]


def flag_colours(column: str, pairs: tuple[tuple[str, str], tuple[str, str]], bad_first: bool = True
                 ) -> list[tuple[str, str, str]]:
    bad, good = (pairs[0], pairs[1]) if bad_first else (pairs[1], pairs[0])
    return [(column, t, BAD) for t in bad] + [(column, t, GOOD) for t in good]


DUAL_CONTROL_LATEST = "level IN ('city', 'park') AND is_latest_year"
PCT = metric("MAX(value)", "下降 Reduction (%)")
SAVINGS_TCE = metric("SUM(savings_tce)", "节能量 Savings (tce)")

CHARTS: list[Chart] = [
    # ---- City -------------------------------------------------------------------------
    Chart("city_energy_month", "本月能耗 Energy this month (tce)", "city_carbon_monthly", "big_number",
          [ENERGY], x="month", width=3, height=40,
          description="最新月份；是否临时见月度汇总。Latest month: provisional or not, see the monthly table."),
    Chart("city_co2_month", "本月碳排放 CO2 this month (t, location-based)", "city_carbon_monthly",
          "big_number", [CO2_LOC], x="month", width=3, height=40,
          description="最新月份；是否临时见月度汇总。Latest month: provisional or not, see the monthly table."),
    Chart("city_energy_ytd", "年累计能耗 YTD energy (tce)", "city_carbon_monthly", "big_number",
          [metric("SUM(ytd_energy_tce)", "年累计能耗 YTD energy (tce)")], x="month", width=3, height=40,
          compare=False, description="含临时月份。Includes provisional months."),
    Chart("city_co2_ytd", "年累计碳排放 YTD CO2 (t)", "city_carbon_monthly", "big_number",
          [metric("SUM(ytd_co2_t)", "年累计碳排放 YTD CO2 (t)")], x="month", width=3, height=40,
          compare=False, description="含临时月份。Includes provisional months."),
    Chart("city_monthly", "月度汇总 Monthly figures", "v_city_monthly", "table",
          columns=["month_label", "status", "energy_tce", "energy_tce_dual_control", "co2_t", "ytd_energy_tce",
                   "ytd_co2_t", "energy_intensity", "carbon_intensity", "intensity_coverage"],
          order_by=[("month", False)], width=12, height=30,
          description=PROVISIONAL_NOTE + " 强度只用已申报增加值的企业月份，覆盖率为其能耗占比；无申报时为空。"
                      "Intensities use only enterprise-months with declared value added (coverage: their share "
                      "of energy); blank before any declaration."),
    Chart("city_budget", "全市预算执行与预警 City: YTD vs budget, warning level", "v_warnings", "table",
          columns=["warning_label", "metric_label", "ratio", "projected_year_end", "budget", "ytd_value", "as_of",
                   "status"],
          filters=["level = 'city'"], order_by=SEVERITY_ORDER, width=12, height=36,
          description="没有当年全市目标时为空。Empty while no city target for the year is loaded. "
                      "预计全年 = 年累计 ÷ 已过天数 × 全年天数；强度按年累计。"
                      "Projected = YTD / days elapsed x days in the year; intensities year to date."),
    Chart("city_intensity", "能耗与碳排放强度（每万元增加值） Intensity per 10k CNY value added",
          "v_city_series", "line", [metric("MAX(value)", "强度 Intensity")], x="month_label",
          groupby=["series_label"], filters=["series IN ('energy_intensity', 'carbon_intensity')"],
          fmt=",.3f", width=6,
          description="尚无企业申报增加值的月份没有强度（不是零）。A month without any declared value added "
                      "has no intensity (not zero)."),
    Chart("city_location_vs_market", "外购电碳排放 Scope 2: location vs market (t CO2)",
          "v_city_series", "bar", [metric("SUM(value)", "碳排放 CO2 (t)")], x="month_label",
          groupby=["series_label"], filters=["series IN ('scope2_location', 'scope2_market')"], width=6,
          stack=False),
    Chart("city_green_share", "绿电占比 Green power share", "v_city_monthly", "line",
          [metric("MAX(green_share)", "绿电占比 Green share")], x="month_label", fmt=".1%", width=6,
          description="只计有效绿证（每证1 MWh，首次申领有效）。没有绿证计入时为零或空。"
                      "Counted certificates only (1 MWh each, first valid claim); zero or empty when none counted."),
    Chart("city_parks_ranked", "园区排名 Parks ranked by YTD energy", "v_park_latest", "table",
          columns=["park_name", "month_label", "status", "energy_tce", "co2_t", "ytd_energy_tce", "ytd_co2_t"],
          order_by=[("ytd_energy_tce", False)], width=6),
    Chart("city_warning_summary", "预警汇总 Warnings by level", "v_warnings", "pie",
          [COUNT], groupby=["warning_label"], width=6, height=50,
          description="全部对象（全市、园区、企业）与指标的预警个数。没有目标时为空。"
                      "Count of every entity's and metric's position; empty while no targets are loaded."),
    Chart("city_warning_by_metric", "各指标预警 Warnings by metric and level", "v_warnings", "bar",
          [COUNT], x="metric_label", groupby=["warning_label"], width=6, height=50,
          description="没有目标时为空。Empty while no targets are loaded."),
    Chart("city_warnings", "预警清单（最严重在前） Warnings, most severe first", "v_warnings", "table",
          columns=["warning_label", "level_label", "entity_name", "metric_label", "ratio", "projected_year_end",
                   "budget", "ytd_value", "as_of", "status"],
          filters=[NOT_MILDEST], order_by=SEVERITY_ORDER, width=12,
          description="正常（绿色）的对象不列出，见上方汇总。没有预警时为空。On-track (green) positions are "
                      "counted above, not listed; empty when nothing is off track."),
    # ---- Park -------------------------------------------------------------------------
    Chart("park_monthly", "园区月度汇总 Park monthly figures", "v_park_monthly", "table",
          columns=["month_label", "status", "energy_tce", "energy_tce_dual_control", "co2_t", "ytd_energy_tce",
                   "energy_intensity", "carbon_intensity", "intensity_coverage"],
          order_by=[("month", False)], width=12, height=30,
          description="强度只用已申报增加值的企业月份，覆盖率为其能耗占比；无申报时为空。双控能耗扣除原料用能和非化石能源。"
                      "Intensities use only enterprise-months with declared value added (coverage: their share of "
                      "energy); blank before any declaration. Dual-control energy leaves out feedstock and "
                      "non-fossil energy."),
    Chart("park_energy_trend", "园区月度能耗 Park monthly energy (tce)", "v_park_monthly", "bar",
          [ENERGY], x="month_label", width=6, description=PROVISIONAL_NOTE),
    Chart("park_enterprises_ranked", "企业排名 Enterprises ranked (latest month)", "v_enterprise_movers",
          "table", columns=["enterprise_name", "month_label", "status", "energy_tce", "co2_t", "credit_code"],
          order_by=[("energy_tce", False)], width=6,
          description="每家企业最新有数据的月份。园区还没有企业数据时为空。Each enterprise's latest month; empty "
                      "while the park has no enterprise data."),
    Chart("park_movers_month", "环比变化最大 Top movers vs last month (tce)", "v_enterprise_movers",
          "table", columns=["enterprise_name", "month_label", "energy_tce", "energy_tce_last_month",
                            "change_vs_last_month_tce"],
          order_by=[("abs_change_vs_last_month_tce", False)], filters=["energy_tce_last_month IS NOT NULL"],
          width=6, row_limit=10,
          description="需要连续两个月的数据：第一个月为空。Needs two consecutive months of data: empty in the first month."),
    Chart("park_movers_year", "同比变化最大 Top movers vs last year (tce)", "v_enterprise_movers", "table",
          columns=["enterprise_name", "month_label", "energy_tce", "energy_tce_last_year", "change_vs_last_year_tce"],
          order_by=[("abs_change_vs_last_year_tce", False)], filters=["energy_tce_last_year IS NOT NULL"],
          width=6, row_limit=10,
          description="需要去年同月的数据：上线满一年前为空。Needs the same month last year: empty until the "
                      "warehouse holds a year of data."),
    Chart("park_completeness", "数据完整率 Completeness by day", "v_park_energy_daily", "line",
          [COMPLETENESS], x="day", grain="P1D", fmt=".1%", width=12, row_limit=DAILY_ROWS,
          description="每日收到的15分钟读数占应收的比例（企业平均）；国家在线监测要求不低于90%。Intervals received "
                      "of 96 a day, mean over the enterprises; the national monitoring rules ask for 90 % at least."),
    # ---- Enterprise ---------------------------------------------------------------------
    Chart("ent_daily_profile", "日用能曲线 Daily energy by type (tce)", "v_enterprise_energy_daily", "bar",
          [ENERGY], x="day", grain="P1D", groupby=["energy_label"], width=12,
          row_limit=DAILY_ROWS,
          description="仅计量的能源品种；煤、油品等按月申报，见月度数字。Metered energy types only; coal and oil "
                      "products are declared monthly."),
    Chart("ent_monthly", "企业月度汇总 Enterprise monthly figures", "v_enterprise_monthly", "table",
          columns=["month_label", "declaration", "energy_tce", "energy_tce_dual_control", "co2_t", "green_mwh",
                   "green_mwh_unused"],
          order_by=[("month", False)], width=12, height=30,
          description="申报未到的月份为临时（只有计量数据）。绿证超过当月用电的部分不计入，列为未计入。A month whose "
                      "declaration has not arrived is provisional (meters only). Certificates above the month's "
                      "electricity are not counted: shown as unused."),
    Chart("ent_scope_monthly", "月度碳排放（按范围） Monthly CO2 by scope (t)", "v_enterprise_series",
          "bar", [metric("SUM(value)", "碳排放 CO2 (t)")], x="month_label", groupby=["series_label"],
          filters=["series IN ('scope1', 'scope2_location')"], width=6, stack=False,
          description=PROVISIONAL_NOTE),
    Chart("ent_declared_vs_metered", "申报与计量偏差 Declared vs metered gap (%)",
          "v_enterprise_monthly", "table",
          columns=["month_label", "declaration", "gap_pct_electricity", "gap_pct_natural_gas", "gap_pct_heat",
                   "gap_pct_steam", "enterprise_name"], order_by=[("month", False), ("credit_code", True)], width=6,
          description="偏差 =（申报 − 计量）÷ 计量。申报到达前为空。(declared − metered) / metered; blank until the "
                      "month's declaration arrives."),
    Chart("ent_certificates", "绿证申领 Green certificates claimed", "v_certificate_claims", "table",
          columns=["certificate_id", "generation_month", "claimed_period", "counted_label", "reason_label",
                   "enterprise_name"], order_by=[("claimed_period", False), ("certificate_id", True)], width=12,
          description="企业未申领绿证时为空。Empty when the enterprise claimed no certificates."),
    Chart("ent_warnings", "企业预警 Enterprise warnings", "v_warnings", "table",
          columns=["warning_label", "metric_label", "ratio", "projected_year_end", "budget", "ytd_value", "as_of",
                   "status"],
          filters=["level = 'enterprise'"], order_by=SEVERITY_ORDER, width=12,
          description="企业没有当年双控目标时为空。Empty when the enterprise has no target for the year."),
    Chart("ent_findings", "未关闭数据质量问题 Open data-quality findings", "v_open_findings", "table",
          columns=["message", "rule_label", "severity_label", "meter_id", "day", "observed", "expected",
                   "enterprise_name"],
          filters=["NOT coalesce(is_summary, false)"],
          order_by=[("severity", True), ("day", False), ("rule", True), ("meter_id", True)], width=12,
          description="最近一次检查未通过的项目；为空表示全部通过。Failed checks of the latest run; empty means all passed."),
    # ---- Data quality -------------------------------------------------------------------
    Chart("dq_completeness", "各园区日完整率 Completeness by park and day", "v_park_energy_daily",
          "line", [COMPLETENESS], x="day", grain="P1D",
          groupby=["park_name"], fmt=".1%", width=12, row_limit=DAILY_ROWS),
    Chart("dq_silent_meters", "静默表计 Silent meters (no readings in a day)", "v_meter_silent_days", "table",
          columns=["day", "meter_id", "enterprise_name", "park_name", "energy_label"],
          order_by=[("day", False), ("meter_id", True)], width=6,
          description="某日没有任何读数的表计；为空表示每只表每天都有数据。Meters without a single reading on a day; "
                      "empty means every meter reported every day."),
    Chart("dq_quarantine", "隔离行数 Quarantined rows by source", "v_quarantine_daily", "bar",
          [metric('SUM("rows")', "隔离行 Rows")], x="day", grain="P1D", groupby=["source_label"],
          fmt=",d", width=6, row_limit=DAILY_ROWS,
          description="无法入库的行（文件、行号和原因见隔离区）；为空表示没有坏数据。Rows refused at loading (file, row "
                      "and reason in the quarantine); empty means nothing was refused."),
    Chart("dq_findings", "检查未通过 Failed checks (latest run)", "v_open_findings", "agg_table",
          [metric("COUNT(*)", "数量 Count")], groupby=["rule_label", "severity_label"], width=12,
          description="为空表示最近一次检查全部通过。Empty means every check of the latest run passed."),
    # ---- Carbon dual control ------------------------------------------------------------------
    Chart("dc_assessment", "双控考核（按对象） Dual-control assessment by entity", "v_dual_control", "table",
          columns=["entity_name", "level_label", "year_label", "warning_label", "status", "carbon_intensity",
                   "base_year", "base_carbon_intensity", "carbon_intensity_reduction_pct",
                   "target_carbon_intensity_reduction_pct", "allowed_carbon_intensity", "carbon_intensity_ratio",
                   "energy_intensity", "energy_intensity_reduction_pct", "target_energy_intensity_reduction_pct",
                   "allowed_energy_intensity", "energy_intensity_ratio", "intensity_coverage", "co2_t",
                   "energy_tce_dual_control", "as_of"],
          order_by=[("year", False), ("level_rank", False), ("carbon_intensity_ratio", False), ("entity_id", True)],
          colours=WARNING_COLOURS, width=12, height=100,
          description="每个对象每年一行：全市、园区、企业。预警等级按强度 ÷ 允许强度（取两者中较严的一个）；"
                      "“未设强度目标”表示该年没有强度目标（不是零）。年度后标“（临时）”表示仍有申报未到。"
                      "One row per entity and year (city, parks, enterprises). The warning level is intensity ÷ "
                      "allowed intensity; “No intensity target” means none is set for the year (not zero). A year "
                      "marked “(provisional)” still waits for declarations."),
    Chart("dc_reduction", "强度下降：实际与目标 Intensity reduction, achieved vs target (%, latest year)",
          "v_dual_control_series", "bar", [PCT], x="entity_name", groupby=["series_label"],
          filters=[DUAL_CONTROL_LATEST], fmt=",.2f", width=8, stack=False, horizontal=True, series_by_name=True,
          description="相对基准年的下降幅度（%）；没有基准年或目标的对象没有柱。"
                      "Reduction against the base year (%); an entity without a base year or target has no bar."),
    Chart("dc_status_summary", "企业预警等级 Enterprises by warning level (latest year)", "v_dual_control", "pie",
          [COUNT], groupby=["warning_label"], filters=["level = 'enterprise' AND is_latest_year"], width=4,
          description="没有企业评估时为空。Empty while no enterprise is assessed."),
    Chart("dc_coverage", "强度覆盖率 Intensity coverage (latest year)", "v_dual_control", "bar",
          [metric("MAX(intensity_coverage)", "覆盖率 Coverage")], x="entity_name",
          filters=[DUAL_CONTROL_LATEST], fmt=".1%", width=12, height=40, horizontal=True,
          description="强度只用已申报增加值的企业月份；覆盖率为其能耗占比。覆盖率低时强度不具代表性。"
                      "Intensities use only enterprise-months with declared value added; coverage is their share "
                      "of energy. A low coverage makes the intensity unrepresentative."),
    # ---- Carbon market --------------------------------------------------------------------------
    Chart("cm_compliance", "履约状态 Compliance status", "v_ets_compliance", "table",
          columns=["enterprise_name", "sector_label", "year", "compliance_label", "compliance_gap_t",
                   "compliance_deadline", "days_to_deadline", "near_deadline_label", "verified_emissions_tco2",
                   "allowances_allocated_t", "allowances_surrendered_t", "ccer_surrendered_t", "ccer_usable_t",
                   "ccer_over_cap_t", "allocation_surplus_t", "park_name"],
          order_by=[("gap_near_deadline", False), ("compliance_gap_t", False), ("credit_code", True)],
          colours=flag_colours("compliance_label", SHORTFALL) + flag_colours("near_deadline_label", YES_NO),
          width=12, height=80,
          description="缺口 = 核查排放 − 已清缴配额 − 可用CCER（CCER最多抵销核查排放的5%，超出部分列为超限）。"
                      "没有纳入碳市场的企业时为空。Gap = verified emissions − allowances surrendered − usable "
                      "CCER (CCER offsets at most 5 % of verified emissions; the rest is over the cap). Empty "
                      "when no enterprise is in the market."),
    Chart("cm_gaps", "清缴缺口（按企业） Compliance gap by enterprise (t)", "v_ets_compliance", "bar",
          [metric("SUM(compliance_gap_t)", "缺口 Gap (t)")], x="enterprise_name", groupby=["year"],
          filters=["compliance_gap_t > 0"], fmt=",.0f", width=6, height=70, horizontal=True,
          description="只列有缺口的企业；为空表示都已足额清缴。Enterprises short of allowances only; empty "
                      "means every one has surrendered enough."),
    Chart("cm_cross_check", "核查排放与平台核算比对 Verified vs platform emissions", "v_ets_compliance", "table",
          columns=["enterprise_name", "year", "finding_label", "cross_check_diff_pct", "verified_emissions_tco2",
                   "warehouse_co2_t", "warehouse_months"],
          order_by=[("abs_diff_pct", False), ("credit_code", True)],
          colours=flag_colours("finding_label", FINDING), width=6, height=70,
          description="差异 =（核查 − 平台范围一+二）÷ 平台；超过10%为问题，通知企业和生态环境局。平台月数不足12时比对不完整。"
                      "Difference = (verified − platform scope 1 + 2) ÷ platform; above 10 % is a finding for "
                      "the enterprise and the ecology bureau. Fewer than 12 platform months make it partial."),
    Chart("cm_candidates", "纳入名单候选 Candidates for the regulatory lists", "v_regulatory_candidates", "table",
          columns=["list_label", "enterprise_name", "year", "sector_label", "figure", "threshold", "unit", "months",
                   "status", "reason", "park_name"],
          order_by=[("list", True), ("year", False), ("figure", False), ("credit_code", True)], width=12,
          description="超过门槛但尚未纳入的企业：碳市场（覆盖行业的直接排放）与重点用能单位（年综合能耗1万吨标准煤及以上）。"
                      "为空表示没有候选。Enterprises above a threshold and not yet listed: the carbon market "
                      "(direct emissions in a covered sector) and key energy users (10,000 tce a year or more). "
                      "Empty when there is no candidate."),
    Chart("cm_zero_carbon", "零碳园区指标 Zero-carbon park indicators", "v_zero_carbon_parks", "table",
          columns=["park_name", "year_label", "status", "co2_per_tce", "co2_per_tce_threshold", "meets_core_label",
                   "clean_energy_share", "clean_energy_share_threshold", "meets_clean_label", "energy_tce", "co2_t",
                   "natural_gas_tce", "non_fossil_tce"],
          order_by=[("year", False), ("park_id", True)],
          colours=flag_colours("meets_core_label", MEETS, bad_first=False)
          + flag_colours("meets_clean_label", MEETS, bad_first=False), width=12,
          description="门槛依据《关于开展零碳园区建设的通知》（发改环资〔2025〕910号）：单位能耗碳排放与清洁能源消费占比。"
                      "Thresholds of NDRC notice 发改环资〔2025〕910号 on zero-carbon parks: CO2 per tce of energy "
                      "and the share of clean energy."),
    # ---- Energy-saving projects ----------------------------------------------------------------------------
    Chart("prj_savings_by_project", "各项目实测节能量 Measured savings by project (tce)", "v_project_savings", "bar",
          [SAVINGS_TCE], x="project_name", filters=["baseline_qualified"], width=6, height=60, horizontal=True,
          description="只计基准合格的项目（基准不合格的见下表，不计入）；节能量 = 基准模型预测 − 实际计量。没有合格项目或尚无"
                      "报告期时为空。Qualified baselines only (the others are listed below, never counted); savings = "
                      "predicted by the baseline − metered. Empty while no project has a qualified reporting period."),
    Chart("prj_savings_by_measure", "各类措施实测节能量 Measured savings by measure (tce)", "v_project_savings", "bar",
          [SAVINGS_TCE], x="measure_label", filters=["baseline_qualified"], width=3, height=60,
          description="只计基准合格的项目。Qualified baselines only."),
    Chart("prj_savings_by_park", "各园区实测节能量 Measured savings by park (tce)", "v_project_savings", "bar",
          [SAVINGS_TCE], x="park_name", filters=["baseline_qualified"], width=3, height=60,
          description="只计基准合格的项目。Qualified baselines only."),
    Chart("prj_predicted_vs_metered", "预测与实际计量（按项目） Predicted vs metered by project (tce)", "v_project_series",
          "line", [metric("SUM(value)", "能耗 Energy (tce)")], x="month_label", groupby=["series_label"], width=12,
          height=60, series_by_name=True,
          description="每个项目两条线：基准模型按当月气温预测的用能（没有项目时会用多少）与实际计量，差为节能量；按当月折标系数"
                      "换算为吨标准煤，便于比较不同能源品种。只统计两者都有数据的天。Two lines per project: what the "
                      "baseline model predicts at the month's temperatures (the use without the project) and what "
                      "was metered; the gap is the savings. In tce at the month's coefficients, so projects on "
                      "different energy types compare. Days with both figures only."),
    Chart("prj_baselines", "基准期与合格性 Baselines and qualification", "v_project_baselines", "table",
          columns=["project_name", "enterprise_name", "measure_label", "project_status_label", "energy_label",
                   "qualification_label", "baseline_note", "baseline_days", "baseline_start", "baseline_end",
                   "cvrmse", "nmbe", "r_squared", "park_name"],
          order_by=[("baseline_qualified", True), ("project_id", True), ("energy_type", True)],
          colours=flag_colours("qualification_label", QUALIFIED, bad_first=False), width=12, height=60,
          description="CalTRACK日模型（OpenDSM）：基准期为投运前最多365天，不足一年（至少90天）须说明；CV(RMSE) ≤ 30% 且 "
                      "|NMBE| ≤ 10% 为合格。不合格的基准只展示，不计入节能量。CalTRACK daily model (OpenDSM): the "
                      "baseline is up to 365 days before commissioning, at least 90 stated; qualified when CV(RMSE) "
                      "≤ 30 % and |NMBE| ≤ 10 %. A baseline that does not qualify is shown, never counted."),
    Chart("prj_reporting", "报告期节能量与不确定度 Savings to date and their uncertainty", "v_project_baselines", "table",
          columns=["project_name", "measure_label", "qualification_label", "reporting_start", "reporting_end",
                   "reporting_days", "unit", "predicted_total", "metered_total", "savings_total",
                   "savings_total_uncertainty", "fractional_savings", "significance_label", "savings_tce",
                   "expected_savings_tce", "savings_co2_t", "enterprise_name"],
          filters=["reporting_days > 0"], order_by=[("savings_tce", False), ("project_id", True)],
          colours=flag_colours("significance_label", SIGNIFICANT, bad_first=False), width=12, height=60,
          description="不确定度为90%置信度（ASHRAE Guideline 14）；节能量未超出不确定度的项目不能认定为节能。预期为业主申报的"
                      "年节能量按同样天数折算。Uncertainty at 90 % confidence (ASHRAE Guideline 14): savings within it "
                      "are not established. Expected = the owner's annual figure for the same days."),
    Chart("prj_new_facilities", "新建项目用能与节能审查批复 New facilities vs their approval", "v_new_facilities", "table",
          columns=["project_name", "enterprise_name", "commissioned_on", "days_metered", "actual_energy_tce",
                   "approved_pro_rata_tce", "energy_ratio", "actual_co2_t", "approved_pro_rata_co2_t", "co2_ratio",
                   "approval_label", "park_name"],
          order_by=[("energy_ratio", False), ("project_id", True)],
          colours=flag_colours("approval_label", OVER_APPROVAL), width=12,
          description="投运以来实际能耗与批复年能耗按计量天数折算比较；超出批复已通知企业。没有新建项目时为空。Actual "
                      "energy since commissioning against the approved annual figure pro rata to the metered days; "
                      "a facility above it has been notified. Empty when no new facility is registered."),
    # ---- Enterprise: the roadmap (issue 15), below the enterprise's own figures ---------------------------
    Chart("ent_roadmap", "节能路线图 Roadmap to the targets (tce)", "v_enterprise_roadmap_series", "bar",
          [metric("SUM(value)", "能耗 Energy (tce)")], x="year", groupby=["series_label"], width=6, stack=False,
          series_by_name=True,
          description="每个目标年：照常情景（最近12个月，加回已实测的节能量）、扣除项目节能后的预计能耗与目标。企业没有目标时为空。"
                      "Per target year: business as usual (the latest 12 months, measured savings added back), the "
                      "projection after the projects' savings, and the target. Empty without targets."),
    Chart("ent_roadmap_table", "路线图明细 Roadmap figures", "v_enterprise_roadmap", "table",
          columns=["year", "on_track_label", "bau_energy_tce", "expected_savings_tce", "measured_savings_tce",
                   "projected_energy_tce", "target_energy_tce", "gap_tce", "projected_co2_t", "target_co2_t",
                   "gap_co2_t", "enterprise_name"],
          order_by=[("year", True), ("credit_code", True)], colours=flag_colours("on_track_label", ON_TRACK,
                                                                                 bad_first=False), width=6,
          description="预期节能：计划与实施中项目按业主申报；实测节能：已投运且基准合格的项目。缺口 = 预计 − 目标（正数为超出）。"
                      "Expected: planned and running projects at the owner's figure; measured: commissioned ones "
                      "with a qualified baseline. Gap = projected − target (positive = above)."),
]

_LEVELS_MD = " · ".join(f"{r['label_zh']} {r['label_en']}" for r in warning_levels())
NOTES = {
    "city": (
        "**如何阅读 How to read this dashboard**  \n"
        "月份后标“（临时）”表示该月仍有企业申报未到（截止为次月15日），能耗、排放和强度会随申报更新；"
        "数据状态列为“临时 / Provisional”。"
        "A month suffixed “(provisional)” still waits for declarations (due the 15th of the next month): its "
        "energy, CO2 and intensities will change; the Status column reads “临时 / Provisional”.  \n"
        f"预警等级 Warning levels (预计全年 ÷ 目标 projected ÷ budget): {_LEVELS_MD}。"
        "强度只用已申报增加值的企业月份，覆盖率见月度汇总。"
        "Intensities use only enterprise-months with declared value added; see the coverage in the monthly table."
    ),
    "park": (
        "**如何阅读 How to read**  \n"
        "先在左侧筛选器选择园区。月份后标“（临时）”表示仍有企业申报未到，数字会变。"
        "环比需要两个月、同比需要一年的数据，此前为空。"
        "Pick a park in the filter bar. Months marked “(provisional)” still wait for declarations. Movers vs last "
        "month need two months of data, vs last year a year."
    ),
    "enterprise": (
        "**如何阅读 How to read**  \n"
        "先在左侧筛选器选择企业。月份后标“（临时）”表示该月申报尚未到达，数字会变。"
        "Pick an enterprise in the filter bar. Months marked “(provisional)” wait for the month's declaration; "
        "their figures will change."
    ),
    "dual-control": (
        "**如何阅读 How to read**  \n"
        "“十五五”起以碳排放强度为主的双控：强度 = 双控口径能耗或碳排放 ÷ 增加值（可比价，只用已申报增加值的企业月份）。"
        "下降 = 1 − 本年强度 ÷ 基准年强度。允许强度取两者中较严（较低）的一个：绝对强度目标，与 基准年强度 ×（1 − 目标降幅）；"
        "强度 ÷ 允许强度决定预警等级。目标栏为空表示未设定（不是零）。年度后标“（临时）”表示仍有申报未到，数字会变。"
        "From the 15th Five-Year Plan dual control puts carbon first: intensity = energy or CO2 as dual control "
        "counts it ÷ value added (constant prices, enterprise-months with declared value added only). Reduction "
        "= 1 − this year's intensity ÷ the base year's. The allowed intensity is the stricter (lower) of the "
        "absolute target and base-year intensity × (1 − target reduction); intensity ÷ allowed sets the warning "
        f"level. An empty target is “not set”, not zero. A year marked “(provisional)” will change.  \n"
        f"预警等级 Warning levels: {_LEVELS_MD}。"
    ),
    "carbon-market": (
        "**如何阅读 How to read**  \n"
        "全国碳市场：核查排放量、配额分配与清缴、CCER抵销（不超过核查排放的5%）、清缴缺口与截止日期；截止前60天内仍有缺口的企业"
        "已通知企业和生态环境局。比对：核查排放与平台核算的范围一+二相差超过10%为问题。候选名单：超过门槛尚未纳入的企业。"
        "The national carbon market: verified emissions, allowances allocated and surrendered, CCER offsets (at "
        "most 5 % of verified emissions), the compliance gap and the deadline; a gap within 60 days of the "
        "deadline is sent to the enterprise and the ecology bureau. The cross-check compares verified emissions "
        "with the platform's scope 1 + 2 (a difference over 10 % is a finding). Candidates are enterprises "
        "above a threshold not yet listed."
    ),
    "projects": (
        "**如何阅读 How to read**  \n"
        "节能量为实测（IPMVP 选项C，CalTRACK日模型，OpenDSM），不是业主申报：以投运前的基准期拟合用能与当日气温的关系，"
        "预测报告期没有项目时会用多少，节能量 = 预测 − 实际计量，附90%置信度的不确定度。基准不合格（不足90天或拟合超出阈值）"
        "的项目只列出原因，不计入任何合计。新建项目按节能审查批复的年能耗折算比较。"
        "Savings are measured (IPMVP Option C, CalTRACK daily model through OpenDSM), not claimed: a baseline of "
        "energy against the day's temperature, fitted before commissioning, predicts what the reporting period "
        "would have used without the project; savings = predicted − metered, with their 90 % uncertainty. A "
        "baseline that does not qualify (under 90 days, or a fit beyond the thresholds) is listed with its reason "
        "and counted nowhere. New facilities are compared with their approved annual energy, pro rata."
    ),
    "quality": (
        "**如何阅读 How to read**  \n"
        "完整率为每日实收15分钟读数 ÷ 96；隔离行为无法入库的行；检查为最近一次运行。"
        "Completeness is intervals received / 96 a day; quarantined rows were refused at loading; checks are of "
        "the latest run."
    ),
}

DASHBOARDS: dict[str, dict[str, Any]] = {
    "city": {"title": "城市能碳双控 City dual control", "slug": "city",
             "charts": [c.key for c in CHARTS if c.key.startswith("city_")], "filters": []},
    "park": {"title": "园区 Park", "slug": "park",
             "charts": [c.key for c in CHARTS if c.key.startswith("park_")],
             "filters": [("park_name", "园区 Park", "v_park_monthly")]},
    "enterprise": {"title": "企业 Enterprise", "slug": "enterprise",
                   "charts": [c.key for c in CHARTS if c.key.startswith("ent_")],
                   "filters": [("enterprise_name", "企业 Enterprise", "v_enterprise_monthly")]},
    "quality": {"title": "数据质量 Data quality", "slug": "data-quality",
                "charts": [c.key for c in CHARTS if c.key.startswith("dq_")], "filters": []},
    "dual-control": {"title": "碳排放双控 Carbon dual control", "slug": "dual-control",
                     "charts": [c.key for c in CHARTS if c.key.startswith("dc_")], "filters": []},
    "carbon-market": {"title": "碳市场 Carbon market", "slug": "carbon-market",
                      "charts": [c.key for c in CHARTS if c.key.startswith("cm_")], "filters": []},
    "projects": {"title": "节能项目 Energy-saving projects", "slug": "projects",
                 "charts": [c.key for c in CHARTS if c.key.startswith("prj_")], "filters": []},
}


def label_colors() -> dict[str, str]:
    """Each warning level's label, in both languages, in its colour from the seed."""
    return {r[k]: r["colour"] for r in warning_levels() for k in ("label_zh", "label_en")}


# --------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------
def database_yaml() -> dict[str, Any]:
    return {
        "database_name": DB_NAME, "sqlalchemy_uri": URI_PLACEHOLDER, "cache_timeout": None,
        "expose_in_sqllab": True, "allow_run_async": False, "allow_ctas": False, "allow_cvas": False,
        "allow_dml": False, "allow_file_upload": False,
        "extra": {"engine_params": {"connect_args": {"read_only": True}},
                  "metadata_params": {}, "schemas_allowed_for_file_upload": []},
        "uuid": uid("database", DB_NAME), "version": "1.0.0",
    }


def dataset_yaml(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "table_name": name, "main_dttm_col": spec.get("dttm"), "description": None,
        "default_endpoint": None, "offset": 0, "cache_timeout": None,
        "schema": spec.get("schema", "marts"), "sql": spec.get("sql"), "params": None,
        "template_params": None, "filter_select_enabled": True, "fetch_values_predicate": None,
        "extra": None, "normalize_columns": False, "always_filter_main_dttm": False,
        "uuid": uid("dataset", name),
        "metrics": [{"metric_name": "count", "verbose_name": "COUNT(*)", "metric_type": "count",
                     "expression": "COUNT(*)", "description": None, "d3format": None, "extra": None,
                     "warning_text": None}],
        "columns": [
            {"column_name": c, "verbose_name": VERBOSE.get(c), "is_dttm": dttm, "is_active": True, "type": t,
             "advanced_data_type": None, "groupby": True, "filterable": True, "expression": None,
             "description": None, "python_date_format": None, "extra": None}
            for c, t, dttm in spec["columns"]
        ],
        "version": "1.0.0", "database_uuid": uid("database", DB_NAME),
    }


def chart_yaml(c: Chart) -> dict[str, Any]:
    params = c.params()
    qc = {"datasource": {"id": 0, "type": "table"}, "force": False, "queries": [c.query()],
          "form_data": params, "result_format": "json", "result_type": "full"}
    return {
        "slice_name": c.title, "description": c.description, "certified_by": None, "certification_details": None,
        "viz_type": params["viz_type"], "params": params, "query_context": json.dumps(qc, ensure_ascii=False),
        "cache_timeout": None, "uuid": c.uuid, "version": "1.0.0", "dataset_uuid": uid("dataset", c.dataset),
    }


def note_height(text: str, width: int) -> int:
    """Grid units (8 px) for a note: a line holds about 7 CJK or 14 Latin characters per width unit."""
    chars = sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
    lines = sum(-(-max(1, len(part)) // (14 * width - 8)) for part in text.split("  \n"))
    lines = max(lines, -(-chars // (14 * width - 8)))
    return 6 + 3 * lines


def dashboard_yaml(key: str, spec: dict[str, Any]) -> dict[str, Any]:
    charts = [c for c in CHARTS if c.key in spec["charts"]]
    position: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
        "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": spec["title"]}},
    }
    if key in NOTES:  # a note above the charts: how to read them
        position["GRID_ID"]["children"].append(f"ROW-{key}-note")
        position[f"ROW-{key}-note"] = {"type": "ROW", "id": f"ROW-{key}-note", "children": [f"MARKDOWN-{key}-note"],
                                       "parents": ["ROOT_ID", "GRID_ID"],
                                       "meta": {"background": "BACKGROUND_TRANSPARENT"}}
        position[f"MARKDOWN-{key}-note"] = {"type": "MARKDOWN", "id": f"MARKDOWN-{key}-note", "children": [],
                                            "parents": ["ROOT_ID", "GRID_ID", f"ROW-{key}-note"],
                                            "meta": {"width": 12, "height": note_height(NOTES[key], 12), "code": NOTES[key]}}
    rows: list[list[Chart]] = [[]]
    for c in charts:
        if sum(x.width for x in rows[-1]) + c.width > 12:
            rows.append([])
        rows[-1].append(c)
    for i, row in enumerate(rows):
        row_id = f"ROW-{key}-{i}"
        position["GRID_ID"]["children"].append(row_id)
        position[row_id] = {"type": "ROW", "id": row_id, "children": [], "parents": ["ROOT_ID", "GRID_ID"],
                            "meta": {"background": "BACKGROUND_TRANSPARENT"}}
        for c in row:
            cid = f"CHART-{c.key}"
            placeholder_id = CHARTS.index(c) + 1  # import maps it to the real id via the uuid
            parents = ["ROOT_ID", "GRID_ID", row_id]
            if c.description:
                # Superset 6.1 draws no chart description on a dashboard (expanded_slices reads a field its
                # chart list does not fill), so the explanation is a note above the chart, in one column.
                col_id, note_id = f"COLUMN-{c.key}", f"MARKDOWN-{c.key}-why"
                position[row_id]["children"].append(col_id)
                position[col_id] = {"type": "COLUMN", "id": col_id, "children": [note_id, cid], "parents": parents,
                                    "meta": {"width": c.width, "background": "BACKGROUND_TRANSPARENT"}}
                parents = [*parents, col_id]
                position[note_id] = {"type": "MARKDOWN", "id": note_id, "children": [], "parents": parents,
                                     "meta": {"width": c.width, "height": note_height(c.description, c.width),
                                              "code": c.description}}
            else:
                position[row_id]["children"].append(cid)
            position[cid] = {"type": "CHART", "id": cid, "children": [], "parents": parents,
                             "meta": {"width": c.width, "height": c.height, "chartId": placeholder_id, "uuid": c.uuid,
                                      "sliceName": c.title}}
    native_filters = []
    for column, label, dataset in spec["filters"]:
        native_filters.append({
            "id": f"NATIVE_FILTER-{key}-{column}", "name": label, "filterType": "filter_select",
            "targets": [{"datasetUuid": uid("dataset", dataset), "column": {"name": column}}],
            "defaultDataMask": {"extraFormData": {}, "filterState": {}, "ownState": {}},
            "requiredFirst": True,
            "controlValues": {"enableEmptyFilter": True, "defaultToFirstItem": True, "multiSelect": False,
                              "searchAllOptions": False, "inverseSelection": False},
            "cascadeParentIds": [], "scope": {"rootPath": ["ROOT_ID"], "excluded": []},
            "type": "NATIVE_FILTER", "description": "", "chartsInScope": [],
        })
    metadata = {
        "color_scheme": "supersetColors", "refresh_frequency": 0, "timed_refresh_immune_slices": [],
        "expanded_slices": {},
        "label_colors": label_colors(), "shared_label_colors": [], "color_scheme_domain": [],
        "cross_filters_enabled": False, "native_filter_configuration": native_filters,
        "chart_configuration": {}, "global_chart_configuration": {"scope": {"rootPath": ["ROOT_ID"],
                                                                            "excluded": []}},
        "default_filters": "{}", "filter_scopes": {},
    }
    return {
        "dashboard_title": spec["title"], "description": None, "css": "", "slug": spec["slug"],
        "certified_by": None, "certification_details": None, "published": True,
        "uuid": uid("dashboard", key), "position": position, "metadata": metadata, "version": "1.0.0",
    }


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() and ch.isascii() else "_" for ch in text).strip("_")


def write(out: Path = ASSETS) -> None:
    if out.exists():
        shutil.rmtree(out)
    files: dict[str, Any] = {
        "metadata.yaml": {"version": "1.0.0", "type": "assets", "timestamp": "2026-01-01T00:00:00+00:00"},
        f"databases/{DB_NAME}.yaml": database_yaml(),
    }
    for name, spec in DATASETS.items():
        files[f"datasets/{DB_NAME}/{name}.yaml"] = dataset_yaml(name, spec)
    for c in CHARTS:
        files[f"charts/{c.key}.yaml"] = chart_yaml(c)
    for key, spec in DASHBOARDS.items():
        files[f"dashboards/{_slug(key)}.yaml"] = dashboard_yaml(key, spec)
    for rel, content in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(content, allow_unicode=True, sort_keys=False), encoding="utf-8")


if __name__ == "__main__":
    write()
    print(f"wrote {ASSETS}")
