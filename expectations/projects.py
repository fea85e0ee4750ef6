"""Energy-saving project checks (routed to the enterprise's energy manager).

- ``savings_below_half_expected``: a commissioned retrofit whose measured savings (qualified
  baseline, CalTRACK daily through OpenDSM; marts.project_savings_monthly), summed over the
  reporting period to date (at least 30 metered days), are below half of what the owner expects
  for the same days (expected_annual_savings_tce x days / 365) even at the top of their 90 %
  uncertainty (measured + uncertainty < 50 % of expected; the months' uncertainties are summed,
  which overstates it: a finding is never a statistical accident), with the figures.
- ``new_facility_over_approval``: a new facility whose energy or CO2 since commissioning runs
  above its approved annual figure pro rata (marts.new_facility_tracking).
- ``baseline_qualified``: a retrofit whose baseline does not qualify (too short, poor fit,
  insufficient data: the reasons are in the finding); its savings are shown, never counted.

The M&V DAG rebuilds the project marts after the night's checks have run, so a finding here is
about the results of the previous M&V run.
"""

from nengtan.quality.rules import Rule, Suite, between

MIN_DAYS = 30

SAVINGS_SQL = f"""
WITH p AS (
    SELECT s.project_id, s.credit_code, max(s.measure) AS measure,
           sum(CAST(s.savings_tce AS DOUBLE)) AS measured_tce,
           sum(CAST(s.savings_uncertainty_tce AS DOUBLE)) AS uncertainty_tce,
           sum(CAST(s.expected_savings_tce AS DOUBLE)) AS expected_tce,
           sum(s.days_metered) AS days, min(s.month) AS first_month, max(s.month) AS last_month
    FROM marts.project_savings_monthly s
    WHERE s.baseline_qualified
    GROUP BY s.project_id, s.credit_code
)
SELECT p.credit_code AS entity_id, p.credit_code, e.park_id, NULL::VARCHAR AS meter_id,
       strftime(p.last_month, '%Y-%m') AS period, p.project_id, coalesce(p.measure, '-') AS measure,
       p.measured_tce, p.expected_tce, coalesce(p.uncertainty_tce, 0) AS uncertainty_tce, p.days,
       strftime(p.first_month, '%Y-%m') AS first_month,
       p.measured_tce / p.expected_tce AS savings_ratio,
       (p.measured_tce + coalesce(p.uncertainty_tce, 0)) / p.expected_tce AS savings_ratio_upper,
       e.contact_email AS recipient
FROM p LEFT JOIN marts.dim_enterprises e ON e.credit_code = p.credit_code
WHERE p.expected_tce > 0 AND p.days >= {MIN_DAYS}
ORDER BY p.project_id
"""

FACILITY_SQL = """
SELECT f.credit_code AS entity_id, f.credit_code, e.park_id, NULL::VARCHAR AS meter_id,
       strftime(f.period_end, '%Y-%m') AS period, f.project_id,
       CAST(f.actual_energy_tce AS DOUBLE) AS actual_tce, CAST(f.approved_pro_rata_tce AS DOUBLE) AS approved_tce,
       coalesce(CAST(f.actual_co2_t AS DOUBLE), 0) AS actual_co2_t,
       coalesce(CAST(f.approved_pro_rata_co2_t AS DOUBLE), 0) AS approved_co2_t,
       strftime(f.commissioned_on, '%Y-%m-%d') AS commissioned_on, f.days_metered,
       greatest(coalesce(CAST(f.energy_ratio AS DOUBLE), 0), coalesce(CAST(f.co2_ratio AS DOUBLE), 0)) AS ratio,
       e.contact_email AS recipient
FROM marts.new_facility_tracking f LEFT JOIN marts.dim_enterprises e ON e.credit_code = f.credit_code
WHERE f.days_metered > 0 AND (f.energy_ratio IS NOT NULL OR f.co2_ratio IS NOT NULL)
ORDER BY f.project_id
"""

BASELINE_SQL = """
SELECT b.credit_code AS entity_id, b.credit_code, e.park_id, NULL::VARCHAR AS meter_id,
       strftime(b.as_of, '%Y-%m') AS period, b.project_id, b.energy_type, b.unit,
       coalesce(strftime(b.baseline_start, '%Y-%m-%d'), '-') AS baseline_start,
       coalesce(strftime(b.baseline_end, '%Y-%m-%d'), '-') AS baseline_end,
       coalesce(b.baseline_days, 0) AS baseline_days,
       coalesce(CAST(b.cvrmse AS DOUBLE) * 100, -1) AS cvrmse_pct,
       coalesce(b.reasons, '-') AS reasons,
       CASE WHEN b.baseline_qualified THEN 1 ELSE 0 END AS qualified, e.contact_email AS recipient
FROM intermediate.int_project_mv_fits b LEFT JOIN marts.dim_enterprises e ON e.credit_code = b.credit_code
ORDER BY b.project_id, b.energy_type
"""

SUITES = [
    Suite(
        name="project_savings", stage="marts", severity="routed", level="enterprise", sql=SAVINGS_SQL,
        requires=("marts.project_savings_monthly", "marts.dim_enterprises"),
        rules=(
            Rule(
                name="savings_below_half_expected",
                column="savings_ratio_upper",
                observed_column="savings_ratio",
                expectation=between("savings_ratio_upper", min_value=0.5),
                expected=">= 50% of expected (with its uncertainty)", fmt="{:.0%}",
                what_zh="企业 {credit_code} 节能项目 {project_id}（{measure}）自 {first_month} 起 {days} 天实测节能 {measured_tce:,.2f} tce（±{uncertainty_tce:,.2f}），仅为预期 {expected_tce:,.2f} tce 的 {observed}",
                what_en="enterprise {credit_code}, project {project_id} ({measure}): measured savings {measured_tce:,.2f} tce (±{uncertainty_tce:,.2f}) over {days} days since {first_month}, {observed} of the {expected_tce:,.2f} tce expected",
                todo_zh="检查项目运行状态与计量边界，必要时更新预期节能量",
                todo_en="check that the measure runs as designed and the measurement boundary, or revise the expected savings",
            ),
        ),
    ),
    Suite(
        name="new_facility_approval", stage="marts", severity="routed", level="enterprise", sql=FACILITY_SQL,
        requires=("marts.new_facility_tracking", "marts.dim_enterprises"),
        rules=(
            Rule(
                name="new_facility_over_approval",
                column="ratio",
                expectation=between("ratio", max_value=1),
                expected="<= 100% of the approval pro rata", fmt="{:.0%}",
                what_zh="企业 {credit_code} 新建项目 {project_id}（{commissioned_on} 投产）{days_metered} 天用能 {actual_tce:,.1f} tce、排放 {actual_co2_t:,.1f} tCO2，按节能审查批复折算为 {approved_tce:,.1f} tce、{approved_co2_t:,.1f} tCO2，达批复的 {observed}",
                what_en="enterprise {credit_code}, new facility {project_id} (commissioned {commissioned_on}): {actual_tce:,.1f} tce and {actual_co2_t:,.1f} tCO2 in {days_metered} days against {approved_tce:,.1f} tce and {approved_co2_t:,.1f} t approved pro rata ({observed})",
                todo_zh="核查新建项目用能是否超出节能审查批复，采取节能措施或依法办理变更",
                todo_en="check the facility's energy use against its energy-review approval; reduce it or apply for a change of the approval",
            ),
        ),
    ),
    Suite(
        name="project_baseline", stage="marts", severity="routed", level="enterprise", sql=BASELINE_SQL,
        requires=("intermediate.int_project_mv_fits", "marts.dim_enterprises"),
        rules=(
            Rule(
                name="baseline_qualified",
                column="qualified",
                expectation=between("qualified", min_value=1),
                expected="qualified", fmt="{}",
                what_zh="企业 {credit_code} 节能项目 {project_id}（{energy_type}）基准期 {baseline_start}～{baseline_end}（{baseline_days} 天）模型不合格：{reasons}",
                what_en="enterprise {credit_code}, project {project_id} ({energy_type}): baseline {baseline_start}..{baseline_end} ({baseline_days} days) does not qualify: {reasons}",
                todo_zh="补充基准期数据（至少12个月，最少90天）或核对计量边界；在此之前节能量不予认定",
                todo_en="provide a longer baseline (12 months, at least 90 days) or check the boundary meters; savings are not credited until then",
            ),
        ),
    ),
]
