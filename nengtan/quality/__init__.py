"""Data quality: suites in ``expectations/`` validated with Great Expectations.

Entry point: :func:`run_checks` (stage 'raw' after load, 'marts' after dbt); results go
to ``quality.check_results``; ``CheckOutcome.blocking_failures`` stops the publish.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from nengtan.quality.runner import CheckOutcome, run_checks


def send_digests(con: Any, *, run_id: str, day: date, cfg: Any = None) -> dict:
    """Re-export of :func:`nengtan.alerts.send_digests` (imported late: no cycle)."""
    from nengtan.alerts.digest import send_digests as send

    return send(con, run_id=run_id, day=day, cfg=cfg)


__all__ = ["CheckOutcome", "run_checks", "send_digests"]
