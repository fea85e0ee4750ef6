"""Monthly reports rendered from a frozen snapshot: figures equal the marts in both PDF and
XLSX, re-rendering gives the same bytes, a restatement becomes version 2 with its changes
listed while version 1 stays untouched, and each report is mailed to its owner over SMTP.
Every PDF embeds its fonts and its Chinese text extracts; warning levels are the mart's;
the sections a regulator files are there, in the edition's language, with names, not codes.

Runs on a small serving copy built from numbers (nengtan.report.sample), so it needs no
pipeline run; tests/test_report_dag.py covers the real city through Airflow, and
tests/test_report_safe_runs.py the refused and provisional runs.
"""

from __future__ import annotations

import json
import re
import subprocess
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest
from aiosmtpd.controller import Controller
from openpyxl import load_workbook
from pypdf import PdfReader

from nengtan.config import settings
from nengtan.netutil import free_port
from nengtan.report import archive
from nengtan.report.figures import Num
from nengtan.report.i18n import t
from nengtan.report.places import DIVISIONS
from nengtan.report.run import load_reports, render_reports, run_monthly_report
from nengtan.report.sample import build_sample_serving
from nengtan.report.snapshot import find_snapshot, freeze_snapshot, latest_complete_month
from nengtan.report.xlsx import display_width

MONTH = "2026-03"
CITY = "320200"
# Keys and codes that must never reach a page: they are translated or named.
RAW_KEYS = ("tce_basis", "factor_kind", "factor_key", "natural_gas", "energy_conversion", "equal_value",
            "scope2_location", "warning_level", "declaration_status", "on_time", "is_provisional",
            "first computation", "green_mwh", "energy_tce", "national_excl", "_feedstock", "key_energy_user",
            "compliance_gap", "cross_check", "ccer_", "intensity_reduction")
# Codes of the carbon-market and assessment marts: a sector, a list, a warning level.
CARBON_CODES = ("power", "steel", "cement", "aluminium", "ets", "key_energy_user", "red", "orange", "yellow", "green")


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
    return run_monthly_report(MONTH, run_id="test-v1", mail=False, cfg=cfg)


@pytest.fixture()
def v1_en(cfg, v1) -> dict:
    return run_monthly_report(MONTH, run_id="test-en", language="en", mail=False, cfg=cfg)


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(str(path)).pages)


def poppler_text(path: Path) -> str:
    """Text as poppler extracts it (what a viewer without CJK packs can read)."""
    return subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def sheet(path: Path, key: str, language: str = "zh"):
    return load_workbook(path)[t(f"sheet.{key}", language)]


def sheet_row(path: Path, key: str, label: str, language: str = "zh") -> list:
    for row in sheet(path, key, language).iter_rows(min_row=3, values_only=True):
        if row[0] == label:
            return list(row)
    raise AssertionError(f"{path.name}:{key} has no row {label!r}")


def mart(cfg, sql: str, params: list | None = None):
    con = duckdb.connect(str(cfg.serving_db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def report_files(vdir: Path, language: str) -> dict[str, Path]:
    """One PDF of each kind: an enterprise, a park, the city."""
    return {"enterprise": sorted((vdir / "enterprise").glob(f"*.{language}.pdf"))[0],
            "park": sorted((vdir / "park").glob(f"*.{language}.pdf"))[0],
            "city": vdir / "city" / f"{CITY}.{language}.pdf"}


def test_latest_complete_month_is_the_last_closed_month_covered(cfg) -> None:
    assert latest_complete_month(cfg, today=date(2026, 4, 11)) == "2026-03"
    assert latest_complete_month(cfg, today=date(2026, 3, 20)) == "2026-02"


def test_first_run_writes_version_1_with_a_manifest(cfg, v1) -> None:
    assert v1["version"] == 1 and v1["provisional"] is False
    manifest = archive.read_manifest(Path(v1["dir"]))
    assert manifest["snapshot_id"] == v1["snapshot_id"]
    assert (cfg.snapshots_dir / MONTH / f"{v1['snapshot_id']}.duckdb").exists()
    key_users = mart(cfg, "SELECT credit_code FROM marts.dim_enterprises WHERE key_energy_user ORDER BY 1")
    parks = mart(cfg, "SELECT park_id FROM marts.dim_parks ORDER BY 1")
    kinds = {(f["kind"], f["entity"]) for f in manifest["files"]}
    assert {("enterprise", c) for (c,) in key_users} | {("park", p) for (p,) in parks} | {("city", CITY)} <= kinds
    assert ("enterprise", mart(cfg, "SELECT credit_code FROM marts.dim_enterprises WHERE NOT key_energy_user "
                                    "LIMIT 1")[0][0]) not in kinds
    for entry in manifest["files"]:
        path = Path(v1["dir"]) / entry["file"]
        assert archive.sha256_file(path) == entry["sha256"]
        assert entry["snapshot_id"] == v1["snapshot_id"] and entry["version"] == 1
        assert entry["run_id"] == "test-v1"


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_font_is_embedded_and_the_text_extracts(v1, v1_en, language) -> None:
    """pdffonts: every font embedded (a subset); pdftotext: the title and the names come out."""
    vdir = Path(v1["dir"])
    for kind, pdf in report_files(vdir, language).items():
        fonts = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True).stdout
        rows = [line.split() for line in fonts.splitlines()[2:] if line.strip()]
        assert rows, f"{pdf.name}: no font at all"
        for row in rows:
            emb, sub = row[-5], row[-4]
            assert (emb, sub) == ("yes", "yes"), f"{pdf.name}: font {row[0]} not embedded as a subset"
        text = poppler_text(pdf)
        assert squeeze(t(f"title.{kind}", language)) in squeeze(text), (pdf.name, kind)
        if language == "zh":
            assert len(re.findall(r"[\u4e00-\u9fff]", text)) > 500, pdf.name
            for needed in ("环比", "同比", "去年同期累计", "当量值", "等价值", "填表人", "审核人", "单位负责人"):
                assert needed in squeeze(text), (pdf.name, needed)
        else:
            # the English edition is English throughout, but for names the registry gives
            # only in Chinese (districts) and the bilingual provisional stamp
            districts = {d for (d,) in mart(settings(), "SELECT district FROM marts.dim_parks")}
            leftover = re.sub("|".join(districts), "", text)
            assert not re.findall(r"[\u4e00-\u9fff]", leftover), pdf.name
            for needed in ("MoM", "YoY", "Same period last year", "equivalent value", "equal value",
                           "Prepared by", "Reviewed by", "Approved by"):
                assert squeeze(needed) in squeeze(text), (pdf.name, needed)
    city = poppler_text(vdir / "city" / f"{CITY}.{language}.pdf")
    assert ("无锡市" if language == "zh" else "Wuxi") in city
    assert CITY not in city  # the city is named, not coded


@pytest.mark.parametrize("language", ["zh", "en"])
def test_no_raw_key_reaches_a_page(v1, v1_en, language) -> None:
    for pdf in sorted(Path(v1["dir"]).glob(f"*/*.{language}.pdf")):
        text = poppler_text(pdf)
        leaked = [k for k in RAW_KEYS if k in text]
        assert not leaked, (pdf.name, leaked)


def test_every_report_has_data_quality_factor_sources_and_sign_off(v1, v1_en) -> None:
    for language in ("zh", "en"):
        for pdf in sorted(Path(v1["dir"]).glob(f"*/*.{language}.pdf")):
            text = squeeze(poppler_text(pdf))
            for key in ("sec.gaps", "sec.completeness", "sec.findings", "sec.factors", "sec.coverage",
                        "sec.budget", "sec.signoff", "sec.energy", "sec.shares"):
                assert squeeze(t(key, language)) in text, (pdf.name, key)
    # the factor sources name the documents in the edition's language
    city = squeeze(poppler_text(Path(v1["dir"]) / "city" / f"{CITY}.zh.pdf"))
    assert "生态环境部、国家统计局关于发布2023年电力二氧化碳排放因子的公告" in city
    assert "GB/T2589-2020《综合能耗计算通则》" in city


def test_enterprise_figures_in_pdf_and_xlsx_equal_the_marts(cfg, v1) -> None:
    vdir = Path(v1["dir"])
    rows = mart(cfg, "SELECT c.credit_code, c.energy_tce, c.scope1_co2_t, c.scope2_location_co2_t, "
                     "c.scope2_market_co2_t, c.co2_t, c.energy_intensity, c.gap_pct_natural_gas "
                     "FROM marts.enterprise_carbon_monthly c JOIN marts.dim_enterprises USING (credit_code) "
                     "WHERE key_energy_user AND month = DATE '2026-03-01' ORDER BY 1")
    assert len(rows) == 4
    for code, tce, s1, s2l, s2m, co2, intensity, gap in rows:
        pdf, xlsx = vdir / "enterprise" / f"{code}.zh.pdf", vdir / "enterprise" / f"{code}.zh.xlsx"
        text = pdf_text(pdf)
        for value, decimals in ((tce, 3), (s1, 3), (s2l, 3), (s2m, 3), (co2, 3), (intensity, 4)):
            assert Num(value, decimals).text() in text, (code, value)
        assert Num(gap / 100, 2, pct=True).text() in text
        assert code in text
        carbon = {r[0]: r for r in sheet(xlsx, "carbon").iter_rows(min_row=3, values_only=True)}
        assert carbon[t("row.energy_tce_net", "zh")][1] == round(tce, 3)
        assert carbon[t("row.scope1", "zh")][1] == round(s1, 3)
        assert carbon[t("row.scope2_location", "zh")][1] == round(s2l, 3)
        assert carbon[t("row.scope2_market", "zh")][1] == round(s2m, 3)
        ((ytd,),) = mart(cfg, "SELECT sum(energy_tce) FROM marts.enterprise_carbon_monthly "
                              "WHERE credit_code = ? AND month BETWEEN DATE '2026-01-01' AND DATE '2026-03-01'",
                         [code])
        assert carbon[t("row.energy_tce_net", "zh")][2] == round(ytd, 3)
        # headline: this month, last month, MoM, same month last year, YoY, YTD, YTD last year, YTD YoY
        ((prev,), (ly,), (ytd_ly,)) = [mart(cfg, "SELECT sum(energy_tce) FROM marts.enterprise_carbon_monthly "
                                                 "WHERE credit_code = ? AND month BETWEEN ? AND ?", [code, a, b])[0]
                                       for a, b in ((date(2026, 2, 1),) * 2, (date(2025, 3, 1),) * 2,
                                                    (date(2025, 1, 1), date(2025, 3, 1)))]
        head = sheet_row(xlsx, "headline", t("row.energy_tce", "zh"))
        assert head[1:] == [round(tce, 3), round(prev, 3), round(tce / prev - 1, 3), round(ly, 3),
                            round(tce / ly - 1, 3), round(ytd, 3), round(ytd_ly, 3), round(ytd / ytd_ly - 1, 3)]
        # the energy balance as the mart states it: purchases are not a copy of consumption
        balance = mart(cfg, "SELECT energy_type, purchased_qty, consumed_qty, stock_end_qty, "
                            "consumed_tce, consumed_tce_equal_value FROM marts.energy_balance_monthly "
                            "WHERE credit_code = ? AND month = DATE '2026-03-01'", [code])
        for et, purchased, consumed, stock, tce_eq, tce_ev in balance:
            row = sheet_row(xlsx, "energy", t(f"energy.{et}", "zh"))
            assert row[2:4] == [round(purchased, 3), round(consumed, 3)]
            assert row[5] == (None if stock is None else round(stock, 3))
            assert row[6:8] == [round(tce_eq, 3), round(tce_ev, 3)]
        # warning level at month end, as the mart states it
        ((ratio, level, label),) = mart(cfg, "SELECT ratio, warning_level, label_zh FROM marts.dual_control_warnings "
                                             "WHERE level = 'enterprise' AND entity_id = ? AND metric = 'energy' AND "
                                             "as_of = DATE '2026-03-31'", [code])
        budget = sheet_row(xlsx, "budget", t("metric.energy", "zh"))
        assert budget[5] == round(ratio, 3) and budget[6] == label
        assert isinstance(budget[1], datetime) and budget[1].date() == date(2026, 3, 31)


def test_coal_stock_and_purchases_follow_the_declared_stocks(cfg, v1) -> None:
    """Raw coal of the chemical plant: purchased = consumed + stock change, from the mart."""
    ((code,),) = mart(cfg, "SELECT DISTINCT credit_code FROM marts.energy_balance_monthly WHERE energy_type = "
                           "'raw_coal'")
    row = sheet_row(Path(v1["dir"]) / "enterprise" / f"{code}.zh.xlsx", "energy", t("energy.raw_coal", "zh"))
    ((stock_before,),) = mart(cfg, "SELECT stock_end_qty FROM marts.energy_balance_monthly WHERE credit_code = ? "
                                   "AND energy_type = 'raw_coal' AND month = DATE '2026-02-01'", [code])
    purchased, consumed, stock = row[2], row[3], row[5]
    assert purchased != consumed
    assert purchased == pytest.approx(consumed + stock - stock_before)
    shares = sheet_row(Path(v1["dir"]) / "enterprise" / f"{code}.zh.xlsx", "shares", t("row.coal_share", "zh"))
    ((coal, total),) = mart(cfg, "SELECT sum(consumed_tce) FILTER (WHERE energy_type = 'raw_coal'), "
                                 "sum(consumed_tce) FROM marts.energy_balance_monthly "
                                 "WHERE credit_code = ? AND month = DATE '2026-03-01'", [code])
    assert shares[1] == round(coal / total, 4)


def test_park_and_city_summaries_equal_the_marts_and_list_warned_enterprises(cfg, v1) -> None:
    vdir = Path(v1["dir"])
    for park_id, tce in mart(cfg, "SELECT park_id, energy_tce FROM marts.park_carbon_monthly "
                                  "WHERE month = DATE '2026-03-01'"):
        ((ytd,),) = mart(cfg, "SELECT sum(energy_tce) FROM marts.park_carbon_monthly WHERE park_id = ? "
                              "AND month BETWEEN DATE '2026-01-01' AND DATE '2026-03-01'", [park_id])
        text = pdf_text(vdir / "park" / f"{park_id}.zh.pdf")
        assert Num(tce, 3).text() in text and Num(ytd, 3).text() in text
        head = sheet_row(vdir / "park" / f"{park_id}.zh.xlsx", "headline", t("row.energy_tce", "zh"))
        assert (head[1], head[6]) == (round(tce, 3), round(ytd, 3))
        # on alert: every enterprise-metric of the park above the lowest level, by the mart
        warned = mart(cfg, "SELECT w.entity_id, w.metric, w.label_zh FROM marts.dual_control_warnings w JOIN "
                           "marts.dim_enterprises e ON e.credit_code = w.entity_id WHERE w.level = 'enterprise' "
                           "AND as_of = DATE '2026-03-31' AND warning_level <> 'green' AND e.park_id = ?", [park_id])
        names = dict(mart(cfg, "SELECT credit_code, name_zh FROM marts.dim_enterprises"))
        ws = sheet(vdir / "park" / f"{park_id}.zh.xlsx", "warned")
        listed = {(r[0], r[2], r[6]) for r in ws.iter_rows(min_row=3, values_only=True) if r[1]}
        assert listed == {(names[e], t(f"metric.{m}", "zh"), label) for e, m, label in warned}
        # counts by level: enterprises at their worst level
        counts = {r[0]: r[1] for r in sheet(vdir / "park" / f"{park_id}.zh.xlsx", "warning_counts")
                  .iter_rows(min_row=3, values_only=True) if r[1] is not None}
        assert sum(counts.values()) == len({e for (e,) in mart(
            cfg, "SELECT DISTINCT entity_id FROM marts.dual_control_warnings w JOIN marts.dim_enterprises e "
                 "ON e.credit_code = w.entity_id WHERE level = 'enterprise' AND as_of = DATE '2026-03-31' "
                 "AND e.park_id = ?", [park_id])})
    ((tce,),) = mart(cfg, "SELECT energy_tce FROM marts.city_carbon_monthly WHERE month = DATE '2026-03-01'")
    assert Num(tce, 3).text() in pdf_text(vdir / "city" / f"{CITY}.zh.pdf")


def test_city_breakdowns_by_industry_district_and_contributors(cfg, v1) -> None:
    xlsx = Path(v1["dir"]) / "city" / f"{CITY}.zh.xlsx"
    industry = {r[0]: r for r in sheet(xlsx, "industry").iter_rows(min_row=3, values_only=True) if r[2] is not None}
    by_division = dict(mart(cfg, "SELECT left(e.industry_code, 2), sum(c.energy_tce) FROM "
                                 "marts.enterprise_carbon_monthly c JOIN marts.dim_enterprises e USING (credit_code) "
                                 "WHERE month = DATE '2026-03-01' GROUP BY 1"))
    for code, tce in by_division.items():
        row = industry[f"{code} {DIVISIONS[code][0]}"]
        assert row[3] == round(tce, 3)
        assert row[1] == t("yes" if code in ("25", "26", "30", "31", "32", "44") else "no", "zh")
    assert "26 化学原料和化学制品制造业" in industry and "30 非金属矿物制品业" in industry
    assert industry[t("row.energy_intensive_total", "zh")][3] == round(by_division["26"] + by_division["30"], 3)
    district = {r[0]: r for r in sheet(xlsx, "district").iter_rows(min_row=3, values_only=True) if r[2] is not None}
    by_district = dict(mart(cfg, "SELECT p.district, sum(c.energy_tce) FROM marts.enterprise_carbon_monthly c "
                                 "JOIN marts.dim_parks p USING (park_id) WHERE month = DATE '2026-03-01' GROUP BY 1"))
    assert {k: v[2] for k, v in district.items()} == {k: round(v, 3) for k, v in by_district.items()}
    # contributors: the changes against the same month last year add up to the city's change
    rows = [r for r in sheet(xlsx, "contributors").iter_rows(min_row=3, values_only=True) if r[5] is not None]
    ((cur, ly),) = mart(cfg, "SELECT sum(energy_tce) FILTER (WHERE month = DATE '2026-03-01'), sum(energy_tce) "
                             "FILTER (WHERE month = DATE '2025-03-01') FROM marts.enterprise_carbon_monthly")
    assert sum(r[5] for r in rows) == pytest.approx(cur - ly, abs=0.01)
    assert sum(r[6] for r in rows) == pytest.approx(cur / ly - 1, abs=1e-3)
    assert abs(rows[0][5]) >= abs(rows[-1][5])
    # coverage: the late declaration of the month is counted
    coverage = {r[0]: r[1] for r in sheet(xlsx, "coverage").iter_rows(min_row=3, values_only=True)}
    assert coverage[t("row.declarations_late", "zh")] == 1
    assert coverage[t("row.declarations_on_time", "zh")] == 5
    assert coverage[t("row.enterprises_in_scope", "zh")] == 6


def _seed_label(level: str, language: str) -> str:
    import csv

    from nengtan.config import REPO_ROOT

    with (REPO_ROOT / "seeds" / "warning_levels.csv").open(encoding="utf-8") as fh:
        row = next(r for r in csv.DictReader(fh) if r["warning_level"] == level)
    return row["label_zh" if language == "zh" else "label_en"]


def _rows(path: Path, key: str, language: str) -> dict:
    return {r[0]: r for r in sheet(path, key, language).iter_rows(min_row=3, values_only=True) if r[0] is not None}


@pytest.mark.parametrize("language", ["zh", "en"])
def test_city_and_enterprise_reports_show_the_assessment_and_the_carbon_market_as_the_marts_state_them(
        cfg, v1, v1_en, language) -> None:
    vdir = Path(v1["dir"])
    names = {c: (zh, en) for c, zh, en in mart(cfg, "SELECT credit_code, name_zh, name_en FROM marts.dim_enterprises")}
    name = lambda code: names[code][0 if language == "zh" else 1]  # noqa: E731
    city_xlsx, city_pdf = vdir / "city" / f"{CITY}.{language}.xlsx", vdir / "city" / f"{CITY}.{language}.pdf"
    text = squeeze(poppler_text(city_pdf))
    for key in ("sec.assessment", "sec.ets", "sec.candidates"):
        assert squeeze(t(key, language)) in text, key
    # the city's assessment for the report's year, cell by cell as the mart states it
    ((dual, co2, ei, ci, base_year, base_ei, base_ci, red_e, red_c, target_e, target_c, allowed_e, allowed_c, ratio_e,
      cov, status, provisional),) = mart(
        cfg, "SELECT energy_tce_dual_control, co2_t, energy_intensity, carbon_intensity, base_year, "
             "base_energy_intensity, base_carbon_intensity, energy_intensity_reduction_pct, "
             "carbon_intensity_reduction_pct, target_energy_intensity_reduction_pct, "
             "target_carbon_intensity_reduction_pct, allowed_energy_intensity, allowed_carbon_intensity, "
             "energy_intensity_ratio, intensity_coverage, status, is_provisional FROM marts.dual_control_assessment "
             "WHERE level = 'city' AND entity_id = ? AND year = 2026", [CITY])
    rows = _rows(city_xlsx, "assessment", language)
    row = lambda key: list(rows[t(f"row.{key}", language)][1:3])  # noqa: E731
    assert row("assessed_total") == [round(dual, 3), round(co2, 3)]
    assert row("intensity") == [round(ei, 4), round(ci, 4)]
    assert row("base_year") == [base_year, base_year] == [2025, 2025]
    assert row("base_intensity") == [round(base_ei, 4), round(base_ci, 4)]
    assert row("reduction_achieved") == [round(red_e / 100, 4), round(red_c / 100, 4)]
    assert target_c is None and row("reduction_target") == [round(target_e / 100, 4), None]  # not set, never 0
    assert allowed_c is None and row("allowed_intensity") == [round(allowed_e, 4), None]
    assert row("intensity_ratio")[0] == round(ratio_e, 3)
    assert row("intensity_coverage") == [round(cov, 3)] * 2
    assert row("assessment_status") == [_seed_label(status, language)] * 2
    assert row("data_status")[0] == t("status.provisional" if provisional else "status.final", language)
    assert Num(ei, 4).text() in text and Num(red_e / 100, 2, pct=True).text() in text
    # the covered enterprises' compliance and the candidate lists
    ((code, gap, usable, over, deadline, days, diff, finding, sector),) = mart(
        cfg, "SELECT credit_code, compliance_gap_t, ccer_usable_t, ccer_over_cap_t, compliance_deadline, "
             "days_to_deadline, cross_check_diff_pct, cross_check_finding, sector FROM marts.ets_compliance "
             "WHERE year = 2025")
    ets = _rows(city_xlsx, "ets", language)[name(code)]
    assert ets[1] == t(f"sector.{sector}", language)
    assert list(ets[4:10]) == [round(float(usable), 2), round(float(over), 2), round(float(gap), 2),
                               datetime.combine(deadline, datetime.min.time()), days, round(diff / 100, 4)]
    assert ets[10] == t("yes" if finding else "no", language) == t("yes", language)
    assert Num(float(gap), 2).text() in text
    candidates = {(r[0], r[1], r[2], r[4]) for r in sheet(city_xlsx, "candidates", language)
                  .iter_rows(min_row=3, values_only=True) if r[1]}
    expected = mart(cfg, "SELECT credit_code, list, year, figure FROM marts.regulatory_candidates")
    assert len(expected) == 3
    assert candidates == {(name(c), t(f"candidate.{lst}", language), y, round(float(v), 2)) for c, lst, y, v in expected}
    # the covered enterprise sees its own position; another key energy user only its assessment
    ent_xlsx = vdir / "enterprise" / f"{code}.{language}.xlsx"
    own = {k: v[1] for k, v in _rows(ent_xlsx, "ets", language).items()}
    assert own[t("row.compliance_gap", language)] == round(float(gap), 2)
    assert own[t("row.ccer_usable", language)] == round(float(usable), 2)
    assert own[t("row.ccer_over_cap", language)] == round(float(over), 2)
    assert own[t("row.compliance_deadline", language)].date() == deadline
    assert own[t("row.cross_check_finding", language)] == t("yes", language)
    ent_text = squeeze(poppler_text(ent_xlsx.with_suffix(".pdf")))
    assert squeeze(t("sec.ets", language)) in ent_text and Num(float(gap), 2).text() in ent_text
    other = mart(cfg, "SELECT min(credit_code) FROM marts.dim_enterprises WHERE key_energy_user AND NOT ets_covered")[0][0]
    other_xlsx = vdir / "enterprise" / f"{other}.{language}.xlsx"
    assert t("sheet.ets", language) not in load_workbook(other_xlsx).sheetnames
    ((own_ei,),) = mart(cfg, "SELECT energy_intensity FROM marts.dual_control_assessment WHERE level = 'enterprise' "
                             "AND entity_id = ? AND year = 2026", [other])
    assert _rows(other_xlsx, "assessment", language)[t("row.intensity", language)][1] == round(own_ei, 4)
    # no sector, list or level code on any page or sheet of these sections
    pattern = re.compile(r"(?<![A-Za-z_])(" + "|".join(c for c in CARBON_CODES if language == "zh" or c not in
                                                       ("power", "green")) + r")(?![A-Za-z_])")
    for pdf in sorted(vdir.glob(f"*/*.{language}.pdf")):
        assert not pattern.search(poppler_text(pdf)), (pdf.name, pattern.search(poppler_text(pdf)))
    for xlsx in (city_xlsx, ent_xlsx, *sorted((vdir / "park").glob(f"*.{language}.xlsx"))):
        wb = load_workbook(xlsx)
        for key in ("assessment", "ets", "candidates"):
            if t(f"sheet.{key}", language) not in wb.sheetnames:
                continue
            for r in wb[t(f"sheet.{key}", language)].iter_rows(values_only=True):
                assert not {str(v) for v in r} & {*CARBON_CODES, "True", "False"}, (xlsx.name, key, r)


def test_carbon_sections_are_left_out_cleanly_when_their_marts_are_missing(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NENGTAN_DATA", str(tmp_path))
    monkeypatch.setenv("NENGTAN_ALERTS_ENABLED", "0")
    own = settings()
    build_sample_serving(own.serving_db, through=date(2026, 3, 31))
    con = duckdb.connect(str(own.serving_db))
    for table in ("dual_control_assessment", "ets_compliance", "regulatory_candidates"):
        con.execute(f"DROP TABLE marts.{table}")
    con.close()
    result = run_monthly_report(MONTH, run_id="test-no-carbon", mail=False, cfg=own)
    for xlsx in sorted(Path(result["dir"]).glob("*/*.zh.xlsx")):
        sheets = load_workbook(xlsx).sheetnames
        assert t("sheet.budget", "zh") in sheets, xlsx.name
        assert not {t(f"sheet.{k}", "zh") for k in ("assessment", "ets", "candidates")} & set(sheets), xlsx.name
        text = squeeze(poppler_text(xlsx.with_suffix(".pdf")))
        assert squeeze(t("sec.assessment", "zh")) not in text and squeeze(t("sec.signoff", "zh")) in text


@pytest.mark.parametrize("language", ["zh", "en"])
def test_reports_show_the_projects_measured_savings_as_the_mart_states_them(cfg, v1, v1_en, language) -> None:
    """The city, the projects' park and the owner see each project's month and year-to-date savings as
    project_savings_monthly states them, the baseline's qualification in words, and a total of the
    qualified ones only; an enterprise without projects has no such section."""
    vdir = Path(v1["dir"])
    i = 0 if language == "zh" else 1
    projects = mart(cfg, """
        SELECT project_id, credit_code, name_zh, name_en, measure, bool_and(baseline_qualified),
               sum(savings_tce) FILTER (WHERE month = DATE '2026-03-01'),
               sum(savings_uncertainty_tce) FILTER (WHERE month = DATE '2026-03-01'),
               sum(savings_tce), sum(savings_co2_t), sum(expected_savings_tce)
        FROM marts.project_savings_monthly WHERE month BETWEEN DATE '2026-01-01' AND DATE '2026-03-01'
        GROUP BY ALL ORDER BY project_id""")
    assert len(projects) == 2 and {p[5] for p in projects} == {True, False}, "the sample needs both kinds"
    names = {c: (zh, en) for c, zh, en in mart(cfg, "SELECT credit_code, name_zh, name_en FROM marts.dim_enterprises")}
    parks = dict(mart(cfg, "SELECT credit_code, park_id FROM marts.dim_enterprises"))
    city_xlsx = vdir / "city" / f"{CITY}.{language}.xlsx"
    rows = _rows(city_xlsx, "projects", language)
    for _pid, code, zh, en, measure, qualified, month_tce, unc_tce, ytd_tce, ytd_co2, expected in projects:
        r = rows[(zh, en)[i]]
        assert r[1] == names[code][i] and r[2] == t(f"measure.{measure}", language)
        assert r[3] == t("yes" if qualified else "no", language)
        assert list(r[4:9]) == [round(float(v), 3) for v in (month_tce, unc_tce, ytd_tce, ytd_co2, expected)]
    total = rows[t("row.total_qualified", language)]
    ok = [p for p in projects if p[5]]
    assert total[4] == round(sum(float(p[6]) for p in ok), 3) and total[6] == round(sum(float(p[8]) for p in ok), 3)
    text = squeeze(poppler_text(city_xlsx.with_suffix(".pdf")))
    assert squeeze(t("sec.projects", language)) in text and Num(float(projects[0][8]), 3).text() in text
    assert not re.search(r"motor_vfd|PRJ-S\d|\bTrue\b|\bFalse\b", poppler_text(city_xlsx.with_suffix(".pdf")))
    for _pid, code, zh, en, *_ in projects:
        own = _rows(vdir / "enterprise" / f"{code}.{language}.xlsx", "projects", language)
        assert (zh, en)[i] in own and t("row.total_qualified", language) in own
        assert not {(p[2], p[3])[i] for p in projects if p[1] != code} & set(own)  # the owner's projects only
        park = _rows(vdir / "park" / f"{parks[code]}.{language}.xlsx", "projects", language)
        assert (zh, en)[i] in park
    without = sorted(set(names) - {p[1] for p in projects})[0]
    wb = vdir / "enterprise" / f"{without}.{language}.xlsx"
    if wb.exists():
        assert t("sheet.projects", language) not in load_workbook(wb).sheetnames


def test_projects_section_is_left_out_cleanly_when_its_mart_is_missing(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NENGTAN_DATA", str(tmp_path))
    monkeypatch.setenv("NENGTAN_ALERTS_ENABLED", "0")
    own = settings()
    build_sample_serving(own.serving_db, through=date(2026, 3, 31))
    con = duckdb.connect(str(own.serving_db))
    con.execute("DROP TABLE marts.project_savings_monthly")
    con.close()
    result = run_monthly_report(MONTH, run_id="test-no-projects", mail=False, cfg=own)
    xlsxs = sorted(Path(result["dir"]).glob("*/*.zh.xlsx"))
    assert xlsxs
    for xlsx in xlsxs:
        assert t("sheet.projects", "zh") not in load_workbook(xlsx).sheetnames, xlsx.name
        text = squeeze(poppler_text(xlsx.with_suffix(".pdf")))
        assert squeeze(t("sec.projects", "zh")) not in text and squeeze(t("sec.signoff", "zh")) in text


def test_warning_levels_are_read_from_the_mart_not_re_derived(cfg, tmp_path, monkeypatch) -> None:
    """The report shows the mart's level and label, even one no Python threshold would give."""
    monkeypatch.setenv("NENGTAN_DATA", str(tmp_path))
    own = settings()
    build_sample_serving(own.serving_db, through=date(2026, 3, 31))
    con = duckdb.connect(str(own.serving_db))
    code = con.execute("SELECT min(credit_code) FROM marts.dim_enterprises WHERE key_energy_user").fetchone()[0]
    con.execute("UPDATE marts.dual_control_warnings SET ratio = 0.5, warning_level = 'red', label_zh = '一级预警', "
                "label_en = 'Level I', colour = '#8e0000' WHERE level = 'enterprise' AND entity_id = ? "
                "AND metric = 'carbon' AND as_of = DATE '2026-03-31'", [code])
    con.close()
    result = run_monthly_report(MONTH, run_id="test-levels", mail=False, cfg=own)
    xlsx = Path(result["dir"]) / "enterprise" / f"{code}.zh.xlsx"
    row = sheet_row(xlsx, "budget", t("metric.carbon", "zh"))
    assert (row[5], row[6]) == (0.5, "一级预警")
    assert load_workbook(xlsx)[t("sheet.budget", "zh")].cell(row=3 + [
        r[0] for r in sheet(xlsx, "budget").iter_rows(min_row=3, values_only=True)].index(
        t("metric.carbon", "zh")), column=7).fill.fgColor.rgb.endswith("8E0000")
    assert "一级预警" in poppler_text(xlsx.with_suffix(".pdf"))


def test_xlsx_sheets_are_named_in_the_language_with_real_dates_frozen_headers_and_fitting_widths(v1, v1_en) -> None:
    vdir = Path(v1["dir"])
    for language in ("zh", "en"):
        wb = load_workbook(vdir / "city" / f"{CITY}.{language}.xlsx")
        names = wb.sheetnames
        assert names[0] == t("sheet.info", language)
        assert t("sheet.headline", language) in names and t("sheet.energy", language) in names
        if language == "zh":
            assert all(re.search(r"[\u4e00-\u9fff]", n) for n in names), names
        else:
            assert not any(re.search(r"[\u4e00-\u9fff]", n) for n in names), names
        info = {r[0]: r[1] for r in wb[names[0]].iter_rows(values_only=True) if r and r[0]}
        assert info[t("meta.month", language)] == datetime(2026, 3, 1)
        for ws in wb.worksheets[1:]:
            assert ws.freeze_panes in ("A3", "B3"), ws.title
            for row in ws.iter_rows(min_row=3):
                if sum(c.value is not None for c in row) < 2:
                    continue  # a note or an empty-table line runs across the sheet
                for cell in row:
                    if cell.value is None:
                        continue
                    assert not (isinstance(cell.value, str) and re.fullmatch(r"-?[\d,]+\.?\d*%?", cell.value)), \
                        (ws.title, cell.coordinate, cell.value)  # numbers are numbers, not text
                    if isinstance(cell.value, str) and len(cell.value) < 40:
                        width = ws.column_dimensions[cell.column_letter].width
                        assert width >= display_width(cell.value), (ws.title, cell.coordinate, width)


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
    again = run_monthly_report(MONTH, run_id="test-again", mail=False, cfg=cfg)
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


def test_english_reports_are_added_to_the_same_version(cfg, v1, v1_en) -> None:
    assert (v1_en["version"], v1_en["changed"]) == (1, False)
    pdf = next(Path(v1_en["dir"]).glob("city/*.en.pdf"))
    assert t("title.city", "en") in pdf_text(pdf)
    langs = {f.get("language") for f in archive.read_manifest(Path(v1_en["dir"]))["files"]}
    assert {"zh", "en"} <= langs


def test_a_late_correction_becomes_version_2_and_v1_is_untouched(cfg, v1, v1_en) -> None:
    v1_manifest = archive.read_manifest(Path(v1["dir"]))
    code = mart(cfg, "SELECT min(credit_code) FROM marts.dim_enterprises WHERE key_energy_user")[0][0]
    ((old,),) = mart(cfg, "SELECT energy_tce FROM marts.enterprise_carbon_monthly WHERE credit_code = ? "
                          "AND month = DATE '2026-03-01'", [code])
    # data of a later month must not restate March
    con = duckdb.connect(str(cfg.serving_db))
    con.execute("INSERT INTO marts.enterprise_carbon_monthly SELECT * REPLACE (DATE '2026-04-01' AS month) "
                "FROM marts.enterprise_carbon_monthly WHERE month = DATE '2026-03-01'")
    con.close()
    assert run_monthly_report(MONTH, run_id="test-april", mail=False, cfg=cfg)["version"] == 1
    # nor does a new contact address: no figure changes, so no new version
    con = duckdb.connect(str(cfg.serving_db))
    con.execute("UPDATE marts.dim_enterprises SET contact_email = 'new@ent.example' WHERE credit_code = ?", [code])
    con.close()
    same = run_monthly_report(MONTH, run_id="test-contact", mail=False, cfg=cfg)
    assert (same["version"], same["changed"], same["snapshot_id"]) == (1, False, v1["snapshot_id"])
    # the restatement: a corrected March figure lands in the serving copy
    con = duckdb.connect(str(cfg.serving_db))
    con.execute("UPDATE marts.enterprise_carbon_monthly SET energy_tce = energy_tce + 12.5 "
                "WHERE credit_code = ? AND month = DATE '2026-03-01'", [code])
    con.close()
    v2 = run_monthly_report(MONTH, run_id="test-v2", mail=False, cfg=cfg)
    assert (v2["version"], v2["changed"]) == (2, True)
    assert v2["snapshot_id"] != v1["snapshot_id"]
    changes = json.loads((Path(v2["dir"]) / "changes.json").read_text())
    mine = {c["figure"]: c for c in changes if c["entity"] == code}
    assert mine["headline/energy_tce/month"]["old"] == round(old, 3)
    assert mine["headline/energy_tce/month"]["new"] == round(old + 12.5, 3)
    assert all(c["entity"] == code for c in changes if c["kind"] == "enterprise")
    assert Num(old + 12.5, 3).text() in pdf_text(Path(v2["dir"]) / "enterprise" / f"{code}.zh.pdf")
    v2_text = pdf_text(Path(v2["dir"]) / "enterprise" / f"{code}.zh.pdf")
    assert t("sec.changes", "zh") in v2_text
    # the changed figure is named as the report names it, not by its key
    named = f"{t('sheet.headline', 'zh')} / {t('row.energy_tce', 'zh')} / {t('col.month', 'zh')}"
    assert re.sub(r"\s+", "", named) in re.sub(r"\s+", "", v2_text)
    assert "headline/energy_tce" not in v2_text
    # version 1 is exactly as it was
    assert archive.read_manifest(Path(v1["dir"])) == v1_manifest
    for entry in v1_manifest["files"]:
        assert archive.sha256_file(Path(v1["dir"]) / entry["file"]) == entry["sha256"]
    assert archive.read_manifest(Path(v2["dir"]))["previous"] == {"version": 1, "snapshot_id": v1["snapshot_id"]}


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
    yield inbox
    controller.stop()


def test_reports_are_mailed_to_their_owners(tmp_path, monkeypatch, smtp) -> None:
    monkeypatch.setenv("NENGTAN_DATA", str(tmp_path))
    monkeypatch.setenv("NENGTAN_ONCALL_EMAIL", "city-oncall@nengtan.example")
    cfg = settings()
    build_sample_serving(cfg.serving_db, through=date(2026, 2, 28))
    result = run_monthly_report("2026-02", run_id="test-mail", cfg=cfg)
    assert result["sent"]["sent"] == 4 + 2 + 1 and result["sent"]["failed"] == 0
    to = sorted(rcpt for env in smtp.messages for rcpt in env.rcpt_tos)
    assert "energy1@ent.example" in to and "p01@park.example" in to and "city-oncall@nengtan.example" in to
    assert "energy5@ent.example" not in to  # not a key energy user
    mail = next(e for e in smtp.messages if "energy1@ent.example" in e.rcpt_tos).content
    assert b".zh.pdf" in mail and b".zh.xlsx" in mail
    # a rerun of an unchanged month sends nothing again
    smtp.messages.clear()
    again = run_monthly_report("2026-02", run_id="test-mail-2", cfg=cfg)
    assert again["changed"] is False and smtp.messages == []
