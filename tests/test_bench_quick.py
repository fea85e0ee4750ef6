"""The benchmark's code path at a tiny scale: a 3-enterprise city, its floor, two real
nights through the DAGs, the report JSON and table. Nothing here is timed or compared
with a target; it checks that every figure the benchmark promises is produced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nengtan.orchestration.dag_runner import NIGHT_DAGS
from nengtan.tools.bench import Profile, run
from nengtan.tools.bench.report import render_table

TINY = Profile("tiny", enterprises=3, history_enterprises=3, history_nights=(1, 2), superset=False,
               meters_per_enterprise=3, memory_limit="1GB", night_timeout=900)


@pytest.fixture(scope="module")
def bench_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    root = tmp_path_factory.mktemp("bench")
    mp = pytest.MonkeyPatch()
    mp.setenv("NENGTAN_DATA", str(root / "data"))
    try:
        report = run(TINY, work=root / "work", progress=lambda _msg: None)
    finally:
        mp.undo()
    return report, root / "data" / "bench"


def test_report_is_written_as_json(bench_report) -> None:
    report, out = bench_report
    latest = json.loads((out / "latest.json").read_text())
    assert latest["profile"]["name"] == "tiny"
    assert Path(report["json"]).exists() and Path(report["json"]).parent == out
    assert latest["machine"]["logical_cores"] >= 1 and latest["machine"]["duckdb"]


def test_city_and_floor_figures(bench_report) -> None:
    report, _ = bench_report
    city, floor = report["city"], report["floor"]
    assert city["enterprises"] == 3 and city["meters"] > 0 and city["readings_per_day"] > 0
    assert floor["seconds"] > 0 and floor["files"] > 0
    assert floor["rows_read"] > 0 and 0 < floor["meters"] <= city["meters"]
    assert floor["total_consumption"] > 0


def test_night_figures(bench_report) -> None:
    report, _ = bench_report
    night = report["night"]
    assert night["ok"], night.get("error")
    assert night["wall_seconds"] > 0 and night["peak_rss_bytes"] > 0
    assert [d["dag_id"] for d in night["dags"]] == list(NIGHT_DAGS)
    assert all(d["state"] == "success" for d in night["dags"])
    assert night["tasks"] and all(t["seconds"] is not None for t in night["tasks"])
    assert {s["stage"] for s in night["stages"]} >= {"load_meter_readings", "publish"}
    assert report["night_over_floor"] > 0
    # the M&V step is its own stage: timed, and saying whether it measured (a 3-enterprise city has no project)
    mv = night["mv"]
    assert mv["state"] == "success" and mv["seconds"] > 0 and mv["plan_seconds"] is not None
    assert mv["measured"] is False and mv["measure_state"] == "skipped"


def test_history_backfill_and_charts(bench_report) -> None:
    report, _ = bench_report
    nights = report["history"]["nights"]
    assert [n["n"] for n in nights] == [1, 2] and all(n["ok"] for n in nights)
    assert nights[0]["ratio_to_night_1"] == 1.0 and nights[1]["ratio_to_night_1"] > 0
    assert report["backfill"]["night_by_night_days_per_hour"] > 0
    assert report["charts"]["status"].startswith("skipped: ")
    assert {t["figure"] for t in report["targets"]} == {"night_over_floor", "peak_rss_gib", "last_over_first",
                                                        "chart_p95_ms"}


def test_table_shows_figures_beside_targets(bench_report) -> None:
    report, _ = bench_report
    table = render_table(report)
    for text in ("night / floor", "peak RSS", "night 2 after 1 days", "skipped: disabled", "machine:", "target"):
        assert text in table
