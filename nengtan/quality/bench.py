"""Cost of the nightly checks at city scale: ``python -m nengtan.quality.bench``.

Builds a synthetic warehouse in DuckDB (default 100,000 meters x 1 checked day, plus
28 days of history for the plausibility band, 5,000 enterprises in 20 parks), plants
faults in ~1 % of meter-days, runs ``run_checks(stage='marts')`` and reports seconds
(GX import separately) and the failure counts. Writes ``$NENGTAN_DATA/bench/quality.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date

import duckdb

from nengtan.config import settings
from nengtan.quality.gx_engine import quiet_gx
from nengtan.warehouse import ensure_raw_schema


def build_city(con: duckdb.DuckDBPyConnection, *, meters: int, day: date, history_days: int = 28,
               enterprises: int = 5000, parks: int = 20) -> None:
    """Synthetic marts with the documented columns, derived from ``marts.meter_daily``."""
    ensure_raw_schema(con)  # empty raw tables: no declarations, no registry changes
    con.execute("CREATE SCHEMA IF NOT EXISTS marts; SET enable_progress_bar = false")
    con.execute(f"""CREATE OR REPLACE TABLE marts.dim_parks AS
        SELECT printf('P%02d', i) AS park_id, 'park' AS name_zh, 'park' AS name_en,
               printf('p%02d@park.example.cn', i) AS contact_email FROM range({parks}) t(i)""")
    con.execute(f"""CREATE OR REPLACE TABLE marts.dim_enterprises AS
        SELECT printf('9132%014d', i) AS credit_code, printf('P%02d', i % {parks}) AS park_id,
               i % 10 = 0 AS key_energy_user, printf('e%d@ent.example.cn', i) AS contact_email
        FROM range({enterprises}) t(i)""")
    con.execute(f"""CREATE OR REPLACE TABLE marts.meter_daily AS
        SELECT printf('M%06d', m) AS meter_id, printf('9132%014d', m % {enterprises}) AS credit_code,
               printf('P%02d', (m % {enterprises}) % {parks}) AS park_id, 'electricity' AS energy_type,
               CAST(DATE '{day}' - CAST(d AS INTEGER) AS DATE) AS day,
               CASE WHEN d = 0 AND m % 997 = 3 THEN 5000.0 ELSE 100 + 10 * sin(m + d) END AS quantity,
               CASE WHEN d = 0 AND m % 101 = 1 THEN 60 ELSE 96 END AS intervals_received,
               0 AS intervals_estimated,
               CASE WHEN d = 0 AND m % 101 = 1 THEN 0.625 ELSE 1.0 END AS completeness,
               CASE WHEN d = 0 AND m % 1009 = 5 THEN 1 ELSE 0 END AS backwards_faults,
               d = 0 AND m % 1013 = 7 AS is_silent
        FROM range({meters}) a(m), range({history_days + 1}) b(d)""")
    con.execute("""CREATE OR REPLACE TABLE marts.enterprise_energy_daily AS
        SELECT credit_code, park_id, day, energy_type, sum(quantity) AS quantity, 'kWh' AS unit,
               sum(quantity) * 0.0001229 AS energy_tce, sum(quantity) * 0.0005827 AS co2_t,
               sum(intervals_received) AS intervals_received, 0 AS intervals_estimated,
               avg(completeness) AS completeness
        FROM marts.meter_daily GROUP BY ALL""")
    con.execute("""CREATE OR REPLACE TABLE marts.enterprise_carbon_monthly AS
        SELECT credit_code, park_id, CAST(date_trunc('month', day) AS DATE) AS month,
               sum(energy_tce) AS energy_tce, sum(energy_tce) AS energy_tce_gross,
               sum(energy_tce) AS energy_tce_dual_control, sum(co2_t) AS co2_t, false AS meter_coverage_partial,
               false AS is_provisional, 0.0 AS green_direct_uncovered_mwh, NULL::DOUBLE AS green_direct_declared_mwh,
               0.0 AS scope1_co2_t, sum(co2_t) AS scope2_location_co2_t,
               sum(co2_t) AS scope2_market_co2_t, 1.0 AS gap_pct_electricity, NULL::DOUBLE AS gap_pct_natural_gas,
               NULL::DOUBLE AS gap_pct_heat, NULL::DOUBLE AS gap_pct_steam
        FROM marts.enterprise_energy_daily GROUP BY ALL""")
    con.execute("""CREATE OR REPLACE TABLE marts.park_carbon_monthly AS
        SELECT park_id, month, sum(energy_tce) AS energy_tce, sum(energy_tce_gross) AS energy_tce_gross,
               sum(energy_tce_dual_control) AS energy_tce_dual_control, sum(co2_t) AS co2_t,
               sum(scope1_co2_t) AS scope1_co2_t,
               sum(scope2_location_co2_t) AS scope2_location_co2_t,
               sum(scope2_market_co2_t) AS scope2_market_co2_t
        FROM marts.enterprise_carbon_monthly GROUP BY ALL""")
    con.execute("""CREATE OR REPLACE TABLE marts.city_carbon_monthly AS
        SELECT month, sum(energy_tce) AS energy_tce, sum(energy_tce_gross) AS energy_tce_gross,
               sum(energy_tce_dual_control) AS energy_tce_dual_control, sum(co2_t) AS co2_t,
               sum(scope1_co2_t) AS scope1_co2_t,
               sum(scope2_location_co2_t) AS scope2_location_co2_t,
               sum(scope2_market_co2_t) AS scope2_market_co2_t
        FROM marts.park_carbon_monthly GROUP BY ALL""")
    con.execute("""CREATE OR REPLACE TABLE marts.certificate_claims AS
        SELECT printf('GEC%06d', i) AS certificate_id, printf('9132%014d', i) AS owner_credit_code,
               '2026-03' AS claimed_period, TIMESTAMP '2026-03-05 10:00' AS claimed_at, 1 AS claim_rank,
               false AS is_double_claim, true AS counted, 1.0 AS counted_mwh, NULL::VARCHAR AS reason_not_counted,
               '2026-02' AS generation_month, DATE '2028-01-01' AS valid_to_month FROM range(1000) t(i)""")
    con.execute("""CREATE OR REPLACE TABLE marts.ets_compliance AS
        SELECT printf('9132%014d', i) AS credit_code, NULL::VARCHAR AS park_id, 2025 AS year, 'power' AS sector,
               1000000.0 AS verified_emissions_tco2, 1000000.0 AS allowances_surrendered_t, 0.0 AS ccer_usable_t,
               0.0 AS ccer_over_cap_t, 0.0 AS compliance_gap_t, DATE '2026-12-31' AS compliance_deadline,
               30 AS days_to_deadline, false AS gap_near_deadline, 1000000.0 AS warehouse_co2_t,
               12 AS warehouse_months, 0.0 AS cross_check_diff_pct, false AS cross_check_finding
        FROM range(100) t(i)""")
    con.execute("""CREATE OR REPLACE TABLE marts.regulatory_candidates AS
        SELECT printf('9132%014d', i) AS credit_code, NULL::VARCHAR AS name_zh, NULL::VARCHAR AS name_en,
               NULL::VARCHAR AS park_id, 2026 AS year, 'key_energy_user' AS list, 12000.0 AS figure,
               10000.0 AS threshold, 'tce' AS unit, NULL::VARCHAR AS sector FROM range(10) t(i)""")


def main(argv: list[str] | None = None) -> dict:
    from nengtan.quality import run_checks

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--meters", type=int, default=100_000)
    parser.add_argument("--day", type=date.fromisoformat, default=date(2026, 3, 20))
    args = parser.parse_args(argv)
    cfg = settings()
    t0 = time.perf_counter()
    quiet_gx()
    t_import = time.perf_counter() - t0
    con = duckdb.connect()
    t0 = time.perf_counter()
    build_city(con, meters=args.meters, day=args.day)
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    outcome = run_checks(con, run_id="bench", day=args.day, stage="marts", cfg=cfg)
    t_checks = time.perf_counter() - t0
    assert outcome.rules_checked >= 13, outcome.as_dict()
    counts: dict[str, int] = {}
    for f in outcome.routed_failures + outcome.blocking_failures:
        counts[f["rule"]] = counts.get(f["rule"], 0) + 1
    report = {"meters": args.meters, "meter_days_checked": args.meters,
              "history_rows": con.execute("SELECT count(*) FROM marts.meter_daily").fetchone()[0],
              "gx_import_s": round(t_import, 2), "build_synthetic_s": round(t_build, 2),
              "run_checks_marts_s": round(t_checks, 2), "failures_by_rule": counts,
              "blocking": len(outcome.blocking_failures), "suites": outcome.timings}
    cfg.bench_dir.mkdir(parents=True, exist_ok=True)
    (cfg.bench_dir / "quality.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
