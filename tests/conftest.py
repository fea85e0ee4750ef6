"""Session-wide isolation and the shared city fixtures.

The environment is pointed at a temporary landing zone, data root and Airflow home
before anything imports Airflow (which reads its settings at import time), so no test
touches ``var/`` and each session starts from nothing.
"""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path

import pytest

_SESSION_ROOT = Path(tempfile.mkdtemp(prefix="nengtan-tests-"))
os.environ["NENGTAN_DATA"] = str(_SESSION_ROOT / "data")
os.environ["NENGTAN_LANDING"] = str(_SESSION_ROOT / "landing")
os.environ["AIRFLOW_HOME"] = str(_SESSION_ROOT / "airflow")
os.environ["SUPERSET_HOME"] = str(_SESSION_ROOT / "superset")
os.environ.setdefault("NENGTAN_DUCKDB_MEMORY_LIMIT", "2GB")
os.environ["NENGTAN_DBT_UNIT_TESTS"] = "1"  # the models' unit tests run in every test night
os.environ["NENGTAN_ALERTS_ENABLED"] = "0"  # alert tests switch it on with their own SMTP server
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
# Numba compiles OpenDSM's fitting code on first use (~90 s). Production caches it under
# NENGTAN_DATA (nengtan.mv.env.numba_cache_dir); the tests, whose data roots are per test, share one
# cache for the machine instead (valid across sessions: numba keys it on the library's sources), so
# the compile is paid once, not per test. NUMBA_CACHE_DIR set by the caller wins.
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(tempfile.gettempdir()) / f"nengtan-numba-cache-{os.getuid()}"))
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")

# The small city every end-to-end test shares: two parks, a month boundary, all faults.
# Declarations exist only for whole months that closed inside the range: January's land
# in early February, so the city runs into mid-February.
CITY_START = date(2026, 1, 1)
CITY_DAYS = 46
CITY_ENTERPRISES = 12
CITY_LAST_DAY = date(2026, 2, 15)


@pytest.fixture(scope="session")
def session_root() -> Path:
    return _SESSION_ROOT


@pytest.fixture(scope="session")
def city_landing() -> Path:
    """A generated landing zone (deterministic), shared read-only by the session."""
    from nengtan.tools.generate import generate_city

    landing = Path(os.environ["NENGTAN_LANDING"])
    if not (landing / "registry").exists():
        generate_city(landing, CITY_START, CITY_DAYS, CITY_ENTERPRISES, parks=2, seed=7, fault_rate=0.02)
    return landing


@pytest.fixture(scope="session")
def published_city(city_landing: Path):
    """The small city run through the real DAGs (load → dbt → GX → publish) in one night.

    Returns the Settings; the serving copy is at ``settings.serving_db``.
    """
    from nengtan.config import settings
    from nengtan.orchestration.dag_runner import run_night

    cfg = settings()
    if not cfg.serving_db.exists():
        assert run_night(CITY_LAST_DAY), "the nightly DAGs failed on the test city"
    assert cfg.serving_db.exists()
    return cfg
