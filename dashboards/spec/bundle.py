"""Writers of the bundle: Superset's v1 export format (databases/, datasets/, charts/, dashboards/ YAML).

The database URI is a placeholder, ``${NENGTAN_SERVING_URI}``, rendered at import time by bootstrap.py:
no absolute path is committed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from dashboards.spec.chart import Chart
from dashboards.spec.charts import CHARTS
from dashboards.spec.dashboards import DASHBOARDS, NOTES
from dashboards.spec.datasets import DATASETS
from dashboards.spec.headers import VERBOSE
from dashboards.spec.ids import DB_NAME, uid
from dashboards.spec.labels import label_colors

ASSETS = Path(__file__).resolve().parents[1] / "assets"
URI_PLACEHOLDER = "${NENGTAN_SERVING_URI}"


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
        "slice_name": c.title, "description": c.description, "certified_by": None, "certification_details": None,
        "viz_type": params["viz_type"], "params": params, "query_context": json.dumps(qc, ensure_ascii=False),
        "cache_timeout": None, "uuid": c.uuid, "version": "1.0.0", "dataset_uuid": uid("dataset", c.dataset),
    }


def note_height(text: str, width: int) -> int:
    """Grid units (8 px) for a note: a line holds about 7 CJK or 14 Latin characters per width unit."""
    chars = sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
    lines = sum(-(-max(1, len(part)) // (14 * width - 8)) for part in text.split("  \n"))
    lines = max(lines, -(-chars // (14 * width - 8)))
    return 6 + 3 * lines


def dashboard_yaml(key: str, spec: dict[str, Any]) -> dict[str, Any]:
    charts = [c for c in CHARTS if c.key in spec["charts"]]
    position: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
        "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": spec["title"]}},
    }
    if key in NOTES:  # a note above the charts: how to read them
        position["GRID_ID"]["children"].append(f"ROW-{key}-note")
        position[f"ROW-{key}-note"] = {"type": "ROW", "id": f"ROW-{key}-note", "children": [f"MARKDOWN-{key}-note"],
                                       "parents": ["ROOT_ID", "GRID_ID"],
                                       "meta": {"background": "BACKGROUND_TRANSPARENT"}}
        position[f"MARKDOWN-{key}-note"] = {"type": "MARKDOWN", "id": f"MARKDOWN-{key}-note", "children": [],
                                            "parents": ["ROOT_ID", "GRID_ID", f"ROW-{key}-note"],
                                            "meta": {"width": 12, "height": note_height(NOTES[key], 12), "code": NOTES[key]}}
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
            parents = ["ROOT_ID", "GRID_ID", row_id]
            if c.description:
                # Superset 6.1 draws no chart description on a dashboard (expanded_slices reads a field its
                # chart list does not fill), so the explanation is a note above the chart, in one column.
                col_id, note_id = f"COLUMN-{c.key}", f"MARKDOWN-{c.key}-why"
                position[row_id]["children"].append(col_id)
                position[col_id] = {"type": "COLUMN", "id": col_id, "children": [note_id, cid], "parents": parents,
                                    "meta": {"width": c.width, "background": "BACKGROUND_TRANSPARENT"}}
                parents = [*parents, col_id]
                position[note_id] = {"type": "MARKDOWN", "id": note_id, "children": [], "parents": parents,
                                     "meta": {"width": c.width, "height": note_height(c.description, c.width),
                                              "code": c.description}}
            else:
                position[row_id]["children"].append(cid)
            position[cid] = {"type": "CHART", "id": cid, "children": [], "parents": parents,
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
        "expanded_slices": {},
        "label_colors": label_colors(), "shared_label_colors": [], "color_scheme_domain": [],
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

