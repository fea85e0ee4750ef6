{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='append',
        on_schema_change='fail',
        tags=['heavy'],
        pre_hook="{{ delete_meter_scope('day', by_day=true) }}"
    )
}}
-- depends_on: {{ ref('int_meter_rebuild_scope') }}
-- One row per meter and day in service up to the as-of day: the day's consumption (sum of intervals
-- starting that day), completeness = received / 96, faults, and whether the meter was silent.

with meters as (
    select
        meter_id,
        installed_at,
        removed_at
    from {{ ref('stg_raw__meters') }}
),

{% if is_incremental() %}
scope as (
    {{ meter_rebuild_scope() }}
),
{% endif %}

spine as (
    select
        m.meter_id,
        c.day
    from meters as m
    inner join {{ ref('int_calendar') }} as c
        on
            c.day >= cast(m.installed_at as date)
            and (m.removed_at is null or cast(c.day as {{ dbt.type_timestamp() }}) < m.removed_at)
    {% if is_incremental() %}
    inner join scope as s
        on
            m.meter_id = s.meter_id
            and (s.baseline_ts is null or c.day >= s.rebuild_from_day)
    {% endif %}
),

intervals as (
    select
        i.meter_id,
        i.day,
        sum(i.quantity) as quantity,
        sum(case when i.is_received then 1 else 0 end) as intervals_received,
        sum(case when i.is_estimated then 1 else 0 end) as intervals_estimated
    from {{ ref('int_meter_intervals') }} as i
    inner join spine as sp on i.meter_id = sp.meter_id and i.day = sp.day
    {%- if is_incremental() %}
    where {{ rebuild_range('i.day', 'day', 'i.meter_id') }}
    {%- endif %}
    group by i.meter_id, i.day
),

readings as (
    select
        r.meter_id,
        r.reading_day as day,
        count(*) as readings,
        sum(case when r.status = 'backwards_fault' then 1 else 0 end) as backwards_faults,
        sum(case when r.status = 'rollover' then 1 else 0 end) as rollovers,
        sum(case when r.status = 'gateway_error' then 1 else 0 end) as gateway_errors
    from {{ ref('int_meter_readings') }} as r
    inner join spine as sp on r.meter_id = sp.meter_id and r.reading_day = sp.day
    where
        not r.is_install_baseline
        {%- if is_incremental() %}
        and {{ rebuild_range('r.reading_day', 'day', 'r.meter_id') }}
        {%- endif %}
    group by r.meter_id, r.reading_day
)

select
    sp.meter_id,
    sp.day,
    cast(coalesce(i.quantity, 0) as decimal(38, 8)) as quantity,
    cast(coalesce(i.intervals_received, 0) as {{ dbt.type_int() }}) as intervals_received,
    cast(coalesce(i.intervals_estimated, 0) as {{ dbt.type_int() }}) as intervals_estimated,
    cast(round(coalesce(i.intervals_received, 0) / 96.0, 4) as decimal(9, 4)) as completeness,
    cast(coalesce(r.backwards_faults, 0) as {{ dbt.type_int() }}) as backwards_faults,
    cast(coalesce(r.rollovers, 0) as {{ dbt.type_int() }}) as rollovers,
    cast(coalesce(r.gateway_errors, 0) as {{ dbt.type_int() }}) as gateway_errors,
    coalesce(r.readings, 0) = 0 as is_silent,
    {{ current_run_id() }} as built_run_id
from spine as sp
left join intervals as i on sp.meter_id = i.meter_id and sp.day = i.day
left join readings as r on sp.meter_id = r.meter_id and sp.day = r.day
{{ order_by_time('sp.day') }}
