"""Blocking checks on the marts: a failure here stops the publish (last good copy stays).

- ``park_equals_sum_of_enterprises`` / ``city_equals_sum_of_parks``: every month's park
  (city) totals equal the sum of its enterprises (parks) for net energy, the dual-control
  total, net CO2 and the three CO2 scopes; "exact" means an absolute difference <= 1e-6.
- ``no_negative_values``: no negative quantity / energy / CO2 in the day's meter and
  enterprise rows and in every monthly row. Monthly energy is checked gross: a net figure
  may be negative (a CHP plant selling more heat than it buys energy), by the rules.
- ``certificate_counted_once``: no claimed certificate counts more than once (one whose
  claims are all invalid - expired, premature - counts zero times).
"""

from nengtan.quality.rules import Rule, Suite, between

MEASURES = ("energy_tce", "energy_tce_dual_control", "co2_t", "scope1_co2_t", "scope2_location_co2_t",
            "scope2_market_co2_t")


def _sum_check(child: str, parent: str, key: str | None) -> str:
    on = f"p.{key} = c.{key} AND " if key else ""
    group = f"{key}, " if key else ""
    diffs = ", ".join(f"abs(coalesce(p.{m}, 0) - coalesce(c.{m}, 0))" for m in MEASURES)
    detail = " || ' ' || ".join(
        f"printf('{m}=%.6f/%.6f', coalesce(p.{m}, 0), coalesce(c.{m}, 0))" for m in MEASURES)
    entity = f"coalesce(p.{key}, c.{key})" if key else "'city'"
    return f"""
WITH c AS (
    SELECT {group}CAST(month AS DATE) AS month, {", ".join(f"sum({m}) AS {m}" for m in MEASURES)}
    FROM {child} GROUP BY ALL
), p AS (
    SELECT {group}CAST(month AS DATE) AS month, {", ".join(f"sum({m}) AS {m}" for m in MEASURES)}
    FROM {parent} GROUP BY ALL
)
SELECT {entity} AS entity_id, NULL::VARCHAR AS credit_code,
       {entity if key else "NULL::VARCHAR"} AS park_id, NULL::VARCHAR AS meter_id,
       strftime(coalesce(p.month, c.month), '%Y-%m') AS period,
       greatest({diffs}) AS max_abs_diff, {detail} AS detail, NULL::VARCHAR AS recipient
FROM p FULL OUTER JOIN c ON {on}p.month = c.month
ORDER BY 1, 5
"""


NEGATIVE_SQL = """
SELECT 'meter_daily ' || meter_id AS entity_id, credit_code, park_id, meter_id,
       'quantity' AS measure, CAST(day AS VARCHAR) AS period, quantity AS value, NULL::VARCHAR AS recipient
FROM marts.meter_daily WHERE day = CAST($day AS DATE)
UNION ALL
SELECT 'enterprise_energy_daily ' || credit_code || ' ' || energy_type, credit_code, park_id, NULL,
       m.measure, CAST(day AS VARCHAR), m.value, NULL
FROM marts.enterprise_energy_daily,
     LATERAL (VALUES ('quantity', quantity), ('energy_tce', energy_tce), ('co2_t', co2_t)) m(measure, value)
WHERE day = CAST($day AS DATE)
UNION ALL
SELECT 'enterprise_carbon_monthly ' || credit_code, credit_code, park_id, NULL, m.measure,
       strftime(CAST(month AS DATE), '%Y-%m'), m.value, NULL
FROM marts.enterprise_carbon_monthly,
     LATERAL (VALUES ('energy_tce_gross', energy_tce_gross), ('scope1_co2_t', scope1_co2_t),
                     ('scope2_location_co2_t', scope2_location_co2_t),
                     ('scope2_market_co2_t', scope2_market_co2_t)) m(measure, value)
UNION ALL
SELECT 'park_carbon_monthly ' || park_id, NULL, park_id, NULL, m.measure,
       strftime(CAST(month AS DATE), '%Y-%m'), m.value, NULL
FROM marts.park_carbon_monthly,
     LATERAL (VALUES ('energy_tce_gross', energy_tce_gross), ('scope1_co2_t', scope1_co2_t),
                     ('scope2_location_co2_t', scope2_location_co2_t),
                     ('scope2_market_co2_t', scope2_market_co2_t)) m(measure, value)
"""

COUNTED_SQL = """
SELECT certificate_id AS entity_id, NULL::VARCHAR AS credit_code, NULL::VARCHAR AS park_id,
       NULL::VARCHAR AS meter_id, certificate_id, count(*) AS n_claims,
       count(*) FILTER (WHERE counted) AS n_counted, NULL::VARCHAR AS recipient
FROM marts.certificate_claims
WHERE claimed_period IS NOT NULL
GROUP BY certificate_id ORDER BY certificate_id
"""

_SUM_RULE = dict(
    column="max_abs_diff",
    expectation=between("max_abs_diff", max_value=1e-6),
    expected="0 (|diff| <= 1e-6)", fmt="{:.6g}",
    todo_zh="停止发布；检查 dbt 汇总模型与维表归属，修复后重跑 transform",
    todo_en="publish stopped; check the dbt roll-up models and dimension membership, fix and rerun the transform",
)

SUITES = [
    Suite(
        name="park_rollup", stage="marts", severity="blocking", level="park",
        sql=_sum_check("marts.enterprise_carbon_monthly", "marts.park_carbon_monthly", "park_id"),
        requires=("marts.enterprise_carbon_monthly", "marts.park_carbon_monthly"),
        rules=(Rule(name="park_equals_sum_of_enterprises",
                    what_zh="园区 {park_id} {period} 总量与其企业之和不一致（差 {observed}；园区/企业和：{detail}）",
                    what_en="park {park_id} {period}: totals differ from the sum of its enterprises by {observed} (park/sum: {detail})",
                    **_SUM_RULE),),
    ),
    Suite(
        name="city_rollup", stage="marts", severity="blocking", level="city",
        sql=_sum_check("marts.park_carbon_monthly", "marts.city_carbon_monthly", None),
        requires=("marts.park_carbon_monthly", "marts.city_carbon_monthly"),
        rules=(Rule(name="city_equals_sum_of_parks",
                    what_zh="全市 {period} 总量与各园区之和不一致（差 {observed}；全市/园区和：{detail}）",
                    what_en="city {period}: totals differ from the sum of its parks by {observed} (city/sum: {detail})",
                    **_SUM_RULE),),
    ),
    Suite(
        name="non_negative", stage="marts", severity="blocking", level="pipeline", sql=NEGATIVE_SQL,
        requires=("marts.meter_daily", "marts.enterprise_energy_daily",
                  "marts.enterprise_carbon_monthly", "marts.park_carbon_monthly"),
        rules=(Rule(name="no_negative_values", column="value",
                    expectation=between("value", min_value=0),
                    expected=">= 0", fmt="{:.6g}",
                    what_zh="{entity_id} {period} 的 {measure} 为负值 {observed}",
                    what_en="{entity_id} {period}: {measure} is negative ({observed})",
                    todo_zh="停止发布；检查翻转/倒走处理与排放因子，修复后重跑 transform",
                    todo_en="publish stopped; check rollover/backwards handling and factors, fix and rerun the transform"),),
    ),
    Suite(
        name="certificates_counted", stage="marts", severity="blocking", level="pipeline", sql=COUNTED_SQL,
        requires=("marts.certificate_claims",),
        rules=(Rule(name="certificate_counted_once", column="n_counted",
                    expectation=between("n_counted", min_value=0, max_value=1),
                    expected="<= 1",
                    what_zh="绿证 {certificate_id} 被计入 {observed} 次（认领 {n_claims} 次）",
                    what_en="green certificate {certificate_id} counted {observed} times ({n_claims} claims)",
                    todo_zh="停止发布；检查 certificate_claims 模型的首次认领规则",
                    todo_en="publish stopped; check the first-claim rule in the certificate_claims model"),),
    ),
]
