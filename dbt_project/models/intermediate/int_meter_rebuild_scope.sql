{{ config(materialized='table') }}
-- depends_on: {{ ref('stg_raw__meters') }}
-- depends_on: {{ ref('int_rebuild_bounds') }}
-- The meter scope of this run, looked up once: per meter of int_rebuild_meters, the earliest day to rebuild
-- (from_day) and the baseline, the last good reading before it in int_meter_readings as the previous run
-- left it (null: rebuild the meter from installation). rebuild_from_ts / rebuild_from_day: the meter's
-- readings and intervals are rebuilt from rebuild_from_ts, its meter-days from rebuild_from_day = from_day.
-- The baseline is before from_day, so every interval of a day from from_day on is rebuilt (int_meter_intervals
-- holds no others). The days between the baseline and from_day are unchanged: int_rebuild_meters moved
-- from_day back to the day after the last good reading before the touched day, so their intervals end at or
-- before that reading, spread between two good readings the night did not touch.
-- int_meter_readings refs this model, so this runs before it and reads its previous state: the source
-- previous_intermediate.int_meter_readings (a ref would be a cycle); absent on a fresh warehouse.
-- The baseline is looked for in the two days before the earliest from_day first (a scan bounded by
-- literals); only meters without a good reading there (silent or faulty for days) search further back.
{%- set readings = existing_relation(source('previous_intermediate', 'int_meter_readings')) %}
{%- set first_day = query_value('select min(from_day) from ' ~ ref('int_rebuild_meters')) %}
{%- set last_day = query_value('select max(to_day) from ' ~ ref('int_rebuild_meters')) %}

with days as (
    select
        meter_id,
        from_day
    from {{ ref('int_rebuild_meters') }}
),

{% if readings is not none and first_day is not none %}
{%- set lookback = dbt.dateadd('day', -2, sql_literal(first_day, 'timestamp')) %}
{%- set upper = sql_literal(last_day, 'timestamp') %}
recent as (
    {{ last_good_reading('days', readings, 'r.interval_start >= ' ~ lookback ~ ' and r.interval_start < ' ~ upper) }}
),

missing as materialized (
    -- meters without a good reading in the window whose install baseline is before it (a later meter has
    -- no reading before the window); usually none, and then the search below reads nothing
    select
        d.meter_id,
        d.from_day
    from days as d
    left join {{ ref('stg_raw__meters') }} as m on d.meter_id = m.meter_id
    where
        d.meter_id not in (select rc.meter_id from recent as rc)
        and (m.installed_at is null or m.installed_at < {{ dbt.dateadd('minute', 30, lookback) }})
),

older as (
    {{ last_good_reading('missing', readings, 'r.interval_start < ' ~ lookback) }}
),

baselines as (
    select
        meter_id,
        baseline_ts
    from recent
    union all
    select
        meter_id,
        baseline_ts
    from older
)
{% else %}
baselines as (
    {{ no_rows({'meter_id': dbt.type_string(), 'baseline_ts': dbt.type_timestamp()}) }}
)
{% endif %}

select
    d.meter_id,
    d.from_day,
    b.baseline_ts,
    coalesce(b.baseline_ts, cast(d.from_day as {{ dbt.type_timestamp() }})) as rebuild_from_ts,
    d.from_day as rebuild_from_day
from days as d
left join baselines as b on d.meter_id = b.meter_id
