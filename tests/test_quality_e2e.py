"""The checks on a generated city (generator -> loader -> dbt, through the real nightly
DAGs): every planted meter fault in the generator's ground truth
(``_generator/manifest.json``) is caught by the right rule and routed to the owner."""

from __future__ import annotations

import json
import re
import shutil
from collections import defaultdict
from datetime import date

import duckdb

from nengtan.quality import run_checks
from tests.conftest import CITY_LAST_DAY

RULE_OF_FAULT = {"backwards_reading": "register_not_backwards", "silent_meter": "meter_not_silent"}


def test_the_night_recorded_its_checks_and_published(published_city) -> None:
    con = duckdb.connect(str(published_city.warehouse_db), read_only=True)
    try:
        stages = dict(con.execute("""SELECT stage, count(*) FROM quality.check_results
                                     WHERE is_summary AND day = ? GROUP BY 1""", [CITY_LAST_DAY]).fetchall())
        assert stages.get("raw", 0) >= 2 and stages.get("marts", 0) >= 10
        blocking = con.execute("""SELECT rule, entity_id, message_en FROM quality.check_results
                                  WHERE day = ? AND severity = 'blocking' AND NOT passed""",
                               [CITY_LAST_DAY]).fetchall()
        assert blocking == []  # the night published, so no blocking check may have failed
    finally:
        con.close()


def test_planted_meter_faults_are_caught_and_routed(published_city, city_landing, tmp_path, monkeypatch) -> None:
    manifest = json.loads((city_landing / "_generator" / "manifest.json").read_text(encoding="utf-8"))
    planted: dict[str, set[tuple[str, date]]] = defaultdict(set)
    big_gaps: set[tuple[str, date]] = set()
    for fault in manifest["faults"]:
        kind = fault.get("kind")
        if kind in RULE_OF_FAULT:
            planted[kind].add((fault["meter_id"], date.fromisoformat(fault["day"])))
        elif kind == "gap":
            missing = int(re.search(r"\((\d+)\)", fault["detail"]).group(1))
            if missing >= 10:  # 86/96 < 90 %
                big_gaps.add((fault["meter_id"], date.fromisoformat(fault["day"])))
    assert planted["backwards_reading"] and planted["silent_meter"]

    db = tmp_path / "copy" / published_city.warehouse_db.name  # dbt views name the catalog: keep the name
    db.parent.mkdir()
    shutil.copy(published_city.warehouse_db, db)
    monkeypatch.setenv("NENGTAN_DATA", str(tmp_path / "data"))
    con = duckdb.connect(str(db))
    days = sorted({d for faults in planted.values() for _, d in faults} | {d for _, d in big_gaps})
    for day in days:
        run_checks(con, run_id="e2e_quality", day=day, stage="marts")
    found: dict[str, set[tuple[str, date]]] = defaultdict(set)
    owner = dict(con.execute("""SELECT m.meter_id, e.contact_email FROM marts.meter_daily m
                                JOIN marts.dim_enterprises e USING (credit_code)""").fetchall())
    for rule, meter_id, day, recipient in con.execute(
            """SELECT rule, meter_id, CAST(period AS DATE), recipient FROM quality.check_results
               WHERE run_id = 'e2e_quality' AND NOT passed AND NOT is_summary AND level = 'meter'""").fetchall():
        found[rule].add((meter_id, day))
        assert recipient == owner[meter_id], (rule, meter_id, recipient)
    for kind, rule in RULE_OF_FAULT.items():
        missed = planted[kind] - found[rule]
        assert not missed, f"{kind} not caught by {rule}: {sorted(missed)}"
    # a backwards register is only reported where one was planted
    assert found["register_not_backwards"] <= planted["backwards_reading"]
    assert big_gaps <= found["completeness_min"] | planted["silent_meter"]
