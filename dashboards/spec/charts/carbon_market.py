"""The carbon-market dashboard's charts: compliance, gaps, cross-check, candidates, zero-carbon parks."""

from __future__ import annotations

from dashboards.spec.chart import Chart, metric
from dashboards.spec.charts.common import flag_colours
from dashboards.spec.labels import FINDING, MEETS, SHORTFALL, YES_NO

CHARTS: list[Chart] = [
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
]
