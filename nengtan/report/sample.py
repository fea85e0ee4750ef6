"""A small, consistent serving copy built straight from numbers, for report development
and tests that must not wait for the whole pipeline.

It follows the documented mart columns (docs/architecture.md); the real pipeline's
serving copy is what production reports read.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from pathlib import Path

import duckdb

from nengtan.credit_code import check_character

ELEC_TCE, GAS_TCE = 0.1229e-3, 1.2143e-3  # tce per kWh, per m3
ELEC_CO2_LOC, ELEC_CO2_MKT, GAS_CO2 = 0.5827e-3, 0.6096e-3, 2.162e-3  # tCO2 per kWh / m3


def _code(n: int) -> str:
    first17 = f"91320500MA{n:07d}"
    return first17 + check_character(first17)


def build_sample_serving(path: Path, *, through: date = date(2026, 3, 31), year: int = 2026) -> Path:
    """Write a serving copy with 2 parks, 6 enterprises (4 key energy users), January to
    ``through``; published through ``through`` + 10 days."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    parks = [("P01", "高新技术产业园", "High-Tech Park", "吴中区", "p01@park.example"),
             ("P02", "临港化工园", "Lingang Chemical Park", "太仓市", "p02@park.example")]
    ents = []
    for i in range(6):
        ents.append((_code(i + 1), f"示例制造有限公司{i + 1}", f"Sample Manufacturing {i + 1}", parks[i % 2][0],
                     ["39", "26", "30"][i % 3], i < 4, i == 1, f"energy{i + 1}@ent.example"))
    daily, warnings, meter_daily, certs = [], [], [], []
    day = date(year, 1, 1)
    while day <= through:
        for i, (code, *_rest) in enumerate(ents):
            park = ents[i][3]
            base = 20000 + 5000 * i
            for et, unit, qty in (("electricity", "kWh", base + 37 * day.day + 11 * day.month),
                                  ("natural_gas", "m3", 800 + 90 * i + 3 * day.day)):
                tce = qty * (ELEC_TCE if et == "electricity" else GAS_TCE)
                co2 = qty * (ELEC_CO2_LOC if et == "electricity" else GAS_CO2)
                received = 96 if (day.day + i) % 9 else 84
                daily.append((code, park, day, et, float(qty), unit, tce, co2, received, 96 - received,
                              received / 96))
                meter_daily.append((f"M{i + 1:02d}{et[0].upper()}", code, day, et, float(qty), unit, received,
                                    received / 96))
        day += timedelta(days=1)
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE SCHEMA marts; CREATE SCHEMA meta;")
        con.execute("CREATE TABLE marts.dim_parks (park_id VARCHAR, name_zh VARCHAR, name_en VARCHAR, "
                    "district VARCHAR, contact_email VARCHAR)")
        con.executemany("INSERT INTO marts.dim_parks VALUES (?, ?, ?, ?, ?)", parks)
        con.execute("CREATE TABLE marts.dim_enterprises (credit_code VARCHAR, name_zh VARCHAR, name_en VARCHAR, "
                    "park_id VARCHAR, industry_code VARCHAR, key_energy_user BOOLEAN, ets_covered BOOLEAN, "
                    "contact_email VARCHAR)")
        con.executemany("INSERT INTO marts.dim_enterprises VALUES (?, ?, ?, ?, ?, ?, ?, ?)", ents)
        con.execute("CREATE TABLE marts.enterprise_energy_daily (credit_code VARCHAR, park_id VARCHAR, day DATE, "
                    "energy_type VARCHAR, quantity DOUBLE, unit VARCHAR, energy_tce DOUBLE, co2_t DOUBLE, "
                    "intervals_received INTEGER, intervals_estimated INTEGER, completeness DOUBLE)")
        con.executemany("INSERT INTO marts.enterprise_energy_daily VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", daily)
        con.execute("CREATE TABLE marts.meter_daily (meter_id VARCHAR, credit_code VARCHAR, day DATE, "
                    "energy_type VARCHAR, quantity DOUBLE, unit VARCHAR, intervals_received INTEGER, "
                    "completeness DOUBLE)")
        con.executemany("INSERT INTO marts.meter_daily VALUES (?, ?, ?, ?, ?, ?, ?, ?)", meter_daily)
        # green certificates: enterprise 1 claims 5 MWh a month
        for mon in range(1, through.month + 1):
            for k in range(5):
                certs.append((f"GEC{year}{mon:02d}{k:03d}", "PV-001", f"{year}-{mon:02d}", ents[0][0],
                              f"{year}-{mon:02d}", f"{year}-{mon:02d}-05 10:00:00", 1, 1.0))
        con.execute("CREATE TABLE marts.certificate_claims (certificate_id VARCHAR, project_id VARCHAR, "
                    "generation_month VARCHAR, owner_credit_code VARCHAR, claimed_period VARCHAR, "
                    "claimed_at TIMESTAMP, claim_rank INTEGER, mwh DOUBLE)")
        con.executemany("INSERT INTO marts.certificate_claims VALUES (?, ?, ?, ?, ?, ?, ?, ?)", certs)
        con.execute("""
            CREATE TABLE marts.enterprise_carbon_monthly AS
            WITH d AS (
                SELECT credit_code, park_id, date_trunc('month', day)::DATE AS month,
                       sum(energy_tce) AS energy_tce,
                       sum(co2_t) FILTER (WHERE energy_type = 'natural_gas') AS scope1_co2_t,
                       sum(co2_t) FILTER (WHERE energy_type = 'electricity') AS scope2_location_co2_t,
                       sum(quantity) FILTER (WHERE energy_type = 'electricity') AS kwh
                FROM marts.enterprise_energy_daily GROUP BY ALL),
            g AS (SELECT owner_credit_code AS credit_code, strptime(claimed_period, '%Y-%m')::DATE AS month,
                         sum(mwh) AS green_mwh FROM marts.certificate_claims GROUP BY ALL)
            SELECT d.credit_code, d.park_id, d.month, d.energy_tce + 1.5 AS energy_tce,
                   d.scope1_co2_t + 3.0 AS scope1_co2_t, d.scope2_location_co2_t,
                   greatest(d.kwh / 1000 - coalesce(g.green_mwh, 0), 0) * 0.6096 AS scope2_market_co2_t,
                   coalesce(g.green_mwh, 0.0) AS green_mwh,
                   1000.0 + 100 * (hash(d.credit_code) % 7) AS value_added_10k_cny,
                   (d.energy_tce + 1.5) / (1000.0 + 100 * (hash(d.credit_code) % 7)) AS energy_intensity,
                   (d.scope1_co2_t + 3.0 + d.scope2_location_co2_t)
                       / (1000.0 + 100 * (hash(d.credit_code) % 7)) AS carbon_intensity,
                   1.25 AS gap_pct_electricity, -7.5 AS gap_pct_natural_gas,
                   NULL::DOUBLE AS gap_pct_heat, NULL::DOUBLE AS gap_pct_steam
            FROM d LEFT JOIN g USING (credit_code, month)
        """)
        for table, key in (("park_carbon_monthly", "park_id, "), ("city_carbon_monthly", "")):
            con.execute(f"""
                CREATE TABLE marts.{table} AS
                WITH m AS (
                    SELECT {key}month, sum(energy_tce) AS energy_tce, sum(scope1_co2_t) AS scope1_co2_t,
                           sum(scope2_location_co2_t) AS scope2_location_co2_t,
                           sum(scope2_market_co2_t) AS scope2_market_co2_t, sum(green_mwh) AS green_mwh,
                           sum(value_added_10k_cny) AS value_added_10k_cny
                    FROM marts.enterprise_carbon_monthly GROUP BY ALL)
                SELECT {'' if key else "'C3205' AS city_id, "}*, energy_tce / value_added_10k_cny AS energy_intensity,
                       (scope1_co2_t + scope2_location_co2_t) / value_added_10k_cny AS carbon_intensity,
                       sum(energy_tce) OVER (PARTITION BY {key}year(month) ORDER BY month) AS ytd_energy_tce,
                       sum(scope1_co2_t + scope2_location_co2_t)
                           OVER (PARTITION BY {key}year(month) ORDER BY month) AS ytd_co2_t
                FROM m
            """)
        # warnings at each month end; budgets tuned so that the levels differ
        budgets = {"enterprise": {e[0]: (0.8, 0.95, 1.05, 1.2, 0.7, 0.92)[i] for i, e in enumerate(ents)},
                   "park": {"P01": 1.3, "P02": 0.95}, "city": {"C3205": 1.05}}
        annual: dict[tuple[str, str, str], float] = {}  # one budget per entity and metric for the year
        for mon in range(through.month, 0, -1):
            last = date(year, mon, calendar.monthrange(year, mon)[1])
            if last > through:
                continue
            elapsed, days = last.timetuple().tm_yday, 366 if calendar.isleap(year) else 365
            for level, table, key in (("enterprise", "enterprise_carbon_monthly", "credit_code"),
                                      ("park", "park_carbon_monthly", "park_id"),
                                      ("city", "city_carbon_monthly", "city_id")):
                rows = con.execute(
                    f"SELECT {key}, sum(energy_tce), sum(scope1_co2_t + scope2_location_co2_t) FROM marts.{table} "
                    f"WHERE month <= ? GROUP BY 1 ORDER BY 1", [last]).fetchall()
                for entity, tce, co2 in rows:
                    for metric, value, scale in (("energy", tce, 1.0), ("carbon", co2, 2.2)):
                        projected = value / elapsed * days
                        budget = annual.setdefault((level, entity, metric),
                                                   round(projected / budgets[level][entity] * scale, 1))
                        ratio = projected / budget
                        lvl = "red" if ratio > 1.1 else "orange" if ratio > 1.0 else "yellow" if ratio >= 0.9 \
                            else "green"
                        warnings.append((level, entity, last, metric, value, projected, budget, ratio, lvl))
        con.execute("CREATE TABLE marts.dual_control_warnings (level VARCHAR, entity_id VARCHAR, as_of DATE, "
                    "metric VARCHAR, ytd_value DOUBLE, projected_year_end DOUBLE, budget DOUBLE, ratio DOUBLE, "
                    "warning_level VARCHAR)")
        con.executemany("INSERT INTO marts.dual_control_warnings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", warnings)
        con.execute("""
            CREATE TABLE marts.factor_versions AS SELECT * FROM (VALUES
              ('tce_electricity', 'energy_conversion', 'electricity', 0.1229, 'kgce/kWh', 2020,
               'GB/T 2589-2020 综合能耗计算通则', DATE '2021-04-01', NULL::DATE),
              ('tce_natural_gas', 'energy_conversion', 'natural_gas', 1.2143, 'kgce/m3', 2020,
               'GB/T 2589-2020 综合能耗计算通则', DATE '2021-04-01', NULL::DATE),
              ('grid_jiangsu_2023', 'grid', 'jiangsu', 0.5827, 'tCO2/MWh', 2023,
               'MEE/NBS 2023 electricity CO2 emission factors', DATE '2024-01-01', NULL::DATE),
              ('grid_national_excl_2023', 'grid', 'national_excl_market_nonfossil', 0.6096, 'tCO2/MWh', 2023,
               'MEE/NBS 2023 electricity CO2 emission factors', DATE '2024-01-01', NULL::DATE),
              ('co2_natural_gas', 'combustion', 'natural_gas', 2.162, 'kgCO2/m3', 2015,
               'GB/T 32150-2015', DATE '2016-06-01', NULL::DATE)
            ) AS f(factor_id, factor_kind, key, value, unit, data_year, source_document, valid_from, valid_to)
        """)
        con.execute("CREATE TABLE meta.publication AS SELECT 'sample'::VARCHAR AS run_id, "
                    "?::DATE AS data_day, TIMESTAMP '2026-04-11 02:00:00' AS published_at",
                    [through + timedelta(days=10)])
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return path
