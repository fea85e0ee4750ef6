"""on_task_failure as a real Airflow on_failure_callback: a task that raises in a real
DagRun (dag.test) mails on-call through a real SMTP server with dag/task/run/try/error."""

from __future__ import annotations

import email
import socket
from datetime import date
from email import policy

import pytest
from aiosmtpd.controller import Controller


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook
        self.messages.append((list(envelope.rcpt_tos),
                              email.message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def inbox(monkeypatch):
    box = _Inbox()
    port = _free_port()
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
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import DAG

    from nengtan.alerts import on_task_failure
    from nengtan.dag_support import START_DATE, logical_date_for
    from nengtan.orchestrate import prepare_airflow

    prepare_airflow()

    def boom() -> None:
        raise RuntimeError("planted failure: dbt build exploded")

    with DAG("nengtan_alert_probe", schedule=None, start_date=START_DATE, catchup=False) as dag:
        PythonOperator(task_id="explode", python_callable=boom, retries=0, on_failure_callback=on_task_failure)
    run = dag.test(logical_date=logical_date_for(date(2026, 3, 20)))
    assert str(getattr(run.state, "value", run.state)) == "failed"
    mails = [(r, m) for r, m in inbox.messages if "oncall@ops.example.com" in r]
    assert len(mails) == 1
    msg = mails[0][1]
    assert msg["Subject"] == "[Nengtan] Pipeline task failed: nengtan_alert_probe.explode"
    body = msg.get_body(preferencelist=("plain",)).get_content()
    assert "planted failure: dbt build exploded" in body
    assert run.run_id in body and "Try: 1" in body
