"""Labels: what a reader sees instead of the marts' codes, in the dashboard's language.

The check rules' labels have one home, nengtan.report.i18n.RULES (the reports and alerts say them too);
warning levels' labels and colours come from seeds/warning_levels.csv.
"""

from __future__ import annotations

import csv
from pathlib import Path

from nengtan.report.i18n import RULES

# Superset has one title per chart and one verbose name per column, so titles and column headers
# are bilingual ("能耗 Energy"). Values are not: virtual datasets turn each code into a label column in
# the user's language. superset_config.py gives Jinja nengtan_lang() ("zh" / "en", from the session's
# locale); cache_key_wrapper() puts it into the cache key, so the two languages never share a result.
REPO = Path(__file__).resolve().parents[2]
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
    "rule": RULES,  # the check rules: one home, with the reports' labels
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



def label_colors() -> dict[str, str]:
    """Each warning level's label, in both languages, in its colour from the seed."""
    return {r[k]: r["colour"] for r in warning_levels() for k in ("label_zh", "label_en")}
