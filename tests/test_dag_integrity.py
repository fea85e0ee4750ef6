"""Every DAG file imports cleanly, defines exactly the DAG it is named after, and the
assets chain load → transform → checks/publish → monthly report."""

from __future__ import annotations

from pathlib import Path

import pytest

from nengtan.orchestrate import DAGS_DIR, load_dag, prepare_airflow

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


def test_bagged_without_import_errors() -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR))
    assert bag.import_errors == {}
    assert set(DAG_FILES) <= set(bag.dag_ids)


def test_assets_chain_the_stages() -> None:
    from nengtan.dag_support import MARTS, RAW, SERVING

    load, transform, checks = (load_dag(d) for d in ("nengtan_nightly_load", "nengtan_transform",
                                                      "nengtan_checks_publish"))
    outlets = lambda dag: {o.uri for t in dag.tasks for o in t.outlets}  # noqa: E731
    assert RAW.uri in outlets(load)
    assert MARTS.uri in outlets(transform)
    assert SERVING.uri in outlets(checks)
    assert RAW.uri in repr(transform.timetable.asset_condition)
    assert MARTS.uri in repr(checks.timetable.asset_condition)
