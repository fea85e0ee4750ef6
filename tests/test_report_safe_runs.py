"""Safe report runs: a month without data is refused with a non-zero exit and nothing is sent;
a month that is not final (declarations outstanding, deadline not passed) is refused unless
a provisional edition is asked for, which stamps every page and mails no one unless asked;
the deadline is configuration; a final month still stamps the reports whose marts say
provisional. Mail goes through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from openpyxl import load_workbook
from pypdf import PdfReader

from nengtan.config import REPO_ROOT, settings
from nengtan.netutil import free_port
from nengtan.report import ReportRefused, archive, declaration_deadline, month_readiness, run_monthly_report
from nengtan.report.i18n import t
from nengtan.report.sample import build_sample_serving

STAMP = "临时数据 / PROVISIONAL"


class Inbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture()
def smtp(monkeypatch):
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("NENGTAN_ALERTS_ENABLED", "1")
    monkeypatch.setenv("NENGTAN_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("NENGTAN_SMTP_PORT", str(port))
    monkeypatch.setenv("NENGTAN_ONCALL_EMAIL", "city-oncall@nengtan.example")
    yield inbox
    controller.stop()


@pytest.fixture()
def serving(tmp_path, monkeypatch):
    """A sample city through March 2026, published through 10 April, two March declarations missing."""
    monkeypatch.setenv("NENGTAN_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("NENGTAN_DECLARATION_DEADLINE_DAY", raising=False)
    cfg = settings()
    build_sample_serving(cfg.serving_db, through=date(2026, 3, 31), outstanding=2)
    return cfg


def report_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nengtan.report", *args], cwd=REPO_ROOT, env=dict(os.environ),
                          capture_output=True, text=True, timeout=600)


def test_a_month_without_data_exits_non_zero_and_sends_nothing(serving, smtp) -> None:
    assert month_readiness(serving, "2024-06").has_data is False
    done = report_cli("--month", "2024-06", "--mail")
    assert done.returncode != 0, done.stdout
    assert "2024-06" in done.stderr and "no data" in done.stderr
    assert smtp.messages == []
    assert not (serving.reports_dir / "2024-06").exists()
    assert not (serving.reports_dir / "provisional" / "2024-06").exists()
    # provisional does not make data appear
    assert report_cli("--month", "2024-06", "--provisional").returncode != 0
    assert smtp.messages == []


def test_a_month_not_final_is_refused_without_provisional(serving, smtp) -> None:
    ready = month_readiness(serving, "2026-03")
    assert (ready.has_data, ready.final, ready.outstanding) == (True, False, 2)
    assert ready.deadline == date(2026, 4, 15)
    assert any("2026-04-15" in r and "2 of 6" in r for r in ready.reasons), ready.reasons
    with pytest.raises(ReportRefused, match="not final"):
        run_monthly_report("2026-03", run_id="test-refused", cfg=serving)
    done = report_cli("--month", "2026-03")
    assert done.returncode != 0 and "--provisional" in done.stderr
    assert smtp.messages == []
    assert archive.versions("2026-03", serving) == []
    # the month before is final: its declarations are all in
    assert month_readiness(serving, "2026-02").final


def test_provisional_edition_stamps_every_page_and_mails_no_one(serving, smtp) -> None:
    done = report_cli("--month", "2026-03", "--provisional")
    assert done.returncode == 0, done.stderr
    assert "PROVISIONAL" in done.stdout and "not mailed" in done.stdout
    assert smtp.messages == []
    assert archive.versions("2026-03", serving) == []  # the final archive holds only final figures
    vdir = serving.reports_dir / "provisional" / "2026-03" / "v1"
    pdfs, xlsxs = sorted(vdir.glob("*/*.pdf")), sorted(vdir.glob("*/*.xlsx"))
    assert len(pdfs) == len(xlsxs) == 4 + 2 + 1
    for pdf in pdfs:
        pages = len(PdfReader(str(pdf)).pages)
        assert pages >= 2
        for page in range(1, pages + 1):
            text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-"], check=True,
                                  capture_output=True, text=True).stdout
            assert STAMP in text, (pdf.name, page)
    for xlsx in xlsxs:
        for ws in load_workbook(xlsx).worksheets:
            assert ws.oddHeader.center.text == STAMP, (xlsx.name, ws.title)
            assert STAMP in [c.value for c in ws[1]], (xlsx.name, ws.title)


def test_provisional_edition_is_mailed_only_when_asked(serving, smtp) -> None:
    result = run_monthly_report("2026-03", run_id="test-prov-mail", provisional=True, mail=True, cfg=serving)
    assert result["provisional"] and result["sent"]["sent"] == 4 + 2 + 1
    subjects = [env.content for env in smtp.messages]
    assert all(b"PROVISIONAL" in s or "临时数据".encode() in s or b"=?utf-8?" in s.lower() for s in subjects)
    import email
    from email import policy

    parsed = [email.message_from_bytes(env.content, policy=policy.default) for env in smtp.messages]
    assert all(str(m["Subject"]).startswith("【临时数据】") for m in parsed), [m["Subject"] for m in parsed]


def test_the_deadline_is_configuration(serving, monkeypatch) -> None:
    assert declaration_deadline("2026-03") == date(2026, 4, 15)
    assert declaration_deadline("2026-12") == date(2027, 1, 15)
    monkeypatch.setenv("NENGTAN_DECLARATION_DEADLINE_DAY", "5")
    assert declaration_deadline("2026-03") == date(2026, 4, 5)
    # published through 10 April: the deadline of the 5th has passed, so March is final and
    # the two missing declarations are overdue
    ready = month_readiness(settings(), "2026-03")
    assert ready.final and ready.outstanding == 2 and any("overdue" in n for n in ready.notes)
    assert not month_readiness(settings(), "2026-03", today=date(2026, 4, 5)).final
    monkeypatch.setenv("NENGTAN_DECLARATION_DEADLINE_DAY", "x")
    with pytest.raises(ValueError, match="NENGTAN_DECLARATION_DEADLINE_DAY"):
        declaration_deadline("2026-03")


def test_a_final_month_stamps_the_reports_the_marts_flag_provisional(serving, monkeypatch) -> None:
    monkeypatch.setenv("NENGTAN_DECLARATION_DEADLINE_DAY", "5")
    monkeypatch.setenv("NENGTAN_ALERTS_ENABLED", "0")
    result = run_monthly_report("2026-03", run_id="test-overdue", mail=False, cfg=settings())
    assert result["provisional"] is False and result["version"] == 1
    vdir = Path(result["dir"])
    import duckdb

    con = duckdb.connect(str(serving.serving_db), read_only=True)
    flags = dict(con.execute("SELECT c.credit_code, c.is_provisional FROM marts.enterprise_carbon_monthly c "
                             "JOIN marts.dim_enterprises e USING (credit_code) WHERE e.key_energy_user "
                             "AND month = DATE '2026-03-01'").fetchall())
    con.close()
    assert sorted(flags.values()) == [False, False, True, True]
    for code, provisional in flags.items():
        text = subprocess.run(["pdftotext", str(vdir / "enterprise" / f"{code}.zh.pdf"), "-"], check=True,
                              capture_output=True, text=True).stdout
        assert (STAMP in text) is provisional, code
        status = load_workbook(vdir / "enterprise" / f"{code}.zh.xlsx")[t("sheet.info", "zh")]
        values = {r[0]: r[1] for r in status.iter_rows(values_only=True) if r and r[0]}
        assert values[t("meta.status", "zh")] == t("status.provisional" if provisional else "status.final", "zh")
    city = subprocess.run(["pdftotext", str(vdir / "city" / "320200.zh.pdf"), "-"], check=True,
                          capture_output=True, text=True).stdout
    assert STAMP in city  # a city-month is provisional while any of its enterprise-months is
