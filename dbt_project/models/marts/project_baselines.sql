-- One row per retrofit project and boundary energy type: the M&V step's baseline (fitted or refused, and why),
-- its fit metrics and qualification, and the reporting period to date: predicted, metered and saved energy in the
-- meter's unit with the period's own 90 % uncertainty (not the sum of the months'), in tce and tCO2 as the sum of
-- project_savings_monthly's months, beside the owner's expectation for the same days. A project whose baseline was
-- refused (too short, no data) has a row here and none in project_savings_monthly: the dashboards and reports show
-- it with its reason. park_id for the dashboards' row-level security.
with fits as (
    select * from {{ ref('int_project_mv_fits') }}
),

projects as (
    select
        project_id,
        name_zh,
        name_en,
        kind,
        status,
        expected_annual_savings_tce
    from {{ ref('stg_raw__projects') }}
),

enterprises as (
    select
        credit_code,
        park_id
    from {{ ref('dim_enterprises') }}
),

months as (
    select
        project_id,
        energy_type,
        count(*) as months,
        sum(savings_tce) as savings_tce,
        sum(savings_co2_t) as savings_co2_t,
        sum(expected_savings_tce) as expected_savings_tce
    from {{ ref('project_savings_monthly') }}
    group by project_id, energy_type
)

select
    f.project_id,
    f.credit_code,
    e.park_id,
    f.measure,
    p.name_zh,
    p.name_en,
    p.status,
    f.energy_type,
    f.unit,
    f.boundary_meters,
    f.commissioned_on,
    f.baseline_start,
    f.baseline_end,
    f.baseline_days,
    f.baseline_days_with_data,
    coalesce(f.baseline_short, false) as baseline_short,
    coalesce(f.baseline_qualified, false) as baseline_qualified,
    f.reasons as baseline_notes,
    f.cvrmse,
    f.nmbe,
    f.r_squared,
    f.model_version,
    f.reporting_start,
    f.reporting_end,
    f.reporting_days,
    f.predicted_total,
    f.metered_total,
    f.savings_total,
    f.savings_total_uncertainty,
    -- savings beyond their own 90 % uncertainty (zero is outside the interval)
    f.savings_total > f.savings_total_uncertainty as savings_significant,
    cast(
        case when f.predicted_total > 0 then f.savings_total / f.predicted_total end as decimal(12, 6)
    ) as fractional_savings,
    coalesce(m.months, 0) as months,
    cast(m.savings_tce as decimal(38, 6)) as savings_tce,
    cast(m.savings_co2_t as decimal(38, 6)) as savings_co2_t,
    cast(m.expected_savings_tce as decimal(38, 6)) as expected_savings_tce,
    p.expected_annual_savings_tce,
    f.as_of,
    {{ current_run_id() }} as built_run_id
from fits as f
left join projects as p on f.project_id = p.project_id
left join enterprises as e on f.credit_code = e.credit_code
left join months as m on f.project_id = m.project_id and coalesce(f.energy_type, '') = coalesce(m.energy_type, '')
