"""Digests through a real SMTP server (aiosmtpd) and a real HTTP listener (apprise json://):
one message per recipient, in its language, naming each finding; clean nights are silent."""

from __future__ import annotations

import email
import json
import threading
from datetime import datetime
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import duckdb
import pytest
from aiosmtpd.controller import Controller

from nengtan.alerts import on_task_failure, send_digests
from nengtan.alerts.email import send_email
from nengtan.netutil import free_port
from nengtan.quality import run_checks
from nengtan.quality.sample import DAY, PLANTED, RUN_ID, build_sample_warehouse


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 OK"

    def by_recipient(self) -> dict[str, list[email.message.EmailMessage]]:
        out: dict[str, list] = {}
        for rcpts, msg in self.messages:
            for r in rcpts:
                out.setdefault(r, []).append(msg)
        return out


@pytest.fixture()
def smtp(monkeypatch):
    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("NENGTAN_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("NENGTAN_SMTP_PORT", str(port))
    monkeypatch.setenv("NENGTAN_ALERT_FROM", "alerts@nengtan.test")
    yield inbox
    controller.stop()


@pytest.fixture()
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("NENGTAN_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("NENGTAN_LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("NENGTAN_ALERT_LANG_EN", "foreign.example.com")
    monkeypatch.setenv("NENGTAN_ALERT_RECIPIENTS_FILE", str(tmp_path / "none.yml"))
    monkeypatch.delenv("NENGTAN_ALERT_WEBHOOKS", raising=False)
    monkeypatch.delenv("NENGTAN_ALERTS_ENABLED", raising=False)
    return tmp_path


def _checked(tmp_path, **kwargs) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    build_sample_warehouse(con, **kwargs)
    run_checks(con, run_id=RUN_ID, day=DAY, stage="raw")
    run_checks(con, run_id=RUN_ID, day=DAY, stage="marts")
    return con


def _text(msg: email.message.EmailMessage) -> str:
    return msg.get_body(preferencelist=("plain",)).get_content()


def test_one_digest_per_recipient_in_its_language(env, smtp):
    con = _checked(env, faults=True)
    result = send_digests(con, run_id=RUN_ID, day=DAY)
    inbox = smtp.by_recipient()
    expected = {r for _, _, r in PLANTED}
    assert set(inbox) == expected and all(len(m) == 1 for m in inbox.values())
    assert {r for r, e in result["emails"].items() if e["status"] == "sent"} == expected
    for rule, entity, recipient in PLANTED:
        body = _text(inbox[recipient][0])
        assert rule in body and entity in body, (rule, recipient)
    e1 = inbox["e1@ent.example.cn"][0]
    assert "数据质量提醒" in e1["Subject"] and "2026-03-20" in e1["Subject"]
    body = _text(e1)
    assert "M01" in body and "50.0%" in body and "处理" in body and "completeness_min" in body
    assert "M04" not in body  # healthy meter, not mentioned
    foreign = inbox["manager@foreign.example.com"][0]
    assert foreign["Subject"].startswith("[Nengtan] Data quality for 2026-03-20")
    fbody = _text(foreign)
    assert "M05" in fbody and "silent" in fbody and "To do" in fbody and "deadline 2026-03-15" in fbody
    assert "处理" not in fbody
    assert foreign.get_body(preferencelist=("html",)) is not None
    park = _text(inbox["p02-office@park.example.cn"][0])
    assert "park_silent_share" in park and "P02" in park and "M01" not in park
    # rerunning the night does not mail anyone twice
    again = send_digests(con, run_id=RUN_ID, day=DAY)
    assert len(smtp.messages) == len(expected)
    assert {e["status"] for e in again["emails"].values()} == {"already_sent"}


def test_clean_night_sends_nothing(env, smtp):
    con = _checked(env, faults=False)
    result = send_digests(con, run_id=RUN_ID, day=DAY)
    assert result["emails"] == {} and smtp.messages == []


def test_blocking_failures_reach_oncall(env, smtp, monkeypatch):
    monkeypatch.setenv("NENGTAN_ONCALL_EMAIL", "oncall@ops.example.cn")
    con = _checked(env, faults=False, blocking=True)
    send_digests(con, run_id=RUN_ID, day=DAY)
    inbox = smtp.by_recipient()
    # blocking findings go to on-call; the negative meter-day is also implausible for its owner
    assert sorted(inbox) == ["e1@ent.example.cn", "oncall@ops.example.cn"]
    assert "quantity_plausible" in _text(inbox["e1@ent.example.cn"][0])
    assert "load_log_balanced" not in _text(inbox["e1@ent.example.cn"][0])
    body = _text(inbox["oncall@ops.example.cn"][0])
    assert "阻断发布" in body and "load_log_balanced" in body and "no_null_keys" in body


def test_unreachable_smtp_is_recorded_not_raised(env, monkeypatch):
    monkeypatch.setenv("NENGTAN_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("NENGTAN_SMTP_PORT", str(free_port()))  # nobody listens
    monkeypatch.setenv("NENGTAN_SMTP_TIMEOUT", "2")
    con = _checked(env, faults=True)
    result = send_digests(con, run_id=RUN_ID, day=DAY)
    assert set(result["failed"]) == {r for _, _, r in PLANTED}
    statuses = con.execute("SELECT DISTINCT status FROM quality.alert_log WHERE channel = 'email'").fetchall()
    assert statuses == [("failed",)]


def test_alerts_disabled_sends_nothing(env, smtp, monkeypatch):
    monkeypatch.setenv("NENGTAN_ALERTS_ENABLED", "0")
    con = _checked(env, faults=True)
    result = send_digests(con, run_id=RUN_ID, day=DAY)
    assert smtp.messages == [] and {e["status"] for e in result["emails"].values()} == {"disabled"}
    # recorded all at once at the end (nothing went out), still one row per recipient with its count
    logged = con.execute("SELECT recipient, findings FROM quality.alert_log WHERE run_id = ? AND status = 'disabled' "
                         "ORDER BY recipient", [RUN_ID]).fetchall()
    assert logged == sorted((r, e["findings"]) for r, e in result["emails"].items())


class _Hook(BaseHTTPRequestHandler):
    received: list[tuple[str, dict]] = []

    def do_POST(self):  # noqa: N802 - http.server hook
        length = int(self.headers.get("Content-Length", 0))
        _Hook.received.append((self.path, json.loads(self.rfile.read(length) or b"{}")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture()
def hook(env, monkeypatch):
    _Hook.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("NENGTAN_ALERT_WEBHOOKS", f"json://127.0.0.1:{server.server_port}/nengtan/hook")
    yield _Hook.received
    server.shutdown()
    server.server_close()


def test_webhook_summary_reaches_a_local_listener(env, smtp, hook):
    con = _checked(env, faults=True)
    result = send_digests(con, run_id=RUN_ID, day=DAY)
    assert list(result["webhooks"].values()) == [True]
    assert len(hook) == 1
    path, payload = hook[0]
    assert path == "/nengtan/hook"
    assert "2026-03-20" in payload["title"] and "e1@ent.example.cn" in payload["message"]


def test_on_task_failure_mails_oncall(env, smtp, monkeypatch):
    from types import SimpleNamespace

    monkeypatch.setenv("NENGTAN_ONCALL_EMAIL", "oncall@ops.example.cn")
    ti = SimpleNamespace(dag_id="nengtan_nightly", task_id="transform", run_id="scheduled__2026-03-21",
                         try_number=2, log_url="http://airflow/log")
    on_task_failure({"ti": ti, "exception": RuntimeError("dbt build failed: model x"),
                     "run_id": "scheduled__2026-03-21", "logical_date": datetime(2026, 3, 21)})
    inbox = smtp.by_recipient()
    (msg,) = inbox["oncall@ops.example.cn"]
    assert "nengtan_nightly.transform" in msg["Subject"]
    body = _text(msg)
    for part in ("transform", "scheduled__2026-03-21", "2", "dbt build failed: model x", "http://airflow/log"):
        assert part in body


def test_send_email_carries_attachments_for_the_report_helper(env, smtp, tmp_path):
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"%PDF-1.4 test")
    send_email(["a@x.cn", "b@x.cn"], "月报", "正文", [pdf], body_html="<p>正文</p>")
    (rcpts, msg), = smtp.messages
    assert rcpts == ["a@x.cn", "b@x.cn"] and msg["Subject"] == "月报"
    (att,) = list(msg.iter_attachments())
    assert att.get_filename() == "report.pdf" and att.get_content() == b"%PDF-1.4 test"
