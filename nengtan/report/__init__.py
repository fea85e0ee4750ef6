"""Monthly regulatory reports: check the month, snapshot the marts, render PDF/XLSX, archive, send.

Entry points (imported lazily so that parsing the DAG file does not load reportlab and
matplotlib):

- :func:`month_readiness` — may ``month`` be reported as final? (``Readiness.final``,
  ``.has_data``, ``.reasons``, ``.allows(provisional)``, ``.message()``)
- :func:`run_monthly_report` — the run; raises :class:`ReportRefused` when the month may not
  be rendered (no data; not final and no provisional edition asked for).
- ``python -m nengtan.report --month YYYY-MM [--provisional] [--mail]`` — the same from a shell.
"""

from __future__ import annotations

from typing import Any

from nengtan.report.readiness import Readiness, ReportRefused, declaration_deadline, month_readiness


def run_monthly_report(month: str, *, run_id: str, language: str = "zh", provisional: bool = False,
                       mail: bool | None = None, send: bool | None = None, cfg: Any = None) -> dict:
    from nengtan.report.run import run_monthly_report as _run

    return _run(month, run_id=run_id, language=language, provisional=provisional, mail=mail, send=send, cfg=cfg)


__all__ = ["Readiness", "ReportRefused", "declaration_deadline", "month_readiness", "run_monthly_report"]
