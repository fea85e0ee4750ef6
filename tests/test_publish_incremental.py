"""Incremental publish: night after night, the serving copy built on the previous one (only the
incremental marts' rows from the watermark day on rewritten) equals a publish from scratch of the
same warehouse, table by table and row by row: on ordinary nights, after a corrected file for an
older day, across a month boundary after a night that was not published, after a registry change,
a full refresh, and a serving file written to behind the pipeline's back.

Real generator, loader, dbt transform, GX checks and publish; the reference is the same warehouse
copied and published into an empty data root (the from-scratch path)."""

from __future__ import annotations

import csv
import os
import shutil
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

import nengtan.publish
from nengtan import ledger
from nengtan.config import Settings, settings
from nengtan.ingest import load_night
from nengtan.publish import publish
from nengtan.quality import run_checks
from nengtan.tools.generate import generate_city
from nengtan.transform import run_transform
from nengtan.warehouse import sql_string, warehouse

START = date(2026, 1, 28)  # a month boundary after four nights
DAYS = 8


class City:
    """A generated city run night by night through load → transform (→ checks) → publish."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cfg = settings()
        self.stash = root / "held-back"
        self.published = 0

    def hold_back_corrected_files(self) -> list[Path]:
        """Take the generator's corrected reading files out of the landing zone, to land them late."""
        held = []
        for path in sorted(self.cfg.landing.glob("meter_readings/date=*/*_corrected*")):
            target = self.stash / path.relative_to(self.cfg.landing)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, target)
            held.append(target)
        return held

    def land(self, held: Path) -> None:
        target = self.cfg.landing / held.relative_to(self.stash)
        shutil.move(held, target)

    def night(self, day: date, *, checks: bool = False, full_refresh: bool = False) -> dict:
        run_id = f"night-{day.isoformat()}"
        with warehouse(self.cfg) as con:
            load_night(con, self.cfg.landing, day, run_id)
        summary = run_transform(run_id, full_refresh=full_refresh, cfg=self.cfg)
        if checks:
            with warehouse(self.cfg) as con:
                run_checks(con, run_id=run_id, day=day, stage="marts")
        return summary

    def publish(self, day: date) -> dict:
        """Publish and record it in the ledger, as the pipeline does."""
        self.published += 1
        with warehouse(self.cfg) as con:
            result = publish(con, run_id=f"publish-{self.published}-{day.isoformat()}", day=day, cfg=self.cfg)
        result["ledger"] = ledger.record_publish(self.cfg.serving_db, run_id=result["run_id"], cfg=self.cfg,
                                                 changes=result.pop("hash_changes"))
        return result

    def from_scratch(self, result: dict) -> Path:
        """The same warehouse published into an empty data root; returns that serving file."""
        ref = Settings(landing=self.cfg.landing, data=self.root / f"reference-{self.published}")
        ref.warehouse_dir.mkdir(parents=True)
        shutil.copyfile(self.cfg.warehouse_db, ref.warehouse_db)
        con = duckdb.connect(str(ref.warehouse_db))
        try:
            out = publish(con, run_id=result["run_id"], day=date.fromisoformat(result["day"]), cfg=ref)
        finally:
            con.close()
        assert out["mode"] == "full" and not out["incremental"]
        assert out["tables"] == result["tables"], "row counts per serving table differ"
        return ref.serving_db


def differences(a: Path, b: Path) -> dict[str, str]:
    """Every difference between two serving files: table sets, columns, rows (EXCEPT ALL both ways),
    and the publication they name (not when it was written)."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {sql_string(a)} AS a (READ_ONLY)")
        con.execute(f"ATTACH {sql_string(b)} AS b (READ_ONLY)")

        def tables(db: str) -> dict[str, list]:
            rows = con.execute(
                "SELECT table_schema || '.' || table_name, list((column_name, data_type) ORDER BY ordinal_position) "
                "FROM information_schema.columns WHERE table_catalog = ? GROUP BY ALL", [db]).fetchall()
            return dict(rows)

        ta, tb = tables("a"), tables("b")
        out = {t: "only in one file" for t in set(ta) ^ set(tb)}
        for t in sorted(set(ta) & set(tb)):
            if ta[t] != tb[t]:
                out[t] = f"columns {ta[t]} != {tb[t]}"
                continue
            cols = ", ".join(f'"{c}"' for c, _ in ta[t]) if t != "meta.publication" else "run_id, data_day"
            schema, table = t.split(".")
            rel = {db: f'{db}."{schema}"."{table}"' for db in ("a", "b")}
            n = con.execute(
                f"SELECT (SELECT count(*) FROM {rel['a']}), (SELECT count(*) FROM {rel['b']}), "
                f"(SELECT count(*) FROM (SELECT {cols} FROM {rel['a']} EXCEPT ALL SELECT {cols} FROM {rel['b']})), "
                f"(SELECT count(*) FROM (SELECT {cols} FROM {rel['b']} EXCEPT ALL SELECT {cols} FROM {rel['a']}))"
            ).fetchone()
            if n[0] != n[1] or n[2] or n[3]:
                out[t] = f"rows {n[0]} vs {n[1]}, {n[2]} only in the first, {n[3]} only in the second"
        return out
    finally:
        con.close()


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    root = tmp_path_factory.mktemp("publish-incremental")
    mp = pytest.MonkeyPatch()
    mp.setenv("NENGTAN_LANDING", str(root / "landing"))
    mp.setenv("NENGTAN_DATA", str(root / "data"))
    mp.setenv("NENGTAN_DBT_UNIT_TESTS", "0")  # the models' code is not under test here; keeps nights short
    mp.setattr(nengtan.publish, "COMPARE_ROWS", 10)  # the small city's tables take the big ones' path too
    try:
        generate_city(root / "landing", START, DAYS, 4, parks=2, seed=11, fault_rate=0.05)
        yield City(root)
    finally:
        mp.undo()


def _published_equals_from_scratch(city: City, result: dict) -> None:
    assert result["repaired"] == [], "an in-place update did not match the warehouse's row count"
    assert differences(city.cfg.serving_db, city.from_scratch(result)) == {}
    # the ledger's table hashes, derived for the tables kept or updated in place, equal a full rehash
    recorded = ledger.read_ledger(city.cfg)[0][-1]["payload"]["tables"]
    rehashed = ledger.table_hashes(city.cfg.serving_db)
    assert {n: t["hash"] for n, t in recorded.items()} == {n: t["hash"] for n, t in rehashed.items()}
    if result["mode"] == "incremental":
        assert "marts.meter_daily" in result["ledger"]["derived"], "the ledger rescanned an updated table"


def test_every_night_publishes_what_a_publish_from_scratch_would(city: City) -> None:
    day = [START + timedelta(days=k) for k in range(DAYS)]
    held = city.hold_back_corrected_files()
    assert held, "the generator planted no corrected file for this seed"
    late_day = min(date.fromisoformat(p.parent.name.removeprefix("date=")) for p in held)

    # night 1: nothing published before, a copy from scratch
    city.night(day[0])
    first = city.publish(day[0])
    assert first["mode"] == "full" and "no previous publication" in first["reason"]
    _published_equals_from_scratch(city, first)

    # ordinary nights (the second with the quality checks' tables): the incremental path, from the new day. The
    # first copies the serving file (there is no spare yet: night 1's publish was full); the second brings the
    # spare (night 1's file) up to date in place, with what both nights changed
    lacks: dict[str, date] = {}  # what the spare lacks: the previous publish's bounds
    for d, built_on in ((day[1], "copy"), (day[2], "spare")):
        city.night(d, checks=d == day[2])
        out = city.publish(d)
        assert out["mode"] == "incremental", out["reason"]
        assert out["built_on"] == built_on, out["reason"]
        assert {"marts.meter_daily", "marts.meter_day_sources", "marts.enterprise_energy_daily"} <= set(out["incremental"])
        assert day[0] < date.fromisoformat(out["incremental"]["marts.meter_daily"]) <= d, \
            "an ordinary night rewrites the new day's meter rows, not the history"
        # each table from its own watermark, not from the earliest of its kind (the month's enterprise-days);
        # on the spare, from the earlier of its watermarks of both nights
        scope = _bounds(city)
        expected = {t: min(b, lacks.get(t, b)) for t, b in scope.items()}
        assert {t: date.fromisoformat(out["incremental"][t]) for t in scope} == expected
        assert "marts.factor_versions" in out["unchanged"]  # seeds only: compared, found equal, kept
        _published_equals_from_scratch(city, out)
        lacks = scope
    assert any(t.startswith("quality.") for t in out["tables"])
    patched = set(out["patched"])

    # a corrected file for an older day lands late: the watermark goes back to that day
    for path in held:
        city.land(path)
    city.night(day[3])
    late = city.publish(day[3])
    patched |= set(late["patched"])
    assert late["mode"] == "incremental", late["reason"]
    assert date.fromisoformat(late["incremental"]["marts.meter_daily"]) <= late_day < day[2]
    # ... but on that day only the late file's meters are replaced (compared meter by meter), the new day whole
    replaced = late["replaced"]["marts.meter_daily"]
    assert day[3].isoformat() in replaced["days"] and late_day.isoformat() not in replaced["days"], replaced
    assert replaced["keys"] > 0, replaced
    _published_equals_from_scratch(city, late)

    # a night whose publish did not happen (blocked or skipped), across the month boundary, then one that does
    city.night(day[4])
    city.night(day[5], checks=True)
    caught_up = city.publish(day[5])
    patched |= set(caught_up["patched"])
    assert patched, "no table rebuilt whole had only some of its days replaced"
    assert caught_up["mode"] == "incremental", caught_up["reason"]
    assert date.fromisoformat(caught_up["incremental"]["marts.meter_daily"]) <= day[4]
    assert date.fromisoformat(caught_up["incremental"]["marts.enterprise_energy_daily"]) <= date(2026, 2, 1)
    _published_equals_from_scratch(city, caught_up)

    # a registry change (an enterprise moves park: every row of its meters changes): a full copy
    _move_an_enterprise_to_another_park(city.cfg.landing)
    city.night(day[6])
    moved = city.publish(day[6])
    assert moved["mode"] == "full" and "registry" in moved["reason"]
    _published_equals_from_scratch(city, moved)

    # and the next ordinary night is incremental again
    city.night(day[7])
    after = city.publish(day[7])
    assert after["mode"] == "incremental", after["reason"]
    _published_equals_from_scratch(city, after)

    # a full refresh rebuilds every row (new run ids everywhere): a full copy
    city.night(day[7], full_refresh=True)
    refreshed = city.publish(day[7])
    assert refreshed["mode"] == "full" and "full refresh" in refreshed["reason"]
    _published_equals_from_scratch(city, refreshed)

    # nothing changed since: the incremental marts are left as they are
    unchanged = city.publish(day[7])
    assert unchanged["mode"] == "incremental" and set(unchanged["incremental"].values()) == {None}
    _published_equals_from_scratch(city, unchanged)

    # the spare is not written while a reader holds it open (its lock refuses a writer): the serving file is copied
    spare = city.cfg.serving_dir / ".spare.duckdb"
    assert spare.is_file()
    reader = duckdb.connect(str(spare), read_only=True)
    try:
        held_open = city.publish(day[7])
    finally:
        reader.close()
    assert held_open["mode"] == "incremental" and held_open["built_on"] == "copy"
    _published_equals_from_scratch(city, held_open)

    # a publish that dies while writing the spare leaves it unrecorded: the next one copies the serving file
    def dies(*_args: object) -> None:
        raise RuntimeError("killed while writing the spare")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(nengtan.publish, "_write_tables", dies)
        with pytest.raises(RuntimeError, match="killed while writing"):
            city.publish(day[7])
    city.published -= 1
    after_death = city.publish(day[7])
    assert after_death["mode"] == "incremental" and after_death["built_on"] == "copy"
    _published_equals_from_scratch(city, after_death)
    on_spare = city.publish(day[7])
    assert on_spare["built_on"] == "spare", on_spare["reason"]
    _published_equals_from_scratch(city, on_spare)

    # a serving file written to after it was published is not built upon
    con = duckdb.connect(str(city.cfg.serving_db))
    con.execute("DELETE FROM marts.meter_daily WHERE day = (SELECT min(day) FROM marts.meter_daily)")
    con.close()
    rewritten = city.publish(day[7])
    assert rewritten["mode"] == "full" and "not the one last published" in rewritten["reason"]
    _published_equals_from_scratch(city, rewritten)


def _bounds(city: City) -> dict[str, date]:
    """Each incremental mart's first day the night's transform rebuilt (int_rebuild_bounds)."""
    with warehouse(city.cfg) as con:
        return dict(con.execute("SELECT table_name, min(since_day) FROM intermediate.int_rebuild_bounds "
                                "WHERE since_day IS NOT NULL AND table_name LIKE 'marts.%' GROUP BY ALL").fetchall())


def _move_an_enterprise_to_another_park(landing: Path) -> None:
    """Rewrite registry/enterprises.csv with the first enterprise in another park, landed now."""
    path = landing / "registry" / "enterprises.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    parks = sorted({r["park_id"] for r in rows})
    assert len(parks) >= 2
    rows[0]["park_id"] = next(p for p in parks if p != rows[0]["park_id"])
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    now = time.time()
    os.utime(path, (now, now))
