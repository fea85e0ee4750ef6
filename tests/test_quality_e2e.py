"""The checks on a generated city (generator -> loader -> dbt, through the real nightly
DAGs): every planted fault the checks own in the generator's ground truth
(``_generator/manifest.json``) is caught by the right rule and routed to its owner."""

from __future__ import annotations

import json
import re
import shutil
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from nengtan.quality import run_checks
from tests.conftest import CITY_LAST_DAY

METER_RULE = {"backwards_reading": "register_not_backwards", "silent_meter": "meter_not_silent"}


def _snapshot(db: Path, dest_dir: Path) -> Path:
    """A private copy of the warehouse (flushed first); the file name is kept because dbt
    views name their catalog."""
    con = duckdb.connect(str(db))  # same config as the pipeline's: shares a live instance if any
    try:
        con.execute("CHECKPOINT")
    finally:
        con.close()
    dest_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(db, dest_dir / db.name)
    return dest_dir / db.name


@pytest.fixture(scope="module")
def checked_city(published_city, city_landing, tmp_path_factory):
    """Copy of the night's warehouse, checked for every day a meter fault was planted."""
    manifest = json.loads((city_landing / "_generator" / "manifest.json").read_text(encoding="utf-8"))
    root = tmp_path_factory.mktemp("quality_e2e")
    db = _snapshot(published_city.warehouse_db, root / "copy")
    mp = pytest.MonkeyPatch()
    mp.setenv("NENGTAN_DATA", str(root / "data"))
    con = duckdb.connect(str(db))
    faults = manifest["faults"]
    days = {date.fromisoformat(f["day"]) for f in faults if f.get("kind") in METER_RULE or f.get("kind") == "gap"}
    days = sorted(d for d in days | {CITY_LAST_DAY} if d <= CITY_LAST_DAY)
    try:
        for day in days:
            run_checks(con, run_id="e2e_quality", day=day, stage="marts")
        yield con, faults
    finally:
        mp.undo()
        con.close()


def _found(con, level: str) -> dict[str, set[tuple]]:
    found: dict[str, set[tuple]] = defaultdict(set)
    for rule, entity, period, recipient in con.execute(
            """SELECT rule, entity_id, period, recipient FROM quality.check_results
               WHERE run_id = 'e2e_quality' AND NOT passed AND NOT is_summary AND level = ?""",
            [level]).fetchall():
        found[rule].add((entity, period, recipient))
    return found


def test_the_night_recorded_its_checks_and_published(published_city, checked_city) -> None:
    con, _ = checked_city
    stages = dict(con.execute("""SELECT stage, count(*) FROM quality.check_results
                                 WHERE is_summary AND day = ? AND run_id <> 'e2e_quality' GROUP BY 1""",
                              [CITY_LAST_DAY]).fetchall())
    assert stages.get("raw", 0) >= 2 and stages.get("marts", 0) >= 10
    blocking = con.execute("""SELECT rule, entity_id, message_en FROM quality.check_results
                              WHERE day = ? AND severity = 'blocking' AND NOT passed""", [CITY_LAST_DAY]).fetchall()
    assert blocking == []  # the night published, so no blocking check may have failed


def test_planted_meter_faults_are_caught_and_routed(checked_city) -> None:
    con, faults = checked_city
    owner = dict(con.execute("""SELECT DISTINCT m.meter_id, e.contact_email FROM marts.meter_daily m
                                JOIN marts.dim_enterprises e USING (credit_code)""").fetchall())
    found = _found(con, "meter")
    for rule_findings in found.values():
        for meter_id, _, recipient in rule_findings:
            assert recipient == owner[meter_id], (meter_id, recipient)
    caught = {rule: {(m, date.fromisoformat(p)) for m, p, _ in v} for rule, v in found.items()}
    planted: dict[str, set] = defaultdict(set)
    big_gaps = set()
    for f in faults:
        if "(quality error)" in f.get("detail", ""):
            continue  # the gateway flagged it: the transform drops error readings (gateway_errors)
        if f.get("kind") in METER_RULE and date.fromisoformat(f["day"]) <= CITY_LAST_DAY:
            planted[f["kind"]].add((f["meter_id"], date.fromisoformat(f["day"])))
        elif f.get("kind") == "gap" and int(re.search(r"\((\d+)\)", f["detail"]).group(1)) >= 10:
            big_gaps.add((f["meter_id"], date.fromisoformat(f["day"])))  # >= 10 of 96 missing: < 90 %
    assert planted["backwards_reading"] and planted["silent_meter"]
    for kind, rule in METER_RULE.items():
        missed = planted[kind] - caught.get(rule, set())
        assert not missed, f"{kind} not caught by {rule}: {sorted(missed)}"
    assert caught.get("register_not_backwards", set()) <= planted["backwards_reading"]
    big_gaps = {g for g in big_gaps if g[1] <= CITY_LAST_DAY}
    assert big_gaps <= caught.get("completeness_min", set()) | planted["silent_meter"]


def test_planted_enterprise_faults_are_caught_and_routed(checked_city) -> None:
    con, faults = checked_city
    contact = dict(con.execute("SELECT credit_code, contact_email FROM marts.dim_enterprises").fetchall())
    found = _found(con, "enterprise")
    deadline = CITY_LAST_DAY.replace(day=15)
    checked_months = {f"{CITY_LAST_DAY:%Y-%m}", f"{CITY_LAST_DAY.replace(day=1) - timedelta(days=1):%Y-%m}"}
    for f in faults:
        if f.get("kind") == "missing_declaration" and CITY_LAST_DAY >= deadline and f["month"] in checked_months:
            cc = f["credit_code"]
            assert (cc, f["month"], contact[cc]) in found["declaration_on_time"], f
        elif f.get("kind") == "certificate_double_claim" and f["month"] in checked_months:
            holders = set(re.findall(r"by (\w{18})", f["detail"]))
            assert len(holders) == 2, f
            got = {(e, r) for e, _, r in found["certificate_single_claim"]}
            for cc in holders:
                assert (cc, contact[cc]) in got, (f, cc)
        elif f.get("kind") == "declaration_mismatch" and f["month"] in checked_months:
            cc = f["credit_code"]
            assert cc in {e for e, _, _ in found["declared_vs_metered"]}, f
