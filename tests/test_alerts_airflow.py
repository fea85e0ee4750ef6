"""on_task_failure as a real Airflow on_failure_callback: a task that raises in a real
DagRun (dag.test) mails on-call through a real SMTP server with dag/task/run/try/error."""

from __future__ import annotations

import email
from datetime import date
from email import policy

import pytest
from aiosmtpd.controller import Controller

from nengtan.netutil import free_port


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook
        self.messages.append((list(envelope.rcpt_tos),
                              email.message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture()
def inbox(monkeypatch):
    box = _Inbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    for key, value in {"NENGTAN_SMTP_HOST": "127.0.0.1", "NENGTAN_SMTP_PORT": str(port),
                       "NENGTAN_ALERTS_ENABLED": "1", "NENGTAN_ONCALL_EMAIL": "oncall@ops.example.com",
                       "NENGTAN_ALERT_LANG_EN": "ops.example.com"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("NENGTAN_ALERT_WEBHOOKS", raising=False)
    yield box
    controller.stop()


def test_failed_task_mails_oncall_from_a_real_dagrun(inbox) -> None:
    """A real DAG of the project, run for a night it cannot parse: its tasks fail and the
    DAG's on_failure_callback (nengtan.dag_support -> on_task_failure) mails on-call."""
    from nengtan.orchestrate import prepare_airflow, run_dag

    prepare_airflow()
    state = run_dag("nengtan_checks_publish", day=date(2026, 3, 20), conf={"day": "not-a-day"})
    assert state == "failed"
    mails = {m["Subject"]: m for r, m in inbox.messages if r == ["oncall@ops.example.com"]}
    subject = "[Nengtan] Pipeline task failed: nengtan_checks_publish.check_marts"
    assert subject in mails, sorted(mails)
    body = mails[subject].get_body(preferencelist=("plain",)).get_content()
    assert "Task: check_marts" in body and "DAG: nengtan_checks_publish" in body
    assert "not-a-day" in body  # the exception
    assert "Run: manual__" in body and "Try: " in body
