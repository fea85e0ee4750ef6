"""One night of the test city through the real DAGs: every row accounted for, a rerun
of the same night changes nothing, the serving copy holds the marts."""

from __future__ import annotations

import duckdb

from tests.conftest import CITY_LAST_DAY
from tests.digests import table_digest

MARTS = ("enterprise_energy_daily", "enterprise_carbon_monthly", "park_carbon_monthly",
         "city_carbon_monthly", "dual_control_warnings")


def test_night_publishes_the_marts(published_city) -> None:
    con = duckdb.connect(str(published_city.serving_db), read_only=True)
    try:
        tables = {t for (t,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'").fetchall()}
        assert set(MARTS) <= tables
        assert con.execute("SELECT count(*) FROM marts.enterprise_energy_daily").fetchone()[0] > 0
        assert con.execute("SELECT data_day FROM meta.publication").fetchone()[0] == CITY_LAST_DAY
    finally:
        con.close()


def test_every_row_is_loaded_or_quarantined(published_city) -> None:
    con = duckdb.connect(str(published_city.warehouse_db), read_only=True)
    try:
        bad = con.execute(
            "SELECT path, rows_read, rows_loaded, rows_quarantined FROM raw.load_log "
            "WHERE rows_read <> rows_loaded + rows_quarantined").fetchall()
        assert bad == []
        # The generator plants malformed rows: they must be in the quarantine with a reason and a line.
        q = con.execute("SELECT count(*), count(*) FILTER (WHERE reason <> '' AND line >= 0) FROM raw.quarantine"
                        ).fetchone()
        assert q[0] > 0 and q[0] == q[1]
        files = {p for (p,) in con.execute("SELECT path FROM raw.load_log").fetchall()}
        landed = {str(p.relative_to(published_city.landing)) for p in published_city.landing.rglob("*")
                  if p.is_file() and not p.relative_to(published_city.landing).parts[0].startswith("_")}
        assert landed == files, "every landed file is recorded in the load log"
    finally:
        con.close()


def test_rerunning_the_night_changes_nothing(published_city) -> None:
    """Also as in production, the asset chain unpaused and no scheduler up: the CLI runs each DAG
    once and takes the asset-queue entries its runs created, so a scheduler started later does
    not run the chain a second time; the monthly report's entry stays queued for it."""
    from nengtan.orchestration.dag_runner import NIGHT_DAGS, REPORT_DAG, _session, run_night_dags, set_paused

    before = table_digest(published_city.warehouse_db)
    set_paused((*NIGHT_DAGS, REPORT_DAG), False)
    try:
        outcomes = run_night_dags(CITY_LAST_DAY)
        queued = _queued()
    finally:
        set_paused((*NIGHT_DAGS, REPORT_DAG), True)
    assert [(o.dag_id, o.state, o.how) for o in outcomes] == [(d, "success", "in-process") for d in NIGHT_DAGS]
    after = table_digest(published_city.warehouse_db)
    assert before == after
    assert queued == {REPORT_DAG}, queued  # transform and checks/publish: taken by the CLI's own runs
    # each downstream run consumed its upstream run's asset event (the UI shows the chain)
    from airflow.models.asset import AssetEvent, association_table
    from airflow.models.dagrun import DagRun
    from sqlalchemy import select

    with _session() as session:
        for upstream, downstream in zip(outcomes, outcomes[1:], strict=False):
            consumed = session.scalars(
                select(AssetEvent.source_run_id).join(association_table, association_table.c.event_id == AssetEvent.id)
                .join(DagRun, DagRun.id == association_table.c.dag_run_id)
                .where(DagRun.dag_id == downstream.dag_id, DagRun.run_id == downstream.run_id)).all()
            assert consumed == [upstream.run_id], (downstream.dag_id, consumed)
        _clear_queue(session)


def _queued() -> set[str]:
    from airflow.models.asset import AssetDagRunQueue
    from sqlalchemy import select

    from nengtan.orchestration.dag_runner import _session

    with _session() as session:
        return set(session.scalars(select(AssetDagRunQueue.target_dag_id)))


def _clear_queue(session) -> None:
    """Leave the session's Airflow as the other tests expect it: nothing queued."""
    from airflow.models.asset import AssetDagRunQueue
    from sqlalchemy import delete

    session.execute(delete(AssetDagRunQueue))
    session.commit()


def test_intensities_and_every_warning_level_are_computed(published_city) -> None:
    """January's declarations land in February: its value added, hence intensities, exist,
    and the city's own budget (named by its id in the targets) yields city warnings."""
    con = duckdb.connect(str(published_city.serving_db), read_only=True)
    try:
        with_va = con.execute(
            "SELECT count(*) FROM marts.enterprise_carbon_monthly "
            "WHERE month = DATE '2026-01-01' AND value_added_10k_cny > 0 AND energy_intensity > 0").fetchone()[0]
        assert with_va > 0
        assert con.execute("SELECT energy_intensity FROM marts.city_carbon_monthly WHERE month = DATE '2026-01-01'"
                           ).fetchone()[0] is not None
        levels = {lvl for (lvl,) in con.execute("SELECT DISTINCT level FROM marts.dual_control_warnings").fetchall()}
        assert levels == {"enterprise", "park", "city"}
    finally:
        con.close()
