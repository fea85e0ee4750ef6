"""Write the Superset asset bundle (dashboards/assets/**.yaml) from the spec in dashboards/spec/.

The YAML under dashboards/assets/ is what Superset imports (its v1 export format) and what reviewers
diff; the spec is how it is kept consistent (stable UUIDs, chart positions, query contexts that the
chart-data API can replay). The datasets' columns come from dbt's manifest (nengtan.mart_schema), so
run it with the project's Python: ``.venv/bin/python dashboards/build_assets.py``.

This module is the spec's import surface (tests load it by path): every name below is re-exported.
"""

from __future__ import annotations

from dashboards.spec.bundle import ASSETS, URI_PLACEHOLDER, write
from dashboards.spec.chart import Chart
from dashboards.spec.charts import CHARTS
from dashboards.spec.charts.common import NOT_MILDEST
from dashboards.spec.dashboards import DASHBOARDS, NOTES
from dashboards.spec.datasets import DATASETS
from dashboards.spec.headers import VERBOSE
from dashboards.spec.ids import DB_NAME, NS, uid
from dashboards.spec.labels import (
    CITY_NAME,
    FINAL,
    FINDING,
    LABELS,
    MEETS,
    NO_INTENSITY_TARGET,
    ON_TRACK,
    OVER_APPROVAL,
    PROVISIONAL,
    PROVISIONAL_SUFFIX,
    QUALIFIED,
    SHORTFALL,
    SIGNIFICANT,
    YES_NO,
    label_colors,
    warning_levels,
)

__all__ = [
    "ASSETS", "CHARTS", "CITY_NAME", "DASHBOARDS", "DATASETS", "DB_NAME", "FINAL", "FINDING", "LABELS", "MEETS",
    "NOTES", "NOT_MILDEST", "NO_INTENSITY_TARGET", "NS", "ON_TRACK", "OVER_APPROVAL", "PROVISIONAL",
    "PROVISIONAL_SUFFIX", "QUALIFIED", "SHORTFALL", "SIGNIFICANT", "URI_PLACEHOLDER", "VERBOSE", "YES_NO", "Chart",
    "label_colors", "uid", "warning_levels", "write",
]

if __name__ == "__main__":
    write()
    print(f"wrote {ASSETS}")
