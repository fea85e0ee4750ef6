{{ config(materialized='table') }}
-- depends_on: {{ ref('int_rebuild_bounds') }}
-- depends_on: {{ ref('int_rebuild_meters') }}
-- depends_on: {{ ref('int_factor_applied') }}
-- depends_on: {{ ref('int_rebuild_months') }}
-- depends_on: {{ ref('stg_raw__enterprises') }}
-- The enterprise-days this run rebuilds in enterprise_energy_daily: per enterprise-month of int_rebuild_months,
-- the first day to rebuild (from_day; every later day of the month too). A day's row changes when a meter-day
-- of the enterprise does (int_rebuild_meters: from the earliest from_day of its meters, whose days run to the
-- as-of day), or, for every day of the month, when the month's factors were written this run (a restatement,
-- a month first computed) or its park changed (the months int_rebuild_months lists for that reason). A month
-- listed for its declarations or certificates only changes no day. Empty on a full refresh and on Spark.

{% if rebuilds_everything() %}
{{ no_rows({'credit_code': dbt.type_string(), 'month': 'date', 'from_day': 'date'}) }}
{% else %}
{%- set previous_months = existing_relation(source('previous_scope_marts', 'enterprise_carbon_monthly')) %}

with meter_days as (
    select
        credit_code,
        min(from_day) as from_day
    from {{ ref('int_rebuild_meters') }}
    where credit_code is not null
    group by credit_code
),

whole_months as (
    select
        credit_code,
        month
    from {{ ref('int_factor_applied') }}
    where applied_run_id = {{ current_run_id() }}
    {%- if previous_months is not none %}
    union
    select
        rm.credit_code,
        rm.month
    from {{ ref('int_rebuild_months') }} as rm
    inner join {{ previous_months }} as p on rm.credit_code = p.credit_code and rm.month = p.month
    left join {{ ref('stg_raw__enterprises') }} as e on rm.credit_code = e.credit_code
    where p.park_id is distinct from e.park_id
    {%- endif %}
),

scoped as (
    select
        rm.credit_code,
        rm.month,
        case
            when w.credit_code is not null then rm.month
            when md.from_day > rm.month then md.from_day
            else rm.month
        end as from_day,
        w.credit_code is not null as whole_month,
        md.from_day as meter_from_day
    from {{ ref('int_rebuild_months') }} as rm
    left join whole_months as w on rm.credit_code = w.credit_code and rm.month = w.month
    left join meter_days as md on rm.credit_code = md.credit_code
)

select
    credit_code,
    month,
    from_day
from scoped
where
    whole_month
    or meter_from_day < cast({{ dbt.dateadd('month', 1, 'month') }} as date)
{% endif %}
