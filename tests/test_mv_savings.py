"""Measured savings on generated projects whose true savings are known (the generator plants them in
the meter data and states the fraction in its manifest), through ``nengtan.mv.run`` in the M&V
environment.

The city is the demo's shape (1 March 2025 to 31 May 2026): its retrofits are commissioned in March
2026 after a year of baseline (the Spring Festival in it), one of them saves nothing although its owner
claims it does, and one states a 60-day baseline. Its daily energy is the generator's own truth file (``_generator/truth_meter_daily.csv.gz``:
what the meters really used) and its weather the landing's files, laid out in the tables the M&V step
reads from the warehouse (the night itself is covered by the pipeline's tests; a 455-day night would
cost minutes here).
"""

from __future__ import annotations

import json
import re
import subprocess
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from nengtan.config import REPO_ROOT, settings
from nengtan.mv.env import MV_PYTHON, mv_environ

START, DAYS = date(2025, 3, 1), 457
AS_OF = START + timedelta(days=DAYS - 1)


def _warehouse(landing: Path, db: Path) -> None:
    """The tables ``nengtan.mv.run`` reads, from the landing zone and the generator's truth."""
    con = duckdb.connect(str(db))
    for s in ("staging", "intermediate", "marts"):
        con.execute(f"create schema {s}")
    con.execute(f"""create table staging.stg_raw__projects as
        select * exclude (rk) from (select *, row_number() over (partition by project_id order by updated_at desc) rk
        from read_csv('{landing}/projects/*.csv', all_varchar = true)) where rk = 1""")
    con.execute(f"create table staging.stg_raw__meters as select * from read_csv('{landing}/registry/meters.csv', "
                "all_varchar = true)")
    con.execute(f"""create table marts.dim_enterprises as select e.credit_code, p.district
        from read_csv('{landing}/registry/enterprises.csv', all_varchar = true) e
        join read_csv('{landing}/registry/parks.csv', all_varchar = true) p using (park_id)""")
    con.execute(f"""create table intermediate.int_meter_daily as
        select meter_id, cast(day as date) as day, cast(quantity as decimal(38, 8)) as quantity,
               cast(1 as decimal(9, 4)) as completeness
        from read_csv('{landing}/_generator/truth_meter_daily.csv.gz')""")
    con.execute(f"""create table staging.stg_raw__weather as
        select district, cast(date as date) as day, cast(temp_mean_c as decimal(6, 2)) as temp_mean_c
        from read_csv('{landing}/weather/*/*.csv', all_varchar = true)""")
    con.execute("""create table staging.stg_raw__project_meters as
        select project_id, credit_code, unnest(string_split(meter_ids, ' ')) as meter_id from staging.stg_raw__projects""")
    con.close()


def _run(db: Path, out: Path) -> dict:
    code = ("import json, sys; from nengtan.mv.run import run; "
            f"print(json.dumps(run({str(db)!r}, {str(out)!r}, {AS_OF.isoformat()!r})))")
    res = subprocess.run([str(MV_PYTHON), "-c", code], cwd=REPO_ROOT, env=mv_environ(settings()),
                         capture_output=True, text=True, timeout=1200)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from nengtan.tools.generate import generate_city

    root = tmp_path_factory.mktemp("mv_city")
    landing = root / "landing"
    generate_city(landing, START, DAYS, 40, parks=2, seed=11, fault_rate=0.0)
    db = root / "wh.duckdb"
    _warehouse(landing, db)
    out = root / "mv"
    first = _run(db, out)
    night = out / "runs" / f"day={AS_OF.isoformat()}"
    fits = pd.read_parquet(night / "fits.parquet").set_index("project_id")
    months = pd.read_parquet(night / "months.parquet")
    manifest = json.loads((landing / "_generator" / "manifest.json").read_text())
    records = [f for f in manifest["faults"] if f["kind"] == "project_savings"]
    planted = {f["detail"].split()[0]: int(re.search(r"use (\d+)% less", f["detail"]).group(1)) / 100
               for f in records}
    nothing = [f["detail"].split()[0] for f in records if "saves nothing" in f["detail"]]
    short = [f["detail"].split()[0] for f in records if "too short" in f["detail"]]
    return {"db": db, "out": out, "first": first, "fits": fits, "months": months, "planted": planted,
            "nothing": nothing, "short": short}


def test_planted_savings_measured_within_their_uncertainty(measured: dict) -> None:
    """Every retrofit with a year of baseline and real savings: its baseline qualifies and the measured
    savings lie within their stated 90 % uncertainty of the truth (what the meter really saved)."""
    fits = measured["fits"]
    real = {p: x for p, x in measured["planted"].items() if x > 0 and p not in measured["short"]}
    assert len(real) >= 6, f"the generator planted too few measurable retrofits: {measured['planted']}"
    for pid, fraction in real.items():
        f = fits.loc[pid]
        assert f["baseline_qualified"], (pid, f["reasons"])
        assert f["baseline_days"] == 365 and not f["baseline_short"]
        # the truth over the reporting days: the meter used (1 - fraction) of what it would have
        truth = f["metered_total"] * fraction / (1 - fraction)
        assert abs(f["savings_total"] - truth) <= f["savings_total_uncertainty"], (
            pid, f["savings_total"], truth, f["savings_total_uncertainty"])
        if truth > 2 * f["savings_total_uncertainty"]:  # savings well beyond the method's noise: told apart
            assert f["savings_total"] > f["savings_total_uncertainty"], pid


def test_a_project_that_saves_nothing_is_not_credited(measured: dict) -> None:
    assert len(measured["nothing"]) == 1, "the generator planted no project that saves nothing"
    f = measured["fits"].loc[measured["nothing"][0]]
    assert f["baseline_qualified"], f["reasons"]
    assert f["reporting_days"] > 60
    assert abs(f["savings_total"]) <= f["savings_total_uncertainty"], (f["savings_total"], f["savings_total_uncertainty"])


def test_too_short_a_baseline_is_not_qualified(measured: dict) -> None:
    assert len(measured["short"]) == 1, "the generator planted no project with too short a baseline"
    pid = measured["short"][0]
    f = measured["fits"].loc[pid]
    assert not f["baseline_qualified"]
    assert f["baseline_days"] == 60 and "shorter than the 90 days" in f["reasons"]
    assert pd.isna(f["model_json"]) and pid not in set(measured["months"]["project_id"])


def test_months_add_up_and_carry_the_model(measured: dict) -> None:
    fits, months = measured["fits"], measured["months"]
    for pid, g in months.groupby("project_id"):
        assert g["savings"].sum() == pytest.approx(fits.loc[pid, "savings_total"], rel=1e-9)
        assert (g["predicted"] - g["metered"] - g["savings"]).abs().max() < 1e-6
        assert (g["savings_uncertainty"] > 0).all()
        assert set(g["model_version"]) == {fits.loc[pid, "model_version"]}
        assert fits.loc[pid, "model_version"].startswith("opendsm 1.2.7 daily ")
        assert json.loads(fits.loc[pid, "model_json"])["submodels"]


def test_refit_only_when_the_baseline_data_changed(measured: dict) -> None:
    # a first night fits every boundary with a baseline period (an in-progress project has none yet)
    assert measured["first"]["refits"] == measured["fits"]["baseline_start"].notna().sum() >= 9
    again = _run(measured["db"], measured["out"])
    assert again["refits"] == 0
    nothing = measured["nothing"][0]
    meter, day = (measured["fits"].loc[nothing, "boundary_meters"],
                  measured["fits"].loc[nothing, "baseline_start"] + timedelta(days=3))
    con = duckdb.connect(str(measured["db"]))
    con.execute("update intermediate.int_meter_daily set quantity = quantity * 1.01 where meter_id = ? and day = ?",
                [meter, day])
    con.close()
    changed = _run(measured["db"], measured["out"])
    # only the project whose baseline holds that day is refitted
    assert changed["refits"] == 1
