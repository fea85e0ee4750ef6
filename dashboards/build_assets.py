"""Write the Superset asset bundle (dashboards/assets/**.yaml) from one compact spec.

The YAML under dashboards/assets/ is what Superset imports (its v1 export format) and what
reviewers diff; this script is how it is kept consistent (stable UUIDs, chart positions,
query contexts that the chart-data API can replay). Edit the spec here, then run
``.venv-superset/bin/python dashboards/build_assets.py`` (any Python with PyYAML works).

The database URI is a placeholder, ``${NENGTAN_SERVING_URI}``, rendered at import time
by bootstrap.py: no absolute path is committed.
"""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ASSETS = Path(__file__).resolve().parent / "assets"
NS = uuid.UUID("6f1c3a52-9d0e-4c1e-8a57-0d7b3c2e1a10")
DB_NAME = "nengtan_serving"
URI_PLACEHOLDER = "${NENGTAN_SERVING_URI}"


def uid(kind: str, name: str) -> str:
    return str(uuid.uuid5(NS, f"{kind}:{name}"))


# --------------------------------------------------------------------------------------
# Datasets: physical marts, plus a few virtual ones that only filter/join (no heavy sums).
# Columns: "name TYPE, ..." (see columns()). bootstrap.py also syncs columns from the live file.
# --------------------------------------------------------------------------------------
_TIME_TYPES = ("DATE", "TIMESTAMP")
_TYPES = {"VARCHAR", "BOOLEAN", "BIGINT", "DOUBLE", "DECIMAL", *_TIME_TYPES}


def columns(ddl: str) -> list[tuple[str, str, bool]]:
    """(name, type, is_dttm) from "name TYPE, ..." as a CREATE TABLE lists them: one line per
    dataset, not one tuple per column; dates and timestamps are the time columns."""
    out = []
    for part in ddl.split(","):
        name, type_ = part.split()
        if type_ not in _TYPES:
            raise ValueError(f"column {name}: unknown type {type_}")
        out.append((name, type_, type_ in _TIME_TYPES))
    return out


_LATEST_MONTH = "(SELECT max(month) FROM marts.{t})"

DATASETS: dict[str, dict[str, Any]] = {
    "city_carbon_monthly": {
        "schema": "marts",
        "columns": columns(
            "city_id VARCHAR, month DATE, energy_tce DECIMAL, co2_t DECIMAL, scope1_co2_t DOUBLE,"
            "scope2_location_co2_t DOUBLE, scope2_market_co2_t DOUBLE, green_mwh DOUBLE,"
            "value_added_10k_cny DOUBLE, energy_intensity DOUBLE, carbon_intensity DOUBLE,"
            "ytd_energy_tce DOUBLE, ytd_co2_t DOUBLE"
        ),
        "dttm": "month",
    },
    "park_carbon_monthly": {
        "schema": "marts",
        "columns": columns(
            "park_id VARCHAR, month DATE, energy_tce DOUBLE, co2_t DOUBLE, scope1_co2_t DOUBLE,"
            "scope2_location_co2_t DOUBLE, scope2_market_co2_t DOUBLE, ytd_energy_tce DOUBLE,"
            "ytd_co2_t DOUBLE, energy_intensity DOUBLE"
        ),
        "dttm": "month",
    },
    "enterprise_carbon_monthly": {
        "schema": "marts",
        "columns": columns(
            "credit_code VARCHAR, park_id VARCHAR, month DATE, energy_tce DOUBLE, co2_t DOUBLE,"
            "scope1_co2_t DOUBLE, scope2_location_co2_t DOUBLE, scope2_market_co2_t DOUBLE,"
            "gap_pct_electricity DOUBLE, gap_pct_natural_gas DOUBLE, gap_pct_heat DOUBLE,"
            "gap_pct_steam DOUBLE"
        ),
        "dttm": "month",
    },
    "enterprise_energy_daily": {
        "schema": "marts",
        "columns": columns(
            "credit_code VARCHAR, park_id VARCHAR, day DATE, energy_type VARCHAR, quantity DOUBLE,"
            "unit VARCHAR, energy_tce DOUBLE, co2_t DOUBLE, completeness DOUBLE"
        ),
        "dttm": "day",
    },
    "park_energy_daily": {
        # park x day x energy type sums of enterprise_energy_daily: what park and city charts read
        "schema": "marts",
        "columns": columns(
            "park_id VARCHAR, day DATE, energy_type VARCHAR, unit VARCHAR, quantity DECIMAL,"
            "energy_tce DECIMAL, co2_t DECIMAL, enterprises BIGINT, completeness_sum DECIMAL,"
            "intervals_received BIGINT"
        ),
        "dttm": "day",
    },
    "dim_parks": {
        "schema": "marts",
        "columns": columns("park_id VARCHAR, name_zh VARCHAR, name_en VARCHAR"),
    },
    "dim_enterprises": {
        "schema": "marts",
        "columns": columns("credit_code VARCHAR, name_zh VARCHAR, name_en VARCHAR, park_id VARCHAR"),
    },
    "v_certificate_claims": {
        "sql": (
            "SELECT c.certificate_id, c.project_id, c.generation_month, c.claimed_period, c.claimed_at,\n"
            "       c.is_double_claim, c.counted, c.owner_credit_code AS credit_code, e.park_id, e.name_zh\n"
            "FROM marts.certificate_claims c\n"
            "LEFT JOIN marts.dim_enterprises e ON e.credit_code = c.owner_credit_code"
        ),
        "columns": columns(
            "certificate_id VARCHAR, project_id VARCHAR, generation_month VARCHAR, claimed_period VARCHAR,"
            "claimed_at TIMESTAMP, is_double_claim BOOLEAN, counted BOOLEAN, credit_code VARCHAR,"
            "park_id VARCHAR, name_zh VARCHAR"
        ),
    },
    "meter_daily": {
        "schema": "marts",
        "columns": columns(
            "meter_id VARCHAR, credit_code VARCHAR, park_id VARCHAR, day DATE, energy_type VARCHAR,"
            "intervals_received BIGINT, completeness DOUBLE, is_silent BOOLEAN"
        ),
        "dttm": "day",
    },
    "meter_silent_days": {
        # the silent rows of meter_daily only (a few per thousand meter-days)
        "schema": "marts",
        "columns": columns(
            "day DATE, meter_id VARCHAR, credit_code VARCHAR, park_id VARCHAR, energy_type VARCHAR"
        ),
        "dttm": "day",
    },
    "quarantine_daily": {
        "schema": "marts",
        "columns": columns("day DATE, source VARCHAR, reason_category VARCHAR, rows BIGINT"),
        "dttm": "day",
    },
    "enterprise_energy_movers": {
        # each enterprise's latest month with the month and the year before (was a virtual dataset
        # joining enterprise_carbon_monthly to itself twice on every request)
        "schema": "marts",
        "columns": columns(
            "credit_code VARCHAR, park_id VARCHAR, name_zh VARCHAR, name_en VARCHAR, month DATE,"
            "energy_tce DOUBLE, co2_t DOUBLE, energy_tce_last_month DOUBLE, energy_tce_last_year DOUBLE,"
            "change_vs_last_month_tce DOUBLE, change_vs_last_year_tce DOUBLE,"
            "abs_change_vs_last_month_tce DOUBLE, abs_change_vs_last_year_tce DOUBLE"
        ),
    },
    # ---- virtual datasets ------------------------------------------------------------
    "v_park_latest": {
        "sql": (
            "SELECT p.park_id, d.name_zh, d.name_en, p.month, p.energy_tce, p.co2_t, p.ytd_energy_tce, p.ytd_co2_t\n"
            "FROM marts.park_carbon_monthly p LEFT JOIN marts.dim_parks d USING (park_id)\n"
            f"WHERE p.month = {_LATEST_MONTH.format(t='park_carbon_monthly')}"
        ),
        "columns": columns(
            "park_id VARCHAR, name_zh VARCHAR, name_en VARCHAR, month DATE, energy_tce DOUBLE,"
            "co2_t DOUBLE, ytd_energy_tce DOUBLE, ytd_co2_t DOUBLE"
        ),
    },
    "v_green_share": {
        "sql": (
            "SELECT c.month, c.green_mwh, e.electricity_mwh,\n"
            "       c.green_mwh / nullif(e.electricity_mwh, 0) AS green_share\n"
            "FROM marts.city_carbon_monthly c\n"
            "LEFT JOIN (SELECT date_trunc('month', day) AS month, sum(quantity) / 1000.0 AS electricity_mwh\n"
            "           FROM marts.park_energy_daily WHERE energy_type = 'electricity' GROUP BY 1) e\n"
            "  ON e.month = c.month"
        ),
        "columns": columns("month DATE, green_mwh DOUBLE, electricity_mwh DOUBLE, green_share DOUBLE"),
        "dttm": "month",
    },
    "v_warnings": {
        # The join keys are CASE expressions, not "ON w.level = ... AND key = ...": a LEFT JOIN condition
        # on the left table alone makes DuckDB fall back to a nested-loop join (warnings x enterprises:
        # seconds for a city of 10,000 enterprises); an equality on an expression stays a hash join.
        "sql": (
            "SELECT w.level, w.entity_id, w.as_of, w.metric, w.ytd_value, w.projected_year_end, w.budget,\n"
            "       w.ratio, w.warning_level, w.label_zh, w.label_en,\n"
            "       CASE WHEN w.level = 'park' THEN w.entity_id ELSE e.park_id END AS park_id,\n"
            "       CASE WHEN w.level = 'enterprise' THEN w.entity_id END AS credit_code,\n"
            "       coalesce(e.name_zh, p.name_zh) AS name_zh\n"
            "FROM marts.dual_control_warnings w\n"
            "LEFT JOIN marts.dim_enterprises e\n"
            "  ON e.credit_code = CASE WHEN w.level = 'enterprise' THEN w.entity_id END\n"
            "LEFT JOIN marts.dim_parks p ON p.park_id = CASE WHEN w.level = 'park' THEN w.entity_id END"
        ),
        "columns": columns(
            "level VARCHAR, entity_id VARCHAR, as_of DATE, metric VARCHAR, ytd_value DOUBLE,"
            "projected_year_end DOUBLE, budget DOUBLE, ratio DOUBLE, warning_level VARCHAR,"
            "label_zh VARCHAR, label_en VARCHAR, park_id VARCHAR, credit_code VARCHAR, name_zh VARCHAR"
        ),
    },
    "v_open_findings": {
        # failed rows of the latest run of each suite (check_results keeps every run's rows)
        "sql": (
            "SELECT r.stage, r.suite, r.rule, r.severity, r.level, r.entity_id, r.meter_id, r.day,\n"
            "       r.observed, r.expected, r.checked_at, r.run_id, r.message_zh, r.message_en,\n"
            "       r.is_summary, r.unexpected_count, r.park_id, r.credit_code\n"
            "FROM quality.check_results r\n"
            "WHERE NOT r.passed\n"
            "QUALIFY r.run_id = first_value(r.run_id) OVER (PARTITION BY r.suite ORDER BY r.checked_at DESC)"
        ),
        "columns": columns(
            "stage VARCHAR, suite VARCHAR, rule VARCHAR, severity VARCHAR, level VARCHAR,"
            "entity_id VARCHAR, meter_id VARCHAR, day DATE, observed VARCHAR, expected VARCHAR,"
            "checked_at TIMESTAMP, run_id VARCHAR, message_zh VARCHAR, message_en VARCHAR,"
            "is_summary BOOLEAN, unexpected_count BIGINT, park_id VARCHAR, credit_code VARCHAR"
        ),
    },
}


# Column labels shown in tables and filters (bilingual where cheap).
VERBOSE = {
    "park_id": "园区 Park", "credit_code": "统一社会信用代码 Credit code", "name_zh": "名称 Name",
    "name_en": "Name (EN)", "month": "月份 Month", "day": "日期 Day", "energy_type": "能源品种 Energy type",
    "energy_tce": "能耗 tce", "co2_t": "碳排放 tCO2", "ytd_energy_tce": "年累计能耗 YTD tce",
    "ytd_co2_t": "年累计碳排放 YTD tCO2", "level": "层级 Level", "entity_id": "对象 Entity",
    "metric": "指标 Metric", "as_of": "截至 As of", "ytd_value": "年累计 YTD", "budget": "预算 Budget",
    "ratio": "预计/预算 Projected/budget", "projected_year_end": "预计全年 Projected year-end",
    "warning_level": "预警等级 Warning level", "label_zh": "预警 Warning", "label_en": "Warning (EN)",
    "energy_tce_last_month": "上月能耗 Last month tce", "energy_tce_last_year": "去年同期 Last year tce",
    "change_vs_last_month_tce": "环比变化 Change vs last month", "change_vs_last_year_tce": "同比变化 Change vs last year",
    "gap_pct_electricity": "电偏差% Electricity gap", "gap_pct_natural_gas": "气偏差% Gas gap",
    "gap_pct_heat": "热偏差% Heat gap", "gap_pct_steam": "汽偏差% Steam gap",
    "certificate_id": "绿证编号 Certificate", "generation_month": "发电月份 Generated",
    "claimed_period": "申领期 Claimed for", "counted": "计入 Counted", "is_double_claim": "重复申领 Double claim",
    "meter_id": "表计 Meter", "suite": "检查组 Suite", "rule": "规则 Rule", "severity": "严重性 Severity",
    "observed": "实际 Observed", "expected": "期望 Expected", "source": "来源 Source",
    "message_zh": "说明 Message", "reason_category": "原因 Reason",
}

# --------------------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------------------
def metric(sql: str, label: str) -> dict[str, Any]:
    return {"expressionType": "SQL", "sqlExpression": sql, "label": label, "hasCustomLabel": True,
            "optionName": "metric_" + uid("metric", sql + label)[:8]}


def where(sql: str) -> dict[str, Any]:
    return {"expressionType": "SQL", "clause": "WHERE", "sqlExpression": sql,
            "filterOptionName": "filter_" + uid("filter", sql)[:8]}


PERCENT_COLUMNS = {"ratio", "completeness", "green_share"}


def column_formats(dataset: str, columns: list[str]) -> dict[str, dict[str, str]]:
    """Table number formats: 2 decimals, counts as integers, ratios as percentages."""
    types = {c: t for c, t, _ in DATASETS[dataset]["columns"]}
    out: dict[str, dict[str, str]] = {}
    for c in columns:
        if c in PERCENT_COLUMNS:
            out[c] = {"d3NumberFormat": ".1%"}
        elif types.get(c) in ("DOUBLE", "DECIMAL"):
            out[c] = {"d3NumberFormat": ",.2f"}
        elif types.get(c) == "BIGINT":
            out[c] = {"d3NumberFormat": ",d"}
    return out


@dataclass
class Chart:
    key: str
    title: str
    dataset: str
    viz: str  # big_number | line | bar | table | agg_table
    metrics: list[dict[str, Any]] = field(default_factory=list)
    x: str | None = None  # time axis column
    grain: str = "P1M"
    groupby: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)  # raw table columns
    order_by: list[tuple[str, bool]] = field(default_factory=list)  # (column, ascending)
    filters: list[str] = field(default_factory=list)
    fmt: str = ",.1f"
    width: int = 4
    height: int = 50
    row_limit: int = 1000
    compare: bool = True  # big number: show change vs the previous month

    @property
    def uuid(self) -> str:
        return uid("chart", self.key)

    def params(self) -> dict[str, Any]:
        adhoc = [where(f) for f in self.filters]
        viz_type = {"big_number": "big_number", "line": "echarts_timeseries_line",
                    "bar": "echarts_timeseries_bar", "table": "table", "agg_table": "table"}[self.viz]
        p: dict[str, Any] = {"viz_type": viz_type, "adhoc_filters": adhoc, "row_limit": self.row_limit,
                             "extra_form_data": {}, "dashboards": []}
        if self.viz == "big_number":
            p.update({"metric": self.metrics[0], "x_axis": self.x, "time_grain_sqla": self.grain,
                      "y_axis_format": self.fmt, "show_trend_line": True, "start_y_axis_at_zero": True,
                      "header_font_size": 0.3, "subheader_font_size": 0.15})
            if self.compare:
                p.update({"compare_lag": 1, "compare_suffix": "环比 MoM"})
        elif self.viz in ("line", "bar"):
            p.update({"x_axis": self.x, "time_grain_sqla": self.grain, "metrics": self.metrics,
                      "groupby": self.groupby, "y_axis_format": self.fmt, "show_legend": True,
                      "legendType": "scroll", "legendOrientation": "top", "rich_tooltip": True,
                      "stack": self.viz == "bar" and bool(self.groupby),
                      "x_axis_time_format": "%Y-%m" if self.grain == "P1M" else "smart_date",
                      "truncate_metric": True, "sort_series_type": "sum", "order_desc": True})
        elif self.viz == "table":
            p["column_config"] = column_formats(self.dataset, self.columns)
            p.update({"query_mode": "raw", "all_columns": self.columns,
                      "order_by_cols": [json.dumps([c, asc]) for c, asc in self.order_by],
                      "server_pagination": False, "table_timestamp_format": "%Y-%m-%d",
                      "show_cell_bars": False, "include_search": True, "page_length": 20})
        else:
            p.update({"query_mode": "aggregate", "groupby": self.groupby, "metrics": self.metrics,
                      "order_desc": True, "timeseries_limit_metric": self.metrics[0] if self.metrics else None,
                      "table_timestamp_format": "%Y-%m-%d", "include_search": True, "page_length": 20,
                      "show_cell_bars": True})
        return p

    def query(self) -> dict[str, Any]:
        """The saved query context: what GET /api/v1/chart/{id}/data replays."""
        filters: list[dict[str, Any]] = []
        extras = {"where": " AND ".join(f"({f})" for f in self.filters)} if self.filters else {}
        q: dict[str, Any] = {"filters": filters, "extras": extras, "row_limit": self.row_limit,
                             "applied_time_extras": {}, "url_params": {}, "custom_params": {},
                             "custom_form_data": {}}
        if self.viz in ("big_number", "line", "bar"):
            axis = {"columnType": "BASE_AXIS", "sqlExpression": self.x, "label": self.x,
                    "expressionType": "SQL", "timeGrain": self.grain}
            q.update({"columns": [axis, *self.groupby], "metrics": self.metrics,
                      "orderby": [],
                      "is_timeseries": False})
        elif self.viz == "table":
            # no "metrics" key: that is what makes a raw (ungrouped) query
            q.update({"columns": self.columns, "orderby": [[c, asc] for c, asc in self.order_by]})
        else:
            q.update({"columns": self.groupby, "metrics": self.metrics,
                      "orderby": [[self.metrics[0], False]] if self.metrics else []})
        return q


TCE = ",.1f"
# Daily series: a year of days x series (energy types, parks, sources) is more than the default 1000
# rows, which would silently cut the chart short.
DAILY_ROWS = 10_000
ENERGY = metric("SUM(energy_tce)", "能耗 Energy (tce)")
CO2_LOC = metric("SUM(co2_t)", "碳排放 CO2 (t)")
# the mean completeness of the enterprise rows summed into park_energy_daily (= AVG over enterprise_energy_daily)
COMPLETENESS = metric("SUM(completeness_sum) / SUM(enterprises)", "完整率 Completeness")

CHARTS: list[Chart] = [
    # ---- City -------------------------------------------------------------------------
    Chart("city_energy_month", "本月能耗 Energy this month (tce)", "city_carbon_monthly", "big_number",
          [ENERGY], x="month", width=3, height=40),
    Chart("city_co2_month", "本月碳排放 CO2 this month (t, location-based)", "city_carbon_monthly",
          "big_number", [CO2_LOC], x="month", width=3, height=40),
    Chart("city_energy_ytd", "年累计能耗 YTD energy (tce)", "city_carbon_monthly", "big_number",
          [metric("SUM(ytd_energy_tce)", "年累计能耗 YTD energy (tce)")], x="month", width=3, height=40,
          compare=False),
    Chart("city_co2_ytd", "年累计碳排放 YTD CO2 (t)", "city_carbon_monthly", "big_number",
          [metric("SUM(ytd_co2_t)", "年累计碳排放 YTD CO2 (t)")], x="month", width=3, height=40,
          compare=False),
    Chart("city_budget", "预算执行与预警 YTD vs budget, warning level", "v_warnings", "table",
          columns=["entity_id", "metric", "as_of", "ytd_value", "budget", "ratio", "projected_year_end",
                   "warning_level", "label_zh"],
          filters=["level = 'city'"], order_by=[("metric", True)], width=12, height=30),
    Chart("city_intensity", "能耗与碳排放强度 Intensity trend (per 10k CNY value added)",
          "city_carbon_monthly", "line",
          [metric("MAX(energy_intensity)", "能耗强度 tce/万元"),
           metric("MAX(carbon_intensity)", "碳排放强度 tCO2/万元")], x="month", fmt=",.3f", width=6),
    Chart("city_location_vs_market", "外购电碳排放 Scope 2: location vs market (t CO2)",
          "city_carbon_monthly", "bar",
          [metric("SUM(scope2_location_co2_t)", "基于位置 Location-based"),
           metric("SUM(scope2_market_co2_t)", "基于市场 Market-based")], x="month", width=6),
    Chart("city_green_share", "绿电占比 Green power share", "v_green_share", "line",
          [metric("MAX(green_share)", "绿电占比 Green share")], x="month", fmt=".1%", width=6),
    Chart("city_parks_ranked", "园区排名 Parks ranked by YTD energy", "v_park_latest", "table",
          columns=["park_id", "name_zh", "month", "energy_tce", "co2_t", "ytd_energy_tce", "ytd_co2_t"],
          order_by=[("ytd_energy_tce", False)], width=6),
    Chart("city_warnings", "双控预警 Dual-control warnings", "v_warnings", "table",
          columns=["level", "entity_id", "name_zh", "metric", "as_of", "ytd_value", "budget", "ratio",
                   "warning_level", "label_zh"],
          order_by=[("ratio", False)], width=12),
    # ---- Park -------------------------------------------------------------------------
    Chart("park_energy_trend", "园区月度能耗 Park monthly energy (tce)", "park_carbon_monthly", "bar",
          [ENERGY], x="month", width=6),
    Chart("park_enterprises_ranked", "企业排名 Enterprises ranked (latest month)", "enterprise_energy_movers",
          "table", columns=["credit_code", "name_zh", "month", "energy_tce", "co2_t"],
          order_by=[("energy_tce", False)], width=6),
    Chart("park_movers_month", "环比变化最大 Top movers vs last month (tce)", "enterprise_energy_movers",
          "table", columns=["credit_code", "name_zh", "energy_tce", "energy_tce_last_month",
                            "change_vs_last_month_tce"],
          order_by=[("abs_change_vs_last_month_tce", False)], filters=["energy_tce_last_month IS NOT NULL"],
          width=6, row_limit=10),
    Chart("park_movers_year", "同比变化最大 Top movers vs last year (tce)", "enterprise_energy_movers", "table",
          columns=["credit_code", "name_zh", "energy_tce", "energy_tce_last_year", "change_vs_last_year_tce"],
          order_by=[("abs_change_vs_last_year_tce", False)], filters=["energy_tce_last_year IS NOT NULL"],
          width=6, row_limit=10),
    Chart("park_completeness", "数据完整率 Completeness by day", "park_energy_daily", "line",
          [COMPLETENESS], x="day", grain="P1D", fmt=".1%", width=12, row_limit=DAILY_ROWS),
    # ---- Enterprise ---------------------------------------------------------------------
    Chart("ent_daily_profile", "日用能曲线 Daily energy by type (tce)", "enterprise_energy_daily", "bar",
          [ENERGY], x="day", grain="P1D", groupby=["energy_type"], width=12,
          row_limit=DAILY_ROWS),
    Chart("ent_scope_monthly", "月度碳排放（按范围） Monthly CO2 by scope (t)", "enterprise_carbon_monthly",
          "bar", [metric("SUM(scope1_co2_t)", "范围一 Scope 1"),
                  metric("SUM(scope2_location_co2_t)", "范围二 Scope 2 (location)")], x="month", width=6),
    Chart("ent_declared_vs_metered", "申报与计量偏差 Declared vs metered gap (%)",
          "enterprise_carbon_monthly", "table",
          columns=["credit_code", "month", "gap_pct_electricity", "gap_pct_natural_gas", "gap_pct_heat",
                   "gap_pct_steam"], order_by=[("month", False), ("credit_code", True)], width=6),
    Chart("ent_certificates", "绿证申领 Green certificates claimed", "v_certificate_claims", "table",
          columns=["credit_code", "certificate_id", "generation_month", "claimed_period", "counted",
                   "is_double_claim"], order_by=[("claimed_period", False), ("certificate_id", True)], width=6),
    Chart("ent_warnings", "企业预警 Enterprise warnings", "v_warnings", "table",
          columns=["credit_code", "name_zh", "metric", "as_of", "ytd_value", "budget", "ratio", "warning_level"],
          filters=["level = 'enterprise'"], order_by=[("ratio", False)], width=6),
    Chart("ent_findings", "未关闭数据质量问题 Open data-quality findings", "v_open_findings", "table",
          columns=["credit_code", "rule", "severity", "meter_id", "day", "observed", "expected", "message_zh"],
          filters=["NOT coalesce(is_summary, false)"],
          order_by=[("severity", True), ("day", False), ("rule", True), ("meter_id", True)], width=12),
    # ---- Data quality -------------------------------------------------------------------
    Chart("dq_completeness", "各园区日完整率 Completeness by park and day", "park_energy_daily",
          "line", [COMPLETENESS], x="day", grain="P1D",
          groupby=["park_id"], fmt=".1%", width=12, row_limit=DAILY_ROWS),
    Chart("dq_silent_meters", "静默表计 Silent meters (no readings in a day)", "meter_silent_days", "table",
          columns=["day", "meter_id", "credit_code", "park_id", "energy_type"],
          order_by=[("day", False), ("meter_id", True)], width=6),
    Chart("dq_quarantine", "隔离行数 Quarantined rows by source", "quarantine_daily", "bar",
          [metric('SUM("rows")', "隔离行 Rows")], x="day", grain="P1D", groupby=["source"],
          fmt=",d", width=6, row_limit=DAILY_ROWS),
    Chart("dq_findings", "检查未通过 Failed checks (latest run)", "v_open_findings", "agg_table",
          [metric("COUNT(*)", "数量 Count")], groupby=["suite", "rule", "severity"], width=12),
]

DASHBOARDS: dict[str, dict[str, Any]] = {
    "city": {"title": "城市能碳双控 City dual control", "slug": "city",
             "charts": [c.key for c in CHARTS if c.key.startswith("city_")], "filters": []},
    "park": {"title": "园区 Park", "slug": "park",
             "charts": [c.key for c in CHARTS if c.key.startswith("park_")],
             "filters": [("park_id", "园区 Park", "dim_parks")]},
    "enterprise": {"title": "企业 Enterprise", "slug": "enterprise",
                   "charts": [c.key for c in CHARTS if c.key.startswith("ent_")],
                   "filters": [("credit_code", "企业 Enterprise", "dim_enterprises")]},
    "quality": {"title": "数据质量 Data quality", "slug": "data-quality",
                "charts": [c.key for c in CHARTS if c.key.startswith("dq_")], "filters": []},
}


# --------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------
def database_yaml() -> dict[str, Any]:
    return {
        "database_name": DB_NAME, "sqlalchemy_uri": URI_PLACEHOLDER, "cache_timeout": None,
        "expose_in_sqllab": True, "allow_run_async": False, "allow_ctas": False, "allow_cvas": False,
        "allow_dml": False, "allow_file_upload": False,
        "extra": {"engine_params": {"connect_args": {"read_only": True}},
                  "metadata_params": {}, "schemas_allowed_for_file_upload": []},
        "uuid": uid("database", DB_NAME), "version": "1.0.0",
    }


def dataset_yaml(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "table_name": name, "main_dttm_col": spec.get("dttm"), "description": None,
        "default_endpoint": None, "offset": 0, "cache_timeout": None,
        "schema": spec.get("schema", "marts"), "sql": spec.get("sql"), "params": None,
        "template_params": None, "filter_select_enabled": True, "fetch_values_predicate": None,
        "extra": None, "normalize_columns": False, "always_filter_main_dttm": False,
        "uuid": uid("dataset", name),
        "metrics": [{"metric_name": "count", "verbose_name": "COUNT(*)", "metric_type": "count",
                     "expression": "COUNT(*)", "description": None, "d3format": None, "extra": None,
                     "warning_text": None}],
        "columns": [
            {"column_name": c, "verbose_name": VERBOSE.get(c), "is_dttm": dttm, "is_active": True, "type": t,
             "advanced_data_type": None, "groupby": True, "filterable": True, "expression": None,
             "description": None, "python_date_format": None, "extra": None}
            for c, t, dttm in spec["columns"]
        ],
        "version": "1.0.0", "database_uuid": uid("database", DB_NAME),
    }


def chart_yaml(c: Chart) -> dict[str, Any]:
    params = c.params()
    qc = {"datasource": {"id": 0, "type": "table"}, "force": False, "queries": [c.query()],
          "form_data": params, "result_format": "json", "result_type": "full"}
    return {
        "slice_name": c.title, "description": None, "certified_by": None, "certification_details": None,
        "viz_type": params["viz_type"], "params": params, "query_context": json.dumps(qc, ensure_ascii=False),
        "cache_timeout": None, "uuid": c.uuid, "version": "1.0.0", "dataset_uuid": uid("dataset", c.dataset),
    }


def dashboard_yaml(key: str, spec: dict[str, Any]) -> dict[str, Any]:
    charts = [c for c in CHARTS if c.key in spec["charts"]]
    position: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
        "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": spec["title"]}},
    }
    rows: list[list[Chart]] = [[]]
    for c in charts:
        if sum(x.width for x in rows[-1]) + c.width > 12:
            rows.append([])
        rows[-1].append(c)
    for i, row in enumerate(rows):
        row_id = f"ROW-{key}-{i}"
        position["GRID_ID"]["children"].append(row_id)
        position[row_id] = {"type": "ROW", "id": row_id, "children": [], "parents": ["ROOT_ID", "GRID_ID"],
                            "meta": {"background": "BACKGROUND_TRANSPARENT"}}
        for c in row:
            cid = f"CHART-{c.key}"
            placeholder_id = CHARTS.index(c) + 1  # import maps it to the real id via the uuid
            position[row_id]["children"].append(cid)
            position[cid] = {"type": "CHART", "id": cid, "children": [],
                             "parents": ["ROOT_ID", "GRID_ID", row_id],
                             "meta": {"width": c.width, "height": c.height, "chartId": placeholder_id, "uuid": c.uuid,
                                      "sliceName": c.title}}
    native_filters = []
    for column, label, dataset in spec["filters"]:
        native_filters.append({
            "id": f"NATIVE_FILTER-{key}-{column}", "name": label, "filterType": "filter_select",
            "targets": [{"datasetUuid": uid("dataset", dataset), "column": {"name": column}}],
            "defaultDataMask": {"extraFormData": {}, "filterState": {}, "ownState": {}},
            "requiredFirst": True,
            "controlValues": {"enableEmptyFilter": True, "defaultToFirstItem": True, "multiSelect": False,
                              "searchAllOptions": False, "inverseSelection": False},
            "cascadeParentIds": [], "scope": {"rootPath": ["ROOT_ID"], "excluded": []},
            "type": "NATIVE_FILTER", "description": "", "chartsInScope": [],
        })
    metadata = {
        "color_scheme": "supersetColors", "refresh_frequency": 0, "timed_refresh_immune_slices": [],
        "expanded_slices": {}, "label_colors": {}, "shared_label_colors": [], "color_scheme_domain": [],
        "cross_filters_enabled": False, "native_filter_configuration": native_filters,
        "chart_configuration": {}, "global_chart_configuration": {"scope": {"rootPath": ["ROOT_ID"],
                                                                            "excluded": []}},
        "default_filters": "{}", "filter_scopes": {},
    }
    return {
        "dashboard_title": spec["title"], "description": None, "css": "", "slug": spec["slug"],
        "certified_by": None, "certification_details": None, "published": True,
        "uuid": uid("dashboard", key), "position": position, "metadata": metadata, "version": "1.0.0",
    }


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() and ch.isascii() else "_" for ch in text).strip("_")


def write(out: Path = ASSETS) -> None:
    if out.exists():
        shutil.rmtree(out)
    files: dict[str, Any] = {
        "metadata.yaml": {"version": "1.0.0", "type": "assets", "timestamp": "2026-01-01T00:00:00+00:00"},
        f"databases/{DB_NAME}.yaml": database_yaml(),
    }
    for name, spec in DATASETS.items():
        files[f"datasets/{DB_NAME}/{name}.yaml"] = dataset_yaml(name, spec)
    for c in CHARTS:
        files[f"charts/{c.key}.yaml"] = chart_yaml(c)
    for key, spec in DASHBOARDS.items():
        files[f"dashboards/{_slug(key)}.yaml"] = dashboard_yaml(key, spec)
    for rel, content in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(content, allow_unicode=True, sort_keys=False), encoding="utf-8")


if __name__ == "__main__":
    write()
    print(f"wrote {ASSETS}")
