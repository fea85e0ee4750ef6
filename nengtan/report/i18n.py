"""Labels of the monthly reports in Chinese (default) and English.

Reports carry label keys, never display text, so the same figures render in either
language and a test can compare figures without caring about wording.
"""

from __future__ import annotations

LANGUAGES = ("zh", "en")

LABELS: dict[str, tuple[str, str]] = {
    # titles
    "title.enterprise": ("重点用能单位能源消费与碳排放月报", "Monthly energy and carbon report of a key energy user"),
    "title.park": ("园区能源消费与碳排放月度汇总", "Monthly energy and carbon summary of the park"),
    "title.city": ("全市能源消费与碳排放月度汇总", "Monthly energy and carbon summary of the city"),
    "meta.month": ("统计期", "Period"),
    "meta.snapshot": ("数据快照", "Snapshot"),
    "meta.version": ("版本", "Version"),
    "meta.credit_code": ("统一社会信用代码", "Unified social credit code"),
    "meta.name": ("单位名称", "Name"),
    "meta.park": ("所属园区", "Park"),
    "meta.industry": ("行业代码", "Industry code"),
    "meta.entity": ("对象", "Entity"),
    "meta.generated_from": ("本报告由数据快照生成，同一快照重复生成结果一致。",
                            "Rendered from a frozen data snapshot; re-rendering it gives the same figures."),
    # sections
    "sec.info": ("基本情况", "General information"),
    "sec.energy": ("分品种能源消费（实物量与折标量）", "Energy consumption by type (physical units and tce)"),
    "sec.carbon": ("二氧化碳排放（按范围）", "CO2 emissions by scope"),
    "sec.intensity": ("能耗强度与碳排放强度", "Energy and carbon intensity"),
    "sec.budget": ("年度累计与双控目标预警", "Year to date against budget and warning level"),
    "sec.gaps": ("申报量与计量量差异", "Declared vs metered gaps"),
    "sec.certificates": ("绿证抵扣", "Green certificates claimed"),
    "sec.completeness": ("数据完整率", "Data completeness"),
    "sec.factors_applied": ("本月实际采用的折标系数与排放因子", "Factors applied this month"),
    "sec.factors": ("因子版本及来源", "Factor versions and their sources"),
    "sec.changes": ("更正说明（与上一版本相比的变化）", "Restatement: changes against the previous version"),
    "sec.totals": ("能源消费与碳排放总量", "Energy and CO2 totals"),
    "sec.ranking": ("企业排名（按本月综合能耗）", "Ranking of enterprises (by energy this month)"),
    "sec.park_ranking": ("园区排名（按本月综合能耗）", "Ranking of parks (by energy this month)"),
    "sec.warned": ("黄色及以上预警企业名单", "Enterprises at yellow or worse"),
    "sec.charts": ("图表", "Charts"),
    # columns
    "col.energy_type": ("能源品种", "Energy type"),
    "col.unit": ("计量单位", "Unit"),
    "col.purchased": ("购进量", "Purchased"),
    "col.consumed": ("消费量", "Consumed"),
    "col.stock": ("期末库存", "Closing stock"),
    "col.tce": ("折标准煤(tce)", "tce"),
    "col.co2_t": ("二氧化碳(t)", "CO2 (t)"),
    "col.ytd_consumed": ("年累计消费量", "YTD consumed"),
    "col.ytd_tce": ("年累计折标准煤(tce)", "YTD tce"),
    "col.item": ("项目", "Item"),
    "col.month": ("本月", "This month"),
    "col.ytd": ("年累计", "Year to date"),
    "col.metric": ("指标", "Metric"),
    "col.as_of": ("截至日期", "As of"),
    "col.ytd_value": ("年累计值", "YTD value"),
    "col.projected": ("预计全年", "Projected year end"),
    "col.budget": ("年度目标", "Annual budget"),
    "col.ratio": ("预计/目标", "Projected / budget"),
    "col.warning_level": ("预警等级", "Warning level"),
    "col.gap_pct": ("差异(%)", "Gap (%)"),
    "col.over_tolerance": ("超出容差", "Over tolerance"),
    "col.certificates": ("绿证张数", "Certificates"),
    "col.mwh": ("电量(MWh)", "MWh"),
    "col.certificate_ids": ("绿证编号", "Certificate ids"),
    "col.completeness": ("平均完整率(%)", "Mean completeness (%)"),
    "col.days_below": ("完整率低于90%的天数", "Days below 90 %"),
    "col.intervals_received": ("实收数据点", "Intervals received"),
    "col.intervals_estimated": ("估算数据点", "Intervals estimated"),
    "col.entity": ("对象", "Entity"),
    "col.figure": ("指标", "Figure"),
    "col.old": ("原值", "Old"),
    "col.new": ("新值", "New"),
    "col.rank": ("名次", "Rank"),
    "col.name": ("名称", "Name"),
    "col.credit_code": ("统一社会信用代码", "Credit code"),
    "col.energy_intensity": ("能耗强度(tce/万元)", "Energy intensity (tce/10k CNY)"),
    "col.carbon_intensity": ("碳排放强度(tCO2/万元)", "Carbon intensity (tCO2/10k CNY)"),
    "col.park": ("园区", "Park"),
    "col.value": ("数值", "Value"),
    # rows
    "row.total": ("合计", "Total"),
    "row.declared_other": ("申报的其他能源（煤、油品等）", "Declared other energy (coal, oil products)"),
    "row.energy_tce": ("综合能耗(tce)", "Energy (tce)"),
    "row.scope1": ("范围一：化石燃料燃烧(tCO2)", "Scope 1: fuel combustion (tCO2)"),
    "row.scope2_location": ("范围二：外购电力热力，基于位置(tCO2)", "Scope 2, location-based (tCO2)"),
    "row.scope2_market": ("范围二：外购电力热力，基于市场(tCO2)", "Scope 2, market-based (tCO2)"),
    "row.total_location": ("排放合计，基于位置(tCO2)", "Total, location-based (tCO2)"),
    "row.total_market": ("排放合计，基于市场(tCO2)", "Total, market-based (tCO2)"),
    "row.green_mwh": ("绿电/绿证电量(MWh)", "Green electricity (MWh)"),
    "row.value_added": ("增加值(万元，可比价)", "Value added (10k CNY, constant prices)"),
    "row.energy_intensity": ("能耗强度(tce/万元)", "Energy intensity (tce/10k CNY)"),
    "row.carbon_intensity": ("碳排放强度(tCO2/万元)", "Carbon intensity (tCO2/10k CNY)"),
    "row.ytd_energy_tce": ("年累计综合能耗(tce)", "YTD energy (tce)"),
    "row.ytd_co2_t": ("年累计二氧化碳(t)", "YTD CO2 (t)"),
    "row.no_data": ("无数据", "No data"),
    "energy.electricity": ("电力", "Electricity"),
    "energy.natural_gas": ("天然气", "Natural gas"),
    "energy.heat": ("热力", "Heat"),
    "energy.steam": ("蒸汽", "Steam"),
    "metric.energy": ("能源消费总量", "Total energy"),
    "metric.energy_tce": ("能源消费总量", "Total energy"),
    "metric.carbon": ("碳排放总量", "Total CO2"),
    "metric.co2": ("碳排放总量", "Total CO2"),
    "metric.co2_t": ("碳排放总量", "Total CO2"),
    "metric.energy_intensity": ("能耗强度", "Energy intensity"),
    "metric.carbon_intensity": ("碳排放强度", "Carbon intensity"),
    "level.green": ("绿色", "green"),
    "level.yellow": ("黄色", "yellow"),
    "level.orange": ("橙色", "orange"),
    "level.red": ("红色", "red"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "note.stock": ("注：计量数据不含库存，购进量按计量消费量填列；煤、油品等按企业申报计入合计。",
                   "Note: meters carry no stocks; purchases equal metered consumption; coal and oil "
                   "products enter the total from the declaration."),
    "note.budget_computed": ("注：按月末年累计值与年度目标测算（预计全年 = 年累计 ÷ 已过天数 × 全年天数；强度指标按年累计强度）。",
                             "Note: position at the month's last day from the year-to-date figures and the annual "
                             "targets (projected = YTD / days elapsed x days in year; intensities year to date)."),
    # charts
    "chart.trend": ("年内逐月能耗与碳排放", "Monthly energy and CO2 this year"),
    "chart.ranking": ("本月综合能耗排名", "Energy ranking this month"),
    "chart.warnings": ("双控预警分布", "Dual-control warning grid"),
    "chart.month": ("月份", "Month"),
    "chart.tce": ("综合能耗(tce)", "Energy (tce)"),
    "chart.co2": ("二氧化碳(t)", "CO2 (t)"),
    # email
    "mail.subject": ("{month} 能碳月报：{name}（第{version}版）", "{month} energy-carbon report: {name} (v{version})"),
    "mail.body": ("您好：\n\n附件为 {name} {month} 的能源消费与碳排放月报（第{version}版，快照 {snapshot}）。\n{changes}\n此邮件由能碳双控数据平台自动发送。",
                  "Hello,\n\nAttached is the {month} energy and carbon report for {name} (version {version}, "
                  "snapshot {snapshot}).\n{changes}\nSent automatically by the Nengtan platform."),
    "mail.changes": ("本版为更正版，更正内容见报告“更正说明”部分。", "This version is a restatement; see its section on changes."),
}


ZH_NUMERALS = "一二三四五六七八九十"


def numbered(n: int, text: str, language: str) -> str:
    """Section heading with its number: 一、… in Chinese, 1. … in English."""
    if language == "zh" and 1 <= n <= len(ZH_NUMERALS):
        return f"{ZH_NUMERALS[n - 1]}、{text}"
    return f"{n}. {text}"


def t(key: str, language: str) -> str:
    """The label of ``key`` in ``language``; an unknown key shows as itself (never fails a report)."""
    pair = LABELS.get(key)
    if pair is None:
        return key
    return pair[0] if language == "zh" else pair[1]


def check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"language {language!r} is not one of {LANGUAGES}")
    return language
