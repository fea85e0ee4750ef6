{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{{ delete_month_scope() }}"
    )
}}
-- depends_on: {{ ref('stg_meta__rebuild_months') }}
-- Monthly energy and CO2 per enterprise: meters for metered types, the latest declaration for the rest.
-- Each energy type's tce and CO2 is rounded to 6 decimals once; totals are exact sums of those.
-- Market-based scope 2: electricity less counted certificates and direct green power, never below zero.

with sources as (
    select s.*
    from {{ ref('int_enterprise_monthly_sources') }} as s
    {% if is_incremental() %}
    inner join {{ ref('stg_meta__rebuild_months') }} as rm
        on s.credit_code = rm.credit_code and s.month = rm.month
    {% endif %}
),

green as (
    select
        k.credit_code,
        k.month,
        coalesce(c.certificate_mwh, 0) as certificate_mwh,
        coalesce(o.green_electricity_direct_kwh, 0) as green_direct_kwh,
        o.value_added_10k_cny
    from (
        select distinct
            credit_code,
            month
        from sources
    ) as k
    left join {{ ref('int_enterprise_certificates_monthly') }} as c
        on k.credit_code = c.credit_code and k.month = c.month
    left join {{ ref('int_enterprise_declared_other') }} as o
        on k.credit_code = o.credit_code and k.month = o.month
),

per_type as (
    select
        s.credit_code,
        s.month,
        s.energy_type,
        s.quantity,
        s.metered_quantity,
        s.declared_quantity,
        s.has_meter,
        {{ acct('s.quantity * f.tce_per_unit') }} as energy_tce,
        {{ acct('s.quantity * f.scope1_co2_per_unit') }} as scope1_co2_t,
        {{ acct('s.quantity * f.scope2_location_co2_per_unit') }} as scope2_location_co2_t,
        case
            when s.energy_type = 'electricity' then {{ acct(
                'greatest(s.quantity - g.certificate_mwh * 1000 - g.green_direct_kwh, 0) * f.scope2_market_co2_per_unit') }}
            else {{ acct('s.quantity * f.scope2_market_co2_per_unit') }}
        end as scope2_market_co2_t,
        case
            when s.energy_type = 'electricity' then {{ acct(
                'least(g.certificate_mwh * 1000 + g.green_direct_kwh, s.quantity) * f.tce_per_unit') }}
            else {{ acct('0') }}
        end as renewable_deduction_tce
    from sources as s
    inner join green as g on s.credit_code = g.credit_code and s.month = g.month
    left join {{ ref('int_enterprise_month_factors') }} as f
        on s.credit_code = f.credit_code and s.month = f.month and s.energy_type = f.energy_type
),

{%- set gap_types = ['electricity', 'natural_gas', 'heat', 'steam'] %}

totals as (
    select
        credit_code,
        month,
        sum(energy_tce) as energy_tce,
        sum(scope1_co2_t) as scope1_co2_t,
        sum(scope2_location_co2_t) as scope2_location_co2_t,
        sum(scope2_market_co2_t) as scope2_market_co2_t,
        sum(renewable_deduction_tce) as renewable_deduction_tce,
        -- sqlfluff mis-indents this whitespace-stripped loop body.
        -- noqa: disable=LT02
        {%- for t in gap_types %}
        max(case
            when energy_type = '{{ t }}' and has_meter and metered_quantity is not null
                and declared_quantity is not null and metered_quantity <> 0
            then round((declared_quantity - metered_quantity) * 100.0 / metered_quantity, 4)
        end) as gap_pct_{{ t }}{{ ',' if not loop.last }}
        {%- endfor %}
    -- noqa: enable=LT02
    from per_type
    group by credit_code, month
)

select
    t.credit_code,
    e.park_id,
    t.month,
    cast(t.energy_tce as decimal(38, 6)) as energy_tce,
    cast(t.scope1_co2_t as decimal(38, 6)) as scope1_co2_t,
    cast(t.scope2_location_co2_t as decimal(38, 6)) as scope2_location_co2_t,
    cast(t.scope2_market_co2_t as decimal(38, 6)) as scope2_market_co2_t,
    cast(t.scope1_co2_t + t.scope2_location_co2_t as decimal(38, 6)) as co2_t,
    cast(t.energy_tce - t.renewable_deduction_tce as decimal(38, 6)) as energy_tce_for_total_check,
    cast(g.certificate_mwh + g.green_direct_kwh * 0.001 as decimal(38, 6)) as green_mwh,
    cast(g.value_added_10k_cny as decimal(38, 4)) as value_added_10k_cny,
    cast({{ safe_divide('t.energy_tce', 'g.value_added_10k_cny') }} as {{ type_double() }}) as energy_intensity,
    cast({{ safe_divide('t.scope1_co2_t + t.scope2_location_co2_t', 'g.value_added_10k_cny') }} as {{ type_double() }})
        as carbon_intensity,
    cast(t.gap_pct_electricity as {{ type_double() }}) as gap_pct_electricity,
    cast(t.gap_pct_natural_gas as {{ type_double() }}) as gap_pct_natural_gas,
    cast(t.gap_pct_heat as {{ type_double() }}) as gap_pct_heat,
    cast(t.gap_pct_steam as {{ type_double() }}) as gap_pct_steam,
    fa.grid_location_data_year,
    fa.grid_market_data_year,
    fa.tce_basis,
    {{ current_run_id() }} as built_run_id
from totals as t
inner join green as g on t.credit_code = g.credit_code and t.month = g.month
left join {{ ref('stg_raw__enterprises') }} as e on t.credit_code = e.credit_code
left join {{ ref('factor_applied') }} as fa on t.credit_code = fa.credit_code and t.month = fa.month
