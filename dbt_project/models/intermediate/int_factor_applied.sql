{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='delete+insert',
        unique_key=['credit_code', 'month'],
        on_schema_change='append_new_columns',
        full_refresh=false
    )
}}
-- The factor version each enterprise-month is accounted with: its year's pinned version
-- (int_factor_year_pins), so one year never mixes vintages. A month is written once, when first computed; it
-- changes only through an explicit restatement (var restate_months), recorded in marts.restatements, which
-- takes today's factors. full_refresh=false: `nengtan rebuild` keeps the pins. Served as marts.factor_applied.
-- The first build on a warehouse whose pins marts.factor_applied kept (before this model held them) takes
-- them over as they are (source previous_marts.factor_applied): months written stay written.
-- depends_on: {{ ref('int_rebuild_months') }}
{%- set factor_columns = pinned_factor_columns() %}
{%- set previous = source('previous_marts', 'factor_applied') %}
{%- set in_unit_test = model is mapping and model.get('resource_type') == 'unit_test' %}
{%- set take_over = execute and not in_unit_test and not is_incremental()
    and incremental_materialization() == 'incremental'
    and adapter.get_relation(previous.database, previous.schema, previous.identifier) is not none %}
{%- set written = this if is_incremental() else (previous if take_over else none) %}

with months as (
    select distinct
        s.credit_code,
        s.month
    from {{ ref('int_enterprise_monthly_sources') }} as s
    {% if is_incremental() and not rebuilds_everything() %}
    -- a night: a month not yet written or restated is one of the enterprise-months it rebuilt
    inner join {{ ref('int_rebuild_months') }} as rm on s.credit_code = rm.credit_code and s.month = rm.month
    where s.month >= {{ rebuild_months_bound() }}
    {% endif %}
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
{% if written %}
left join {{ written }} as t on m.credit_code = t.credit_code and m.month = t.month
where
    t.credit_code is null
    or {{ restate_predicate('m.credit_code', 'm.month') }}
{% endif %}
{% if take_over %}
union all
select
    t.credit_code,
    t.month,
    {%- for c in factor_columns %}
    t.{{ c }},
    {%- endfor %}
    t.applied_reason,
    t.applied_run_id,
    t.applied_at
from {{ written }} as t
where not {{ restate_predicate('t.credit_code', 't.month') }}
{% endif %}
