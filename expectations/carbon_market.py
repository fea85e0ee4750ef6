"""Carbon-market checks (routed to the enterprise and to the city's ecology bureau).

The bureau's address is ``NENGTAN_ECOLOGY_BUREAU_EMAIL`` (on-call when unset); each
finding is one row per recipient, so the enterprise and the bureau each get it in their
digest.

- ``compliance_gap_before_deadline``: a covered enterprise with a compliance gap
  (verified emissions - allowances surrendered - usable CCER > 0) and its deadline within
  the alert window of ``seeds/ets_rules.csv`` (60 days), or passed less than a year ago.
- ``ets_cross_check``: the warehouse's own scope 1 + 2 (location-based) of a whole, final
  year differs from the verified emissions by more than the tolerance (10 %) either way.
- ``regulatory_candidate``: enterprises above the ETS inclusion threshold in a covered
  sector and not covered, or of 10,000 tce or more and not key energy users: to the
  bureau once a month (on the night of the 1st), with the figure and the year.
"""

from nengtan.quality.rules import Rule, Suite, between

_TWO_RECIPIENTS = """
, recipients AS (
    SELECT f.*, e.contact_email AS recipient FROM findings f
    LEFT JOIN marts.dim_enterprises e ON e.credit_code = f.credit_code
    UNION ALL
    SELECT f.*, $ecology_email AS recipient FROM findings f
)
SELECT * FROM recipients ORDER BY credit_code, year, recipient
"""

GAP_SQL = """
WITH findings AS (
    SELECT c.credit_code AS entity_id, c.credit_code, c.park_id, NULL::VARCHAR AS meter_id,
           CAST(c.year AS VARCHAR) AS period, c.year, c.sector,
           CAST(c.compliance_gap_t AS DOUBLE) AS compliance_gap_t,
           CAST(c.verified_emissions_tco2 AS DOUBLE) AS verified_t,
           CAST(c.allowances_surrendered_t AS DOUBLE) AS surrendered_t,
           CAST(c.ccer_usable_t AS DOUBLE) AS ccer_usable_t,
           CAST(c.ccer_over_cap_t AS DOUBLE) AS ccer_over_cap_t,
           strftime(c.compliance_deadline, '%Y-%m-%d') AS deadline, c.days_to_deadline
    FROM marts.ets_compliance c
    WHERE c.gap_near_deadline AND c.days_to_deadline >= -365
)""" + _TWO_RECIPIENTS

CROSS_SQL = """
WITH findings AS (
    SELECT c.credit_code AS entity_id, c.credit_code, c.park_id, NULL::VARCHAR AS meter_id,
           CAST(c.year AS VARCHAR) AS period, c.year,
           abs(c.cross_check_diff_pct) AS abs_diff_pct, c.cross_check_diff_pct AS diff_pct,
           CAST(c.verified_emissions_tco2 AS DOUBLE) AS verified_t, CAST(c.warehouse_co2_t AS DOUBLE) AS warehouse_t
    FROM marts.ets_compliance c
    WHERE c.warehouse_months = 12 AND c.cross_check_diff_pct IS NOT NULL
      AND c.year >= extract(year FROM CAST($day AS DATE)) - 1
)""" + _TWO_RECIPIENTS

CANDIDATES_SQL = """
SELECT c.credit_code AS entity_id, c.credit_code, c.park_id, NULL::VARCHAR AS meter_id,
       CAST(c.year AS VARCHAR) AS period, c.year, c.list, coalesce(c.name_zh, c.credit_code) AS name_zh,
       coalesce(c.name_en, c.credit_code) AS name_en, CAST(c.figure AS DOUBLE) AS figure,
       CAST(c.threshold AS DOUBLE) AS threshold, c.unit, coalesce(c.sector, '-') AS sector,
       1 AS listed, $ecology_email AS recipient
FROM marts.regulatory_candidates c
WHERE extract(day FROM CAST($day AS DATE)) = 1
  AND c.year >= extract(year FROM CAST($day AS DATE)) - 1
ORDER BY c.list, c.credit_code, c.year
"""

SUITES = [
    Suite(
        name="ets_compliance", stage="marts", severity="routed", level="enterprise", sql=GAP_SQL,
        requires=("marts.ets_compliance", "marts.dim_enterprises"),
        rules=(
            Rule(
                name="compliance_gap_before_deadline",
                column="compliance_gap_t",
                expectation=between("compliance_gap_t", max_value=0),
                expected="<= 0 t", fmt="{:,.0f} t",
                what_zh="企业 {credit_code} {period} 年度碳排放配额清缴缺口 {observed}（核查排放 {verified_t:,.0f} t，已清缴配额 {surrendered_t:,.0f} t，可抵销CCER {ccer_usable_t:,.0f} t，超出5%上限 {ccer_over_cap_t:,.0f} t），清缴截止 {deadline}，剩余 {days_to_deadline} 天",
                what_en="enterprise {credit_code}, data year {period}: compliance gap {observed} (verified {verified_t:,.0f} t, allowances surrendered {surrendered_t:,.0f} t, usable CCER {ccer_usable_t:,.0f} t, over the 5 % cap {ccer_over_cap_t:,.0f} t); deadline {deadline}, {days_to_deadline} days left",
                todo_zh="在截止日前购买并清缴配额（CCER 抵销不超过核查排放的5%）",
                todo_en="buy and surrender allowances before the deadline (CCER may offset at most 5 % of verified emissions)",
            ),
        ),
    ),
    Suite(
        name="ets_cross_check", stage="marts", severity="routed", level="enterprise", sql=CROSS_SQL,
        requires=("marts.ets_compliance", "marts.dim_enterprises"),
        rules=(
            Rule(
                name="ets_cross_check",
                column="abs_diff_pct",
                expectation=between("abs_diff_pct", max_value=10),
                expected="<= 10%", fmt="{:.1f}%",
                what_zh="企业 {credit_code} {period} 年核查排放 {verified_t:,.0f} t 与平台核算的范围一+二（基于位置）{warehouse_t:,.0f} t 相差 {observed}",
                what_en="enterprise {credit_code}, {period}: verified emissions {verified_t:,.0f} t vs the platform's scope 1 + 2 (location-based) {warehouse_t:,.0f} t differ by {observed}",
                todo_zh="核对排放报告的活动数据与计量、申报数据，说明差异原因",
                todo_en="reconcile the emissions report's activity data with the meters and declarations and explain the difference",
            ),
        ),
    ),
    Suite(
        name="regulatory_candidates", stage="marts", severity="routed", level="city", sql=CANDIDATES_SQL,
        requires=("marts.regulatory_candidates",),
        rules=(
            Rule(
                name="regulatory_candidate",
                column="listed",
                expectation=between("listed", max_value=0),
                expected="-", fmt="{}",
                what_zh="{name_zh}（{credit_code}）{period} 年 {figure:,.0f} {unit} 达到门槛 {threshold:,.0f} {unit}（{list}，{sector}），尚未纳入",
                what_en="{name_en} ({credit_code}), {period}: {figure:,.0f} {unit} at or above the threshold of {threshold:,.0f} {unit} ({list}, {sector}) and not yet listed",
                todo_zh="核实后按程序纳入全国碳市场或重点用能单位名单",
                todo_en="verify and start the inclusion in the national carbon market or the key energy user list",
            ),
        ),
    ),
]
