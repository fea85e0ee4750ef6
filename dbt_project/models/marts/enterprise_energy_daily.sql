{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{{ delete_enterprise_days() }}"
    )
}}
-- depends_on: {{ ref('int_rebuild_months') }}
-- depends_on: {{ ref('int_enterprise_rebuild_days') }}
-- Metered energy per enterprise, day and energy type, with tce and location-based CO2 (scope 1 for gas,
-- scope 2 for electricity, heat, steam) at the enterprise-month's pinned factors; steam's CO2 by its heat
-- content from each meter's enthalpy (macro steam_heat_gj), as in the monthly mart.
-- A night rebuilds the enterprise-days of int_enterprise_rebuild_days (the days its meters rebuilt; the whole
-- month when its factors or park changed), not the whole current month of every enterprise it touched.
-- A full refresh or catch-up writes its rows in day order (order_by_time): unordered, every row group of a year
-- spans the year, and each night's delete, the publish and the checks of recent days read the whole table.

with daily as (
    {%- if is_incremental() %}
    select m.*
    from ({{ enterprise_metered_energy('day') }}) as m
    inner join {{ ref('int_enterprise_rebuild_days') }} as sc
        on m.credit_code = sc.credit_code and m.month = sc.month and m.day >= sc.from_day
    -- a literal on the grouped day: pushed through the aggregation, the scan skips the days before it
    where m.day >= {{ sql_literal(enterprise_rebuild_days_value() or '9999-12-31', 'date') }}
    {%- else %}
    {{ enterprise_metered_energy('day') }}
    {%- endif %}
)

select
    d.credit_code,
    e.park_id,
    d.day,
    d.energy_type,
    d.quantity,
    d.unit,
    {{ acct('d.quantity * f.tce_per_unit') }} as energy_tce,
    case
        when d.energy_type = 'steam' then {{ acct(steam_heat_gj(
            'd.quantity', 'd.steam_qty_with_enthalpy', 'd.steam_qty_x_enthalpy', 'f.steam_feedwater_kj_kg',
            'f.steam_gj_per_t') ~ ' * f.heat_co2_t_per_gj') }}
        else {{ acct('d.quantity * (f.scope1_co2_per_unit + f.scope2_location_co2_per_unit)') }}
    end as co2_t,
    cast(d.intervals_received as {{ dbt.type_int() }}) as intervals_received,
    cast(d.intervals_estimated as {{ dbt.type_int() }}) as intervals_estimated,
    cast(round(d.intervals_received / (96.0 * d.meters), 4) as decimal(9, 4)) as completeness,
    {{ current_run_id() }} as built_run_id
from daily as d
left join {{ ref('stg_raw__enterprises') }} as e on d.credit_code = e.credit_code
left join {{ ref('int_enterprise_month_factors') }} as f
    on d.credit_code = f.credit_code and d.month = f.month and d.energy_type = f.energy_type
{{ order_by_time('d.day') }}
