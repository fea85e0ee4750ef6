{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        full_refresh=false
    )
}}
-- One row per enterprise-month explicitly restated (var restate_months, or nengtan.transform.restate_month):
-- the factor version it had and the one it gets, who asked and why. Never rewritten.
{%- set fa = adapter.get_relation(database=this.database, schema=this.schema, identifier='factor_applied') %}

with months as (
    select distinct
        credit_code,
        month
    from {{ ref('int_enterprise_monthly_sources') }}
)

select
    m.credit_code,
    m.month,
    cast('{{ var("restate_reason") }}' as {{ dbt.type_string() }}) as reason,
    {{ current_run_id() }} as run_id,
    cast({{ dbt.current_timestamp() }} as {{ dbt.type_timestamp() }}) as restated_at,
    {% if fa %}
    o.tce_basis as old_tce_basis,
    o.electricity_kgce_per_kwh as old_electricity_kgce_per_kwh,
    o.grid_location_data_year as old_grid_location_data_year,
    o.grid_location_factor as old_grid_location_factor,
    o.grid_market_data_year as old_grid_market_data_year,
    o.grid_market_factor as old_grid_market_factor,
    {% else %}
    cast(null as {{ dbt.type_string() }}) as old_tce_basis,
    cast(null as decimal(18, 6)) as old_electricity_kgce_per_kwh,
    cast(null as {{ dbt.type_int() }}) as old_grid_location_data_year,
    cast(null as decimal(18, 6)) as old_grid_location_factor,
    cast(null as {{ dbt.type_int() }}) as old_grid_market_data_year,
    cast(null as decimal(18, 6)) as old_grid_market_factor,
    {% endif %}
    s.tce_basis as new_tce_basis,
    s.electricity_kgce_per_kwh as new_electricity_kgce_per_kwh,
    s.grid_location_data_year as new_grid_location_data_year,
    s.grid_location_factor as new_grid_location_factor,
    s.grid_market_data_year as new_grid_market_data_year,
    s.grid_market_factor as new_grid_market_factor
from months as m
inner join {{ ref('int_factor_selection') }} as s on m.month = s.month
{% if fa %}
left join {{ fa }} as o on m.credit_code = o.credit_code and m.month = o.month
{% endif %}
where {{ restate_predicate('m.credit_code', 'm.month') }}
