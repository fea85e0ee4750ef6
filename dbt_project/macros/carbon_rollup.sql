{#- Sum the enterprise-months to a park or the city. Energy and CO2 are exact sums of the enterprises' net
    figures, so energy passed between two enterprises is counted once. Intensities divide energy (or CO2) by
    value added over the same enterprise-months: those with value added declared (the matched months);
    intensity_coverage is the share of the energy those months hold. A park- or city-month is provisional
    while any of its enterprise-months is. -#}
{% macro carbon_rollup(relation, group_expr, id_name) -%}
{%- set summed_columns = [
    'energy_tce_gross', 'energy_tce_exported', 'energy_tce', 'energy_tce_feedstock', 'energy_tce_non_fossil',
    'energy_tce_dual_control', 'energy_tce_for_intensity', 'energy_tce_equal_value', 'scope1_co2_t',
    'process_co2_t', 'scope2_location_co2_t', 'scope2_market_co2_t', 'co2_exported_t', 'co2_t', 'green_mwh',
    'green_mwh_unused',
] -%}
with summed as (
    select
        {{ group_expr }} as {{ id_name }},
        month,
        {%- for c in summed_columns %}
        sum({{ c }}) as {{ c }},
        {%- endfor %}
        sum(value_added_10k_cny) as value_added_10k_cny,
        sum(case when value_added_10k_cny is not null then energy_tce_for_intensity end) as matched_energy_tce,
        sum(case when value_added_10k_cny is not null then co2_t end) as matched_co2_t,
        count(*) as enterprises,
        sum(case when value_added_10k_cny is not null then 1 else 0 end) as enterprises_with_value_added,
        sum(case when is_provisional then 1 else 0 end) as enterprises_provisional
    from {{ relation }}
    group by {{ group_expr }}, month
)

select
    {{ id_name }},
    month,
    {%- for c in summed_columns %}
    cast({{ c }} as decimal(38, 6)) as {{ c }},
    {%- endfor %}
    cast(value_added_10k_cny as decimal(38, 4)) as value_added_10k_cny,
    cast(matched_energy_tce as decimal(38, 6)) as matched_energy_tce,
    cast(matched_co2_t as decimal(38, 6)) as matched_co2_t,
    cast({{ safe_divide('matched_energy_tce', 'value_added_10k_cny') }} as {{ type_double() }}) as energy_intensity,
    cast({{ safe_divide('matched_co2_t', 'value_added_10k_cny') }} as {{ type_double() }}) as carbon_intensity,
    cast({{ safe_divide('coalesce(matched_energy_tce, 0)', 'energy_tce_for_intensity') }} as {{ type_double() }})
        as intensity_coverage,
    cast(enterprises as {{ dbt.type_int() }}) as enterprises,
    cast(enterprises_with_value_added as {{ dbt.type_int() }}) as enterprises_with_value_added,
    cast(enterprises_provisional as {{ dbt.type_int() }}) as enterprises_provisional,
    enterprises_provisional > 0 as is_provisional,
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

{#- The levels an entity is assessed at, with the expression of its id in an enterprise-level row: the enterprise
    itself, its park, the city (var city_id). The warnings and the dual-control assessment roll up over these. -#}
{% macro entity_levels() -%}
    {{ return([('enterprise', 'credit_code'), ('park', 'park_id'), ('city', "'" ~ var('city_id') ~ "'")]) }}
{%- endmacro %}
