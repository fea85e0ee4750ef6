"""The functions the DAG tasks call, one per task: each opens the warehouse, does one
stage for one night and returns a JSON-serialisable summary (the task's XCom)."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from nengtan.config import settings
from nengtan.crashpoints import arm_loader, crash_point
from nengtan.warehouse import record_run, utc_now, warehouse

log = logging.getLogger(__name__)

# The night's load order (the DAG's task order): readings are validated against the registry.
LOADERS = {
    "registry": "load_registry",
    "targets": "load_targets",
    "certificates": "load_certificates",
    "declarations": "load_declarations",
    "ets": "load_ets", "projects": "load_projects", "weather": "load_weather",  # contract sources of issues 14/15
    "meter_readings": "load_meter_readings",
}
LOAD_ORDER = tuple(LOADERS)


class BlockingChecksFailed(RuntimeError):
    """A check whose failure would make published figures wrong: the night stops here."""



def load_source(source: str, day: date, run_id: str) -> dict[str, Any]:
    """Load one source's new files for the night ``day``; every file version once."""
    from nengtan import ingest

    cfg = settings()
    cfg.ensure_dirs()
    loader = getattr(ingest, LOADERS[source])
    started = utc_now()
    if source == "meter_readings":
        arm_loader()
    with warehouse(cfg) as con:
        summary = loader(con, cfg.landing, run_id) if source == "registry" else loader(con, cfg.landing, day, run_id)
        result = summary.as_dict()
        record_run(con, run_id, f"load_{source}", day, started, "success",
                    f"files_loaded={result.get('files_loaded')} rows_loaded={result.get('rows_loaded')} "
                    f"rows_quarantined={result.get('rows_quarantined')}")
        # Every file version now in the load log goes into the tamper-evident ledger, including
        # any an earlier run loaded but crashed before recording.
        from nengtan.ledger.record import record_from_load_log

        record_from_load_log(con, run_id=run_id, cfg=cfg)
    log.info("loaded %s for %s: %s", source, day, {k: v for k, v in result.items() if k != "files"})
    return result


def check_stage(stage: str, day: date, run_id: str) -> dict[str, Any]:
    """Run the quality suites of a stage; results land in quality.check_results."""
    from nengtan.quality import run_checks

    with warehouse() as con:
        outcome = run_checks(con, run_id=run_id, day=day, stage=stage)
    if stage == "marts":
        crash_point("checks")
    return outcome.as_dict()


def transform(run_id: str, *, full_refresh: bool = False) -> dict[str, Any]:
    from nengtan.transform import run_transform

    return run_transform(run_id, full_refresh=full_refresh)


def send_digests(day: date, run_id: str) -> dict[str, Any]:
    from nengtan.quality import send_digests as send

    with warehouse() as con:
        return send(con, run_id=run_id, day=day)


def publish_night(day: date, run_id: str, outcome: dict[str, Any]) -> dict[str, Any]:
    """Publish unless a blocking check failed; then the last good serving copy stays."""
    blocking = outcome.get("blocking_failures") or []
    if blocking:
        raise BlockingChecksFailed(
            f"{len(blocking)} blocking check(s) failed for {day}; the serving copy keeps the last good "
            f"night. First: {blocking[0]}"
        )
    from nengtan.ledger.record import record_publish
    from nengtan.publish import publish

    cfg = settings()
    started = utc_now()
    with warehouse(cfg) as con:
        result = publish(con, run_id=run_id, day=day, cfg=cfg)
        record_run(con, run_id, "publish", day, started, "success", str(result["tables"]))
    result["ledger"] = record_publish(cfg.serving_db, run_id=run_id, changes=result.pop("hash_changes", None))
    return result
