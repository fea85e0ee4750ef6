"""Every DAG file imports cleanly, defines exactly the DAG it is named after, and the
assets chain load → transform → checks/publish → monthly report."""

from __future__ import annotations

from pathlib import Path

import pytest

from nengtan.orchestration.dag_runner import DAGS_DIR, load_dag, prepare_airflow

DAG_FILES = sorted(p.stem for p in Path(DAGS_DIR).glob("nengtan_*.py"))


@pytest.fixture(scope="module", autouse=True)
def _airflow() -> None:
    prepare_airflow()


def test_expected_dags_exist() -> None:
    assert {"nengtan_nightly_load", "nengtan_transform", "nengtan_checks_publish"} <= set(DAG_FILES)


@pytest.mark.parametrize("dag_id", DAG_FILES)
def test_dag_imports_and_is_sane(dag_id: str) -> None:
    dag = load_dag(dag_id)
    assert dag.dag_id == dag_id
    assert dag.tasks, f"{dag_id} has no tasks"
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    for t in dag.tasks:
        assert t.on_failure_callback, f"{dag_id}.{t.task_id} does not alert the on-call on failure"
        # A task returning a dict would otherwise push every key as its own XCom, one request each
        # through the execution API (~27 ms apiece, ~4 s a night); only the return value is read.
        assert getattr(t, "multiple_outputs", False) is False, f"{dag_id}.{t.task_id} pushes one XCom per key"


def test_bagged_without_import_errors() -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR))
    assert bag.import_errors == {}
    assert set(DAG_FILES) <= set(bag.dag_ids)


def test_assets_chain_the_stages() -> None:
    from nengtan.orchestration.dag_support import MARTS, RAW, SERVING

    load, transform, checks = (load_dag(d) for d in ("nengtan_nightly_load", "nengtan_transform",
                                                      "nengtan_checks_publish"))
    outlets = lambda dag: {o.uri for t in dag.tasks for o in t.outlets}  # noqa: E731
    assert RAW.uri in outlets(load)
    assert MARTS.uri in outlets(transform)
    assert SERVING.uri in outlets(checks)
    assert RAW.uri in repr(transform.timetable.asset_condition)
    assert MARTS.uri in repr(checks.timetable.asset_condition)


def test_schedules_are_real_but_nothing_runs_unasked() -> None:
    """Production schedules the nightly load at 02:00 and chains the rest by assets; a new DAG
    starts paused (an operator unpauses it), so starting a scheduler over history (the demo)
    runs nothing of its own; catch-up never replays the past."""
    from airflow.sdk import CronTriggerTimetable

    from nengtan.config import settings
    from nengtan.orchestration.dag_runner import ALL_DAGS, NIGHT_DAGS, REPORT_DAG, airflow_environ

    load = load_dag("nengtan_nightly_load")
    assert isinstance(load.timetable, CronTriggerTimetable) and "0 2 * * *" in repr(load.timetable)
    assert set(ALL_DAGS) == set(DAG_FILES) >= {*NIGHT_DAGS, REPORT_DAG}  # the demo pauses them all
    for dag_id in ALL_DAGS:
        assert load_dag(dag_id).catchup is False
    env = airflow_environ(settings())
    assert env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] == "True"


def test_airflow_binds_to_loopback_with_slots_for_the_cores(monkeypatch) -> None:
    from nengtan.config import machine_cores, settings
    from nengtan.orchestration.dag_runner import airflow_environ

    monkeypatch.delenv("NENGTAN_AIRFLOW_HOST", raising=False)
    monkeypatch.delenv("NENGTAN_AIRFLOW_PARALLELISM", raising=False)
    monkeypatch.setenv("NENGTAN_AIRFLOW_PORT", "18080")
    env = airflow_environ(settings())
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1" and env["AIRFLOW__API__PORT"] == "18080"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18080/execution/"
    assert env["AIRFLOW__CORE__PARALLELISM"] == str(machine_cores()) != "32"
    monkeypatch.setenv("NENGTAN_AIRFLOW_HOST", "0.0.0.0")
    monkeypatch.setenv("NENGTAN_AIRFLOW_PARALLELISM", "3")
    env = airflow_environ(settings())
    assert env["AIRFLOW__API__HOST"] == "0.0.0.0" and env["AIRFLOW__CORE__PARALLELISM"] == "3"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:18080/execution/"


def test_demo_refuses_the_public_password_beyond_loopback(monkeypatch) -> None:
    from nengtan.config import settings
    from nengtan.tools.demo import DEMO_PASSWORD_DEFAULT, check_exposure

    monkeypatch.setenv("NENGTAN_AIRFLOW_HOST", "0.0.0.0")
    with pytest.raises(SystemExit, match="public demo password"):
        check_exposure(settings(), DEMO_PASSWORD_DEFAULT)
    check_exposure(settings(), "a-password-of-its-own")
    monkeypatch.setenv("NENGTAN_AIRFLOW_HOST", "127.0.0.1")
    check_exposure(settings(), DEMO_PASSWORD_DEFAULT)


def test_monthly_report_params_mail_nothing_provisional_by_default() -> None:
    dag = load_dag("nengtan_monthly_report")
    assert dag.params["provisional"] is False
    assert dag.params["send"] is None  # empty: final editions mailed, provisional ones not
    assert dag.params["month"] == ""
