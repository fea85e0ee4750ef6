"""A blocking check failure stops the publish: the night fails and the serving copy stays
the last good one, byte for byte, while the failure is on record."""

from __future__ import annotations

import hashlib
import shutil

import duckdb

from nengtan.orchestration.dag_runner import run_dag
from tests.conftest import CITY_LAST_DAY


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_blocking_failure_keeps_the_last_good_serving_copy(published_city, tmp_path, monkeypatch) -> None:
    data = tmp_path / "data"
    for sub in ("warehouse", "serving", "ledger"):
        shutil.copytree(published_city.data / sub, data / sub)
    monkeypatch.setenv("NENGTAN_DATA", str(data))
    serving = data / "serving" / "nengtan.duckdb"
    before = _sha(serving)

    # A mart the checks read is gone (a build that did not finish): the checks could not run, so nothing is
    # published. (Wrong sums and signs in the marts are dbt's tests, which fail the transform before this DAG.)
    con = duckdb.connect(str(data / "warehouse" / "nengtan.duckdb"))
    con.execute("DROP TABLE marts.certificate_claims")
    con.close()

    state = run_dag("nengtan_checks_publish", day=CITY_LAST_DAY)

    assert state == "failed"
    assert _sha(serving) == before, "the serving copy must stay the last good night"
    con = duckdb.connect(str(data / "warehouse" / "nengtan.duckdb"), read_only=True)
    try:
        blocking = con.execute(
            "SELECT count(*) FROM quality.check_results WHERE severity = 'blocking' AND NOT passed "
            "AND NOT coalesce(is_summary, false)").fetchone()[0]
        suite_ran = con.execute(
            "SELECT count(*) FROM quality.check_results WHERE rule = 'suite_ran' AND NOT passed "
            "AND entity_id = 'certificate_validity'").fetchone()[0]
    finally:
        con.close()
    assert blocking >= 1
    assert suite_ran >= 1
