"""A tiny warehouse with known, planted faults (and a clean twin) for tests and demos.

Fills marts created from dbt's declared schema (nengtan.mart_schema: every column, its contract type), so
the checks can be exercised without the generator/loader/dbt run, on the tables a build would give them.
``PLANTED`` lists each fault as (rule, entity_id, recipient).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd

from nengtan.mart_schema import create_marts
from nengtan.warehouse import ensure_raw_schema

DAY = date(2026, 3, 20)
PARKS = [("P01", "一号园区", "Park One", "p01-office@park.example.cn"),
         ("P02", "二号园区", "Park Two", "p02-office@park.example.cn")]
# credit_code, park, key_energy_user, contact
ENTERPRISES = [
    ("91320500000000001A", "P01", True, "e1@ent.example.cn"),
    ("91320500000000002B", "P01", True, "manager@foreign.example.com"),
    ("91320500000000003C", "P02", False, "e3@ent.example.cn"),
    ("91320500000000004D", "P02", False, "e4@ent.example.cn"),
]
E1, E2, E3, E4 = (e[0] for e in ENTERPRISES)
METERS = [("M01", E1), ("M02", E1), ("M03", E1), ("M04", E1), ("M05", E2),
          ("M06", E3), ("M07", E3), ("M08", E4), ("M09", E4)]
TCE_PER_KWH = 0.0001229
CO2_PER_KWH = 0.0005827
RUN_ID = "test_run"

PLANTED = [
    ("completeness_min", "M01", "e1@ent.example.cn"),
    ("register_not_backwards", "M02", "e1@ent.example.cn"),
    ("quantity_plausible", "M03", "e1@ent.example.cn"),
    ("meter_not_silent", "M05", "manager@foreign.example.com"),
    ("meter_not_silent", "M08", "e4@ent.example.cn"),
    ("park_silent_share", "P02", "p02-office@park.example.cn"),
    ("declaration_on_time", E2, "manager@foreign.example.com"),
    ("declared_vs_metered", E4, "e4@ent.example.cn"),
    ("daily_vs_monthly", E3, "e3@ent.example.cn"),
    ("certificate_single_claim", E1, "e1@ent.example.cn"),
    ("certificate_single_claim", E3, "e3@ent.example.cn"),
    ("green_power_covered", E4, "e4@ent.example.cn"),
    ("certificate_claim_counts", E4, "e4@ent.example.cn"),
]
# Blocking checks on the marts are dbt's (tests that stop the build: sums, signs, counted once); GX blocks on raw.
# The blocking variant also plants a negative meter-day, which the owner hears of as implausible.
PLANTED_BLOCKING = [
    ("no_null_keys", "raw.enterprises"),
    ("load_log_balanced", "meter_readings/date=2026-03-20/b.csv"),
]


def _meter_daily(day: date, faults: bool, history_days: int = 50, negative: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    park_of = {e[0]: e[1] for e in ENTERPRISES}
    rows = []
    for i in range(history_days + 1):
        d = day - timedelta(days=history_days - i)
        for meter_id, cc in METERS:
            q = 100.0 + float(rng.normal(0, 3))
            rec = dict(meter_id=meter_id, credit_code=cc, park_id=park_of[cc], energy_type="electricity",
                       day=d, quantity=q, intervals_received=96, intervals_estimated=0, completeness=1.0,
                       backwards_faults=0, is_silent=False)
            if faults and d == day:
                if meter_id == "M01":
                    rec.update(intervals_received=48, intervals_estimated=48, completeness=0.5)
                elif meter_id == "M02":
                    rec["backwards_faults"] = 2
                elif meter_id == "M03":
                    rec["quantity"] = 1000.0
                elif meter_id in ("M05", "M08"):
                    rec.update(quantity=0.0, intervals_received=0, completeness=0.0, is_silent=True)
            if negative and d == day and meter_id == "M04":
                rec["quantity"] = -5.0
            rows.append(rec)
    return pd.DataFrame(rows)


def build_sample_warehouse(con: duckdb.DuckDBPyConnection, *, faults: bool = True,
                           blocking: bool = False, day: date = DAY, run_id: str = RUN_ID) -> None:
    """Create raw + marts tables for ``day`` with ``PLANTED`` faults (or none)."""
    ensure_raw_schema(con)
    create_marts(con, ["dim_parks", "dim_enterprises", "meter_daily", "enterprise_energy_daily",
                       "enterprise_carbon_monthly", "park_carbon_monthly", "city_carbon_monthly", "certificate_claims",
                       "ets_compliance", "regulatory_candidates", "project_savings_monthly", "new_facility_tracking"])
    con.register("_parks", pd.DataFrame(PARKS, columns=["park_id", "name_zh", "name_en", "contact_email"]))
    con.execute("INSERT INTO marts.dim_parks BY NAME SELECT * FROM _parks")
    ents = pd.DataFrame(ENTERPRISES, columns=["credit_code", "park_id", "key_energy_user", "contact_email"])
    ents["name_zh"] = "企业" + ents.credit_code.str[-2:]
    ents["name_en"] = "Enterprise " + ents.credit_code.str[-2:]
    con.register("_ents", ents)
    con.execute("INSERT INTO marts.dim_enterprises BY NAME SELECT * FROM _ents")

    md = _meter_daily(day, faults, negative=blocking)
    con.register("_md", md)
    con.execute("INSERT INTO marts.meter_daily BY NAME SELECT * FROM _md")
    con.execute(f"""
        INSERT INTO marts.enterprise_energy_daily BY NAME
        SELECT credit_code, park_id, day, energy_type, sum(quantity) AS quantity, 'kWh' AS unit,
               sum(quantity) * {TCE_PER_KWH} AS energy_tce, sum(quantity) * {CO2_PER_KWH} AS co2_t,
               sum(intervals_received) AS intervals_received, sum(intervals_estimated) AS intervals_estimated,
               avg(completeness) AS completeness
        FROM marts.meter_daily GROUP BY ALL""")
    e3_factor = 1.2 if faults else 1.0
    e4_gap = 12.0 if faults else 1.5
    con.execute(f"""
        INSERT INTO marts.enterprise_carbon_monthly BY NAME
        SELECT credit_code, park_id, CAST(date_trunc('month', day) AS DATE) AS month,
               sum(energy_tce * CASE WHEN credit_code = '{E3}' AND day >= DATE '2026-03-01'
                                     THEN {e3_factor} ELSE 1 END) AS energy_tce,
               sum(energy_tce * CASE WHEN credit_code = '{E3}' AND day >= DATE '2026-03-01'
                                     THEN {e3_factor} ELSE 1 END) AS energy_tce_gross,
               sum(energy_tce) AS energy_tce_dual_control, sum(co2_t) AS co2_t,
               false AS meter_coverage_partial, false AS is_provisional,
               CASE WHEN {faults} AND credit_code = '{E4}' AND CAST(date_trunc('month', day) AS DATE) = DATE '2026-03-01'
                    THEN 10.0 ELSE 0.0 END AS green_direct_uncovered_mwh,
               CASE WHEN {faults} AND credit_code = '{E4}' AND CAST(date_trunc('month', day) AS DATE) = DATE '2026-03-01'
                    THEN 12.0 END AS green_direct_declared_mwh,
               0.0 AS scope1_co2_t, sum(co2_t) AS scope2_location_co2_t, sum(co2_t) * 0.9 AS scope2_market_co2_t,
               0.0 AS green_mwh, 1000.0 AS value_added_10k_cny,
               NULL::DOUBLE AS energy_intensity, NULL::DOUBLE AS carbon_intensity,
               CASE WHEN CAST(date_trunc('month', day) AS DATE) = DATE '2026-02-01' AND credit_code = '{E4}'
                    THEN {e4_gap}
                    WHEN CAST(date_trunc('month', day) AS DATE) = DATE '2026-02-01' AND credit_code = '{E1}'
                    THEN 1.0 END AS gap_pct_electricity,
               NULL::DOUBLE AS gap_pct_natural_gas, NULL::DOUBLE AS gap_pct_heat, NULL::DOUBLE AS gap_pct_steam
        FROM marts.enterprise_energy_daily GROUP BY ALL""")
    con.execute("""
        INSERT INTO marts.park_carbon_monthly BY NAME
        SELECT park_id, month, sum(energy_tce) AS energy_tce,
               sum(energy_tce_gross) AS energy_tce_gross, sum(energy_tce_dual_control) AS energy_tce_dual_control,
               sum(co2_t) AS co2_t, sum(scope1_co2_t) AS scope1_co2_t, sum(scope2_location_co2_t) AS scope2_location_co2_t,
               sum(scope2_market_co2_t) AS scope2_market_co2_t, 0.0 AS ytd_energy_tce, 0.0 AS ytd_co2_t
        FROM marts.enterprise_carbon_monthly GROUP BY park_id, month""")
    con.execute("""
        INSERT INTO marts.city_carbon_monthly BY NAME
        SELECT 'CITY' AS city_id, month, sum(energy_tce) AS energy_tce,
               sum(energy_tce_gross) AS energy_tce_gross, sum(energy_tce_dual_control) AS energy_tce_dual_control,
               sum(co2_t) AS co2_t, sum(scope1_co2_t) AS scope1_co2_t, sum(scope2_location_co2_t) AS scope2_location_co2_t,
               sum(scope2_market_co2_t) AS scope2_market_co2_t, 0.0 AS ytd_energy_tce, 0.0 AS ytd_co2_t
        FROM marts.park_carbon_monthly GROUP BY month""")
    claims = [("GEC0001", E1, "2026-03", datetime(2026, 3, 5, 10), 1, False, True),
              ("GEC0002", E4, "2026-03", datetime(2026, 3, 6, 10), 1, False, True)]
    if faults:
        claims.append(("GEC0001", E3, "2026-03", datetime(2026, 3, 19, 9), 2, True, False))
        # generated in 2023: valid to 2025-12, not for March 2026
        claims.append(("GEC0099", E4, "2026-03", datetime(2026, 3, 7, 9), 1, False, False))
    con.register("_claims", pd.DataFrame(claims, columns=[
        "certificate_id", "owner_credit_code", "claimed_period", "claimed_at", "claim_rank",
        "is_double_claim", "counted"]))
    con.execute("INSERT INTO marts.certificate_claims BY NAME SELECT *, "
                "CASE WHEN certificate_id = 'GEC0099' THEN '2023-05' ELSE '2026-02' END AS generation_month, "
                "CASE WHEN counted THEN NULL WHEN certificate_id = 'GEC0099' THEN 'expired' "
                "ELSE 'double_claim' END AS reason_not_counted, "
                "CASE WHEN counted THEN 1.0 ELSE 0.0 END AS counted_mwh, "
                "CASE WHEN certificate_id = 'GEC0099' THEN DATE '2025-12-01' ELSE DATE '2028-01-01' END "
                "AS valid_to_month FROM _claims")
    # the carbon market and energy-saving projects (issue 15, expectations/projects.py): nothing in the sample
    # city, the suites run on the empty marts created above
    con.execute("CREATE SCHEMA IF NOT EXISTS intermediate")
    con.execute("""CREATE OR REPLACE TABLE intermediate.int_project_mv_fits (project_id VARCHAR, credit_code VARCHAR,
        energy_type VARCHAR, unit VARCHAR, baseline_start DATE, baseline_end DATE, baseline_days INTEGER,
        baseline_qualified BOOLEAN, cvrmse DECIMAL(12,6), reasons VARCHAR, as_of DATE)""")

    # raw: declarations for February (E2, a key user, has not declared when faults=True)
    now = datetime(2026, 3, 21, 1)
    files = [("f_decl", "declarations", "declarations/month=2026-02/d.csv", 4, 4, 0),
             ("f_ents", "registry_enterprises", "registry/enterprises.csv", 4, 4, 0),
             ("f_a", "meter_readings", "meter_readings/date=2026-03-20/a.csv", 10, 9, 1),
             ("f_b", "meter_readings", "meter_readings/date=2026-03-20/b.csv", 10,
              9 if blocking else 10, 0)]
    for fid, source, path, read, loaded, quarantined in files:
        con.execute("""INSERT INTO raw.load_log VALUES (?, ?, ?, NULL, 'x', 1, ?, 'utf-8', ?, ?, ?,
                       'loaded', NULL, ?, ?, NULL)""",
                    [fid, source, path, now, read, loaded, quarantined, run_id, now])
    declarers = [E1, E3, E4] + ([] if faults else [E2])
    for n, cc in enumerate(declarers):
        con.execute("""INSERT INTO raw.declarations VALUES (?, '2026-02', ?, ?, 'electricity_purchased',
                       3000, 'kWh', 'f_decl', ?, ?)""", [cc, f"S{n}", datetime(2026, 3, 10), now, n + 2])
    for n, (cc, park, key, mail) in enumerate(ENTERPRISES):
        con.execute("""INSERT INTO raw.enterprises (credit_code, name_zh, name_en, park_id, industry_code, key_energy_user, ets_covered, contact_email, file_id, landed_at, source_line) VALUES (?, 'n', 'n', ?, '39', ?, false, ?, 'f_ents', ?, ?)""",
                    [None if (blocking and n == 0) else cc, park, key, mail, now, n + 2])
