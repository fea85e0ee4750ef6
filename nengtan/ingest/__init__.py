"""Nightly load from the landing zone into the raw layer (raw.* + load_log + quarantine).

The DAG tasks call these functions with a writer connection to the warehouse
(``nengtan.warehouse.connect`` + ``ensure_raw_schema``).
"""

from nengtan.ingest.loader import (
    FileResult,
    LoadSummary,
    load_certificates,
    load_declarations,
    load_meter_readings,
    load_night,
    load_registry,
    load_targets,
)

__all__ = [
    "FileResult",
    "LoadSummary",
    "load_certificates",
    "load_declarations",
    "load_meter_readings",
    "load_night",
    "load_registry",
    "load_targets",
]
