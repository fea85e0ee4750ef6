"""Superset configuration for Nengtan (loaded through SUPERSET_CONFIG_PATH).

Everything that differs between a laptop, the tests and a deployment comes from the
environment, so the same file serves all three. Superset refuses to start with its
default SECRET_KEY, and so do we: there is no fallback key here.
"""

from __future__ import annotations

import os
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent


def _path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default.resolve()


NENGTAN_DATA = _path("NENGTAN_DATA", _REPO / "var" / "data")
SUPERSET_HOME = _path("SUPERSET_HOME", NENGTAN_DATA / "superset")

SECRET_KEY = os.environ.get("SUPERSET_SECRET_KEY", "")
if len(SECRET_KEY) < 32:
    raise RuntimeError(
        "SUPERSET_SECRET_KEY must be set to a random string of at least 32 characters "
        "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
    )

# Superset's own metadata (users, charts, dashboards) lives in SQLite under SUPERSET_HOME
# unless a deployment points it at Postgres.
SQLALCHEMY_DATABASE_URI = os.environ.get(
    "SUPERSET_DATABASE_URI", f"sqlite:///{SUPERSET_HOME / 'superset.db'}"
)
SQLALCHEMY_TRACK_MODIFICATIONS = False
DATA_DIR = str(SUPERSET_HOME)

# Dashboards only; no example data, no thumbnails that would need a browser worker.
SUPERSET_LOAD_EXAMPLES = False
FEATURE_FLAGS = {
    "DASHBOARD_NATIVE_FILTERS": True,
    "DASHBOARD_CROSS_FILTERS": True,
    "DASHBOARD_RBAC": True,
    "ENABLE_TEMPLATE_PROCESSING": False,
    "THUMBNAILS": False,
    "ALERT_REPORTS": False,
    "EMBEDDED_SUPERSET": False,
}

# Chinese first, English one click away.
BABEL_DEFAULT_LOCALE = "zh"
LANGUAGES = {
    "zh": {"flag": "cn", "name": "中文"},
    "en": {"flag": "us", "name": "English"},
}

# The chart-data API is already CSRF-exempt upstream; everything else keeps CSRF.
WTF_CSRF_ENABLED = True
WTF_CSRF_TIME_LIMIT = None

# Talisman (CSP/HTTPS headers) belongs behind the deployment's reverse proxy, not on localhost.
TALISMAN_ENABLED = os.environ.get("SUPERSET_TALISMAN_ENABLED", "false").lower() == "true"
CONTENT_SECURITY_POLICY_WARNING = False

# Login brute-force limit; tests with many users may lower it via env.
AUTH_RATE_LIMITED = os.environ.get("SUPERSET_AUTH_RATE_LIMITED", "true").lower() == "true"

# Cached query results would outlive a nightly publish; keep them short.
_cache_timeout = int(os.environ.get("SUPERSET_CACHE_TIMEOUT", "300"))
CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": _cache_timeout}
DATA_CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": _cache_timeout}
FILTER_STATE_CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 86400}
EXPLORE_FORM_DATA_CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 86400}

# SQL Lab is for administrators only: it is not granted to any Nengtan role (bootstrap.py),
# and no database is exposed to it except for Admin.
SQLLAB_TIMEOUT = 120
SUPERSET_WEBSERVER_TIMEOUT = 120
ROW_LIMIT = 50000

APP_NAME = "能碳双控 Nengtan"
