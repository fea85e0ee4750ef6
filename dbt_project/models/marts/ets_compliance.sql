-- National carbon market compliance per covered enterprise and data year (methodology "Carbon market"):
-- allowances to surrender = verified emissions; usable CCER = min(CCER surrendered, 5 % x verified) (MEE order
-- 19, art. 29; the share is seeds/ets_rules.csv); compliance gap = verified - allowances surrendered - usable
-- CCER (positive = shortfall); days to the deadline from the as-of day (negative once passed). The warehouse's
-- own scope 1 + 2 (location-based) of the year cross-checks the verified figure: a difference above the
-- tolerance either way is a finding.
with ets as (
    select *
    from {{ ref('stg_raw__ets') }}
),

as_of as (
    select {{ as_of_day() }} as day
),

computed as (
    select
        e.credit_code,
        e.year,
        e.sector,
        e.verified_emissions_tco2,
        e.allowances_allocated_t,
        e.allowances_surrendered_t,
        e.ccer_surrendered_t,
        least(e.ccer_surrendered_t, e.verified_emissions_tco2 * {{ ets_rule('ccer_offset_cap_share') }})
            as ccer_usable_t,
        e.compliance_deadline,
        a.day as as_of,
        w.scope1_co2_t + w.scope2_location_co2_t as warehouse_co2_t,
        w.months as warehouse_months,
        w.months_provisional as warehouse_months_provisional
    from ets as e
    cross join as_of as a
    left join {{ ref('int_enterprise_year_carbon') }} as w
        on e.credit_code = w.credit_code and e.year = w.year
)

select
    c.credit_code,
    d.name_zh,
    d.name_en,
    d.park_id,
    cast(c.year as {{ dbt.type_int() }}) as year,
    cast(c.sector as {{ dbt.type_string() }}) as sector,
    cast(c.verified_emissions_tco2 as decimal(20, 4)) as verified_emissions_tco2,
    cast(c.allowances_allocated_t as decimal(20, 4)) as allowances_allocated_t,
    cast(c.allowances_surrendered_t as decimal(20, 4)) as allowances_surrendered_t,
    cast(c.ccer_surrendered_t as decimal(20, 4)) as ccer_surrendered_t,
    cast(c.ccer_usable_t as decimal(20, 4)) as ccer_usable_t,
    cast(c.ccer_surrendered_t - c.ccer_usable_t as decimal(20, 4)) as ccer_over_cap_t,
    cast(c.verified_emissions_tco2 - c.allowances_surrendered_t - c.ccer_usable_t as decimal(20, 4))
        as compliance_gap_t,
    cast(c.allowances_allocated_t - c.verified_emissions_tco2 as decimal(20, 4)) as allocation_surplus_t,
    c.compliance_deadline,
    c.as_of,
    cast({{ dbt.datediff('c.as_of', 'c.compliance_deadline', 'day') }} as {{ dbt.type_int() }}) as days_to_deadline,
    c.verified_emissions_tco2 - c.allowances_surrendered_t - c.ccer_usable_t > 0
    and {{ dbt.datediff('c.as_of', 'c.compliance_deadline', 'day') }} <= {{ ets_rule('compliance_alert_days') }}
        as gap_near_deadline,
    cast(c.warehouse_co2_t as decimal(38, 6)) as warehouse_co2_t,
    cast(c.warehouse_months as {{ dbt.type_int() }}) as warehouse_months,
    cast(
        {{ safe_divide('(c.warehouse_co2_t - c.verified_emissions_tco2) * 100', 'c.verified_emissions_tco2') }}
        as {{ type_double() }}
    ) as cross_check_diff_pct,
    -- a finding only on a whole, final year of the warehouse's own figures
    coalesce(
        c.warehouse_months = 12 and c.warehouse_months_provisional = 0
        and abs({{ safe_divide('(c.warehouse_co2_t - c.verified_emissions_tco2) * 100', 'c.verified_emissions_tco2') }})
        > {{ ets_rule('cross_check_tolerance_pct') }},
        false
    ) as cross_check_finding,
    {{ current_run_id() }} as built_run_id
from computed as c
left join {{ ref('dim_enterprises') }} as d on c.credit_code = d.credit_code
