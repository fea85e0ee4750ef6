"""A small, consistent serving copy built straight from numbers, for report development
and tests that must not wait for the whole pipeline.

Its marts are created from dbt's declared schema (nengtan.mart_schema): the columns a build
gives, with their types (decimal figures as DOUBLE, see SAMPLE_MARTS), filled with the figures
the reports rely on (the columns of issue 13 and 16: gross/exported/net energy, dual-control
energy, provisional flags and declaration status, the energy balance, warnings with the seed's
labels and colours); the real pipeline's serving copy is what production reports read.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from pathlib import Path

import duckdb

from nengtan.credit_code import check_character
from nengtan.mart_schema import create_marts
from nengtan.quality.results import ensure_quality_schema

ELEC_TCE, GAS_TCE = 0.1229e-3, 1.2143e-3  # tce per kWh, per m3
ELEC_CO2_LOC, ELEC_CO2_MKT, GAS_CO2 = 0.5827e-3, 0.6096e-3, 2.162e-3  # tCO2 per kWh / m3


# The marts the sample fills, created from dbt's declared schema (nengtan.mart_schema): every column in the
# table's order with its contract type, but DOUBLE for the decimal figures (the report tests compare the
# workbooks' floats with the marts' values exactly, and a float never equals a Decimal); the columns a table's
# rows do not name stay NULL.
SAMPLE_MARTS = ("dim_parks", "dim_enterprises", "enterprise_energy_daily", "meter_daily", "certificate_claims",
                "energy_balance_monthly", "enterprise_carbon_monthly", "park_carbon_monthly", "city_carbon_monthly",
                "dual_control_warnings", "factor_versions", "factor_applied", "quarantine_daily",
                "dual_control_assessment", "ets_compliance", "regulatory_candidates", "project_savings_monthly")


def _insert(con: duckdb.DuckDBPyConnection, table: str, columns: str, rows: list[tuple]) -> None:
    """``rows`` into ``marts.<table>`` by the column names given (space-separated), cast to the declared types."""
    names = columns.split()
    quoted = ", ".join(f'"{name}"' for name in names)
    con.executemany(f"INSERT INTO marts.{table} ({quoted}) VALUES ({', '.join(['?'] * len(names))})", rows)


def _code(n: int) -> str:
    first17 = f"91320500MA{n:07d}"
    return first17 + check_character(first17)


def _levels() -> list[tuple[str, float | None, bool, str, str, str]]:
    """The warning levels of seeds/warning_levels.csv, as the mart would apply them."""
    import csv

    from nengtan.config import REPO_ROOT

    with (REPO_ROOT / "seeds" / "warning_levels.csv").open(encoding="utf-8") as fh:
        rows = sorted(csv.DictReader(fh), key=lambda r: int(r["rank"]))
    return [(r["warning_level"], float(r["upper_pct"]) if r["upper_pct"] else None,
             r["upper_inclusive"].lower() == "true", r["label_zh"], r["label_en"], r["colour"]) for r in rows]


def _level_of(ratio: float, levels) -> tuple[str, str, str, str]:
    for name, upper, inclusive, zh, en, colour in levels:
        if upper is None or ratio < upper / 100 or (inclusive and ratio == upper / 100):
            return name, zh, en, colour
    raise ValueError(ratio)


def build_sample_serving(path: Path, *, through: date = date(2026, 3, 31), year: int = 2026,
                         outstanding: int = 0) -> Path:
    """Write a serving copy with 2 parks, 6 enterprises (4 key energy users), January of the
    year before ``year`` to ``through``; published through ``through`` + 10 days.
    ``outstanding``: that many enterprises have not declared the last month yet (provisional)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    parks = [("P01", "高新技术产业园", "High-Tech Park", "吴中区", "p01@park.example"),
             ("P02", "临港化工园", "Lingang Chemical Park", "太仓市", "p02@park.example")]
    ents = []
    for i in range(6):
        ents.append((_code(i + 1), f"示例制造有限公司{i + 1}", f"Sample Manufacturing {i + 1}", parks[i % 2][0],
                     ["39", "26", "30"][i % 3], i < 4, i == 1, f"energy{i + 1}@ent.example"))
    daily, warnings, meter_daily, certs = [], [], [], []
    day = date(year - 1, 1, 1)
    while day <= through:
        grow = 1.0 if day.year == year else 0.9
        for i, (code, *_rest) in enumerate(ents):
            park = ents[i][3]
            base = (20000 + 5000 * i) * grow
            for et, unit, qty in (("electricity", "kWh", round(base + 37 * day.day + 11 * day.month)),
                                  ("natural_gas", "m3", 800 + 90 * i + 3 * day.day)):
                tce = qty * (ELEC_TCE if et == "electricity" else GAS_TCE)
                co2 = qty * (ELEC_CO2_LOC if et == "electricity" else GAS_CO2)
                received = 96 if (day.day + i) % 9 else 84
                daily.append((code, park, day, et, float(qty), unit, tce, co2, received, 96 - received,
                              received / 96))
                meter_daily.append((f"M{i + 1:02d}{et[0].upper()}", code, park, day, et, float(qty), unit, received,
                                    96 - received, received / 96))
        day += timedelta(days=1)
    last_month = date(through.year, through.month, 1)
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE SCHEMA meta")
        create_marts(con, list(SAMPLE_MARTS), decimals_as="double")
        _insert(con, "dim_parks", "park_id name_zh name_en district contact_email", parks)
        _insert(con, "dim_enterprises",
                "credit_code name_zh name_en park_id industry_code key_energy_user ets_covered contact_email", ents)
        _insert(con, "enterprise_energy_daily", "credit_code park_id day energy_type quantity unit energy_tce co2_t "
                "intervals_received intervals_estimated completeness", daily)
        _insert(con, "meter_daily", "meter_id credit_code park_id day energy_type quantity unit intervals_received "
                "intervals_estimated completeness", meter_daily)
        # green certificates: enterprise 1 claims 5 MWh a month of this year
        for mon in range(1, through.month + 1):
            for k in range(5):
                certs.append((f"GEC{year}{mon:02d}{k:03d}", "PV-001", f"{year}-{mon:02d}", ents[0][0],
                              f"{year}-{mon:02d}", f"{year}-{mon:02d}-05 10:00:00", 1, True, 1.0))
        _insert(con, "certificate_claims", "certificate_id project_id generation_month owner_credit_code "
                "claimed_period claimed_at claim_rank counted counted_mwh", certs)
        # Energy balance: metered types from the meters; enterprise 2 (chemicals) burns and stocks raw
        # coal (purchases = consumption + stock change), the others a little diesel.
        con.execute(f"""
            INSERT INTO marts.energy_balance_monthly BY NAME
            WITH metered AS (
                SELECT credit_code, date_trunc('month', day)::DATE AS month, energy_type, unit,
                       sum(quantity) AS qty FROM marts.enterprise_energy_daily GROUP BY ALL),
            months AS (SELECT DISTINCT credit_code, month FROM metered),
            fuel AS (
                SELECT credit_code, month,
                       CASE WHEN credit_code = '{ents[1][0]}' THEN 'raw_coal' ELSE 'diesel' END AS energy_type,
                       't' AS unit,
                       CASE WHEN credit_code = '{ents[1][0]}' THEN 100.0 + 10 * month(month) ELSE 1.0 END AS qty,
                       CASE WHEN credit_code = '{ents[1][0]}' THEN 40.0 + 5 * month(month) ELSE 0.5 END AS stock,
                       CASE WHEN credit_code = '{ents[1][0]}' THEN 40.0 + 5 * (month(month) - 1) ELSE 0.5 END
                           AS stock_before
                FROM months)
            SELECT credit_code, month, energy_type, unit, 'meter' AS source, qty AS purchased_qty,
                   qty AS consumed_qty, 0.0 AS exported_qty, NULL::DOUBLE AS stock_end_qty,
                   qty * CASE energy_type WHEN 'electricity' THEN 0.1229e-3 ELSE 1.2143e-3 END AS consumed_tce,
                   qty * CASE energy_type WHEN 'electricity' THEN 0.3e-3 ELSE 1.2143e-3 END
                       AS consumed_tce_equal_value
            FROM metered
            UNION ALL
            SELECT credit_code, month, energy_type, unit, 'declaration', qty + stock - stock_before, qty, 0.0, stock,
                   qty * CASE energy_type WHEN 'raw_coal' THEN 0.7143 ELSE 1.4571 END,
                   qty * CASE energy_type WHEN 'raw_coal' THEN 0.7143 ELSE 1.4571 END
            FROM fuel""")
        # the balance in tce at 当量值, which the reports read first, is the sample's consumed_tce
        con.execute("UPDATE marts.energy_balance_monthly SET consumed_tce_equivalent = consumed_tce")
        con.execute(f"""
            INSERT INTO marts.enterprise_carbon_monthly BY NAME
            WITH b AS (
                SELECT credit_code, month, sum(consumed_tce) AS gross, sum(consumed_tce_equal_value) AS gross_ev,
                       sum(consumed_tce) FILTER (WHERE source = 'meter') AS metered,
                       sum(consumed_qty) FILTER (WHERE energy_type = 'electricity') AS kwh,
                       sum(consumed_tce) FILTER (WHERE energy_type = 'electricity') AS elec_tce,
                       sum(consumed_qty) FILTER (WHERE energy_type = 'natural_gas') * 2.162e-3
                       + coalesce(sum(consumed_qty) FILTER (WHERE energy_type = 'raw_coal'), 0) * 1.9
                       + coalesce(sum(consumed_qty) FILTER (WHERE energy_type = 'diesel'), 0) * 3.096 AS s1
                FROM marts.energy_balance_monthly GROUP BY ALL),
            g AS (SELECT owner_credit_code AS credit_code, strptime(claimed_period, '%Y-%m')::DATE AS month,
                         sum(counted_mwh) AS green_mwh FROM marts.certificate_claims GROUP BY ALL),
            e AS (SELECT credit_code, park_id FROM marts.dim_enterprises),
            x AS (
                SELECT b.*, e.park_id, coalesce(g.green_mwh, 0.0) AS green_mwh,
                       CASE WHEN b.credit_code = '{ents[3][0]}' THEN 17.06 ELSE 0.0 END AS exported,
                       CASE WHEN b.credit_code = '{ents[3][0]}' THEN 55.0 ELSE 0.0 END AS co2_exported,
                       CASE WHEN b.credit_code = '{ents[1][0]}' THEN 20.0 ELSE 0.0 END AS feedstock,
                       coalesce(g.green_mwh, 0.0) * 1000 * 0.1229e-3 AS non_fossil,
                       b.kwh * 0.5827e-3 AS s2l,
                       greatest(b.kwh / 1000 - coalesce(g.green_mwh, 0), 0) * 0.6096 AS s2m,
                       CASE WHEN b.credit_code = '{ents[2][0]}' THEN 30.0 ELSE 0.0 END AS process,
                       dense_rank() OVER (ORDER BY b.credit_code) AS n
                FROM b JOIN e USING (credit_code) LEFT JOIN g USING (credit_code, month))
            SELECT credit_code, park_id, month,
                   gross AS energy_tce_gross, exported AS energy_tce_exported, gross - exported AS energy_tce,
                   gross_ev - exported AS energy_tce_equal_value, metered AS energy_tce_metered,
                   feedstock AS energy_tce_feedstock, non_fossil AS energy_tce_non_fossil,
                   gross - exported - feedstock - non_fossil AS energy_tce_dual_control,
                   s1 + process AS scope1_co2_t, process AS process_co2_t, s2l AS scope2_location_co2_t,
                   s2m AS scope2_market_co2_t, co2_exported AS co2_exported_t,
                   s1 + process + s2l - co2_exported AS co2_t,
                   green_mwh, 0.0 AS green_mwh_unused, green_mwh / (kwh / 1000) AS green_share, va AS value_added_10k_cny,
                   (gross - exported - feedstock - non_fossil) / va AS energy_intensity,
                   (s1 + process + s2l - co2_exported) / va AS carbon_intensity,
                   va IS NULL AS is_provisional,
                   CASE WHEN va IS NULL THEN 'outstanding' WHEN credit_code = '{ents[4][0]}' AND month = ?
                        THEN 'late' ELSE 'on_time' END AS declaration_status,
                   FALSE AS partly_metered, (month + INTERVAL 1 MONTH + INTERVAL 14 DAY)::DATE AS declaration_due,
                   1.25 AS gap_pct_electricity, -7.5 AS gap_pct_natural_gas,
                   NULL::DOUBLE AS gap_pct_heat, NULL::DOUBLE AS gap_pct_steam
            FROM (SELECT *, CASE WHEN month = ? AND n <= ? THEN NULL
                                 ELSE 1000.0 + 100 * (n % 7) END AS va FROM x)
        """, [last_month, last_month, outstanding])
        for table, key in (("park_carbon_monthly", "park_id, "), ("city_carbon_monthly", "")):
            con.execute(f"""
                INSERT INTO marts.{table} BY NAME
                WITH m AS (
                    SELECT {key}month, sum(energy_tce) AS energy_tce, sum(energy_tce_equal_value) AS energy_tce_equal_value,
                           sum(energy_tce_dual_control) AS energy_tce_dual_control,
                           sum(scope1_co2_t) AS scope1_co2_t,
                           sum(scope2_location_co2_t) AS scope2_location_co2_t,
                           sum(scope2_market_co2_t) AS scope2_market_co2_t, sum(co2_t) AS co2_t,
                           sum(green_mwh) AS green_mwh, sum(value_added_10k_cny) AS value_added_10k_cny,
                           sum(energy_tce_dual_control) FILTER (WHERE value_added_10k_cny IS NOT NULL) AS e_m,
                           sum(co2_t) FILTER (WHERE value_added_10k_cny IS NOT NULL) AS c_m,
                           sum(energy_tce_dual_control) FILTER (WHERE value_added_10k_cny IS NOT NULL)
                               / sum(energy_tce_dual_control) AS intensity_coverage,
                           bool_or(is_provisional) AS is_provisional, count(*) AS enterprises,
                           count(*) FILTER (WHERE is_provisional) AS enterprises_provisional
                    FROM marts.enterprise_carbon_monthly GROUP BY ALL)
                SELECT {'' if key else "'320200' AS city_id, "}* EXCLUDE (e_m, c_m),
                       e_m / value_added_10k_cny AS energy_intensity, c_m / value_added_10k_cny AS carbon_intensity
                FROM m
            """)
        # warnings at each month end of the year (the mart's rows), levels from the seed
        levels = _levels()
        budgets = {"enterprise": {e[0]: (0.8, 0.95, 1.05, 1.2, 0.7, 0.92)[i] for i, e in enumerate(ents)},
                   "park": {"P01": 1.3, "P02": 0.95}, "city": {"320200": 1.05}}
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
                    f"SELECT {key}, sum(energy_tce_dual_control), sum(co2_t), bool_or(is_provisional) "
                    f"FROM marts.{table} WHERE month BETWEEN ? AND ? GROUP BY 1 ORDER BY 1",
                    [date(year, 1, 1), last]).fetchall()
                for entity, tce, co2, provisional in rows:
                    for metric, value, scale in (("energy", tce, 1.0), ("carbon", co2, 2.2)):
                        projected = value / elapsed * days
                        budget = annual.setdefault((level, entity, metric),
                                                   round(projected / budgets[level][entity] * scale, 1))
                        ratio = projected / budget
                        warnings.append((level, entity, last, metric, value, projected, budget, ratio,
                                         *_level_of(ratio, levels), bool(provisional)))
        _insert(con, "dual_control_warnings", "level entity_id as_of metric ytd_value projected_year_end budget ratio "
                "warning_level label_zh label_en colour is_provisional", warnings)
        con.execute("""
            INSERT INTO marts.factor_versions BY NAME SELECT * FROM (VALUES
              ('energy_conversion', 'electricity:equivalent', 0.1229, 'kgce/kWh', 2020,
               'GB/T 2589-2020 综合能耗计算通则 Appendix A reference coefficients', DATE '2020-09-29',
               DATE '2021-04-01', NULL::DATE),
              ('energy_conversion', 'electricity:equal_value', 0.3000, 'kgce/kWh', NULL,
               'GB/T 2589-2020 §4 (等价值 definition); figure per regulator', NULL, DATE '2021-04-01', NULL::DATE),
              ('energy_conversion', 'natural_gas:equivalent', 1.2143, 'kgce/m3', 2020,
               'GB/T 2589-2020 综合能耗计算通则 Appendix A reference coefficients', DATE '2020-09-29',
               DATE '2021-04-01', NULL::DATE),
              ('grid', 'jiangsu', 0.5827, 'tCO2/MWh', 2023,
               'MEE/NBS announcement of the 2023 electricity CO2 emission factors', DATE '2025-12-01',
               DATE '2023-01-01', NULL::DATE),
              ('grid', 'national_excl_market_nonfossil', 0.6096, 'tCO2/MWh', 2023,
               'MEE/NBS announcement of the 2023 electricity CO2 emission factors', DATE '2025-12-01',
               DATE '2023-01-01', NULL::DATE),
              ('combustion', 'natural_gas', 0.002162, 'tCO2/m3', 2015,
               'GB/T 32150-2015 工业企业温室气体排放核算和报告通则; NDRC/MEE enterprise GHG accounting guidelines',
               DATE '2015-11-19', DATE '2016-06-01', NULL::DATE)
            ) AS f(factor_kind, factor_key, value, unit, data_year, source_document, published, valid_from, valid_to)
        """)
        con.execute("INSERT INTO marts.factor_applied BY NAME SELECT credit_code, month, 'equivalent' AS tce_basis, "
                    "0.1229 AS electricity_kgce_per_kwh, 2023 AS grid_location_data_year, 0.5827 AS "
                    "grid_location_factor, 'first computation' AS applied_reason FROM marts.enterprise_carbon_monthly")
        _insert(con, "quarantine_daily", "source day reason_category rows",
                [("meter_readings", last_month, "register_end '…' is not a number", 3)])
        ensure_quality_schema(con)
        period = f"{through.year:04d}-{through.month:02d}"
        for night in (through + timedelta(days=1), through + timedelta(days=2)):  # raised on two nights
            con.execute("INSERT INTO quality.check_results VALUES (?, ?, 'checks', 'enterprise_month', "
                        "'declared_vs_metered', 'routed', 'enterprise', ?, ?, ?, NULL, ?, '-7.5%', '<= 5%', FALSE, "
                        "?, ?, ?, FALSE, ?, NULL, NULL)",
                        [f"night-{night}", night, ents[0][0], ents[0][0], ents[0][3], night, ents[0][7],
                         f"{ents[0][1]} {period} 天然气申报量与计量量相差 -7.5%，超出 5% 容差",
                         f"{ents[0][2]} {period}: declared natural gas differs from metered by -7.5 % (over 5 %)",
                         period])
        _carbon_control(con, ents, levels, year, through)
        _projects(con, ents, year, through)
        con.execute("CREATE TABLE meta.publication AS SELECT 'sample'::VARCHAR AS run_id, "
                    "?::DATE AS data_day, TIMESTAMP '2026-04-11 02:00:00' AS published_at",
                    [through + timedelta(days=10)])
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return path


def _carbon_control(con: duckdb.DuckDBPyConnection, ents: list[tuple], levels, year: int, through: date) -> None:
    """marts.dual_control_assessment (last year as the base, this year to date), marts.ets_compliance
    (enterprise 2 in the market with a gap near its deadline, CCER over the 5 % cap and a verified
    figure 12 % above the warehouse's) and marts.regulatory_candidates, consistent with the marts above."""
    targets = {"enterprise": (3.0, 4.0), "park": (2.5, 3.5), "city": (2.0, None)}  # None: not set
    rows = []
    for level, table, key in (("enterprise", "enterprise_carbon_monthly", "credit_code"),
                              ("park", "park_carbon_monthly", "park_id"), ("city", "city_carbon_monthly", "city_id")):
        figures = con.execute(
            f"SELECT {key}, year(month) AS y, sum(energy_tce)::DOUBLE, sum(energy_tce_dual_control)::DOUBLE, "
            f"sum(co2_t)::DOUBLE, sum(value_added_10k_cny)::DOUBLE, sum(energy_tce_dual_control) FILTER "
            f"(WHERE value_added_10k_cny IS NOT NULL)::DOUBLE, sum(co2_t) FILTER (WHERE value_added_10k_cny IS NOT "
            f"NULL)::DOUBLE, bool_or(is_provisional) "
            f"FROM marts.{table} WHERE month <= ? GROUP BY ALL ORDER BY 1, 2", [through]).fetchall()
        base = {(e, y): (em / va, cm / va) for e, y, _t, _d, _c, va, em, cm, _p in figures
                if y == year - 1 and va and em is not None and cm is not None}
        for entity, y, tce, dual, co2, va, em, cm, provisional in figures:
            if not va or em is None or cm is None:
                continue  # no value added yet: no intensity to assess
            ei, ci = em / va, cm / va
            b = base.get((entity, year - 1)) if y == year else None
            te, tc = targets[level] if b else (None, None)
            red = [None if b is None else (1 - ei / b[0]) * 100, None if b is None else (1 - ci / b[1]) * 100]
            allowed = [None if t is None else b[i] * (1 - t / 100) for i, t in enumerate((te, tc))]
            ratio = [None if a is None else x / a for a, x in zip(allowed, (ei, ci), strict=True)]
            worst = max((r for r in ratio if r is not None), default=None)
            rows.append((level, entity, y, date(y, 12, 31) if y < year else through, tce, dual, co2, va, ei, ci,
                         year - 1 if b else None, b[0] if b else None, b[1] if b else None, *red, te, tc,
                         *allowed, *ratio, (em / dual) if dual else None, y == year and bool(provisional),
                         None if worst is None else _level_of(worst, levels)[0]))
    _insert(con, "dual_control_assessment", "level entity_id year as_of energy_tce energy_tce_dual_control co2_t "
            "value_added_10k_cny energy_intensity carbon_intensity base_year base_energy_intensity base_carbon_intensity "
            "energy_intensity_reduction_pct carbon_intensity_reduction_pct target_energy_intensity_reduction_pct "
            "target_carbon_intensity_reduction_pct allowed_energy_intensity allowed_carbon_intensity "
            "energy_intensity_ratio carbon_intensity_ratio intensity_coverage is_provisional status built_run_id",
            [(*r, "sample") for r in rows])
    code, name_zh, name_en, park = ents[1][:4]
    ((warehouse,),) = con.execute("SELECT sum(scope1_co2_t + scope2_location_co2_t)::DOUBLE FROM "
                                  "marts.enterprise_carbon_monthly WHERE credit_code = ? AND year(month) = ?",
                                  [code, year - 1]).fetchall()
    verified = round(warehouse * 1.12, 4)
    surrendered, ccer = round(verified * 0.9, 4), round(verified * 0.08, 4)
    usable = round(verified * 0.05, 4)
    deadline = date(year, 5, 15)
    days = (deadline - through).days
    _insert(con, "ets_compliance", "credit_code name_zh name_en park_id year sector verified_emissions_tco2 "
            "allowances_allocated_t allowances_surrendered_t ccer_surrendered_t ccer_usable_t ccer_over_cap_t "
            "compliance_gap_t compliance_deadline as_of days_to_deadline gap_near_deadline warehouse_co2_t "
            "cross_check_diff_pct cross_check_finding",
            [(code, name_zh, name_en, park, year - 1, "power", verified, round(verified * 0.95, 4), surrendered, ccer,
              usable, round(ccer - usable, 4), round(verified - surrendered - usable, 4), deadline, through,
              days, 0 <= days <= 60, warehouse, (verified / warehouse - 1) * 100, True)])
    cement, small = ents[2], ents[4]
    _insert(con, "regulatory_candidates", "credit_code name_zh name_en park_id year list figure threshold unit sector "
            "months is_provisional reason", [
        (*cement[:4], year - 1, "ets", 31250.5, 26000, "tCO2", "cement", 12, False,
         "direct emissions at or above the inclusion threshold in the cement sector, not covered"),
        (*small[:4], year - 1, "key_energy_user", 12480.25, 10000, "tce", None, 12, False,
         "comprehensive energy at or above the key energy user threshold, not a key energy user"),
        (*small[:4], year, "key_energy_user", 10250.0, 10000, "tce", None, through.month, True,
         "comprehensive energy of the year to date, provisional"),
    ])


def _projects(con: duckdb.DuckDBPyConnection, ents: list[tuple], year: int, through: date) -> None:
    """marts.project_savings_monthly: enterprise 1's motor drives (qualified baseline, saving 12 % of
    predicted electricity) from January of ``year``, and enterprise 3's lighting retrofit, whose baseline
    does not qualify (listed, never counted), from February; each month up to ``through``."""
    rows = []
    for pid, ent, measure, zh, en, first, qualified, share, cvrmse, expected in (
            ("PRJ-S1", ents[0], "motor_vfd", "电机变频改造", "Motor drives", 1, True, 0.12, 0.11, 40.0),
            ("PRJ-S2", ents[2], "lighting", "照明节能改造", "Lighting retrofit", 2, False, 0.02, 0.42, 8.0)):
        for mon in range(first, 13):
            month = date(year, mon, 1)
            if month > through:
                break
            days = (date(year + mon // 12, mon % 12 + 1, 1) - month).days
            metered = 6000.0 * days * (1 - share)
            predicted = 6000.0 * days
            saved, unc = predicted - metered, predicted * 0.03
            rows.append((pid, ent[0], measure, f"{ent[1]}{zh}", f"{en}, {ent[2]}", month, "electricity", "kWh",
                         qualified, predicted, metered, saved, unc, predicted * ELEC_TCE, metered * ELEC_TCE,
                         saved * ELEC_TCE, unc * ELEC_TCE, saved * ELEC_CO2_LOC, unc * ELEC_CO2_LOC, saved > unc,
                         saved / predicted, expected * days / 365, cvrmse, "opendsm 1.2.7 daily sample", days, True,
                         "sample"))
    _insert(con, "project_savings_monthly", "project_id credit_code measure name_zh name_en month energy_type unit "
            "baseline_qualified predicted metered savings savings_uncertainty predicted_tce metered_tce savings_tce "
            "savings_uncertainty_tce savings_co2_t savings_uncertainty_co2_t savings_significant fractional_savings "
            "expected_savings_tce cvrmse model_version days_metered is_complete_month built_run_id", rows)
