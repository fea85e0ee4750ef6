"""The enterprise dashboard's charts (one enterprise, picked in the filter bar), its roadmap last."""

from __future__ import annotations

from dashboards.spec.chart import Chart, metric
from dashboards.spec.charts.common import DAILY_ROWS, ENERGY, PROVISIONAL_NOTE, SEVERITY_ORDER, flag_colours
from dashboards.spec.labels import ON_TRACK

CHARTS: list[Chart] = [
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
]

# The roadmap (issue 15), below the enterprise's own figures: listed after every other dashboard's
# charts, where it has always been (the bundle's chart order).
ROADMAP: list[Chart] = [
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
