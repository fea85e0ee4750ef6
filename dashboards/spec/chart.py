"""A chart of the spec (Chart) and what Superset stores for it: params, the saved query context, formats."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from dashboards.spec.datasets import DATASETS
from dashboards.spec.ids import uid


def metric(sql: str, label_: str) -> dict[str, Any]:
    return {"expressionType": "SQL", "sqlExpression": sql, "label": label_, "hasCustomLabel": True,
            "optionName": "metric_" + uid("metric", sql + label_)[:8]}


def where(sql: str) -> dict[str, Any]:
    return {"expressionType": "SQL", "clause": "WHERE", "sqlExpression": sql,
            "filterOptionName": "filter_" + uid("filter", sql)[:8]}


PERCENT_COLUMNS = {"ratio", "completeness", "green_share", "intensity_coverage", "energy_intensity_ratio",
                   "carbon_intensity_ratio", "clean_energy_share", "clean_energy_share_threshold",
                   "fractional_savings", "cvrmse", "nmbe", "energy_ratio", "co2_ratio"}
INTENSITY_COLUMNS = {"energy_intensity", "carbon_intensity", "base_energy_intensity", "base_carbon_intensity",
                     "allowed_energy_intensity", "allowed_carbon_intensity", "energy_intensity_target",
                     "carbon_intensity_target", "co2_per_tce", "co2_per_tce_threshold"}


FRACTIONAL_TYPES = ("DOUBLE", "FLOAT", "DECIMAL")  # as DuckDB names them: DECIMAL(38,6)
INTEGER_TYPES = ("BIGINT", "INTEGER", "HUGEINT", "SMALLINT")


def column_formats(dataset: str, columns: list[str]) -> dict[str, dict[str, str]]:
    """Table number formats: 2 decimals (intensities 3), counts as integers, ratios as percentages."""
    types = {c: t for c, t, _ in DATASETS[dataset]["columns"]}
    out: dict[str, dict[str, str]] = {}
    for c in columns:
        if c in PERCENT_COLUMNS:
            out[c] = {"d3NumberFormat": ".1%"}
        elif c in INTENSITY_COLUMNS:
            out[c] = {"d3NumberFormat": ",.3f"}
        elif types.get(c, "").startswith(FRACTIONAL_TYPES):
            out[c] = {"d3NumberFormat": ",.2f"}
        elif types.get(c) in INTEGER_TYPES:
            out[c] = {"d3NumberFormat": ",d"}
    return out


@dataclass
class Chart:
    key: str
    title: str
    dataset: str
    viz: str  # big_number | line | bar | table | agg_table | pie
    metrics: list[dict[str, Any]] = field(default_factory=list)
    x: str | None = None  # x axis: a time column (with grain) or a label column (categories)
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
    description: str | None = None  # a note above the chart: what it shows, why it can be empty
    stack: bool = True  # bars with series: stacked (parts of a whole) or side by side (alternatives)
    colours: list[tuple[str, str, str]] = field(default_factory=list)  # table cells: (column, text, colour)
    horizontal: bool = False  # bars along the y axis: long category names (enterprises) stay readable
    series_by_name: bool = False  # series in label order (pairs such as achieved / target side by side)

    @property
    def uuid(self) -> str:
        return uid("chart", self.key)

    @property
    def temporal_x(self) -> bool:
        return bool(self.x) and any(c == self.x and dttm for c, _, dttm in DATASETS[self.dataset]["columns"])

    def params(self) -> dict[str, Any]:
        adhoc = [where(f) for f in self.filters]
        viz_type = {"big_number": "big_number", "line": "echarts_timeseries_line", "pie": "pie",
                    "bar": "echarts_timeseries_bar", "table": "table", "agg_table": "table"}[self.viz]
        p: dict[str, Any] = {"viz_type": viz_type, "adhoc_filters": adhoc, "row_limit": self.row_limit,
                             "extra_form_data": {}, "dashboards": []}
        if self.viz == "big_number":
            p.update({"metric": self.metrics[0], "x_axis": self.x, "time_grain_sqla": self.grain,
                      "y_axis_format": self.fmt, "show_trend_line": True, "start_y_axis_at_zero": True,
                      "header_font_size": 0.3, "subheader_font_size": 0.15, "show_timestamp": True,
                      "time_format": "%Y-%m"})
            if self.compare:
                p.update({"compare_lag": 1, "compare_suffix": "环比 MoM"})
        elif self.viz in ("line", "bar"):
            p.update({"x_axis": self.x, "metrics": self.metrics,
                      "groupby": self.groupby, "y_axis_format": self.fmt,
                      # one unnamed series needs no legend (its title says what it is)
                      "show_legend": bool(self.groupby) or len(self.metrics) > 1,
                      "legendType": "scroll", "legendOrientation": "top", "rich_tooltip": True,
                      "stack": self.viz == "bar" and bool(self.groupby) and self.stack,
                      "truncate_metric": True, "sort_series_type": "sum", "order_desc": True,
                      "show_value": self.viz == "bar" and not self.temporal_x})
            if self.horizontal:
                p["orientation"] = "horizontal"
            if self.series_by_name:
                p.update({"sort_series_type": "name", "sort_series_ascending": True})
            if self.temporal_x:
                p.update({"time_grain_sqla": self.grain,
                          "x_axis_time_format": "%Y-%m" if self.grain == "P1M" else "%m-%d"})
            else:  # label categories ("2026-02（临时）"), in label order; a month alone still shows a point
                p.update({"x_axis_sort_asc": True, "xAxisLabelRotation": 0, "markerEnabled": True, "markerSize": 6})
        elif self.viz == "pie":
            p.update({"groupby": self.groupby, "metric": self.metrics[0], "sort_by_metric": True,
                      "label_type": "key_value", "show_labels": True, "labels_outside": True, "label_line": True,
                      "show_labels_threshold": 0, "show_legend": True, "legendType": "plain",
                      "legendOrientation": "top", "donut": True, "innerRadius": 35, "outerRadius": 65,
                      "show_total": True, "number_format": ",d"})
        elif self.viz == "table":
            p["column_config"] = column_formats(self.dataset, self.columns)
            if self.colours:  # a cell reading a level or a finding, in its colour (the seed's)
                p["conditional_formatting"] = [
                    {"column": col, "operator": "=", "targetValue": value, "colorScheme": colour}
                    for col, value, colour in self.colours]
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
            axis = {"columnType": "BASE_AXIS", "sqlExpression": self.x, "label": self.x, "expressionType": "SQL"}
            if self.temporal_x:
                axis["timeGrain"] = self.grain
            q.update({"columns": [axis, *self.groupby], "metrics": self.metrics,
                      "orderby": [] if self.temporal_x else [[self.x, True]],
                      "is_timeseries": False})
        elif self.viz == "table":
            # no "metrics" key: that is what makes a raw (ungrouped) query
            q.update({"columns": self.columns, "orderby": [[c, asc] for c, asc in self.order_by]})
        else:
            q.update({"columns": self.groupby, "metrics": self.metrics,
                      "orderby": [[self.metrics[0], False]] if self.metrics else []})
        return q

