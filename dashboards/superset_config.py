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
    # Virtual datasets pick their label columns by the user's language (nengtan_lang() below).
    "ENABLE_TEMPLATE_PROCESSING": True,
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


def nengtan_lang() -> str:
    """The language of the user's session ("zh" or "en"), for virtual datasets' label columns.

    Datasets call it as ``cache_key_wrapper(nengtan_lang())`` so a Chinese and an English
    user never share a cached result. ``?_l_=en`` on an API request selects the language too
    (Flask-AppBuilder's locale selector), which is how the tests ask for either.
    """
    try:
        from flask import has_request_context
        from flask_babel import get_locale

        if has_request_context():
            locale = get_locale()
            if locale is not None and str(locale).lower().startswith("en"):
                return "en"
    except Exception:  # no app or babel context: the default language
        pass
    return "zh"


JINJA_CONTEXT_ADDONS = {"nengtan_lang": nengtan_lang}

# Superset's Chinese catalogue gets a few strings of the dashboards wrong: the table search box's
# "%s record" reads "%s 异常" ("816 异常" above a table of 816 rows), "entries per page" reads "序列"
# (a sequence), an empty chart says "要显示的可视化类型" (a visualisation type to show). Entries here
# replace the catalogue's, per language.
TRANSLATION_FIXES = {
    "zh": {
        "%s record": ["共 %s 行"],
        "%s records...": ["共 %s 行"],
        "Search %s records": ["在 %s 行中搜索"],
        "entries per page": ["行/页"],
        "entries": ["行"],
        "There is currently no information to display.": ["当前没有可显示的数据。"],
        "Filters and controls": ["筛选器"],
        "Select all": ["全选"],
    },
}


def FLASK_APP_MUTATOR(app) -> None:  # noqa: N802 (Superset's name)
    """Serve /superset/language_pack/<lang>/ (the catalogue the browser loads) with TRANSLATION_FIXES
    applied; Superset itself sends the installed file as it is."""
    import copy
    import json
    import re

    from flask import Response, request
    from superset.translations import utils as translations

    route = re.compile(r"^/superset/language_pack/([a-z]{2,3}(?:_[A-Z]{2})?)/?$")
    fixed: dict[str, str] = {}
    for locale, fixes in TRANSLATION_FIXES.items():
        pack = copy.deepcopy(translations.get_language_pack(locale) or {})
        messages = pack.get("locale_data", {}).get("superset")
        if messages is not None:
            messages.update(fixes)
            fixed[locale] = json.dumps(pack, ensure_ascii=False)

    @app.before_request
    def _fixed_language_pack():  # type: ignore[no-untyped-def]
        match = route.match(request.path)
        if match and match.group(1) in fixed:
            return Response(fixed[match.group(1)], mimetype="application/json")
        return None
