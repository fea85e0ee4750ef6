"""Airflow ``on_failure_callback``: tell on-call which task failed, with what, and where.

Works with the Airflow 3 task context (``ti``/``task_instance``, ``dag``, ``run_id``,
``exception``). Never raises: a failing alert must not mask the task's own failure.
"""

from __future__ import annotations

import logging
from typing import Any

from nengtan.alerts.email import MailNotConfigured, send_email
from nengtan.alerts.i18n import language_for, t
from nengtan.alerts.webhook import send_webhooks, webhook_urls
from nengtan.config import settings

log = logging.getLogger(__name__)


# Exceptions that answer a request instead of reporting an incident: the requester sees the
# message in the run; on-call is not paged (e.g. a monthly report refused for a month not final).
NOT_INCIDENTS = ("ReportRefused",)


def _what_happened(context: dict[str, Any], lang: str) -> str:
    """The error, or — when Airflow failed the task from outside and passes no exception (it
    never started, lost its heartbeat, was killed, or its upstream failed) — the reason it
    gives, or that explanation."""
    exc = context.get("exception")
    if exc is not None:
        return f"{type(exc).__name__}: {exc}" if str(exc) else repr(exc)
    if context.get("reason"):
        return str(context["reason"])
    return t(lang, "fail_external")


def _failure_facts(context: dict[str, Any], lang: str = "en") -> dict[str, Any]:
    ti = context.get("ti") or context.get("task_instance")
    dag = context.get("dag")
    dag_run = context.get("dag_run")
    return {
        "dag_id": getattr(ti, "dag_id", None) or getattr(dag, "dag_id", None) or "-",
        "task_id": getattr(ti, "task_id", None) or getattr(context.get("task"), "task_id", None) or "-",
        "run_id": context.get("run_id") or getattr(ti, "run_id", None) or getattr(dag_run, "run_id", None) or "-",
        "try_number": getattr(ti, "try_number", None) or "-",
        "exception": _what_happened(context, lang),
        "log_url": getattr(ti, "log_url", None) or "-",
    }


def on_task_failure(context: dict[str, Any]) -> None:
    """Mail ``NENGTAN_ONCALL_EMAIL`` (and post to the webhooks) about a failed task."""
    try:
        if type(context.get("exception")).__name__ in NOT_INCIDENTS:
            log.warning("not paging on-call: %s", context.get("exception"))
            return
        oncall = settings().oncall_email
        lang = language_for(oncall)
        facts = _failure_facts(context, lang)
        subject = t(lang, "fail_subject", **facts)
        body = t(lang, "fail_body", **facts)
        try:
            send_email([oncall], subject, body)
        except MailNotConfigured as exc:
            log.warning("on-call %s not told about %s.%s: %s", oncall, facts["dag_id"], facts["task_id"], exc)
        except Exception:
            log.exception("could not mail on-call %s about %s.%s", oncall, facts["dag_id"], facts["task_id"])
        if webhook_urls():
            send_webhooks(subject, body)
    except Exception:
        log.exception("on_task_failure callback failed")
