"""Monthly regulatory reports: snapshot the marts, render PDF/XLSX, archive versions, send.

Entry point: :func:`run_monthly_report` (imported lazily so that parsing the DAG file does
not load reportlab and matplotlib).
"""

from __future__ import annotations

from typing import Any


def run_monthly_report(month: str, *, run_id: str, language: str = "zh", send: bool = True, cfg: Any = None
                       ) -> dict:
    from nengtan.report.run import run_monthly_report as _run

    return _run(month, run_id=run_id, language=language, send=send, cfg=cfg)


__all__ = ["run_monthly_report"]
