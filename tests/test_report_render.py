"""Monthly reports rendered from a frozen snapshot: figures equal the marts in both PDF and
XLSX, re-rendering gives the same bytes, a restatement becomes version 2 with its changes
listed while version 1 stays untouched, and each report is mailed to its owner over SMTP.

Runs on a small serving copy built from numbers (nengtan.report.sample), so it needs no
pipeline run; tests/test_report_dag.py covers the real city through Airflow.
"""

from __future__ import annotations

import json
import socket
import subprocess
from datetime import date
from pathlib import Path

import duckdb
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from nengtan.config import settings
from nengtan.report import archive
from nengtan.report.figures import Num
from nengtan.report.i18n import t
from nengtan.report.run import load_reports, render_reports, run_monthly_report
from nengtan.report.sample import build_sample_serving
from nengtan.report.snapshot import find_snapshot, freeze_snapshot, latest_complete_month

MONTH = "2026-03"


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("report-data")


@pytest.fixture()
def cfg(data_root: Path, monkeypatch):
    monkeypatch.setenv("NENGTAN_DATA", str(data_root))
    monkeypatch.setenv("NENGTAN_ALERTS_ENABLED", "0")
    cfg = settings()
    if not cfg.serving_db.exists():
        build_sample_serving(cfg.serving_db, through=date(2026, 3, 31))
    return cfg


@pytest.fixture()
def v1(cfg) -> dict:
    """Version 1 of the month (made once per module; later calls find it unchanged)."""
    return run_monthly_report(MONTH, run_id="test-v1", send=False, cfg=cfg)


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(str(path)).pages)


def sheet_row(path: Path, sheet: str, label: str) -> list:
    ws = load_workbook(path)[sheet]
    for row in ws.iter_rows(min_row=3, values_only=True):
        if row[0] == label:
            return list(row)
    raise AssertionError(f"{path.name}:{sheet} has no row {label!r}")


def mart(cfg, sql: str, params: list | None = None):
    con = duckdb.connect(str(cfg.serving_db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_latest_complete_month_is_the_last_closed_month_covered(cfg) -> None:
    assert latest_complete_month(cfg, today=date(2026, 4, 11)) == "2026-03"
    assert latest_complete_month(cfg, today=date(2026, 3, 20)) == "2026-02"


def test_first_run_writes_version_1_with_a_manifest(cfg, v1) -> None:
    assert v1["version"] == 1
    manifest = archive.read_manifest(Path(v1["dir"]))
    assert manifest["snapshot_id"] == v1["snapshot_id"]
    assert (cfg.snapshots_dir / MONTH / f"{v1['snapshot_id']}.duckdb").exists()
    key_users = mart(cfg, "SELECT credit_code FROM marts.dim_enterprises WHERE key_energy_user ORDER BY 1")
    parks = mart(cfg, "SELECT park_id FROM marts.dim_parks ORDER BY 1")
    kinds = {(f["kind"], f["entity"]) for f in manifest["files"]}
    assert {("enterprise", c) for (c,) in key_users} | {("park", p) for (p,) in parks} <= kinds
    assert ("enterprise", mart(cfg, "SELECT credit_code FROM marts.dim_enterprises WHERE NOT key_energy_user "
                                    "LIMIT 1")[0][0]) not in kinds
    for entry in manifest["files"]:
        path = Path(v1["dir"]) / entry["file"]
        assert archive.sha256_file(path) == entry["sha256"]
        assert entry["snapshot_id"] == v1["snapshot_id"] and entry["version"] == 1
        assert entry["run_id"] == "test-v1"


def test_enterprise_figures_in_pdf_and_xlsx_equal_the_marts(cfg, v1) -> None:
    vdir = Path(v1["dir"])
    rows = mart(cfg, "SELECT c.credit_code, c.energy_tce, c.scope1_co2_t, c.scope2_location_co2_t, "
                     "c.scope2_market_co2_t, c.energy_intensity, c.gap_pct_natural_gas "
                     "FROM marts.enterprise_carbon_monthly c JOIN marts.dim_enterprises USING (credit_code) "
                     "WHERE key_energy_user AND month = DATE '2026-03-01' ORDER BY 1")
    assert len(rows) == 4
    for code, tce, s1, s2l, s2m, intensity, gap in rows:
        pdf, xlsx = vdir / "enterprise" / f"{code}.zh.pdf", vdir / "enterprise" / f"{code}.zh.xlsx"
        text = pdf_text(pdf)
        for value, decimals in ((tce, 3), (s1, 3), (s2l, 3), (s2m, 3), (s1 + s2l, 3), (intensity, 4),
                                (gap, 2)):
            assert Num(value, decimals).text() in text, (code, value)
        assert code in text
        carbon = {r[0]: r for r in load_workbook(xlsx)["carbon"].iter_rows(min_row=3, values_only=True)}
        assert carbon[t("row.energy_tce", "zh")][1] == round(tce, 3)
        assert carbon[t("row.scope1", "zh")][1] == round(s1, 3)
        assert carbon[t("row.scope2_location", "zh")][1] == round(s2l, 3)
        assert carbon[t("row.scope2_market", "zh")][1] == round(s2m, 3)
        ((ytd,),) = mart(cfg, "SELECT sum(energy_tce) FROM marts.enterprise_carbon_monthly "
                              "WHERE credit_code = ? AND month <= DATE '2026-03-01'", [code])
        assert carbon[t("row.energy_tce", "zh")][2] == round(ytd, 3)
        # energy by type: the month's metered electricity in kWh
        ((kwh,),) = mart(cfg, "SELECT sum(quantity) FROM marts.enterprise_energy_daily WHERE credit_code = ? "
                              "AND energy_type = 'electricity' AND day BETWEEN '2026-03-01' AND '2026-03-31'",
                         [code])
        assert sheet_row(xlsx, "energy", t("energy.electricity", "zh"))[3] == round(kwh, 3)
        assert Num(kwh, 3).text() in text
        # warning level at month end
        ((ratio, level),) = mart(cfg, "SELECT ratio, warning_level FROM marts.dual_control_warnings WHERE "
                                      "level = 'enterprise' AND entity_id = ? AND metric = 'energy' AND "
                                      "as_of = DATE '2026-03-31'", [code])
        budget = sheet_row(xlsx, "budget", t("metric.energy", "zh"))
        assert budget[5] == round(ratio, 4) and budget[6] == t(f"level.{level}", "zh")
        assert Num(ratio, 4).text() in text


def test_park_and_city_summaries_equal_the_marts_and_list_warned_enterprises(cfg, v1) -> None:
    vdir = Path(v1["dir"])
    for park_id, tce, ytd in mart(cfg, "SELECT park_id, energy_tce, ytd_energy_tce FROM marts.park_carbon_monthly "
                                       "WHERE month = DATE '2026-03-01'"):
        text = pdf_text(vdir / "park" / f"{park_id}.zh.pdf")
        assert Num(tce, 3).text() in text and Num(ytd, 3).text() in text
        totals = sheet_row(vdir / "park" / f"{park_id}.zh.xlsx", "totals", t("row.energy_tce", "zh"))
        assert totals[1:3] == [round(tce, 3), round(ytd, 3)]
        warned = mart(cfg, "SELECT DISTINCT w.entity_id FROM marts.dual_control_warnings w JOIN "
                           "marts.dim_enterprises e ON e.credit_code = w.entity_id WHERE w.level = 'enterprise' "
                           "AND as_of = DATE '2026-03-31' AND warning_level <> 'green' AND e.park_id = ?", [park_id])
        ws = load_workbook(vdir / "park" / f"{park_id}.zh.xlsx")["warned"]
        listed = {r[0] for r in ws.iter_rows(min_row=3, values_only=True) if r[0]}
        assert listed == {w for (w,) in warned}
    ((city_id, tce),) = mart(cfg, "SELECT city_id, energy_tce FROM marts.city_carbon_monthly "
                                  "WHERE month = DATE '2026-03-01'")
    assert Num(tce, 3).text() in pdf_text(vdir / "city" / f"{city_id}.zh.pdf")


def test_rerendering_the_snapshot_gives_identical_bytes(cfg, v1, tmp_path) -> None:
    snap = find_snapshot(MONTH, v1["snapshot_id"], cfg)
    first = render_reports(load_reports(snap, MONTH, cfg), tmp_path / "a", language="zh", version=1,
                           snapshot_id=v1["snapshot_id"])
    manifest = {e["file"]: e["sha256"] for e in archive.read_manifest(Path(v1["dir"]))["files"]}
    for _report, pdf, xlsx in first:
        for path in (pdf, xlsx):
            assert archive.sha256_file(path) == manifest[path.relative_to(tmp_path / "a").as_posix()]
    # freezing again gives the same snapshot id; running again writes nothing new
    assert freeze_snapshot(MONTH, cfg).snapshot_id == v1["snapshot_id"]
    again = run_monthly_report(MONTH, run_id="test-again", send=False, cfg=cfg)
    assert (again["version"], again["changed"]) == (1, False)
    assert [v for v, _ in archive.versions(MONTH, cfg)] == [1]


def test_first_page_renders_as_a_non_blank_image(v1, tmp_path) -> None:
    from PIL import Image

    pdf = next(Path(v1["dir"]).glob("enterprise/*.zh.pdf"))
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                   check=True)
    (png,) = tmp_path.glob("page*.png")
    img = Image.open(png).convert("L")
    dark = sum(img.histogram()[:128])
    assert img.width > 300 and dark > 0.005 * img.width * img.height


def test_english_reports_are_added_to_the_same_version(cfg, v1) -> None:
    en = run_monthly_report(MONTH, run_id="test-en", language="en", send=False, cfg=cfg)
    assert (en["version"], en["changed"]) == (1, False)
    pdf = next(Path(en["dir"]).glob("city/*.en.pdf"))
    assert t("title.city", "en") in pdf_text(pdf)
    langs = {f.get("language") for f in archive.read_manifest(Path(en["dir"]))["files"]}
    assert {"zh", "en"} <= langs


def test_a_late_correction_becomes_version_2_and_v1_is_untouched(cfg, v1) -> None:
    v1_manifest = archive.read_manifest(Path(v1["dir"]))
    code = mart(cfg, "SELECT min(credit_code) FROM marts.dim_enterprises WHERE key_energy_user")[0][0]
    ((old,),) = mart(cfg, "SELECT energy_tce FROM marts.enterprise_carbon_monthly WHERE credit_code = ? "
                          "AND month = DATE '2026-03-01'", [code])
    # data of a later month must not restate March
    con = duckdb.connect(str(cfg.serving_db))
    con.execute("INSERT INTO marts.enterprise_carbon_monthly SELECT * REPLACE (DATE '2026-04-01' AS month) "
                "FROM marts.enterprise_carbon_monthly WHERE month = DATE '2026-03-01'")
    con.close()
    assert run_monthly_report(MONTH, run_id="test-april", send=False, cfg=cfg)["version"] == 1
    # nor does a new contact address: no figure changes, so no new version
    con = duckdb.connect(str(cfg.serving_db))
    con.execute("UPDATE marts.dim_enterprises SET contact_email = 'new@ent.example' WHERE credit_code = ?", [code])
    con.close()
    same = run_monthly_report(MONTH, run_id="test-contact", send=False, cfg=cfg)
    assert (same["version"], same["changed"], same["snapshot_id"]) == (1, False, v1["snapshot_id"])
    # the restatement: a corrected March figure lands in the serving copy
    con = duckdb.connect(str(cfg.serving_db))
    con.execute("UPDATE marts.enterprise_carbon_monthly SET energy_tce = energy_tce + 12.5 "
                "WHERE credit_code = ? AND month = DATE '2026-03-01'", [code])
    con.close()
    v2 = run_monthly_report(MONTH, run_id="test-v2", send=False, cfg=cfg)
    assert (v2["version"], v2["changed"]) == (2, True)
    assert v2["snapshot_id"] != v1["snapshot_id"]
    changes = json.loads((Path(v2["dir"]) / "changes.json").read_text())
    mine = {c["figure"]: c for c in changes if c["entity"] == code}
    assert mine["carbon/energy_tce/month"]["old"] == round(old, 3)
    assert mine["carbon/energy_tce/month"]["new"] == round(old + 12.5, 3)
    assert all(c["entity"] == code for c in changes if c["kind"] == "enterprise")
    assert Num(old + 12.5, 3).text() in pdf_text(Path(v2["dir"]) / "enterprise" / f"{code}.zh.pdf")
    assert t("sec.changes", "zh") in pdf_text(Path(v2["dir"]) / "enterprise" / f"{code}.zh.pdf")
    # version 1 is exactly as it was
    assert archive.read_manifest(Path(v1["dir"])) == v1_manifest
    for entry in v1_manifest["files"]:
        assert archive.sha256_file(Path(v1["dir"]) / entry["file"]) == entry["sha256"]
    assert archive.read_manifest(Path(v2["dir"]))["previous"] == {"version": 1, "snapshot_id": v1["snapshot_id"]}


def test_reports_are_mailed_to_their_owners(tmp_path, monkeypatch) -> None:
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self) -> None:
            self.messages: list = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
            self.messages.append(envelope)
            return "250 OK"

    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        monkeypatch.setenv("NENGTAN_DATA", str(tmp_path))
        monkeypatch.setenv("NENGTAN_ALERTS_ENABLED", "1")
        monkeypatch.setenv("NENGTAN_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("NENGTAN_SMTP_PORT", str(port))
        monkeypatch.setenv("NENGTAN_ONCALL_EMAIL", "city-oncall@nengtan.example")
        cfg = settings()
        build_sample_serving(cfg.serving_db, through=date(2026, 2, 28))
        result = run_monthly_report("2026-02", run_id="test-mail", cfg=cfg)
        assert result["sent"]["sent"] == 4 + 2 + 1 and result["sent"]["failed"] == 0
        to = sorted(rcpt for env in inbox.messages for rcpt in env.rcpt_tos)
        assert "energy1@ent.example" in to and "p01@park.example" in to and "city-oncall@nengtan.example" in to
        assert "energy5@ent.example" not in to  # not a key energy user
        mail = next(e for e in inbox.messages if "energy1@ent.example" in e.rcpt_tos).content
        assert b".zh.pdf" in mail and b".zh.xlsx" in mail
        # a rerun of an unchanged month sends nothing again
        inbox.messages.clear()
        again = run_monthly_report("2026-02", run_id="test-mail-2", cfg=cfg)
        assert again["changed"] is False and inbox.messages == []
    finally:
        controller.stop()
