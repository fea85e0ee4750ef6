{{ config(materialized='table') }}
-- depends_on: {{ ref('int_rebuild_bounds') }}
-- depends_on: {{ ref('int_rebuild_months') }}
-- depends_on: {{ ref('stg_raw__enterprises') }}
-- depends_on: {{ ref('int_months') }}
-- The enterprise-months energy_balance_monthly rebuilds: those of int_rebuild_months, the month after each (its
-- opening stock is this month's closing stock), and every month of an enterprise whose park changed (the
-- balance also holds stock-only months, which enterprise_carbon_monthly, where int_rebuild_months finds them,
-- does not). Empty on a full refresh and on Spark (rebuilds_everything).

{% if rebuilds_everything() %}
{{ no_rows({'credit_code': dbt.type_string(), 'month': 'date'}) }}
{% else %}
{%- set previous_months = existing_relation(source('previous_scope_marts', 'enterprise_carbon_monthly')) %}

with scoped as (
    select
        credit_code,
        month
    from {{ ref('int_rebuild_months') }}
    union
    select
        credit_code,
        cast({{ dbt.dateadd('month', 1, 'month') }} as date) as month
    from {{ ref('int_rebuild_months') }}
    {%- if previous_months is not none %}
    union
    select
        c.credit_code,
        m.month
    from (
        select distinct rm.credit_code
        from {{ ref('int_rebuild_months') }} as rm
        inner join {{ previous_months }} as p on rm.credit_code = p.credit_code and rm.month = p.month
        left join {{ ref('stg_raw__enterprises') }} as e on rm.credit_code = e.credit_code
        where p.park_id is distinct from e.park_id
    ) as c
    cross join {{ ref('int_months') }} as m
    {%- endif %}
)

select
    credit_code,
    month
from scoped
{% endif %}
