"""run_checks on a small warehouse with planted faults: each fault is caught by the right
rule, routed to the right owner; blocking faults show in CheckOutcome; reruns replace."""

from __future__ import annotations

import duckdb
import pytest

from nengtan.quality import run_checks
from nengtan.quality.sample import DAY, PLANTED, PLANTED_BLOCKING, RUN_ID, build_sample_warehouse
from nengtan.quality.suites import load_suites


@pytest.fixture()
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("NENGTAN_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("NENGTAN_LANDING", str(tmp_path / "landing"))
    return tmp_path / "data"


def _warehouse(tmp_path, **kwargs) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    build_sample_warehouse(con, **kwargs)
    return con


def test_each_planted_fault_is_caught_by_its_rule_and_routed_to_its_owner(tmp_path, data_dir):
    con = _warehouse(tmp_path, faults=True)
    outcome = run_checks(con, run_id=RUN_ID, day=DAY, stage="marts")
    found = {(f["rule"], f["entity_id"], f["recipient"]) for f in outcome.routed_failures}
    assert found == set(PLANTED)  # every planted fault, and nothing else
    assert outcome.blocking_failures == [] and outcome.ok
    # row-level results name the meter and carry both languages
    row = con.execute("""SELECT meter_id, credit_code, park_id, observed, expected, message_zh, message_en, level
                         FROM quality.check_results WHERE rule = 'completeness_min' AND NOT is_summary""").fetchone()
    assert row[0] == "M01" and row[1] == "91320500000000001A" and row[2] == "P01"
    assert row[3] == "50.0%" and row[4] == ">= 90%" and row[7] == "meter"
    assert "M01" in row[5] and "完整率" in row[5] and "处理" in row[5]
    assert "M01" in row[6] and "To do" in row[6]
    # the double claim goes to both holders, each told about the other
    claims = con.execute("""SELECT recipient, message_en FROM quality.check_results
                            WHERE rule = 'certificate_single_claim' AND NOT is_summary ORDER BY 1""").fetchall()
    assert [c[0] for c in claims] == ["e1@ent.example.cn", "e3@ent.example.cn"]
    assert all("GEC0001" in c[1] and "91320500000000003C" in c[1] and "91320500000000001A" in c[1]
               for c in claims)
    # one summary row per rule, with counts
    summary = dict(con.execute("""SELECT rule, observed FROM quality.check_results
                                  WHERE is_summary AND stage = 'marts'""").fetchall())
    assert summary["meter_not_silent"] == "2/9"
    index = data_dir / "data_docs" / "marts" / "index.html"
    assert index.exists() and "meter_day" in index.read_text(encoding="utf-8")


def test_blocking_failures_are_visible_in_the_outcome(tmp_path, data_dir):
    con = _warehouse(tmp_path, faults=False, blocking=True)
    marts = run_checks(con, run_id=RUN_ID, day=DAY, stage="marts")
    raw = run_checks(con, run_id=RUN_ID, day=DAY, stage="raw")
    assert marts.ok and not raw.ok  # the marts' blocking tests are dbt's; GX blocks on what the load did
    caught = {(f["rule"], f["entity_id"]) for f in marts.blocking_failures + raw.blocking_failures}
    assert set(PLANTED_BLOCKING) <= caught
    assert all(f["recipient"] == "data-oncall@nengtan.local"
               for f in marts.blocking_failures + raw.blocking_failures)
    assert raw.as_dict()["ok"] is False and raw.as_dict()["blocking_failures"]
    null_key = next(f for f in raw.blocking_failures if f["rule"] == "no_null_keys")
    assert "registry/enterprises.csv" in null_key["message_en"]


def test_clean_night_passes_every_rule(tmp_path, data_dir):
    con = _warehouse(tmp_path, faults=False)
    for stage in ("raw", "marts"):
        outcome = run_checks(con, run_id=RUN_ID, day=DAY, stage=stage)
        assert outcome.ok and outcome.routed_failures == [], outcome.as_dict()
    rows = con.execute("SELECT count(*), bool_and(passed), bool_and(is_summary) FROM quality.check_results").fetchone()
    rules = sum(len(s.rules) for stage in ("raw", "marts") for s in load_suites(stage))
    assert rules >= 20 and rows[0] == rules and rows[1] and rows[2]  # one passing summary row per rule


def test_rerun_replaces_its_own_rows_only(tmp_path, data_dir):
    con = _warehouse(tmp_path, faults=True)
    run_checks(con, run_id=RUN_ID, day=DAY, stage="marts")
    run_checks(con, run_id=RUN_ID, day=DAY, stage="raw")
    first = con.execute("SELECT stage, count(*) FROM quality.check_results GROUP BY 1 ORDER BY 1").fetchall()
    run_checks(con, run_id=RUN_ID, day=DAY, stage="marts")
    again = con.execute("SELECT stage, count(*) FROM quality.check_results GROUP BY 1 ORDER BY 1").fetchall()
    assert first == again and dict(first)["marts"] > 15


def test_missing_mart_is_a_blocking_pipeline_failure(tmp_path, data_dir):
    con = _warehouse(tmp_path, faults=False)
    con.execute("DROP TABLE marts.certificate_claims")
    outcome = run_checks(con, run_id=RUN_ID, day=DAY, stage="marts")
    missing = [f for f in outcome.blocking_failures if f["rule"] == "suite_ran"]
    assert {f["entity_id"] for f in missing} == {"certificate_claims", "certificate_validity"}
    assert "marts.certificate_claims" in missing[0]["message_en"]


def test_declared_tolerance_comes_from_the_environment(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("NENGTAN_DECLARED_TOLERANCE_PCT", "15")
    con = _warehouse(tmp_path, faults=True)
    outcome = run_checks(con, run_id=RUN_ID, day=DAY, stage="marts")
    assert "declared_vs_metered" not in {f["rule"] for f in outcome.routed_failures}


def test_a_file_no_source_reads_goes_to_on_call_by_name(tmp_path, data_dir):
    """meta.landing_unread (what discovery.survey found) becomes one routed on-call finding per file, with
    the reason; another night's unread files are not this night's."""
    con = _warehouse(tmp_path, faults=False)
    con.executemany("INSERT INTO meta.landing_unread VALUES (?, ?, ?, now())",
                    [[RUN_ID, "meter_readings/date=2026-01-00/a.csv", "not a date partition: date=2026-01-00"],
                     ["another_run", "sub/old.csv", "not a source folder"]])
    outcome = run_checks(con, run_id=RUN_ID, day=DAY, stage="raw")
    unread = [f for f in outcome.routed_failures if f["rule"] == "landing_file_read"]
    assert outcome.ok and len(unread) == 1, outcome.as_dict()
    assert unread[0]["entity_id"] == "meter_readings/date=2026-01-00/a.csv"
    assert unread[0]["recipient"] == "data-oncall@nengtan.local"
    assert "date=2026-01-00" in unread[0]["message_en"] and "read by no source" in unread[0]["message_en"]
