"""Airflow ``on_failure_callback``: tell on-call which task failed, with what, and where.

Works with the Airflow 3 task context (``ti``/``task_instance``, ``dag``, ``run_id``,
``exception``). Never raises: a failing alert must not mask the task's own failure.
"""

from __future__ import annotations

import logging
from typing import Any

from nengtan.alerts.email import send_email
from nengtan.alerts.i18n import language_for, t
from nengtan.alerts.webhook import send_webhooks, webhook_urls
from nengtan.config import settings

log = logging.getLogger(__name__)


def _failure_facts(context: dict[str, Any]) -> dict[str, Any]:
    ti = context.get("ti") or context.get("task_instance")
    dag = context.get("dag")
    dag_run = context.get("dag_run")
    return {
        "dag_id": getattr(ti, "dag_id", None) or getattr(dag, "dag_id", None) or "?",
        "task_id": getattr(ti, "task_id", None) or getattr(context.get("task"), "task_id", None) or "?",
        "run_id": context.get("run_id") or getattr(ti, "run_id", None) or getattr(dag_run, "run_id", None) or "?",
        "try_number": getattr(ti, "try_number", None) or "?",
        "exception": repr(context.get("exception")) if context.get("exception") is not None else "?",
        "log_url": getattr(ti, "log_url", None) or "-",
    }


def on_task_failure(context: dict[str, Any]) -> None:
    """Mail ``NENGTAN_ONCALL_EMAIL`` (and post to the webhooks) about a failed task."""
    try:
        facts = _failure_facts(context)
        oncall = settings().oncall_email
        lang = language_for(oncall)
        subject = t(lang, "fail_subject", **facts)
        body = t(lang, "fail_body", **facts)
        try:
            send_email([oncall], subject, body)
        except Exception:
            log.exception("could not mail on-call %s about %s.%s", oncall, facts["dag_id"], facts["task_id"])
        if webhook_urls():
            send_webhooks(subject, body)
    except Exception:
        log.exception("on_task_failure callback failed")
