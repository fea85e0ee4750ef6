{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ delete_meter_scope('day', by_day=true) }}"
    )
}}
-- depends_on: {{ ref('int_meter_rebuild_scope') }}
-- Lineage: which landed files contributed readings to each meter-day of meter_daily (-> raw.load_log ->
-- the ledger's file entries). rows = readings of that file for the meter-day as loaded; rows_winning =
-- those that survived deduplication (the file that landed last wins) and fed the day's figures.
-- Incremental on the same meter scope as int_meter_daily / meter_daily.
-- A meter-day whose readings all have distinct intervals (slot_count) has every row winning; only the
-- other meter-days are deduplicated (latest_reading_version) to count their winners.
{%- set since = rebuild_range('reading_day', 'day') if is_incremental() else none %}
{#- the raw readings read (inlined where used: a shared CTE would be materialized), from each meter's bound -#}
{%- set raw_readings = '(select meter_id, interval_start, reading_day, file_id, landed_at, source_line from '
    ~ source('raw', 'meter_readings') ~ (' where ' ~ since if since is not none else '') ~ ')' %}

{% if is_incremental() %}
with scope as (
    {{ meter_rebuild_scope() }}
),

days as (
    select
        d.meter_id,
        d.day
    from {{ ref('int_meter_daily') }} as d
    inner join scope as s
        on
            d.meter_id = s.meter_id
            and (s.baseline_ts is null or d.day >= s.rebuild_from_day)
    where {{ rebuild_range('d.day', 'day', 'd.meter_id') }}
),
{% else %}
with days as (
    select
        meter_id,
        day
    from {{ ref('int_meter_daily') }}
),
{% endif %}

loaded as (
    select
        r.meter_id,
        r.reading_day as day,
        r.file_id,
        count(*) as rows_loaded,
        {{ slot_bits('r.interval_start', 'low') }} as slots_low,
        {{ slot_bits('r.interval_start', 'high') }} as slots_high
    from {{ raw_readings }} as r
    inner join days as d on r.meter_id = d.meter_id and r.reading_day = d.day
    group by r.meter_id, r.reading_day, r.file_id
),

meter_days as (
    select
        meter_id,
        day,
        sum(rows_loaded) = coalesce(bit_count(bit_or(slots_low)), 0)
        + coalesce(bit_count(bit_or(slots_high)), 0) as is_unique
    from loaded
    group by meter_id, day
),

winning as (
    -- meter-days with more than one row for an interval: the row from the file that landed last wins
    select
        r.meter_id,
        r.reading_day as day,
        r.file_id,
        count(*) as rows_winning
    from (
        select r.*
        from {{ raw_readings }} as r
        inner join meter_days as m on r.meter_id = m.meter_id and r.reading_day = m.day
        where not m.is_unique
        {{ latest_reading_version('r') }}
    ) as r
    group by r.meter_id, r.reading_day, r.file_id
)

select
    l.meter_id,
    l.day,
    l.file_id,
    f.path,
    f.landed_at,
    cast(l.rows_loaded as {{ dbt.type_bigint() }}) as rows,
    cast(case when m.is_unique then l.rows_loaded else coalesce(w.rows_winning, 0) end as {{ dbt.type_bigint() }})
        as rows_winning,
    {{ current_run_id() }} as built_run_id
from loaded as l
inner join meter_days as m on l.meter_id = m.meter_id and l.day = m.day
left join winning as w on l.meter_id = w.meter_id and l.day = w.day and l.file_id = w.file_id
inner join {{ ref('stg_raw__load_log') }} as f on l.file_id = f.file_id
{{ order_by_time('l.day') }}
