"""The dashboards: title, slug, charts (by key prefix), native filters, and the note on how to read each."""

from __future__ import annotations

from typing import Any

from dashboards.spec.charts import CHARTS
from dashboards.spec.labels import warning_levels

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

