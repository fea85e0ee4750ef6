"""Alerts: nightly digests per recipient (email + chat webhooks) and task-failure mails.

Entry points: :func:`send_digests` (after ``run_checks``), :func:`on_task_failure`
(Airflow ``on_failure_callback``), :func:`nengtan.alerts.email.send_email`.
"""

from nengtan.alerts.airflow_callbacks import on_task_failure
from nengtan.alerts.digest import build_digests, send_digests

__all__ = ["build_digests", "on_task_failure", "send_digests"]
