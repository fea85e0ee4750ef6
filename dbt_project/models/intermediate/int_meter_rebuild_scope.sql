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
-- A meter only the growing spine touched (rebuilds_readings false) has no row from from_day on (no reading, its
-- install baseline before it) and none changed: its baseline is the last slot before from_day, where nothing
-- of it is rebuilt or deleted, and it is not looked up; only its new meter-days are built.
-- int_meter_readings refs this model, so this runs before it and reads its previous state: the source
-- previous_intermediate.int_meter_readings (a ref would be a cycle); absent on a fresh warehouse.
-- The baselines are looked up for the meters readings touched, in the hour before the usual from_day first, then
-- in the two days before their from_day (a scan bounded by literals: the usual from_day, and for the few meters
-- starting earlier their earliest, meter_split); only meters without a good reading there (silent or faulty for
-- days before readings came) search further back, on their last day with a received interval in int_meter_daily
-- as the previous run left it (baseline_ctes).
{%- set readings = existing_relation(source('previous_intermediate', 'int_meter_readings')) %}
{%- set daily = existing_relation(source('previous_scope_intermediate', 'int_meter_daily')) %}
{%- set scope = ref('int_rebuild_meters') %}
{#- the meters whose baseline int_rebuild_meters did not already find: from_day moved back to the day of their last
    good reading before the touched day (readings_baseline_ts), which is not the slot before from_day. For the
    others the baseline is that reading (the slot before from_day), or none when it is none. -#}
{%- set slot_before = dbt.dateadd('minute', -15, 'cast(from_day as ' ~ dbt.type_timestamp() ~ ')') %}
{%- set moved = 'rebuilds_readings and readings_baseline_ts is not null and readings_baseline_ts <> ' ~ slot_before %}
{%- set split = meter_split(scope, 'from_day', where=moved) %}
{%- set last_day = query_value('select max(to_day) from ' ~ scope) %}

with days as (
    select
        meter_id,
        from_day,
        rebuilds_readings,
        readings_baseline_ts,
        {{ moved }} as looks_up
    from {{ scope }}
),

{% if readings is not none and split is not none %}
read_touched as (
    select
        meter_id,
        from_day
    from days
    where looks_up
),

{{ baseline_ctes('read_touched', readings, ref('stg_raw__meters'),
                 dbt.dateadd('day', -2, sql_literal(split.usual_ts, 'timestamp')), sql_literal(last_day, 'timestamp'),
                 split_range(split, 'r.interval_start', 'r.meter_id', shift=-2),
                 near=dbt.dateadd('hour', -1, sql_literal(split.usual_ts, 'timestamp')), daily=daily) }}
{% else %}
baselines as (
    {{ no_rows({'meter_id': dbt.type_string(), 'baseline_ts': dbt.type_timestamp()}) }}
)
{% endif %}

{#- per meter, two baselines and the bounds derived from them: the meter-days' (baseline_ts: the last good reading
    before from_day, looked up above) and the readings' (readings_baseline_ts: the last good reading before the day
    the night touched, from int_rebuild_meters). int_meter_readings reclassifies from the later one, whose state
    it continues; the readings between the two are causally before any change and stay as they are. A meter only
    the spine touched has the slot before from_day as both. -#}
select
    d.meter_id,
    d.from_day,
    d.from_day as rebuild_from_day,
    {{ scope_baseline_columns('case when d.looks_up then b.baseline_ts else d.readings_baseline_ts end',
                              'baseline_ts', 'rebuild_from_ts') }},
    {{ scope_baseline_columns('d.readings_baseline_ts', 'readings_baseline_ts', 'readings_from_ts') }}
from days as d
left join baselines as b on d.meter_id = b.meter_id
