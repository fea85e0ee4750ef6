{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='delete+insert',
        unique_key=['year_start'],
        on_schema_change='append_new_columns',
        full_refresh=false
    )
}}
-- The factor version each year is accounted with: pinned when the year is first computed (the factors in force
-- then, for its earliest month), and never changed afterwards except by an explicit restatement of one of its
-- months (var restate_months), which re-pins the whole year to today's factors. So one year never mixes
-- vintages, and a newer publication is a recorded restatement. full_refresh=false: rebuilds keep the pins.
{%- set factor_columns = pinned_factor_columns() %}

with years as (
    select
        {{ dbt.date_trunc('year', 'month') }} as year_start,
        min(month) as first_month,
        max(case when {{ restate_predicate("''", 'month') }} then 1 else 0 end) as restated
    from {{ ref('int_months') }}
    group by {{ dbt.date_trunc('year', 'month') }}
)

select
    cast(y.year_start as date) as year_start,
    {%- for c in factor_columns %}
    s.{{ c }},
    {%- endfor %}
    y.restated = 1 as restated,
    {{ current_run_id() }} as pinned_run_id
from years as y
inner join {{ ref('int_factor_selection') }} as s on y.first_month = s.month
{% if is_incremental() %}
where
    y.restated = 1
    or cast(y.year_start as date) not in (select p.year_start from {{ this }} as p)
{% endif %}
