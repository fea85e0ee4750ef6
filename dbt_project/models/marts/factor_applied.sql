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
-- The factor version each enterprise-month is accounted with, pinned per year: the first month of a year to
-- be computed pins the factors in force then, and every later month of that year takes the same version, so
-- one year never mixes vintages. A newer publication changes a year only through an explicit restatement
-- (var restate_months), recorded in marts.restatements. full_refresh=false: `nengtan rebuild` keeps the pins.
{%- set factor_columns = [
    'tce_basis', 'electricity_kgce_per_kwh', 'grid_location_data_year', 'grid_location_factor',
    'grid_market_data_year', 'grid_market_factor', 'grid_market_note', 'heat_co2_t_per_gj',
    'steam_gj_per_t', 'steam_feedwater_kj_kg',
] %}

with months as (
    select distinct
        credit_code,
        month
    from {{ ref('int_enterprise_monthly_sources') }}
)

{% if is_incremental() %}
,

-- the version already pinned for each year: every row of a year carries the same one, a restatement of the
-- year (the latest applied) replaces it
year_pins as (
    select *
    from (
        select
            {{ dbt.date_trunc('year', 'month') }} as year_start,
            {{ factor_columns | join(', ') }},
            row_number() over (
                partition by {{ dbt.date_trunc('year', 'month') }} order by applied_at desc, credit_code, month
            ) as pick
        from {{ this }}
    ) as p
    where pick = 1
)
{% endif %}

select
    m.credit_code,
    m.month,
    {%- for c in factor_columns %}
    {%- if is_incremental() %}
    case
        when {{ restate_predicate('m.credit_code', 'm.month') }} or yp.year_start is null then s.{{ c }}
        else yp.{{ c }}
    end as {{ c }},
    {%- else %}
    s.{{ c }},
    {%- endif %}
    {%- endfor %}
    case
        when {{ restate_predicate('m.credit_code', 'm.month') }} then 'restatement'
        {%- if is_incremental() %}
        when yp.year_start is not null then 'year pinned'
        {%- endif %}
        else 'first computation'
    end as applied_reason,
    {{ current_run_id() }} as applied_run_id,
    cast({{ dbt.current_timestamp() }} as {{ dbt.type_timestamp() }}) as applied_at
from months as m
inner join {{ ref('int_factor_selection') }} as s on m.month = s.month
{% if is_incremental() %}
left join year_pins as yp on {{ dbt.date_trunc('year', 'm.month') }} = yp.year_start
left join {{ this }} as t on m.credit_code = t.credit_code and m.month = t.month
where
    t.credit_code is null
    or {{ restate_predicate('m.credit_code', 'm.month') }}
{% endif %}
