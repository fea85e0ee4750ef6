-- Measured savings per retrofit project, boundary energy type and reporting month (IPMVP Option C / CalTRACK
-- daily through OpenDSM, dags/nengtan_mv.py): predicted (the baseline model at the month's weather) - metered, in
-- the meter's unit, with the ASHRAE Guideline 14 savings uncertainty at 90 %, and in tce and tCO2 at the marts'
-- per-unit coefficients of the enterprise-month (int_enterprise_month_factors: tce at the basis in use; CO2 =
-- scope 1 + scope 2 location-based; steam at its default heat content). A month whose baseline does not
-- qualify is shown with baseline_qualified = false, never silently counted (enterprise_roadmap counts only
-- qualified ones).
with months as (
    select * from {{ ref('int_project_mv_months') }}
),

projects as (
    select
        project_id,
        measure,
        name_zh,
        name_en,
        expected_annual_savings_tce
    from {{ ref('stg_raw__projects') }}
),

fits as (
    select
        project_id,
        energy_type,
        baseline_start,
        baseline_end,
        baseline_days,
        baseline_short,
        nmbe,
        r_squared,
        reasons
    from {{ ref('int_project_mv_fits') }}
),

factors as (
    select
        credit_code,
        month,
        energy_type,
        tce_per_unit,
        scope1_co2_per_unit + scope2_location_co2_per_unit as co2_t_per_unit
    from {{ ref('int_enterprise_month_factors') }}
)

select
    m.project_id,
    m.credit_code,
    p.measure,
    p.name_zh,
    p.name_en,
    m.month,
    m.energy_type,
    m.unit,
    m.baseline_qualified,
    m.predicted,
    m.metered,
    m.savings,
    m.savings_uncertainty,
    cast(m.predicted * f.tce_per_unit as decimal(38, 6)) as predicted_tce,
    cast(m.metered * f.tce_per_unit as decimal(38, 6)) as metered_tce,
    cast(m.savings * f.tce_per_unit as decimal(38, 6)) as savings_tce,
    cast(m.savings_uncertainty * f.tce_per_unit as decimal(38, 6)) as savings_uncertainty_tce,
    cast(m.savings * f.co2_t_per_unit as decimal(38, 6)) as savings_co2_t,
    cast(m.savings_uncertainty * f.co2_t_per_unit as decimal(38, 6)) as savings_uncertainty_co2_t,
    -- savings beyond their own uncertainty (zero is outside the 90 % interval)
    m.savings > m.savings_uncertainty as savings_significant,
    cast(
        case when m.predicted > 0 then m.savings / m.predicted end as decimal(12, 6)
    ) as fractional_savings,
    -- the owner's expectation for the same days (expected a year x days metered / 365), in tce
    cast(
        p.expected_annual_savings_tce * m.days_metered / 365.0 as decimal(38, 6)
    ) as expected_savings_tce,
    m.cvrmse,
    b.nmbe,
    b.r_squared,
    b.baseline_start,
    b.baseline_end,
    b.baseline_days,
    b.baseline_short,
    b.reasons as baseline_notes,
    m.model_version,
    m.days_metered,
    m.days_in_period,
    m.days_in_month,
    m.days_in_period = m.days_in_month as is_complete_month,
    m.mean_temperature_c,
    {{ current_run_id() }} as built_run_id
from months as m
left join projects as p on m.project_id = p.project_id
left join fits as b on m.project_id = b.project_id and m.energy_type = b.energy_type
left join factors as f on m.credit_code = f.credit_code and m.month = f.month and m.energy_type = f.energy_type
