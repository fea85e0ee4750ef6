{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['credit_code', 'month'],
        on_schema_change='append_new_columns',
        full_refresh=false
    )
}}
-- depends_on: {{ ref('restatements') }}
-- The factor version each enterprise-month is accounted with. A month is pinned the first time it is
-- computed; only the open month (the as-of month and later) follows newer factor rows. Closed months change
-- only through an explicit restatement (var restate_months), recorded in marts.restatements.
-- full_refresh=false: `nengtan rebuild` keeps the pins.

with months as (
    select distinct
        credit_code,
        month
    from {{ ref('int_enterprise_monthly_sources') }}
),

open_month as (
    select {{ month_of(as_of_day()) }} as month
)

select
    m.credit_code,
    m.month,
    s.tce_basis,
    s.electricity_kgce_per_kwh,
    s.grid_location_data_year,
    s.grid_location_factor,
    s.grid_market_data_year,
    s.grid_market_factor,
    s.heat_co2_t_per_gj,
    s.steam_gj_per_t,
    case
        when {{ restate_predicate('m.credit_code', 'm.month') }} then 'restatement'
        when m.month >= o.month then 'open month'
        else 'first computation'
    end as applied_reason,
    {{ current_run_id() }} as applied_run_id,
    cast({{ dbt.current_timestamp() }} as {{ dbt.type_timestamp() }}) as applied_at
from months as m
inner join {{ ref('int_factor_selection') }} as s on m.month = s.month
cross join open_month as o
{% if is_incremental() %}
left join {{ this }} as t on m.credit_code = t.credit_code and m.month = t.month
where
    t.credit_code is null
    or {{ restate_predicate('m.credit_code', 'm.month') }}
    -- the open month follows newer factor rows, and is rewritten only when they differ (reruns change nothing)
    or (
        m.month >= o.month
        and (
            t.tce_basis is distinct from s.tce_basis
            or t.electricity_kgce_per_kwh is distinct from s.electricity_kgce_per_kwh
            or t.grid_location_data_year is distinct from s.grid_location_data_year
            or t.grid_location_factor is distinct from s.grid_location_factor
            or t.grid_market_data_year is distinct from s.grid_market_data_year
            or t.grid_market_factor is distinct from s.grid_market_factor
            or t.heat_co2_t_per_gj is distinct from s.heat_co2_t_per_gj
            or t.steam_gj_per_t is distinct from s.steam_gj_per_t
        )
    )
{% endif %}
