"""Nightly load from the landing zone into the raw layer (raw.* + load_log + quarantine).

The DAG tasks call these functions with a writer connection to the warehouse
(``nengtan.warehouse.connect`` + ``ensure_raw_schema``); each returns a
:class:`LoadSummary` whose ``as_dict()`` is the task's XCom.

Decisions others rely on:
- One file version = (path, sha256, landed_at): the same bytes landing again later are a new
  delivery. Loaded once, in one transaction with its load_log row and its quarantine rows (and the
  other files of its batch). ``rows_read = rows_loaded + rows_quarantined`` per file. The version of
  a path that landed last is the file: earlier versions' rows move to ``raw.superseded_*``
  (:mod:`nengtan.ingest.versions`; registry files excepted).
- Quarantine ``line`` is the physical line (header = 1); for Parquet/XLSX, data row + 1;
  0 = whole file rejected (then rows_quarantined = rows_read = its data lines if the
  text could be decoded, else 0, and a copy sits in ``quarantine_dir/<file_id>/``).
- ``reason`` reads ``<path>:<line>: <cause>``; ``raw_text`` is the line as it came.
- References are checked against the registry in force (every applied delivery, each key's row
  from the latest that lists it): a reading's meter, a meter's enterprise, a project's meters, so
  load the registry first (:func:`load_night` does). A row refused only for an unknown key waits in
  ``raw.parked_*`` and is re-admitted when the registry delivers the key; a registry delivery that
  would drop most keys in force is held back (:mod:`nengtan.ingest.registry`).
- Files directly in ``green_certificates/`` and ``projects/`` are eligible every night (the
  contract has no partition there); ``year=YYYY/`` certificate subfolders, if any, wait for
  their year. ``ets/year=YYYY/`` and ``weather/date=YYYY-MM-DD/`` wait for their year/day;
  each row's year/date must match its folder.
- Optional contract columns may be missing from a file's header: the file loads and their
  values are NULL. Columns the contract added later (and the ets/projects/weather tables)
  are added to an existing warehouse by :func:`nengtan.ingest.schema.ensure_ingest_schema`.
- A declaration file's submission whose feedstock item exceeds its fuel's item is
  quarantined whole (the offending row names both quantities, the others the line).
"""

from nengtan.ingest.loader import (
    FileResult,
    LoadSummary,
    load_certificates,
    load_declarations,
    load_ets,
    load_meter_readings,
    load_night,
    load_projects,
    load_registry,
    load_targets,
    load_weather,
)

__all__ = [
    "FileResult",
    "LoadSummary",
    "load_certificates",
    "load_declarations",
    "load_ets",
    "load_meter_readings",
    "load_night",
    "load_projects",
    "load_registry",
    "load_targets",
    "load_weather",
]
