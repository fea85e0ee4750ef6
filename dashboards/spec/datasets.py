"""Datasets: the marts (physical, so row-level security also applies to them inside the virtual datasets'
SQL), and virtual datasets that only join names, pick labels or the latest month.

A spec says where a dataset's rows come from (its mart, or its SQL) and its time column; its columns and
types are generated from dbt's manifest (dashboards.spec.schema). bootstrap.py also syncs columns from
the live file.
"""

from __future__ import annotations

from typing import Any

from dashboards.spec.labels import (
    CITY_NAME,
    FINDING,
    LABELS,
    MEETS,
    ON_TRACK,
    OVER_APPROVAL,
    PROVISIONAL_SUFFIX,
    QUALIFIED,
    SHORTFALL,
    SIGNIFICANT,
)
from dashboards.spec.schema import with_columns
from dashboards.spec.sql import (
    LANG,
    by_lang,
    label,
    label_case,
    level_rank,
    lit,
    month_label,
    name,
    series_sql,
    status,
    text,
    two_way,
    warning_label,
    yes_no,
)

_LATEST_MONTH = "(SELECT max(month) FROM marts.{t})"

# dual_control_assessment through the views: names, the level's label, the warning level as the seed's
# label, and park_id / credit_code for row-level security (the city row has neither: restricted users
# never see it). Equi-joins on CASE keys, as v_warnings.
_DUAL_CONTROL_SELECT = (
    f"SELECT a.level, {label('a.level', 'entity_level')} AS level_label, a.entity_id,\n"
    f"       CASE a.level WHEN 'enterprise' THEN {name('e')} WHEN 'park' THEN {name('p')}\n"
    f"                    ELSE {text(CITY_NAME)} END AS entity_name,\n"
    "       CASE WHEN a.level = 'park' THEN a.entity_id WHEN a.level = 'enterprise' THEN e.park_id END AS park_id,\n"
    "       CASE WHEN a.level = 'enterprise' THEN a.entity_id END AS credit_code,\n"
    "       CAST(a.year AS VARCHAR) AS year,\n"
    f"       CAST(a.year AS VARCHAR) || CASE WHEN a.is_provisional THEN {text(PROVISIONAL_SUFFIX)} ELSE '' END"
    " AS year_label,\n"
    "       a.year = (SELECT max(year) FROM marts.dual_control_assessment) AS is_latest_year,\n"
    "       a.as_of, CAST(a.base_year AS VARCHAR) AS base_year,\n"
    f"       a.status AS warning_level, {warning_label('a.status')} AS warning_label,\n"
    f"       {level_rank('a.status')} AS level_rank, a.is_provisional, {status('a.is_provisional')} AS status"
)
_DUAL_CONTROL_FROM = (
    "FROM marts.dual_control_assessment a\n"
    "LEFT JOIN marts.dim_enterprises e\n"
    "  ON e.credit_code = CASE WHEN a.level = 'enterprise' THEN a.entity_id END\n"
    "LEFT JOIN marts.dim_parks p\n"
    "  ON p.park_id = CASE WHEN a.level = 'park' THEN a.entity_id WHEN a.level = 'enterprise' THEN e.park_id END"
)
_DUAL_CONTROL_FIGURES = (
    "energy_tce", "energy_tce_dual_control", "co2_t", "value_added_10k_cny", "energy_intensity", "carbon_intensity",
    "base_energy_intensity", "base_carbon_intensity", "energy_intensity_reduction_pct",
    "carbon_intensity_reduction_pct", "target_energy_intensity_reduction_pct",
    "target_carbon_intensity_reduction_pct", "energy_intensity_target", "carbon_intensity_target",
    "allowed_energy_intensity", "allowed_carbon_intensity", "energy_intensity_ratio", "carbon_intensity_ratio",
    "energy_budget_tce", "carbon_budget_tco2", "intensity_coverage",
)

_SPECS: dict[str, dict[str, Any]] = {
    "city_carbon_monthly": {
        "schema": "marts",
        "dttm": "month",
    },
    "park_carbon_monthly": {
        "schema": "marts",
        "dttm": "month",
    },
    "enterprise_carbon_monthly": {
        "schema": "marts",
        "dttm": "month",
    },
    "enterprise_energy_daily": {
        "schema": "marts",
        "dttm": "day",
    },
    "park_energy_daily": {
        # park x day x energy type sums of enterprise_energy_daily: what park and city charts read
        "schema": "marts",
        "dttm": "day",
    },
    "dim_parks": {
        "schema": "marts",
    },
    "dim_enterprises": {
        "schema": "marts",
    },
    "meter_daily": {
        "schema": "marts",
        "dttm": "day",
    },
    "meter_silent_days": {
        # the silent rows of meter_daily only (a few per thousand meter-days)
        "schema": "marts",
        "dttm": "day",
    },
    "quarantine_daily": {
        "schema": "marts",
        "dttm": "day",
    },
    "enterprise_energy_movers": {
        # each enterprise's latest month with the month and the year before (was a virtual dataset
        # joining enterprise_carbon_monthly to itself twice on every request)
        "schema": "marts",
    },
    # ---- virtual datasets: labels in the user's language ------------------------------------
    "v_city_monthly": {
        # the city's months with their provisional mark, and the green power share (counted green MWh over
        # the electricity the park x day aggregates hold)
        "sql": LANG + (
            f"SELECT c.month, {month_label('c.month', 'c.is_provisional')} AS month_label, c.is_provisional,\n"
            f"       {status('c.is_provisional')} AS status,\n"
            "       c.energy_tce, c.energy_tce_dual_control, c.co2_t, c.scope1_co2_t, c.scope2_location_co2_t,\n"
            "       c.scope2_market_co2_t, c.ytd_energy_tce, c.ytd_co2_t, c.value_added_10k_cny,\n"
            "       c.energy_intensity, c.carbon_intensity, c.intensity_coverage, c.green_mwh, e.electricity_mwh,\n"
            "       c.green_mwh / nullif(e.electricity_mwh, 0) AS green_share\n"
            "FROM marts.city_carbon_monthly c\n"
            "LEFT JOIN (SELECT date_trunc('month', day) AS month, sum(quantity) / 1000.0 AS electricity_mwh\n"
            "           FROM marts.park_energy_daily WHERE energy_type = 'electricity' GROUP BY 1) e\n"
            "  ON e.month = c.month"
        ),
        "dttm": "month",
    },
    "v_city_series": {
        # the city's monthly figures a chart draws as several series, one row per month and series, so the
        # legend names each series in the user's language (a metric's label is one fixed string)
        "sql": LANG + series_sql(
            "marts.city_carbon_monthly c", "c", [],
            {"energy_intensity": "c.energy_intensity", "carbon_intensity": "c.carbon_intensity",
             "scope2_location": "c.scope2_location_co2_t", "scope2_market": "c.scope2_market_co2_t"}),
        "dttm": "month",
    },
    "v_enterprise_series": {
        "sql": LANG + series_sql(
            "marts.enterprise_carbon_monthly c LEFT JOIN marts.dim_enterprises e ON e.credit_code = c.credit_code",
            "c", ["c.credit_code", "c.park_id", f"{name('e')} AS enterprise_name"],
            {"scope1": "c.scope1_co2_t", "scope2_location": "c.scope2_location_co2_t"}),
        "dttm": "month",
    },
    "v_park_monthly": {
        "sql": LANG + (
            f"SELECT p.park_id, {name('d')} AS park_name, p.month,\n"
            f"       {month_label('p.month', 'p.is_provisional')} AS month_label, p.is_provisional,\n"
            f"       {status('p.is_provisional')} AS status,\n"
            "       p.energy_tce, p.energy_tce_dual_control, p.co2_t, p.scope1_co2_t, p.scope2_location_co2_t,\n"
            "       p.scope2_market_co2_t, p.ytd_energy_tce, p.ytd_co2_t, p.energy_intensity, p.carbon_intensity,\n"
            "       p.intensity_coverage\n"
            "FROM marts.park_carbon_monthly p LEFT JOIN marts.dim_parks d ON d.park_id = p.park_id"
        ),
        "dttm": "month",
    },
    "v_park_latest": {
        "sql": LANG + (
            f"SELECT p.park_id, {name('d')} AS park_name, p.month,\n"
            f"       {month_label('p.month', 'p.is_provisional')} AS month_label, p.is_provisional,\n"
            f"       {status('p.is_provisional')} AS status,\n"
            "       p.energy_tce, p.co2_t, p.ytd_energy_tce, p.ytd_co2_t, p.energy_intensity, p.intensity_coverage\n"
            "FROM marts.park_carbon_monthly p LEFT JOIN marts.dim_parks d ON d.park_id = p.park_id\n"
            f"WHERE p.month = {_LATEST_MONTH.format(t='park_carbon_monthly')}"
        ),
    },
    "v_enterprise_monthly": {
        "sql": LANG + (
            f"SELECT m.credit_code, m.park_id, {name('e')} AS enterprise_name, m.month,\n"
            f"       {month_label('m.month', 'm.is_provisional')} AS month_label, m.is_provisional,\n"
            f"       {status('m.is_provisional')} AS status,\n"
            f"       {label('m.declaration_status', 'declaration_status')} AS declaration,\n"
            "       m.energy_tce, m.energy_tce_dual_control, m.co2_t, m.scope1_co2_t, m.scope2_location_co2_t,\n"
            "       m.scope2_market_co2_t, m.green_mwh, m.green_mwh_unused,\n"
            "       m.gap_pct_electricity, m.gap_pct_natural_gas, m.gap_pct_heat, m.gap_pct_steam\n"
            "FROM marts.enterprise_carbon_monthly m\n"
            "LEFT JOIN marts.dim_enterprises e ON e.credit_code = m.credit_code"
        ),
        "dttm": "month",
    },
    "v_enterprise_movers": {
        "sql": LANG + (
            f"SELECT v.credit_code, v.park_id, {name('v')} AS enterprise_name, {name('d')} AS park_name, v.month,\n"
            f"       {month_label('v.month', 'm.is_provisional')} AS month_label, m.is_provisional,\n"
            f"       {status('m.is_provisional')} AS status,\n"
            "       v.energy_tce, v.co2_t, v.energy_tce_last_month, v.energy_tce_last_year,\n"
            "       v.change_vs_last_month_tce, v.change_vs_last_year_tce,\n"
            "       v.abs_change_vs_last_month_tce, v.abs_change_vs_last_year_tce\n"
            "FROM marts.enterprise_energy_movers v\n"
            "LEFT JOIN marts.enterprise_carbon_monthly m ON m.credit_code = v.credit_code AND m.month = v.month\n"
            "LEFT JOIN marts.dim_parks d ON d.park_id = v.park_id"
        ),
    },
    "v_park_energy_daily": {
        "sql": LANG + (
            f"SELECT p.park_id, {name('d')} AS park_name, p.day, p.energy_type,\n"
            f"       {label('p.energy_type', 'energy_type')} AS energy_label, p.unit, p.quantity, p.energy_tce,\n"
            "       p.co2_t, p.enterprises, p.completeness_sum, p.intervals_received\n"
            "FROM marts.park_energy_daily p LEFT JOIN marts.dim_parks d ON d.park_id = p.park_id"
        ),
        "dttm": "day",
    },
    "v_enterprise_energy_daily": {
        "sql": LANG + (
            f"SELECT x.credit_code, x.park_id, {name('e')} AS enterprise_name, x.day, x.energy_type,\n"
            f"       {label('x.energy_type', 'energy_type')} AS energy_label, x.quantity, x.unit, x.energy_tce,\n"
            "       x.co2_t, x.completeness\n"
            "FROM marts.enterprise_energy_daily x LEFT JOIN marts.dim_enterprises e ON e.credit_code = x.credit_code"
        ),
        "dttm": "day",
    },
    "v_meter_silent_days": {
        "sql": LANG + (
            f"SELECT s.day, s.meter_id, s.credit_code, s.park_id, {name('e')} AS enterprise_name,\n"
            f"       {name('d')} AS park_name, s.energy_type, {label('s.energy_type', 'energy_type')} AS energy_label\n"
            "FROM marts.meter_silent_days s\n"
            "LEFT JOIN marts.dim_enterprises e ON e.credit_code = s.credit_code\n"
            "LEFT JOIN marts.dim_parks d ON d.park_id = s.park_id"
        ),
        "dttm": "day",
    },
    "v_quarantine_daily": {
        "sql": LANG + (
            f"SELECT q.day, q.source, {label('q.source', 'source')} AS source_label, q.reason_category, q.\"rows\"\n"
            "FROM marts.quarantine_daily q"
        ),
        "dttm": "day",
    },
    "v_certificate_claims": {
        "sql": LANG + (
            "SELECT c.certificate_id, c.project_id, c.generation_month, c.claimed_period, c.claimed_at,\n"
            f"       c.is_double_claim, c.counted, {yes_no('c.counted')} AS counted_label, c.reason_not_counted,\n"
            f"       {label('c.reason_not_counted', 'reason_not_counted')} AS reason_label,\n"
            f"       c.owner_credit_code AS credit_code, e.park_id, {name('e')} AS enterprise_name\n"
            "FROM marts.certificate_claims c\n"
            "LEFT JOIN marts.dim_enterprises e ON e.credit_code = c.owner_credit_code"
        ),
    },
    "v_warnings": {
        # The join keys are CASE expressions, not "ON w.level = ... AND key = ...": a LEFT JOIN condition
        # on the left table alone makes DuckDB fall back to a nested-loop join (warnings x enterprises:
        # seconds for a city of 10,000 enterprises); an equality on an expression stays a hash join.
        # Labels and colours of the levels come from the mart (seeds/warning_levels.csv); level_rank orders
        # them by severity.
        "sql": LANG + (
            f"SELECT w.level, {label('w.level', 'entity_level')} AS level_label, w.entity_id,\n"
            f"       CASE w.level WHEN 'enterprise' THEN {name('e')} WHEN 'park' THEN {name('p')}\n"
            f"                    ELSE {text(CITY_NAME)} END AS entity_name,\n"
            f"       w.as_of, w.metric, {label('w.metric', 'metric')} AS metric_label, w.ytd_value,\n"
            "       w.projected_year_end, w.budget, w.ratio, w.warning_level,\n"
            f"       {by_lang('w.label_zh', 'w.label_en')} AS warning_label, w.colour,\n"
            f"       {level_rank('w.warning_level')} AS level_rank, w.is_provisional,\n"
            f"       {status('w.is_provisional')} AS status,\n"
            "       CASE WHEN w.level = 'park' THEN w.entity_id ELSE e.park_id END AS park_id,\n"
            "       CASE WHEN w.level = 'enterprise' THEN w.entity_id END AS credit_code,\n"
            f"       CASE WHEN w.level = 'enterprise' THEN {name('e')} END AS enterprise_name,\n"
            f"       {name('p')} AS park_name\n"
            "FROM marts.dual_control_warnings w\n"
            "LEFT JOIN marts.dim_enterprises e\n"
            "  ON e.credit_code = CASE WHEN w.level = 'enterprise' THEN w.entity_id END\n"
            "LEFT JOIN marts.dim_parks p\n"
            "  ON p.park_id = CASE WHEN w.level = 'park' THEN w.entity_id WHEN w.level = 'enterprise' THEN e.park_id END"
        ),
    },
    "v_open_findings": {
        # failed rows of the latest run of each suite (check_results keeps every run's rows)
        "sql": LANG + (
            f"SELECT r.stage, r.suite, r.rule, {label('r.rule', 'rule')} AS rule_label, r.severity,\n"
            f"       {label('r.severity', 'severity')} AS severity_label,\n"
            "       r.level, r.entity_id, r.meter_id, r.day, r.observed, r.expected, r.checked_at, r.run_id,\n"
            f"       r.message_zh, r.message_en, {by_lang('r.message_zh', 'coalesce(r.message_en, r.message_zh)')} AS message,\n"
            f"       r.is_summary, r.unexpected_count, r.park_id, r.credit_code, {name('e')} AS enterprise_name\n"
            "FROM quality.check_results r\n"
            "LEFT JOIN marts.dim_enterprises e ON e.credit_code = r.credit_code\n"
            "WHERE NOT r.passed\n"
            "QUALIFY r.run_id = first_value(r.run_id) OVER (PARTITION BY r.suite ORDER BY r.checked_at DESC)"
        ),
    },

    # ---- carbon dual control and the national carbon market ------------------------------
    # The ETS, candidate and zero-carbon marts have park_id (and credit_code): registered, so row-level
    # security applies to them inside the views too. dual_control_assessment has only level/entity_id:
    # it is read through v_dual_control alone, which carries park_id and credit_code for the filters.
    "ets_compliance": {
        "schema": "marts",
    },
    "regulatory_candidates": {
        "schema": "marts",
    },
    "zero_carbon_park_indicators": {
        "schema": "marts",
    },
    "v_dual_control": {
        "sql": LANG + _DUAL_CONTROL_SELECT + ",\n       " + ",\n       ".join(f"a.{c}" for c in _DUAL_CONTROL_FIGURES)
               + "\n" + _DUAL_CONTROL_FROM,
    },
    "v_dual_control_series": {
        # achieved vs target reductions, one row per entity, year and series (the legend in the user's language)
        "sql": LANG + "\nUNION ALL\n".join(
            _DUAL_CONTROL_SELECT + f",\n       {lit(code)} AS series, {text(LABELS['series'][code])} AS series_label,"
            f"\n       CAST(a.{code}_pct AS DOUBLE) AS value\n" + _DUAL_CONTROL_FROM
            for code in ("carbon_intensity_reduction", "target_carbon_intensity_reduction",
                         "energy_intensity_reduction", "target_energy_intensity_reduction")),
    },
    "v_ets_compliance": {
        "sql": LANG + (
            f"SELECT c.credit_code, c.park_id, {name('c')} AS enterprise_name, {name('d')} AS park_name,\n"
            f"       CAST(c.year AS VARCHAR) AS year, c.sector, {label('c.sector', 'sector')} AS sector_label,\n"
            "       c.verified_emissions_tco2, c.allowances_allocated_t, c.allowances_surrendered_t,\n"
            "       c.ccer_surrendered_t, c.ccer_usable_t, c.ccer_over_cap_t, c.compliance_gap_t,\n"
            "       c.allocation_surplus_t, c.compliance_deadline, c.as_of, CAST(c.days_to_deadline AS BIGINT)\n"
            "       AS days_to_deadline, c.gap_near_deadline,\n"
            f"       {yes_no('c.gap_near_deadline')} AS near_deadline_label,\n"
            f"       {two_way('c.compliance_gap_t > 0', SHORTFALL)} AS compliance_label,\n"
            "       c.warehouse_co2_t, CAST(c.warehouse_months AS BIGINT) AS warehouse_months,\n"
            "       c.cross_check_diff_pct, abs(c.cross_check_diff_pct) AS abs_diff_pct, c.cross_check_finding,\n"
            f"       {two_way('c.cross_check_finding', FINDING)} AS finding_label\n"
            "FROM marts.ets_compliance c LEFT JOIN marts.dim_parks d ON d.park_id = c.park_id"
        ),
    },
    "v_regulatory_candidates": {
        # the mart's reason is English; the Chinese one is said from the same figures
        "sql": LANG + (
            f"SELECT r.credit_code, r.park_id, {name('r')} AS enterprise_name, {name('d')} AS park_name,\n"
            f"       CAST(r.year AS VARCHAR) AS year, r.list, {label('r.list', 'candidate_list')} AS list_label,\n"
            f"       r.sector, {label('r.sector', 'sector')} AS sector_label, r.figure, r.threshold, r.unit,\n"
            f"       CAST(r.months AS BIGINT) AS months, r.is_provisional, {status('r.is_provisional')} AS status,\n"
            "       " + by_lang(
                "CASE r.list WHEN 'ets' THEN CAST(r.year AS VARCHAR) || '年直接排放（范围一含工业过程，' || "
                "CAST(r.months AS VARCHAR) || '个月）达到' || "
                + label_case('r.sector', 'sector', 0)
                + " || '行业纳入门槛，未纳入全国碳市场' "
                "WHEN 'key_energy_user' THEN CAST(r.year AS VARCHAR) || '年综合能耗（' || CAST(r.months AS VARCHAR) "
                "|| '个月）达到重点用能单位门槛，尚未列为重点用能单位' ELSE r.reason END",
                "r.reason") + " AS reason\n"
            "FROM marts.regulatory_candidates r LEFT JOIN marts.dim_parks d ON d.park_id = r.park_id"
        ),
    },
    "v_zero_carbon_parks": {
        "sql": LANG + (
            f"SELECT z.park_id, {name('d')} AS park_name,\n"
            f"       CAST(z.year AS VARCHAR) || CASE WHEN z.is_provisional THEN {text(PROVISIONAL_SUFFIX)} ELSE '' END"
            " AS year_label,\n"
            f"       z.year, z.is_provisional, {status('z.is_provisional')} AS status,\n"
            "       z.energy_tce, z.co2_t, z.co2_per_tce, z.co2_per_tce_threshold, z.meets_core_indicator,\n"
            f"       {two_way('z.meets_core_indicator', MEETS)} AS meets_core_label,\n"
            "       z.natural_gas_tce, z.non_fossil_tce, z.clean_energy_share, z.clean_energy_share_threshold,\n"
            f"       z.meets_clean_energy_share, {two_way('z.meets_clean_energy_share', MEETS)} AS meets_clean_label\n"
            "FROM marts.zero_carbon_park_indicators z LEFT JOIN marts.dim_parks d ON d.park_id = z.park_id"
        ),
    },
    # ---- energy-saving projects (issue 15): measured savings, baselines, new facilities, roadmap ----------
    # The project marts carry credit_code but not park_id: read through these views alone (park_id from
    # dim_enterprises, for row-level security), as dual_control_assessment is.
    "v_project_savings": {
        # per project, boundary energy type and reporting month; qualified or not (only qualified ones count)
        "sql": LANG + (
            f"SELECT s.project_id, s.credit_code, e.park_id, {by_lang('s.name_zh', 'coalesce(s.name_en, s.name_zh)')}"
            " AS project_name,\n"
            f"       {name('e')} AS enterprise_name, {name('d')} AS park_name, s.measure,\n"
            f"       {label('s.measure', 'measure')} AS measure_label, s.energy_type,\n"
            f"       {label('s.energy_type', 'energy_type')} AS energy_label, s.unit, s.month,\n"
            "       left(CAST(s.month AS VARCHAR), 7) AS month_label, s.baseline_qualified,\n"
            f"       {two_way('s.baseline_qualified', QUALIFIED)} AS qualification_label,\n"
            "       CAST(s.predicted AS DOUBLE) AS predicted, CAST(s.metered AS DOUBLE) AS metered,\n"
            "       CAST(s.savings AS DOUBLE) AS savings, CAST(s.savings_uncertainty AS DOUBLE) AS savings_uncertainty,\n"
            "       CAST(s.predicted_tce AS DOUBLE) AS predicted_tce, CAST(s.metered_tce AS DOUBLE) AS metered_tce,\n"
            "       CAST(s.savings_tce AS DOUBLE) AS savings_tce,\n"
            "       CAST(s.savings_uncertainty_tce AS DOUBLE) AS savings_uncertainty_tce,\n"
            "       CAST(s.savings_co2_t AS DOUBLE) AS savings_co2_t,\n"
            "       CAST(s.expected_savings_tce AS DOUBLE) AS expected_savings_tce,\n"
            "       CAST(s.fractional_savings AS DOUBLE) AS fractional_savings, CAST(s.cvrmse AS DOUBLE) AS cvrmse,\n"
            f"       {two_way('s.savings_significant', SIGNIFICANT)} AS significance_label,\n"
            "       CAST(s.days_metered AS BIGINT) AS days_metered, s.is_complete_month\n"
            "FROM marts.project_savings_monthly s\n"
            "LEFT JOIN marts.dim_enterprises e ON e.credit_code = s.credit_code\n"
            "LEFT JOIN marts.dim_parks d ON d.park_id = e.park_id"
        ),
        "dttm": "month",
    },
    "v_project_series": {
        # predicted vs metered per project and month, in tce (comparable across energy types), one row per series
        "sql": LANG + "\nUNION ALL\n".join(
            f"SELECT s.project_id, s.credit_code, e.park_id, {name('e')} AS enterprise_name, s.month,\n"
            "       left(CAST(s.month AS VARCHAR), 7) AS month_label, s.baseline_qualified,\n"
            f"       {lit(code)} AS series,\n"
            f"       {by_lang('s.name_zh', 'coalesce(s.name_en, s.name_zh)')} || ' · ' || "
            f"{text(LABELS['series'][code])} AS series_label,\n"
            f"       CAST(s.{code}_tce AS DOUBLE) AS value\n"
            "FROM marts.project_savings_monthly s\n"
            "LEFT JOIN marts.dim_enterprises e ON e.credit_code = s.credit_code"
            for code in ("predicted", "metered")),
        "dttm": "month",
    },
    "v_project_baselines": {
        # every retrofit measured (or refused), with the baseline's qualification, why, and the period to date
        "sql": LANG + (
            f"SELECT b.project_id, b.credit_code, b.park_id, {by_lang('b.name_zh', 'coalesce(b.name_en, b.name_zh)')}"
            " AS project_name,\n"
            f"       {name('e')} AS enterprise_name, {name('d')} AS park_name, b.measure,\n"
            f"       {label('b.measure', 'measure')} AS measure_label,\n"
            f"       {label('b.status', 'project_status')} AS project_status_label, b.energy_type,\n"
            f"       {label('b.energy_type', 'energy_type')} AS energy_label, b.unit, b.commissioned_on,\n"
            "       b.baseline_start, b.baseline_end, CAST(b.baseline_days AS BIGINT) AS baseline_days,\n"
            f"       b.baseline_qualified, {two_way('b.baseline_qualified', QUALIFIED)} AS qualification_label,\n"
            "       " + by_lang(
                "CASE WHEN b.baseline_days < 90 THEN '基准期仅' || CAST(b.baseline_days AS VARCHAR) || '天，至少需要90天'"
                " WHEN b.baseline_days IS NULL THEN '尚无基准期'"
                " WHEN b.cvrmse IS NULL THEN '无法拟合基准模型（数据不足）'"
                " WHEN b.cvrmse > 0.3 THEN 'CV(RMSE)超过30%'"
                " WHEN abs(b.nmbe) > 0.1 THEN 'NMBE超过±10%'"
                " WHEN NOT b.baseline_qualified THEN 'OpenDSM判定基准数据不充分'"
                " WHEN b.baseline_short THEN '基准期不足一年（' || CAST(b.baseline_days AS VARCHAR) || '天），已说明'"
                " ELSE '基准期一年，拟合合格' END",
                "coalesce(nullif(b.baseline_notes, ''), 'A year of baseline, fit within the thresholds')")
            + " AS baseline_note,\n"
            "       CAST(b.cvrmse AS DOUBLE) AS cvrmse, CAST(b.nmbe AS DOUBLE) AS nmbe,\n"
            "       CAST(b.r_squared AS DOUBLE) AS r_squared, b.reporting_start, b.reporting_end,\n"
            "       CAST(b.reporting_days AS BIGINT) AS reporting_days, CAST(b.predicted_total AS DOUBLE) AS predicted_total,\n"
            "       CAST(b.metered_total AS DOUBLE) AS metered_total, CAST(b.savings_total AS DOUBLE) AS savings_total,\n"
            "       CAST(b.savings_total_uncertainty AS DOUBLE) AS savings_total_uncertainty,\n"
            "       CAST(b.fractional_savings AS DOUBLE) AS fractional_savings,\n"
            f"       {two_way('b.savings_significant', SIGNIFICANT)} AS significance_label,\n"
            "       CAST(b.savings_tce AS DOUBLE) AS savings_tce, CAST(b.savings_co2_t AS DOUBLE) AS savings_co2_t,\n"
            "       CAST(b.expected_savings_tce AS DOUBLE) AS expected_savings_tce, b.model_version, b.as_of\n"
            "FROM marts.project_baselines b\n"
            "LEFT JOIN marts.dim_enterprises e ON e.credit_code = b.credit_code\n"
            "LEFT JOIN marts.dim_parks d ON d.park_id = b.park_id"
        ),
    },
    "v_new_facilities": {
        "sql": LANG + (
            f"SELECT n.project_id, n.credit_code, e.park_id, {by_lang('n.name_zh', 'coalesce(n.name_en, n.name_zh)')}"
            " AS project_name,\n"
            f"       {name('e')} AS enterprise_name, {name('d')} AS park_name,\n"
            f"       {label('n.measure', 'measure')} AS measure_label, n.commissioned_on,\n"
            "       CAST(n.days_metered AS BIGINT) AS days_metered,\n"
            "       CAST(n.approved_annual_energy_tce AS DOUBLE) AS approved_annual_energy_tce,\n"
            "       CAST(n.actual_energy_tce AS DOUBLE) AS actual_energy_tce,\n"
            "       CAST(n.approved_pro_rata_tce AS DOUBLE) AS approved_pro_rata_tce,\n"
            "       CAST(n.energy_ratio AS DOUBLE) AS energy_ratio, CAST(n.actual_co2_t AS DOUBLE) AS actual_co2_t,\n"
            "       CAST(n.approved_pro_rata_co2_t AS DOUBLE) AS approved_pro_rata_co2_t,\n"
            "       CAST(n.co2_ratio AS DOUBLE) AS co2_ratio, n.over_approval,\n"
            f"       {two_way('n.over_approval', OVER_APPROVAL)} AS approval_label\n"
            "FROM marts.new_facility_tracking n\n"
            "LEFT JOIN marts.dim_enterprises e ON e.credit_code = n.credit_code\n"
            "LEFT JOIN marts.dim_parks d ON d.park_id = e.park_id"
        ),
    },
    "v_enterprise_roadmap": {
        "sql": LANG + (
            f"SELECT r.credit_code, e.park_id, {name('e')} AS enterprise_name, CAST(r.year AS VARCHAR) AS year,\n"
            "       CAST(r.bau_energy_tce AS DOUBLE) AS bau_energy_tce,\n"
            "       CAST(r.expected_savings_tce AS DOUBLE) AS expected_savings_tce,\n"
            "       CAST(r.measured_savings_tce AS DOUBLE) AS measured_savings_tce,\n"
            "       CAST(r.projected_energy_tce AS DOUBLE) AS projected_energy_tce,\n"
            "       CAST(r.target_energy_tce AS DOUBLE) AS target_energy_tce, CAST(r.gap_tce AS DOUBLE) AS gap_tce,\n"
            "       CAST(r.bau_co2_t AS DOUBLE) AS bau_co2_t, CAST(r.projected_co2_t AS DOUBLE) AS projected_co2_t,\n"
            "       CAST(r.target_co2_t AS DOUBLE) AS target_co2_t, CAST(r.gap_co2_t AS DOUBLE) AS gap_co2_t,\n"
            f"       r.on_track, {two_way('r.on_track', ON_TRACK)} AS on_track_label\n"
            "FROM marts.enterprise_roadmap r\n"
            "LEFT JOIN marts.dim_enterprises e ON e.credit_code = r.credit_code"
        ),
    },
    "v_enterprise_roadmap_series": {
        # BAU, projected and target per enterprise and target year, one row per series
        "sql": LANG + "\nUNION ALL\n".join(
            f"SELECT r.credit_code, e.park_id, {name('e')} AS enterprise_name, CAST(r.year AS VARCHAR) AS year,\n"
            f"       {lit(code)} AS series, {text(LABELS['series'][code])} AS series_label,\n"
            f"       CAST(r.{column} AS DOUBLE) AS value\n"
            "FROM marts.enterprise_roadmap r\n"
            "LEFT JOIN marts.dim_enterprises e ON e.credit_code = r.credit_code"
            for code, column in (("bau_energy", "bau_energy_tce"), ("projected_energy", "projected_energy_tce"),
                                 ("target_energy", "target_energy_tce"))),
    },
}


DATASETS: dict[str, dict[str, Any]] = with_columns(_SPECS)
