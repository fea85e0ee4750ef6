"""Celery settings of a Nengtan deployment (``[celery] celery_config_options`` points here).

Airflow's defaults, plus one thing: each Celery pool process imports the heavy libraries the
pipeline's tasks use (pandas, DuckDB, Great Expectations, dbt, the pipeline itself) once, when it
starts and before any task arrives. Airflow runs every task in a process forked from that pool
process (Linux), so the forked task inherits them instead of importing them again: Great
Expectations alone takes seconds to import, and a night has four tasks that use it. Nothing
is opened or connected at import, so nothing unsafe is carried across the fork.

Imported by the scheduler too (the executor reads the same config); the preload runs only in
worker pool processes (Celery's ``worker_process_init``).
"""

from __future__ import annotations

import importlib
import logging
import os
import time
from typing import Any

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG
from celery.signals import worker_process_init

log = logging.getLogger(__name__)

CELERY_CONFIG: dict[str, Any] = dict(DEFAULT_CELERY_CONFIG)

# What a night's tasks import; NENGTAN_CELERY_PRELOAD (comma-separated module names, or empty for
# none) overrides it.
PRELOAD_MODULES = ("pandas", "duckdb", "great_expectations", "dbt.cli.main", "nengtan.orchestration.tasks")


def preload_modules() -> tuple[str, ...]:
    value = os.environ.get("NENGTAN_CELERY_PRELOAD")
    if value is None:
        return PRELOAD_MODULES
    return tuple(m.strip() for m in value.split(",") if m.strip())


@worker_process_init.connect
def _preload(**_: Any) -> None:
    started = time.monotonic()
    loaded = []
    for name in preload_modules():
        try:
            importlib.import_module(name)
            loaded.append(name)
        except Exception as exc:  # a task that needs it will fail with the real error
            log.warning("could not preload %s in the Celery worker: %s", name, exc)
    log.info("nengtan: Celery worker process %d preloaded %s in %.1f s", os.getpid(), ", ".join(loaded),
                time.monotonic() - started)
