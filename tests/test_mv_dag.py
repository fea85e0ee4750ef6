"""The M&V DAG through real Airflow (dag.test) after a real night: a generated city with projects
(20 enterprises, 200 days: the planted retrofits have 110- and 140-day baselines, stated as short;
a new facility above its approval) is loaded and transformed, then ``nengtan_mv`` fits the
baselines in .venv-mv through external_python, loads the results and builds the project marts.
A rerun of the same night finds nothing changed and starts no .venv-mv process (the held results
stand); asked to remeasure, it gives the same tables and refits nothing.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

START, DAYS = date(2025, 1, 1), 200
LAST = START + timedelta(days=DAYS - 1)


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory):
    from nengtan.tools.generate import generate_city

    root = tmp_path_factory.mktemp("mv_night")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NENGTAN_LANDING", str(root / "landing"))
        mp.setenv("NENGTAN_DATA", str(root / "data"))
        generate_city(root / "landing", START, DAYS, 20, parks=2, seed=11, fault_rate=0.0)
        from nengtan.config import settings
        from nengtan.orchestration.dag_runner import prepare_airflow, run_dag, run_in_process, run_results

        prepare_airflow()
        for dag_id in ("nengtan_nightly_load", "nengtan_transform"):
            assert run_dag(dag_id, day=LAST) == "success", dag_id
        cfg = settings()
        first = run_dag("nengtan_mv", day=LAST)
        tables = _tables(cfg.warehouse_db)
        rerun = run_in_process("nengtan_mv", day=LAST)
        rerun_states = _task_states("nengtan_mv", rerun.run_id)
        rerun_load = run_results("nengtan_mv", rerun.run_id).get("load")
        unchanged = _tables(cfg.warehouse_db)
        second = run_dag("nengtan_mv", day=LAST, conf={"remeasure": True})
        manifest = json.loads((root / "landing" / "_generator" / "manifest.json").read_text())
        over = {f["detail"].split(":")[0] for f in manifest["faults"] if f["kind"] == "new_facility_over_approval"}
        yield {"first": first, "second": second, "tables": tables, "again": _tables(cfg.warehouse_db),
               "cfg": cfg, "planted_over": over, "rerun": rerun, "rerun_states": rerun_states,
               "rerun_load": rerun_load, "unchanged": unchanged}


def _task_states(dag_id: str, run_id: str) -> dict[str, str]:
    from airflow.models.taskinstance import TaskInstance
    from sqlalchemy import select

    from nengtan.orchestration.dag_runner import _session

    with _session() as session:
        return {t: str(getattr(s, "value", s)) for t, s in session.execute(
            select(TaskInstance.task_id, TaskInstance.state).where(TaskInstance.dag_id == dag_id,
                                                                   TaskInstance.run_id == run_id)).all()}


def _tables(db: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for t in ("mv.project_fits", "mv.project_months", "marts.project_savings_monthly",
                  "marts.new_facility_tracking", "marts.enterprise_roadmap"):
            cols = [c for (c,) in con.execute(f"select column_name from (describe {t})").fetchall()
                    if c not in ("model_json", "refit", "built_run_id")]
            out[t] = con.execute(f"select {', '.join(cols)} from {t} order by all").fetchall()
            out[t + ":cols"] = cols
        out["refits"] = con.execute("select count(*) from mv.project_fits where refit").fetchone()[0]
        return out
    finally:
        con.close()


def test_the_dag_measures_the_projects(night: dict) -> None:
    assert night["first"] == "success"
    t = night["tables"]
    fits = [dict(zip(t["mv.project_fits:cols"], r, strict=True)) for r in t["mv.project_fits"]]
    assert {f["project_id"] for f in fits} == {"PRJ-2025-001", "PRJ-2025-002"}
    assert t["refits"] == 2
    for f in fits:
        # 110- and 140-day baselines: fitted and stated as short; qualified exactly when the fit meets the thresholds
        assert f["baseline_short"] and "short baseline stated" in f["reasons"]
        assert f["baseline_qualified"] == (f["cvrmse"] <= 0.30 and abs(f["nmbe"]) <= 0.10), f["reasons"]
        assert f["baseline_qualified"] or "CV(RMSE)" in f["reasons"] or "NMBE" in f["reasons"]
        assert f["baseline_days"] == (f["commissioned_on"] - START).days
        assert f["reporting_end"] == LAST and f["model_version"].startswith("opendsm 1.2.7 daily ")
    months = [dict(zip(t["marts.project_savings_monthly:cols"], r, strict=True))
              for r in t["marts.project_savings_monthly"]]
    assert len(months) == len(t["mv.project_months"]) > 0
    qualified = {f["project_id"]: f["baseline_qualified"] for f in fits}
    for m in months:
        assert m["baseline_qualified"] == qualified[m["project_id"]]
        assert m["savings"] == m["predicted"] - m["metered"]
        assert m["savings_tce"] is not None and m["savings_co2_t"] is not None and m["unit"] in ("kWh", "t", "m3")


def test_new_facility_over_its_approval_is_flagged(night: dict) -> None:
    t = night["tables"]
    rows = [dict(zip(t["marts.new_facility_tracking:cols"], r, strict=True)) for r in t["marts.new_facility_tracking"]]
    assert night["planted_over"], "the generator planted no new facility above its approval"
    over = {r["project_id"]: r["over_approval"] for r in rows}
    assert {p for p, o in over.items() if o} == night["planted_over"]
    for r in rows:
        assert r["over_approval"] == (r["actual_energy_tce"] > r["approved_pro_rata_tce"]
                                      or r["actual_co2_t"] > r["approved_pro_rata_co2_t"])
        assert r["days_metered"] == DAYS and float(r["approved_pro_rata_tce"]) == pytest.approx(
            float(r["approved_annual_energy_tce"]) * DAYS / 365, rel=1e-6)


def test_roadmap_covers_every_enterprise_target_year(night: dict) -> None:
    t = night["tables"]
    con = duckdb.connect(str(night["cfg"].warehouse_db), read_only=True)
    n = con.execute("select count(*) from (select distinct entity_id, year from staging.stg_raw__targets "
                    "where level = 'enterprise')").fetchone()[0]
    con.close()
    assert len(t["marts.enterprise_roadmap"]) == n > 0


def test_a_rerun_with_nothing_changed_measures_nothing(night: dict) -> None:
    """Same inputs as the held results: no .venv-mv process, MV still emitted, tables untouched."""
    assert night["rerun"].state == "success"
    assert night["rerun_states"] == {"plan": "success", "changed": "success", "measure": "skipped",
                                     "load": "success"}, night["rerun_states"]
    assert night["rerun_load"]["measured"] is False and "nothing changed" in night["rerun_load"]["reason"]
    assert night["unchanged"] == night["tables"]


def test_a_remeasure_of_the_night_gives_the_same_tables_and_refits_nothing(night: dict) -> None:
    assert night["second"] == "success"
    assert night["again"]["refits"] == 0
    for k, v in night["tables"].items():
        if k != "refits":
            assert night["again"][k] == v, k


def test_project_alerts_route_to_the_enterprise(night: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The project suites through real GX on the night's marts (only expectations/projects.py loaded)."""
    import shutil

    from nengtan.config import REPO_ROOT
    from nengtan.quality import run_checks

    shutil.copy(REPO_ROOT / "expectations" / "projects.py", tmp_path / "projects.py")
    monkeypatch.setenv("NENGTAN_EXPECTATIONS_DIR", str(tmp_path))
    cfg = night["cfg"]
    con = duckdb.connect(str(cfg.warehouse_db))
    try:
        run_checks(con, run_id="mv-alerts", day=LAST, stage="marts")
        rows = con.execute("""select r.suite, r.rule, r.passed, r.is_summary, r.recipient, r.message_en,
                                     e.contact_email
                              from quality.check_results r
                              left join marts.dim_enterprises e on e.credit_code = r.credit_code
                              where r.run_id = 'mv-alerts'""").fetchall()
    finally:
        con.close()
    summary = {(s, r): p for s, r, p, is_summary, *_ in rows if is_summary}
    assert set(summary) == {("project_savings", "savings_below_half_expected"),
                            ("new_facility_approval", "new_facility_over_approval"),
                            ("project_baseline", "baseline_qualified")}
    over = [r for r in rows if r[1] == "new_facility_over_approval" and not r[3]]
    assert len(over) == 1 and not over[0][2]
    assert over[0][4] == over[0][6] and "approved pro rata" in over[0][5]
    fits = night["tables"]["mv.project_fits"]
    cols = night["tables"]["mv.project_fits:cols"]
    refused = sum(1 for r in fits if not dict(zip(cols, r, strict=True))["baseline_qualified"])
    # one row per failing entity, and a summary per rule
    assert sum(1 for r in rows if r[1] == "baseline_qualified" and not r[3] and not r[2]) == refused
    assert summary[("project_baseline", "baseline_qualified")] is (refused == 0)
    for _suite, rule, passed, is_summary, recipient, message, email in rows:
        if not is_summary and not passed:
            assert recipient == email and "PRJ-" in message, (rule, message)
