"""Every chart, dashboard by dashboard, in the bundle's order (a dashboard lists its charts in this order;
the enterprise roadmap has always come last)."""

from __future__ import annotations

from dashboards.spec.chart import Chart
from dashboards.spec.charts import carbon_market, city, dual_control, enterprise, park, projects, quality

CHARTS: list[Chart] = [*city.CHARTS, *park.CHARTS, *enterprise.CHARTS, *quality.CHARTS, *dual_control.CHARTS,
                       *carbon_market.CHARTS, *projects.CHARTS, *enterprise.ROADMAP]
