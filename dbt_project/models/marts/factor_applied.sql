{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='delete+insert',
        unique_key=['credit_code', 'month'],
        on_schema_change='append_new_columns',
        full_refresh=false
    )
}}
-- depends_on: {{ ref('restatements') }}
-- The factor version each enterprise-month is accounted with: its year's pinned version
-- (int_factor_year_pins), so one year never mixes vintages. A month is written once, when first computed; it
-- changes only through an explicit restatement (var restate_months), recorded in marts.restatements, which
-- takes today's factors. full_refresh=false: `nengtan rebuild` keeps the pins.
{%- set factor_columns = pinned_factor_columns() %}

with months as (
    select distinct
        credit_code,
        month
    from {{ ref('int_enterprise_monthly_sources') }}
)

select
    m.credit_code,
    m.month,
    {%- for c in factor_columns %}
    case when {{ restate_predicate('m.credit_code', 'm.month') }} then s.{{ c }} else p.{{ c }} end as {{ c }},
    {%- endfor %}
    case
        when {{ restate_predicate('m.credit_code', 'm.month') }} then 'restatement'
        else 'year pinned'
    end as applied_reason,
    {{ current_run_id() }} as applied_run_id,
    cast({{ dbt.current_timestamp() }} as {{ dbt.type_timestamp() }}) as applied_at
from months as m
inner join {{ ref('int_factor_selection') }} as s on m.month = s.month
inner join {{ ref('int_factor_year_pins') }} as p on {{ dbt.date_trunc('year', 'm.month') }} = p.year_start
{% if is_incremental() %}
left join {{ this }} as t on m.credit_code = t.credit_code and m.month = t.month
where
    t.credit_code is null
    or {{ restate_predicate('m.credit_code', 'm.month') }}
{% endif %}
