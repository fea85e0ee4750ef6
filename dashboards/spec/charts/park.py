"""The park dashboard's charts (one park, picked in the filter bar): monthly figures, rankings, movers."""

from __future__ import annotations

from dashboards.spec.chart import Chart
from dashboards.spec.charts.common import COMPLETENESS, DAILY_ROWS, ENERGY, PROVISIONAL_NOTE

CHARTS: list[Chart] = [
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
]
