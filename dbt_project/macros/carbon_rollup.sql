{#- Sum a monthly carbon table to a higher level; intensities are recomputed from the sums. -#}
{% macro carbon_rollup(relation, group_expr, id_name) -%}
with summed as (
    select
        {{ group_expr }} as {{ id_name }},
        month,
        sum(energy_tce) as energy_tce,
        sum(energy_tce_for_total_check) as energy_tce_for_total_check,
        sum(scope1_co2_t) as scope1_co2_t,
        sum(scope2_location_co2_t) as scope2_location_co2_t,
        sum(scope2_market_co2_t) as scope2_market_co2_t,
        sum(co2_t) as co2_t,
        sum(green_mwh) as green_mwh,
        sum(value_added_10k_cny) as value_added_10k_cny
    from {{ relation }}
    group by {{ group_expr }}, month
)

select
    {{ id_name }},
    month,
    cast(energy_tce as decimal(38, 6)) as energy_tce,
    cast(energy_tce_for_total_check as decimal(38, 6)) as energy_tce_for_total_check,
    cast(scope1_co2_t as decimal(38, 6)) as scope1_co2_t,
    cast(scope2_location_co2_t as decimal(38, 6)) as scope2_location_co2_t,
    cast(scope2_market_co2_t as decimal(38, 6)) as scope2_market_co2_t,
    cast(co2_t as decimal(38, 6)) as co2_t,
    cast(green_mwh as decimal(38, 6)) as green_mwh,
    cast(value_added_10k_cny as decimal(38, 4)) as value_added_10k_cny,
    cast({{ safe_divide('energy_tce', 'value_added_10k_cny') }} as {{ type_double() }}) as energy_intensity,
    cast({{ safe_divide('co2_t', 'value_added_10k_cny') }} as {{ type_double() }}) as carbon_intensity,
    cast(sum(energy_tce) over (
        partition by {{ id_name }}, {{ dbt.date_trunc('year', 'month') }} order by month
        rows between unbounded preceding and current row
    ) as decimal(38, 6)) as ytd_energy_tce,
    cast(sum(co2_t) over (
        partition by {{ id_name }}, {{ dbt.date_trunc('year', 'month') }} order by month
        rows between unbounded preceding and current row
    ) as decimal(38, 6)) as ytd_co2_t,
    {{ current_run_id() }} as built_run_id
from summed
{%- endmacro %}
