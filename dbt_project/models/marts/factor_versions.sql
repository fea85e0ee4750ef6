-- All reference factors as versioned rows (source document, data year, publication, validity).
select
    'energy_conversion' as factor_kind,
    energy_type || ':' || basis as factor_key,
    cast(kgce_per_unit as decimal(18, 9)) as value,
    'kgce/' || unit as unit,
    basis,
    source_document,
    cast(data_year as {{ dbt.type_int() }}) as data_year,
    published,
    valid_from,
    valid_to
from {{ ref('energy_conversion_factors') }}
union all
select
    'combustion' as factor_kind,
    fuel,
    cast(round(ncv_gj_per_unit * carbon_content_tc_per_tj * oxidation_rate * 44 / 12000, 9) as decimal(18, 9)) as value,
    'tCO2/' || unit as unit,
    'NCV '
    || cast(ncv as {{ dbt.type_string() }})
    || ' '
    || ncv_unit
    || '; C '
    || cast(carbon_content_tc_per_tj as {{ dbt.type_string() }})
    || ' tC/TJ; oxidation ' || cast(oxidation_rate as {{ dbt.type_string() }}),
    source_document,
    cast(data_year as {{ dbt.type_int() }}),
    published,
    valid_from,
    valid_to
from {{ ref('combustion_factors') }}
{#- heat/steam parameters and grid factors share one shape: (kind, key column, value column, seed) -#}
{%- for kind, key, value, seed in [
    ('heat_steam', 'parameter', 'value', 'heat_steam_factors'),
    ('grid', 'region', 'factor', 'grid_emission_factors'),
] %}
union all
select
    '{{ kind }}' as factor_kind,
    {{ key }},
    cast({{ value }} as decimal(18, 9)) as value,
    unit,
    basis,
    source_document,
    cast(data_year as {{ dbt.type_int() }}),
    published,
    valid_from,
    valid_to
from {{ ref(seed) }}
{%- endfor %}
union all
-- the dual-control deductions by data year, each with its notice (value 1 = deducted whole; unit says from what)
select
    'dual_control_deduction' as factor_kind,
    deduction as factor_key,
    cast(1 as decimal(18, 9)) as value,
    case when from_intensity then 'out of the total and intensity' else 'out of the total only' end as unit,
    rule as basis,
    notice as source_document,
    cast(first_data_year as {{ dbt.type_int() }}) as data_year,
    published,
    cast(cast(first_data_year as {{ dbt.type_string() }}) || '-01-01' as date) as valid_from,
    case
        when last_data_year is not null
            then cast(cast(last_data_year as {{ dbt.type_string() }}) || '-12-31' as date)
    end as valid_to
from {{ ref('dual_control_deductions') }}
