"""The carbon dual-control dashboard's charts: assessment by entity, reductions, levels, coverage."""

from __future__ import annotations

from dashboards.spec.chart import Chart, metric
from dashboards.spec.charts.common import COUNT, DUAL_CONTROL_LATEST, PCT, WARNING_COLOURS

CHARTS: list[Chart] = [
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
]
