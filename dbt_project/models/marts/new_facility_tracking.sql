-- New fixed-asset projects that passed an energy review (节能审查): actual energy and CO2 of the boundary
-- meters since commissioning against the approved annual figures pro rata (approved x metered days / 365),
-- at the marts' per-unit coefficients of each enterprise-month (tce at the basis in use; CO2 = scope 1 +
-- scope 2 location-based). Over approval = actual above the pro-rata approved figure.
with projects as (
    select
        project_id,
        credit_code,
        name_zh,
        name_en,
        measure,
        status,
        meter_ids,
        {{ dbt.safe_cast('commissioned_on', 'date') }} as commissioned_on,
        approved_annual_energy_tce,
        approved_annual_co2_t
    from {{ ref('stg_raw__projects') }}
    where kind = 'new_facility' and status <> 'cancelled' and commissioned_on is not null
),

boundary as (
    select
        pm.project_id,
        pm.meter_id,
        m.energy_type
    from {{ ref('stg_raw__project_meters') }} as pm
    inner join {{ ref('stg_raw__meters') }} as m on pm.meter_id = m.meter_id
),

usage as (
    select
        p.project_id,
        p.credit_code,
        b.energy_type,
        d.day,
        cast({{ dbt.date_trunc('month', 'd.day') }} as date) as month,
        d.quantity
    from projects as p
    inner join boundary as b on p.project_id = b.project_id
    inner join {{ ref('int_meter_daily') }} as d on b.meter_id = d.meter_id and p.commissioned_on <= d.day
),

converted as (
    select
        u.project_id,
        u.day,
        u.quantity * f.tce_per_unit as energy_tce,
        u.quantity * (f.scope1_co2_per_unit + f.scope2_location_co2_per_unit) as co2_t
    from usage as u
    left join {{ ref('int_enterprise_month_factors') }} as f
        on u.credit_code = f.credit_code and u.month = f.month and u.energy_type = f.energy_type
),

totals as (
    select
        project_id,
        min(day) as period_start,
        max(day) as period_end,
        count(distinct day) as days_metered,
        sum(energy_tce) as actual_energy_tce,
        sum(co2_t) as actual_co2_t
    from converted
    group by project_id
),

compared as (
    select
        p.project_id,
        p.credit_code,
        p.name_zh,
        p.name_en,
        p.measure,
        p.status,
        p.meter_ids,
        p.commissioned_on,
        t.period_start,
        t.period_end,
        coalesce(t.days_metered, 0) as days_metered,
        p.approved_annual_energy_tce,
        p.approved_annual_co2_t,
        cast(t.actual_energy_tce as decimal(38, 6)) as actual_energy_tce,
        cast(t.actual_co2_t as decimal(38, 6)) as actual_co2_t,
        cast(p.approved_annual_energy_tce * t.days_metered / 365.0 as decimal(38, 6)) as approved_pro_rata_tce,
        cast(p.approved_annual_co2_t * t.days_metered / 365.0 as decimal(38, 6)) as approved_pro_rata_co2_t
    from projects as p
    left join totals as t on p.project_id = t.project_id
)

select
    *,
    cast(
        case when approved_pro_rata_tce > 0 then actual_energy_tce / approved_pro_rata_tce end as decimal(12, 4)
    ) as energy_ratio,
    cast(
        case when approved_pro_rata_co2_t > 0 then actual_co2_t / approved_pro_rata_co2_t end as decimal(12, 4)
    ) as co2_ratio,
    coalesce(actual_energy_tce > approved_pro_rata_tce, false) as energy_over_approval,
    coalesce(actual_co2_t > approved_pro_rata_co2_t, false) as co2_over_approval,
    coalesce(actual_energy_tce > approved_pro_rata_tce or actual_co2_t > approved_pro_rata_co2_t, false)
        as over_approval,
    {{ current_run_id() }} as built_run_id
from compared
