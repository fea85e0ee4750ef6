"""Nothing provisional shown as final, in the digests too: through a real SMTP server (aiosmtpd),
a dual-control warning or a finding about a provisional month carries 临时数据 / provisional,
a final one does not; a warning is mailed once per level and provisional status, not every night."""

from __future__ import annotations

import email
from datetime import timedelta
from email import policy

import duckdb
import pytest
from aiosmtpd.controller import Controller

from nengtan.alerts import send_digests
from nengtan.netutil import free_port
from nengtan.quality import run_checks
from nengtan.quality.sample import DAY, E1, E3, E4, RUN_ID, build_sample_warehouse


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook
        raw = envelope.original_content or envelope.content
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(raw, policy=policy.default)))
        return "250 OK"

    def to(self, recipient: str) -> list[email.message.EmailMessage]:
        return [m for rcpts, m in self.messages if recipient in rcpts]


@pytest.fixture()
def smtp(tmp_path, monkeypatch):
    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    for key, value in {"NENGTAN_SMTP_HOST": "127.0.0.1", "NENGTAN_SMTP_PORT": str(port),
                       "NENGTAN_ALERTS_ENABLED": "1", "NENGTAN_DATA": str(tmp_path / "data"),
                       "NENGTAN_ALERT_LANG_EN": "foreign.example.com",
                       "NENGTAN_ALERT_RECIPIENTS_FILE": str(tmp_path / "none.yml")}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("NENGTAN_ALERT_WEBHOOKS", raising=False)
    yield inbox
    controller.stop()


def _warehouse(tmp_path) -> duckdb.DuckDBPyConnection:
    """The sample warehouse with its planted faults, its marts flagged as the dbt models flag them
    (March provisional: declarations not yet due; February final), and dual-control warnings."""
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    build_sample_warehouse(con, faults=True)
    for table in ("enterprise_carbon_monthly", "park_carbon_monthly", "city_carbon_monthly"):
        con.execute(f"ALTER TABLE marts.{table} ADD COLUMN IF NOT EXISTS is_provisional BOOLEAN")
        con.execute(f"UPDATE marts.{table} SET is_provisional = month >= DATE '2026-03-01'")
    con.execute("""
        CREATE TABLE marts.dual_control_warnings AS SELECT * FROM (VALUES
            ('enterprise', ?, DATE '2026-03-20', 'energy', 120.0, 1150.0, 1000.0, 1.15, 'red', '红色', 'red', TRUE),
            ('enterprise', ?, DATE '2026-03-20', 'carbon', 10.0, 40.0, 100.0, 0.4, 'green', '绿色', 'green', TRUE),
            ('enterprise', ?, DATE '2026-03-20', 'carbon_intensity', 0.9, 0.9, 0.95, 0.947, 'yellow', '黄色',
             'yellow', FALSE),
            ('park', 'P02', DATE '2026-03-20', 'energy', 900.0, 5200.0, 5000.0, 1.04, 'orange', '橙色', 'orange',
             FALSE)
        ) AS w(level, entity_id, as_of, metric, ytd_value, projected_year_end, budget, ratio, warning_level,
               label_zh, label_en, is_provisional)""", [E1, E3, E4])
    run_checks(con, run_id=RUN_ID, day=DAY, stage="raw")
    run_checks(con, run_id=RUN_ID, day=DAY, stage="marts")
    return con


def _text(msg: email.message.EmailMessage) -> str:
    return msg.get_body(preferencelist=("plain",)).get_content()


def _html(msg: email.message.EmailMessage) -> str:
    return msg.get_body(preferencelist=("html",)).get_content()


def test_provisional_warning_is_labelled_and_final_one_is_not(tmp_path, smtp) -> None:
    con = _warehouse(tmp_path)
    send_digests(con, run_id=RUN_ID, day=DAY)
    (e1,) = smtp.to("e1@ent.example.cn")
    assert "双控预警 1 项" in e1["Subject"]
    body = _text(e1)
    line = next(x for x in body.splitlines() if "能源消费总量" in x)
    assert line.startswith("- 【临时数据】企业 " + E1) and "红色" in line and "115%" in line, line
    assert "临时数据" in _html(e1) and "申报尚未齐全" in body  # the label and what it means
    # a green warning is no alert; a final one carries no label
    e3 = _text(smtp.to("e3@ent.example.cn")[0])
    assert "二氧化碳排放总量" not in e3 and "绿色" not in e3 and "双控预警" not in smtp.to("e3@ent.example.cn")[0]["Subject"]
    (e4,) = smtp.to("e4@ent.example.cn")
    e4_line = next(x for x in _text(e4).splitlines() if "碳排放强度" in x)
    assert "临时数据" not in e4_line and "黄色" in e4_line
    (park,) = smtp.to("p02-office@park.example.cn")
    park_line = next(x for x in _text(park).splitlines() if "园区 P02" in x)
    assert "橙色" in park_line and "临时数据" not in park_line


def test_findings_about_a_provisional_month_are_labelled(tmp_path, smtp) -> None:
    con = _warehouse(tmp_path)
    send_digests(con, run_id=RUN_ID, day=DAY)
    # E3's daily-vs-monthly finding is about March (provisional); E4's declared-vs-metered about February
    e3 = _text(smtp.to("e3@ent.example.cn")[0])
    e3_line = next(x for x in e3.splitlines() if "daily_vs_monthly" in x)
    assert "【临时数据】" in e3_line and "2026-03" in e3_line
    e4 = _text(smtp.to("e4@ent.example.cn")[0])
    e4_line = next(x for x in e4.splitlines() if "declared_vs_metered" in x)
    assert "临时数据" not in e4_line and "2026-02" in e4_line
    # a day's finding (a meter's completeness) is about data, not a month's figure: no label
    e1 = _text(smtp.to("e1@ent.example.cn")[0])
    assert "临时数据" not in next(x for x in e1.splitlines() if "completeness_min" in x)


def test_english_readers_get_the_english_label(tmp_path, smtp, monkeypatch) -> None:
    monkeypatch.setenv("NENGTAN_ALERT_LANG_EN", "ent.example.cn")
    con = _warehouse(tmp_path)
    send_digests(con, run_id=RUN_ID, day=DAY)
    (e1,) = smtp.to("e1@ent.example.cn")
    assert e1["Subject"].strip().startswith("[Nengtan] 2026-03-20: 1 dual-control warnings")
    line = next(x for x in _text(e1).splitlines() if "energy use" in x)
    assert line.startswith("- [provisional] enterprise " + E1) and "red" in line, line
    assert "临时数据" not in _text(e1)


def test_a_warning_is_mailed_again_only_when_it_changes(tmp_path, smtp) -> None:
    con = _warehouse(tmp_path)
    send_digests(con, run_id=RUN_ID, day=DAY)
    assert len(smtp.to("e1@ent.example.cn")) == 1
    # the next night: the same red, still provisional — not mailed again (E1 has findings of its own
    # only on DAY, so no digest at all)
    nxt = DAY + timedelta(days=1)
    con.execute("UPDATE marts.dual_control_warnings SET as_of = ?", [nxt])
    send_digests(con, run_id="next_run", day=nxt)
    assert len(smtp.to("e1@ent.example.cn")) == 1
    # March's declarations are in: the same red is now final — mailed again, without the label
    con.execute("UPDATE marts.dual_control_warnings SET is_provisional = FALSE, as_of = ?",
                [nxt + timedelta(days=1)])
    send_digests(con, run_id="third_run", day=nxt + timedelta(days=1))
    mails = smtp.to("e1@ent.example.cn")
    assert len(mails) == 2
    line = next(x for x in _text(mails[1]).splitlines() if "能源消费总量" in x)
    assert "临时数据" not in line and "红色" in line


def test_no_relay_records_instead_of_failing(tmp_path, monkeypatch) -> None:
    """Without NENGTAN_SMTP_HOST (and no demo sink running) nothing is attempted against
    localhost:25: each digest is recorded as not sent for want of a relay, none as failed."""
    monkeypatch.setenv("NENGTAN_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("NENGTAN_ALERTS_ENABLED", "1")
    monkeypatch.delenv("NENGTAN_SMTP_HOST", raising=False)
    monkeypatch.delenv("NENGTAN_ALERT_WEBHOOKS", raising=False)
    con = _warehouse(tmp_path)
    result = send_digests(con, run_id=RUN_ID, day=DAY)
    assert result["failed"] == [] and result["not_sent"]
    statuses = con.execute("SELECT DISTINCT status, error FROM quality.alert_log").fetchall()
    assert [s for s, _ in statuses] == ["no_relay"] and "NENGTAN_SMTP_HOST" in statuses[0][1]


def test_the_cli_finds_a_running_demo_sink(tmp_path, monkeypatch) -> None:
    """A `nengtan` command in another terminal mails into the running demo's sink, and says so."""
    from nengtan.alerts import mail_sink
    from nengtan.alerts.email import send_email, smtp_settings

    monkeypatch.setenv("NENGTAN_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("NENGTAN_ALERTS_ENABLED", "1")
    monkeypatch.delenv("NENGTAN_SMTP_HOST", raising=False)
    folder = tmp_path / "data" / "mail"
    assert "no mail relay configured" in smtp_settings().describe()
    controller, port = mail_sink.start(folder)
    try:
        cfg = smtp_settings()
        assert (cfg.host, cfg.port) == ("127.0.0.1", port) and str(folder) in cfg.describe()
        send_email(["someone@ent.example.cn"], "测试", "正文")
        (eml,) = folder.glob("*.eml")
        assert "someone@ent.example.cn" in eml.name
    finally:
        mail_sink.stop(controller, folder)
    assert not (folder / mail_sink.STATE_FILE).exists()
    assert smtp_settings().host is None
