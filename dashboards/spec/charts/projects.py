"""The energy-saving projects dashboard's charts: measured savings, baselines, new facilities."""

from __future__ import annotations

from dashboards.spec.chart import Chart, metric
from dashboards.spec.charts.common import SAVINGS_TCE, flag_colours
from dashboards.spec.labels import OVER_APPROVAL, QUALIFIED, SIGNIFICANT

CHARTS: list[Chart] = [
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
]
