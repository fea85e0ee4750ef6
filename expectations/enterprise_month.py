"""Per enterprise-month checks (routed to the enterprise's energy manager).

Months judged each night: the month of the data day (month to date) and the previous
month (declarations for a month arrive in the next one).

- ``daily_vs_monthly``: sum of ``marts.enterprise_energy_daily.energy_tce`` over the
  month vs ``marts.enterprise_carbon_monthly.energy_tce_gross`` (before energy passed on
  to others), within 5 %. The monthly total also counts declared-only energy (coal, oil
  products, metered types without a meter) and, for a month the meters cover only in
  part, the declared quantity, so such enterprise-months are not judged here.
- ``declared_vs_metered``: the largest |gap_pct_*| of the month (percent, as the mart
  stores it) within ``NENGTAN_DECLARED_TOLERANCE_PCT`` (default 5).
- ``declaration_on_time``: every key energy user has a declaration for the previous
  month once the deadline day (``NENGTAN_DECLARATION_DEADLINE_DAY`` of the following
  month, default 15th) is over, i.e. from the night of data day 15 on; reported each
  night of that month until a submission arrives. Only months
  the warehouse holds from their first day are judged (a city whose data starts
  mid-month owes no declaration for that partial month).
- ``green_power_covered``: the declared green-power trade volume
  (``green_electricity_direct``) is covered by certificates of trade type ``green_power``
  claimed for the month; an uncovered volume is not deducted and is reported to the owner.
- ``certificate_single_claim``: a green certificate claimed more than once is reported
  to every holder (one finding per claim), with the other holders named.
- ``certificate_claim_counts``: a claim that does not count because the certificate
  expired, was claimed for a month before its generation, or exceeds the month's
  electricity (over_consumption, the unused part) is reported to the holder.
"""

from nengtan.quality.rules import Rule, Suite, between, in_set

SQL = """
WITH months AS (
    SELECT CAST(date_trunc('month', CAST($day AS DATE)) AS DATE) AS month
    UNION ALL
    SELECT CAST(date_trunc('month', CAST($day AS DATE)) - INTERVAL 1 MONTH AS DATE)
), daily AS (
    SELECT credit_code, CAST(date_trunc('month', day) AS DATE) AS month,
           sum(energy_tce) AS daily_tce, list(DISTINCT energy_type) AS metered_types
    FROM marts.enterprise_energy_daily
    -- a constant (not the months CTE): the scan skips the year's earlier row groups by their zonemaps
    WHERE day >= CAST(date_trunc('month', CAST($day AS DATE)) - INTERVAL 1 MONTH AS DATE)
    GROUP BY ALL
), decl AS (
    SELECT credit_code, CAST(try_strptime(period, '%Y-%m') AS DATE) AS month,
           submitted_at, item, quantity
    FROM raw.declarations
    WHERE credit_code IS NOT NULL   -- the two months judged only (whole (credit_code, period) partitions)
      AND CAST(try_strptime(period, '%Y-%m') AS DATE) >= CAST(date_trunc('month', CAST($day AS DATE)) - INTERVAL 1 MONTH AS DATE)
    QUALIFY dense_rank() OVER (PARTITION BY credit_code, period
                               ORDER BY submitted_at DESC, submission_id DESC) = 1
), unmetered AS (
    SELECT d.credit_code, d.month, true AS has_unmetered
    FROM decl d LEFT JOIN daily y ON y.credit_code = d.credit_code AND y.month = d.month
    WHERE d.quantity > 0 AND (
          d.item IN ('raw_coal', 'diesel', 'gasoline', 'fuel_oil', 'lpg')
       OR (d.item = 'electricity_purchased' AND NOT list_contains(coalesce(y.metered_types, []), 'electricity'))
       OR (d.item = 'natural_gas' AND NOT list_contains(coalesce(y.metered_types, []), 'natural_gas'))
       OR (d.item = 'heat_purchased' AND NOT list_contains(coalesce(y.metered_types, []), 'heat'))
       OR (d.item = 'steam_purchased' AND NOT list_contains(coalesce(y.metered_types, []), 'steam')))
    GROUP BY ALL
), declared AS (
    SELECT credit_code, month, min(submitted_at) AS first_submitted_at FROM decl GROUP BY ALL
), covered_months AS (   -- months the warehouse holds from their first day (a bounded scan, not per row)
    SELECT DISTINCT day AS month FROM marts.enterprise_energy_daily
    WHERE day >= CAST(date_trunc('month', CAST($day AS DATE)) - INTERVAL 1 MONTH AS DATE)
      AND day = CAST(date_trunc('month', day) AS DATE)
), base AS (
    SELECT e.credit_code, e.park_id, coalesce(e.key_energy_user, false) AS key_energy_user,
           e.contact_email, m.month,
           -- only months the warehouse holds from their first day are due a declaration
           m.month IN (SELECT month FROM covered_months) AS covered
    FROM marts.dim_enterprises e CROSS JOIN months m
)
SELECT b.credit_code AS entity_id, b.credit_code, b.park_id, NULL::VARCHAR AS meter_id,
       strftime(b.month, '%Y-%m') AS period,
       c.energy_tce_gross AS monthly_tce, y.daily_tce,
       CASE WHEN c.energy_tce_gross IS NOT NULL AND y.daily_tce IS NOT NULL AND u.has_unmetered IS NULL
             AND NOT coalesce(c.meter_coverage_partial, false)
            THEN 100.0 * abs(y.daily_tce - c.energy_tce_gross) / greatest(abs(c.energy_tce_gross), 1e-9) END
           AS daily_monthly_gap_pct,
       coalesce(c.green_direct_uncovered_mwh, 0) AS green_direct_uncovered_mwh,
       c.green_direct_declared_mwh,
       greatest(abs(c.gap_pct_electricity), abs(c.gap_pct_natural_gas),
                abs(c.gap_pct_heat), abs(c.gap_pct_steam)) AS declared_gap_pct,
       concat_ws(', ',
           CASE WHEN abs(c.gap_pct_electricity) > $declared_tolerance_pct THEN printf('electricity %.1f%%', c.gap_pct_electricity) END,
           CASE WHEN abs(c.gap_pct_natural_gas) > $declared_tolerance_pct THEN printf('natural_gas %.1f%%', c.gap_pct_natural_gas) END,
           CASE WHEN abs(c.gap_pct_heat) > $declared_tolerance_pct THEN printf('heat %.1f%%', c.gap_pct_heat) END,
           CASE WHEN abs(c.gap_pct_steam) > $declared_tolerance_pct THEN printf('steam %.1f%%', c.gap_pct_steam) END
       ) AS declared_gap_detail,
       CASE WHEN b.key_energy_user AND b.covered
             AND b.month < CAST(date_trunc('month', CAST($day AS DATE)) AS DATE)
             AND CAST($day AS DATE) >= CAST(b.month + INTERVAL 1 MONTH AS DATE) + (CAST($deadline_day AS INTEGER) - 1)
            THEN d.first_submitted_at IS NOT NULL END AS declared_by_deadline,
       strftime(CAST(b.month + INTERVAL 1 MONTH AS DATE) + (CAST($deadline_day AS INTEGER) - 1), '%Y-%m-%d')
           AS deadline,
       b.contact_email AS recipient
FROM base b
LEFT JOIN marts.enterprise_carbon_monthly c ON c.credit_code = b.credit_code AND CAST(c.month AS DATE) = b.month
LEFT JOIN daily y ON y.credit_code = b.credit_code AND y.month = b.month
LEFT JOIN unmetered u ON u.credit_code = b.credit_code AND u.month = b.month
LEFT JOIN declared d ON d.credit_code = b.credit_code AND d.month = b.month
ORDER BY b.credit_code, b.month
"""

CLAIMS_SQL = """
WITH relevant AS (
    SELECT certificate_id FROM marts.certificate_claims
    GROUP BY certificate_id HAVING count(*) > 1
       AND bool_or(claimed_period IN (strftime(CAST($day AS DATE), '%Y-%m'),
                                      strftime(CAST($day AS DATE) - INTERVAL 1 MONTH, '%Y-%m')))
), claims AS (
    SELECT c.*, count(*) OVER (PARTITION BY c.certificate_id) AS n_claims,
           string_agg(c.owner_credit_code, ', ') OVER (PARTITION BY c.certificate_id) AS all_holders
    FROM marts.certificate_claims c
    WHERE c.certificate_id IN (SELECT certificate_id FROM relevant)
)
SELECT c.owner_credit_code AS entity_id, c.owner_credit_code AS credit_code, e.park_id,
       NULL::VARCHAR AS meter_id, c.certificate_id, c.claimed_period AS period,
       c.claim_rank, c.counted, c.n_claims, c.all_holders,
       CASE WHEN c.counted THEN '本次认领有效' ELSE '本次认领不计入' END AS claim_status_zh,
       CASE WHEN c.counted THEN 'this claim counts' ELSE 'this claim is not counted' END AS claim_status_en,
       e.contact_email AS recipient
FROM claims c LEFT JOIN marts.dim_enterprises e ON e.credit_code = c.owner_credit_code
ORDER BY c.certificate_id, c.claim_rank
"""

VALIDITY_SQL = """
SELECT c.owner_credit_code AS entity_id, c.owner_credit_code AS credit_code, e.park_id,
       NULL::VARCHAR AS meter_id, c.certificate_id, c.generation_month, c.claimed_period AS period,
       strftime(c.valid_to_month, '%Y-%m') AS valid_to, c.reason_not_counted,
       1 - c.counted_mwh AS not_counted_mwh,
       CASE c.reason_not_counted
           WHEN 'expired' THEN '已过有效期（有效至 ' || strftime(c.valid_to_month, '%Y-%m') || '）'
           WHEN 'before_generation' THEN '认领期早于发电月份 ' || c.generation_month
           WHEN 'over_consumption' THEN '超出当月用电量，未使用部分 ' || printf('%.3f', 1 - c.counted_mwh) || ' MWh'
       END AS reason_zh,
       CASE c.reason_not_counted
           WHEN 'expired' THEN 'expired (valid to ' || strftime(c.valid_to_month, '%Y-%m') || ')'
           WHEN 'before_generation' THEN 'claimed for a month before its generation month ' || c.generation_month
           WHEN 'over_consumption' THEN 'above the month''s electricity, unused part '
                || printf('%.3f', 1 - c.counted_mwh) || ' MWh'
       END AS reason_en,
       e.contact_email AS recipient
FROM marts.certificate_claims c LEFT JOIN marts.dim_enterprises e ON e.credit_code = c.owner_credit_code
WHERE c.reason_not_counted IN ('expired', 'before_generation', 'over_consumption')
  AND c.claimed_period IN (strftime(CAST($day AS DATE), '%Y-%m'),
                           strftime(CAST($day AS DATE) - INTERVAL 1 MONTH, '%Y-%m'))
ORDER BY c.owner_credit_code, c.certificate_id
"""

SUITES = [
    Suite(
        name="enterprise_month", stage="marts", severity="routed", level="enterprise", sql=SQL,
        requires=("marts.dim_enterprises", "marts.enterprise_carbon_monthly",
                  "marts.enterprise_energy_daily", "raw.declarations"),
        rules=(
            Rule(
                name="daily_vs_monthly",
                column="daily_monthly_gap_pct",
                expectation=between("daily_monthly_gap_pct", max_value=lambda cfg: cfg.daily_vs_monthly_pct),
                expected=lambda cfg: f"<= {cfg.daily_vs_monthly_pct:g}%", fmt="{:.1f}%",
                what_zh="企业 {credit_code} {period} 日数据合计 {daily_tce:.3f} tce 与月度总量 {monthly_tce:.3f} tce 相差 {observed}，要求 {expected}",
                what_en="enterprise {credit_code} {period}: daily totals {daily_tce:.3f} tce vs monthly total {monthly_tce:.3f} tce differ by {observed}, required {expected}",
                todo_zh="核对日数据与月度数据的采集口径，补传缺失日数据",
                todo_en="reconcile the daily and monthly figures and re-send missing days",
            ),
            Rule(
                name="declared_vs_metered",
                column="declared_gap_pct",
                expectation=between("declared_gap_pct", max_value=lambda cfg: cfg.declared_tolerance_pct),
                expected=lambda cfg: f"<= {cfg.declared_tolerance_pct:g}%", fmt="{:.1f}%",
                what_zh="企业 {credit_code} {period} 申报量与计量值偏差 {observed}（{declared_gap_detail}），要求 {expected}",
                what_en="enterprise {credit_code} {period}: declared vs metered gap {observed} ({declared_gap_detail}), required {expected}",
                todo_zh="核对账单与表计数据，更正申报或说明差异原因",
                todo_en="check the bills against the meters, then correct the declaration or explain the gap",
            ),
            Rule(
                name="declaration_on_time",
                column="declared_by_deadline",
                expectation=in_set("declared_by_deadline", [True]),
                expected="已申报 / declared",
                what_zh="重点用能单位 {credit_code} 未在截止日 {deadline} 前提交 {period} 的能源数据申报",
                what_en="key energy user {credit_code} has not filed its {period} declaration by the deadline {deadline}",
                todo_zh="请尽快在申报系统提交该月数据",
                todo_en="file the month's declaration in the declaration system now",
            ),
            Rule(
                name="green_power_covered",
                column="green_direct_uncovered_mwh",
                expectation=between("green_direct_uncovered_mwh", max_value=0),
                expected="0 MWh", fmt="{:.3f} MWh",
                what_zh="企业 {credit_code} {period} 申报绿电交易电量 {green_direct_declared_mwh:.3f} MWh，其中 {observed} 没有对应的绿电交易绿证，未计入绿电消费",
                what_en="enterprise {credit_code} {period}: of the {green_direct_declared_mwh:.3f} MWh of green-power trade declared, {observed} has no green_power certificate behind it and is not counted as green electricity",
                todo_zh="核对绿证账户是否已收到该笔交易划转的绿证，或更正申报",
                todo_en="check that the trade's certificates reached your certificate account, or correct the declaration",
            ),
        ),
    ),
    Suite(
        name="certificate_validity", stage="marts", severity="routed", level="enterprise", sql=VALIDITY_SQL,
        requires=("marts.certificate_claims", "marts.dim_enterprises"),
        rules=(
            Rule(
                name="certificate_claim_counts",
                column="not_counted_mwh",
                expectation=between("not_counted_mwh", max_value=0),
                expected="0 MWh", fmt="{:.3f} MWh",
                what_zh="绿证 {certificate_id}（{generation_month} 发电）在 {period} 的认领有 {observed} 不计入：{reason_zh}",
                what_en="green certificate {certificate_id} (generated {generation_month}): {observed} of your {period} claim does not count: {reason_en}",
                todo_zh="撤回无效认领，或将绿证用于有效期内、用电量以内的月份",
                todo_en="withdraw the invalid claim, or use the certificate for a month within its validity and your consumption",
            ),
        ),
    ),
    Suite(
        name="certificate_claims", stage="marts", severity="routed", level="enterprise", sql=CLAIMS_SQL,
        requires=("marts.certificate_claims", "marts.dim_enterprises"),
        rules=(
            Rule(
                name="certificate_single_claim",
                column="n_claims",
                expectation=between("n_claims", max_value=1),
                expected="1",
                what_zh="绿证 {certificate_id} 被重复认领 {observed} 次（持有方：{all_holders}），贵单位 {period} 的认领排序第 {claim_rank}：{claim_status_zh}",
                what_en="green certificate {certificate_id} claimed {observed} times (holders: {all_holders}); your {period} claim ranks {claim_rank}: {claim_status_en}",
                todo_zh="与绿证交易方核实归属，撤回无效认领",
                todo_en="settle ownership with the other holder and withdraw the invalid claim",
            ),
        ),
    ),
]
