"""The monthly report DAG through real Airflow (dag.test on a migrated metadata DB): on the
schedule it picks the final months itself, with ``params.month`` it reports that month, and
on the real test city every report's figures equal the published marts, every PDF embeds
its fonts and the Chinese text extracts."""

from __future__ import annotations

import re
import subprocess
from datetime import date
from pathlib import Path

import duckdb
import pytest
from openpyxl import load_workbook

from nengtan.config import settings
from nengtan.orchestration.dag_runner import load_dag, prepare_airflow
from nengtan.report import archive
from nengtan.report.figures import Num
from nengtan.report.i18n import t
from nengtan.report.sample import build_sample_serving
from nengtan.report.snapshot import latest_complete_month


@pytest.fixture(scope="module")
def airflow_ready() -> None:
    prepare_airflow()


def _state(dagrun) -> str:
    return str(getattr(dagrun.state, "value", dagrun.state))


def test_dag_schedules_on_the_serving_asset_or_monthly(airflow_ready) -> None:
    from nengtan.orchestration.dag_support import SERVING

    dag = load_dag("nengtan_monthly_report")
    assert SERVING.uri in repr(dag.timetable.asset_condition)
    assert "0 6 3 * *" in repr(dag.timetable)
    assert dag.params["month"] == ""


def test_dag_reports_the_latest_complete_month_without_params(airflow_ready, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NENGTAN_DATA", str(tmp_path))
    monkeypatch.setenv("NENGTAN_ALERTS_ENABLED", "0")
    cfg = settings()
    build_sample_serving(cfg.serving_db, through=date(2026, 2, 28))
    dag = load_dag("nengtan_monthly_report")
    assert _state(dag.test(run_conf={"send": False})) == "success"
    assert [v for v, _ in archive.versions("2026-02", cfg)] == [1]
    # an explicit month (the lead's `nengtan report --month`) reports exactly that month
    # (with the extra "day" key the CLI's run_dag adds)
    assert _state(dag.test(run_conf={"month": "2026-01", "send": False, "day": "2026-01-01"})) == "success"
    manifest = archive.read_manifest(cfg.reports_dir / "2026-01" / "v1")
    assert manifest["month"] == "2026-01" and manifest["run_id"].startswith("manual__")
    # a bad month fails the run
    assert _state(dag.test(run_conf={"month": "2026-13", "send": False})) == "failed"


def test_real_city_reports_match_the_published_marts(airflow_ready, published_city) -> None:
    cfg = published_city
    month = latest_complete_month(cfg, today=date(2026, 12, 1))
    assert month == "2026-01"
    dag = load_dag("nengtan_monthly_report")
    assert _state(dag.test(run_conf={"month": month, "send": False})) == "success"
    latest = archive.latest(month, cfg)
    assert latest is not None
    version, vdir, manifest = latest
    con = duckdb.connect(str(cfg.serving_db), read_only=True)
    try:
        keys = [c for (c,) in con.execute(
            "SELECT credit_code FROM marts.dim_enterprises WHERE key_energy_user ORDER BY 1").fetchall()]
        rows = con.execute(
            "SELECT credit_code, energy_tce, scope1_co2_t, scope2_location_co2_t FROM marts.enterprise_carbon_monthly "
            "WHERE left(CAST(month AS VARCHAR), 7) = ?", [month]).fetchall()
        parks = con.execute(
            "SELECT park_id, energy_tce FROM marts.park_carbon_monthly WHERE left(CAST(month AS VARCHAR), 7) = ?",
            [month]).fetchall()
    finally:
        con.close()
    assert keys, "the test city has no key energy user"
    files = {(f.get("kind"), f.get("entity")) for f in manifest["files"]}
    assert {("enterprise", k) for k in keys} <= files
    from pypdf import PdfReader

    checked = 0
    for code, tce, s1, s2 in rows:
        if code not in keys:
            continue
        xlsx = Path(vdir) / "enterprise" / f"{code}.zh.xlsx"
        carbon = {r[0]: r for r in load_workbook(xlsx)[t("sheet.carbon", "zh")].iter_rows(min_row=3,
                                                                                          values_only=True)}
        assert carbon[t("row.energy_tce_net", "zh")][1] == (None if tce is None else round(float(tce), 3))
        assert carbon[t("row.scope1", "zh")][1] == (None if s1 is None else round(float(s1), 3))
        assert carbon[t("row.scope2_location", "zh")][1] == (None if s2 is None else round(float(s2), 3))
        text = "\n".join(p.extract_text() for p in PdfReader(str(Path(vdir) / "enterprise" / f"{code}.zh.pdf")).pages)
        assert Num(None if tce is None else float(tce), 3).text() in text
        checked += 1
    assert checked == len(keys)
    for park_id, tce in parks:
        totals = {r[0]: r for r in load_workbook(Path(vdir) / "park" / f"{park_id}.zh.xlsx")[t("sheet.headline", "zh")]
                  .iter_rows(min_row=3, values_only=True)}
        assert totals[t("row.energy_tce", "zh")][1] == round(float(tce), 3)
    # every PDF of the real city embeds its fonts, and its Chinese text comes out
    for entry in manifest["files"]:
        if not entry["file"].endswith(".pdf"):
            continue
        pdf = Path(vdir) / entry["file"]
        fonts = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True).stdout
        rows = [line.split() for line in fonts.splitlines()[2:] if line.strip()]
        assert rows and all(r[-5] == "yes" for r in rows), (pdf.name, fonts)
        text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
        assert re.sub(r"\s+", "", t(f"title.{entry['kind']}", "zh")) in re.sub(r"\s+", "", text), pdf.name
    city = subprocess.run(["pdftotext", str(next(Path(vdir).glob("city/*.zh.pdf"))), "-"], check=True,
                          capture_output=True, text=True).stdout
    assert "无锡市" in city and "320200" not in city
