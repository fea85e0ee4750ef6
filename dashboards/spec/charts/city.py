"""The city dashboard's charts: this month and YTD, monthly figures, budget and warnings, intensities."""

from __future__ import annotations

from dashboards.spec.chart import Chart, metric
from dashboards.spec.charts.common import (
    CO2_LOC,
    COUNT,
    ENERGY,
    NOT_MILDEST,
    PROVISIONAL_NOTE,
    SEVERITY_ORDER,
)

CHARTS: list[Chart] = [
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
]
