{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        full_refresh=false
    )
}}
-- One row per enterprise-month explicitly restated (var restate_months, or nengtan.transform.restate_month):
-- the factor version it had and the one it gets, who asked and why. Never rewritten. The new version is what
-- int_factor_applied wrote for the month this run; the old one is read from marts.factor_applied as the previous
-- run left it (source previous_marts.factor_applied: the mart depends on this model, so a ref would be a cycle;
-- absent on a fresh warehouse).
{%- set previous = source('previous_marts', 'factor_applied') %}
{%- set fa = execute and adapter.get_relation(previous.database, previous.schema, previous.identifier) %}

select
    n.credit_code,
    n.month,
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
    n.tce_basis as new_tce_basis,
    n.electricity_kgce_per_kwh as new_electricity_kgce_per_kwh,
    n.grid_location_data_year as new_grid_location_data_year,
    n.grid_location_factor as new_grid_location_factor,
    n.grid_market_data_year as new_grid_market_data_year,
    n.grid_market_factor as new_grid_market_factor
from {{ ref('int_factor_applied') }} as n
{% if fa %}
left join {{ previous }} as o on n.credit_code = o.credit_code and n.month = o.month
{% endif %}
where {{ restate_predicate('n.credit_code', 'n.month') }}
