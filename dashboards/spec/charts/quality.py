"""The data-quality dashboard's charts: completeness, silent meters, quarantine, failed checks."""

from __future__ import annotations

from dashboards.spec.chart import Chart, metric
from dashboards.spec.charts.common import COMPLETENESS, DAILY_ROWS

CHARTS: list[Chart] = [
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
]
