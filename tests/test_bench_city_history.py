"""The full city's night N after a synthesized history (issue 18, nengtan.tools.bench.city_history), at a
tiny scale through the benchmark's own code path: night 1 through the real DAGs, days 2..N-2 synthesized
in the warehouse, night N-1 through the real DAGs, day N's files landed, night N through the real DAGs with
its dbt tests and checks. The synthesized state must be consistent enough for nights N-1 and N to succeed,
and the marts must hold N days."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from nengtan.tools.bench import Profile, run
from nengtan.tools.bench.city_history import SYNTH_RUN_ID
from nengtan.tools.bench.report import render_table

N = 35  # crosses a month: January synthesized whole, February's first days, night N on 4 February
TINY = Profile("tiny-city-history", enterprises=4, history_enterprises=2, history_nights=(1,), superset=False,
               meters_per_enterprise=3, memory_limit="1GB", night_timeout=900, city_history_night=N,
               city_history_reading_days=3)


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    root = tmp_path_factory.mktemp("bench")
    with pytest.MonkeyPatch.context() as mp:  # the report's JSON goes under this root, not var/data
        mp.setenv("NENGTAN_DATA", str(root / "data"))
        return run(TINY, work=root / "work", progress=lambda _msg: None), \
            root / "work" / "city-data" / "warehouse" / "nengtan.duckdb"


def test_night_n_after_the_synthesized_history_succeeds(bench) -> None:
    report, _ = bench
    ch = report["city_history"]
    night = ch["night"]
    assert night["ok"], night.get("error")
    assert night["day"] == (TINY.start + timedelta(days=N - 1)).isoformat()
    assert all(d["state"] == "success" for d in night["dags"])
    assert ch["ratio_to_night_1"] == night["wall_seconds"] / report["night"]["wall_seconds"]
    # the target is taken from the city's night N, not from the (reduced) history city
    target = next(t for t in report["targets"] if t["figure"] == "last_over_first")
    assert target["value"] == ch["ratio_to_night_1"] and "1.2" in target["target"]
    assert ch["synthesis_seconds"] > 0 and ch["dbt"]["tests_failed"] == 0
    scales = {t["table"]: t["scale"] for t in ch["tables"]}
    assert scales["marts.meter_daily"] == "full"
    # synthesized up to day N-2; night N-1 ran through the DAGs (its publish left night N a spare serving file)
    assert scales["raw.meter_readings"] == f"full, days {N - 3}..{N - 2} only"
    assert "intermediate.int_meter_intervals" not in scales  # a view of int_meter_readings: nothing to write
    before = ch["night_before"]
    assert before["ok"] and before["day"] == (TINY.start + timedelta(days=N - 2)).isoformat()
    assert next(t for t in night["tasks"] if t["task_id"] == "publish")["state"] == "success"
    table = render_table(report)
    assert f"full city: night 1 / night {N} (s)" in table and "synthesized raw.meter_readings" in table


def test_the_marts_hold_n_days_and_nothing_is_pending(bench) -> None:
    _, db = bench
    con = duckdb.connect(str(db), read_only=True)
    try:
        for table in ("marts.meter_daily", "marts.meter_day_sources", "intermediate.int_meter_daily",
                      "marts.enterprise_energy_daily", "marts.park_energy_daily"):
            days, first, last = con.execute(f"SELECT count(DISTINCT day), min(day), max(day) FROM {table}").fetchone()
            assert (days, first, last) == (N, TINY.start, TINY.start + timedelta(days=N - 1)), table
        months = con.execute("SELECT DISTINCT month FROM marts.enterprise_carbon_monthly WHERE month >= ? "
                             "ORDER BY 1", [TINY.start]).fetchall()
        assert [m for (m,) in months] == [date(2026, 1, 1), date(2026, 2, 1)]
        # the factor pins: January's by night 1, February's by the synthesized history (as the night that first
        # met the month would have), so night N (in February) writes none
        pinned = {m: (lo, hi) for m, lo, hi in con.execute(
            "SELECT month, min(applied_run_id), max(applied_run_id) FROM intermediate.int_factor_applied "
            "WHERE month >= ? GROUP BY 1", [TINY.start]).fetchall()}
        assert sorted(pinned) == [date(2026, 1, 1), date(2026, 2, 1)]
        assert pinned[date(2026, 2, 1)] == (SYNTH_RUN_ID, SYNTH_RUN_ID)
        night_1_run = pinned[date(2026, 1, 1)][0]
        assert pinned[date(2026, 1, 1)] == (night_1_run, night_1_run) and night_1_run != SYNTH_RUN_ID
        assert con.execute("SELECT count(*) FROM raw.load_log WHERE transformed_run_id IS NULL").fetchone()[0] == 0
        synthesized = con.execute("SELECT count(*) FROM raw.load_log WHERE run_id = ?", [SYNTH_RUN_ID]).fetchone()[0]
        assert synthesized > 0
        # the reading-level tables hold day 1, the last days before night N and night N only
        days = [d for (d,) in con.execute("SELECT DISTINCT reading_day FROM raw.meter_readings ORDER BY 1").fetchall()]
        assert days == [TINY.start + timedelta(days=k - 1) for k in (1, N - 3, N - 2, N - 1, N)]
        # the intervals view shows night N's run only, as every night leaves it
        days = [d for (d,) in con.execute("SELECT DISTINCT day FROM intermediate.int_meter_intervals").fetchall()]
        assert days and min(days) >= TINY.start + timedelta(days=N - 2), days
        # registers continued: night N measured each meter's day as day 1 measured it
        per_day = dict(con.execute("SELECT day, sum(quantity) FROM marts.meter_daily WHERE day IN (?, ?) GROUP BY 1",
                                   [TINY.start, TINY.start + timedelta(days=N - 1)]).fetchall())
        first, last = float(per_day[TINY.start]), float(per_day[TINY.start + timedelta(days=N - 1)])
        assert first > 0 and abs(last - first) <= first * 0.001
        assert con.execute("SELECT count(*) FROM marts.meter_daily WHERE day = ? AND backwards_faults > 0",
                           [TINY.start + timedelta(days=N - 1)]).fetchone()[0] == con.execute(
            "SELECT count(*) FROM marts.meter_daily WHERE day = ? AND backwards_faults > 0",
            [TINY.start]).fetchone()[0]
    finally:
        con.close()


def test_the_publish_after_a_night_on_the_serving_copy(bench, tmp_path: Path) -> None:
    """The bench's 'publish after a night' (nengtan.tools.bench._publish_at_scale) on night N's serving copy:
    the replica is left as a night leaves the warehouse (its day's rows rebuilt, the bounds its delete hooks
    record), so the second publish copies that day of the day marts, not a comparison of every table."""
    from nengtan.tools.bench import NIGHT_DAY_MARTS, _publish_at_scale

    _, db = bench
    replica = tmp_path / "replica.duckdb"
    shutil.copyfile(db.parent.parent / "serving" / "nengtan.duckdb", replica)
    out = _publish_at_scale(replica, tmp_path / "publish-at-scale")
    last = (TINY.start + timedelta(days=N - 1)).isoformat()
    assert out["night_mode"] == "incremental", out["night_reason"]
    assert out["night_incremental"] == dict.fromkeys(NIGHT_DAY_MARTS, last)
    # the night's day differs in every key (new run stamps): replaced whole, no key on any other day
    assert {t: r["days"] for t, r in out["night_replaced"].items()} == dict.fromkeys(NIGHT_DAY_MARTS, [last])
    assert all(r["keys"] == 0 for r in out["night_replaced"].values())
    # the night's month of the monthly marts differs: they are not kept as they were
    assert not {"marts.enterprise_carbon_monthly", "marts.energy_balance_monthly"} & set(out["night_unchanged"])
    assert set(NIGHT_DAY_MARTS) <= set(out["night_ledger_derived"])
