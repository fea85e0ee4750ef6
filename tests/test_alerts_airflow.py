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
    DAG's on_failure_callback (nengtan.orchestration.dag_support -> on_task_failure) mails on-call."""
    from nengtan.orchestration.dag_runner import prepare_airflow, run_dag

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


def test_task_failed_from_outside_says_why_not_a_question_mark(inbox) -> None:
    """A task Airflow fails from outside (it never started, lost its heartbeat) reaches the
    callback through the DAG processor without an exception: the mail says what that means."""
    from types import SimpleNamespace

    from nengtan.alerts import on_task_failure

    ti = SimpleNamespace(dag_id="nengtan_monthly_report", task_id="due_months", run_id="scheduled__2026-12-03",
                         try_number=1, log_url="http://127.0.0.1:8080/log")
    on_task_failure({"ti": ti, "run_id": "scheduled__2026-12-03"})
    (msg,) = [m for r, m in inbox.messages if r == ["oncall@ops.example.com"]]
    body = msg.get_body(preferencelist=("plain",)).get_content()
    assert "Exception: ?" not in body and "?" not in body.split("Exception: ", 1)[1].splitlines()[0]
    assert "Airflow failed it from outside" in body and "scheduler's log" in body


def test_a_refused_report_does_not_page_oncall(inbox) -> None:
    """A monthly report refused for a month that is not final answers the request; it is no incident."""
    from types import SimpleNamespace

    from nengtan.alerts import on_task_failure
    from nengtan.report.readiness import Readiness, ReportRefused

    refused = ReportRefused(Readiness("2026-03", final=False, has_data=True, reasons=["declarations outstanding"]))
    ti = SimpleNamespace(dag_id="nengtan_monthly_report", task_id="report", run_id="manual__x", try_number=1)
    on_task_failure({"ti": ti, "exception": refused, "run_id": "manual__x"})
    on_task_failure({"ti": ti, "exception": RuntimeError("render failed"), "run_id": "manual__x"})
    bodies = [m.get_body(preferencelist=("plain",)).get_content() for _, m in inbox.messages]
    assert len(bodies) == 1 and "render failed" in bodies[0]
