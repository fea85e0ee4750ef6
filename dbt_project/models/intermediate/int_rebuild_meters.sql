{{ config(materialized='table') }}
-- The meters this run rebuilds, each from from_day to to_day (the as-of day): the meter half of the night's
-- rebuild scope, derived here from what landed (pending_files). A meter is touched from the earliest day of
-- its readings in a pending file or in a replaced version of one (raw_superseded); from the day before its
-- installation when its registry row is new or changed in a pending file; from the day after the previous
-- run's as-of day when the spine grows (every meter in service). Its consumption after the touched day
-- depends on the last good reading before it, so it is rebuilt from the day of that reading (or from its
-- installation when it has none). Meters the registry does not list are not rebuilt.
-- A meter touched only by the growing spine (no pending reading, no registry change, installed before the new
-- days: silent since its last good reading, which is before them) is not moved back: its new days are silent
-- and the earlier ones do not change (rebuilds_readings false; int_meter_rebuild_scope rebuilds only its
-- meter-days). So a meter
-- silent for months costs its new days, and the baselines are looked up only for the meters readings touched,
-- in a window the literals bound (baseline_ctes).
-- Empty on a full refresh and on Spark (rebuilds_everything). Tables as the previous run left them are read
-- as sources: this model runs before their models (int_meter_rebuild_scope, and so they, ref it).

{% if rebuilds_everything() %}
{{ no_rows({'meter_id': dbt.type_string(), 'credit_code': dbt.type_string(), 'from_day': 'date', 'to_day': 'date',
             'rebuilds_readings': 'boolean', 'readings_baseline_ts': dbt.type_timestamp()}) }}
{% else %}
{%- set readings = source('raw', 'meter_readings') %}
{%- set meters = source('raw', 'meters') %}
{%- set superseded = existing_relation(source('raw_superseded', 'superseded_meter_readings')) %}
{%- set previous_readings = existing_relation(source('previous_intermediate', 'int_meter_readings')) %}
{%- set previous_days = existing_relation(source('previous_scope_intermediate', 'int_meter_daily')) %}
{%- set previous_as_of = query_value('select max(day) from ' ~ previous_days) if previous_days is not none else none %}
{%- set first_landed = query_value('select min(landed_at) from ' ~ source('raw', 'load_log')
    ~ ' where file_id in (' ~ pending_files() ~ ')') %}
{#- the earliest day of a pending readings file's folder, or the day after the previous as-of: the baselines are
    looked for in the hour before it, then from two days before it (a file holding readings of earlier days only
    costs a longer search) -#}
{%- set first_pending = query_value('select min(partition_key) from ' ~ source('raw', 'load_log')
    ~ " where source = 'meter_readings' and file_id in (" ~ pending_files() ~ ')') %}
{%- set starts = [first_pending | string] if first_pending is not none else [] %}
{%- if previous_as_of is not none %}
    {%- do starts.append((previous_as_of + modules.datetime.timedelta(days=1)) | string) %}
{%- endif %}
{%- set lookback = dbt.dateadd('day', -2, sql_literal(starts | min, 'timestamp')) if starts else none %}
{%- set near = dbt.dateadd('hour', -1, sql_literal(starts | min, 'timestamp')) if starts else none %}

with pending as (
    {{ pending_files() }}
),

latest_meters as (
    {{ latest_versions(meters, ['meter_id']) }}
),

-- each meter's registry row before the pending files (the version a pending file may have changed)
previous_meters as (
    {{ latest_versions(meters, ['meter_id'], 'file_id not in (select p.file_id from pending as p)') }}
),

as_of as (
    select max(reading_day) as as_of_day
    from {{ readings }}
),

touched as (
    -- readings in pending files, and of the versions a pending file replaced (their meter-days are
    -- recomputed without them)
    {%- for relation in [readings, superseded] if relation is not none %}
    {{ 'union all' if not loop.first }}
    select
        r.meter_id,
        min(r.reading_day) as from_day,
        1 as by_readings
    from {{ relation }} as r
    where
        r.file_id in (select p.file_id from pending as p)
        {%- if loop.first %}
        -- a row's landed_at is its file's: the literal skips the row groups of files landed before every
        -- pending one (rows are appended in load order), so this reads the night, not the history
        and r.landed_at >= {{ sql_literal(first_landed if first_landed is not none else '9999-12-31', 'timestamp') }}
        {%- endif %}
    group by r.meter_id
    {%- endfor %}
    union all
    -- registry row new or changed in a pending file: from the day before the (earlier) installation
    select
        c.meter_id,
        cast({{ dbt.dateadd('day', -1, 'cast(least(c.installed_at, coalesce(p.installed_at, c.installed_at))'
                                       ~ ' as date)') }} as date) as from_day,
        1 as by_readings
    from latest_meters as c
    left join previous_meters as p
        on c.meter_id = p.meter_id
    where
        c.file_id in (select pf.file_id from pending as pf)
        and (
            p.meter_id is null
            or {{ row_value(['c.credit_code', 'c.energy_type', 'c.multiplier', 'c.register_max',
                             'c.register_at_install', 'c.installed_at', 'c.removed_at']) }}
            is distinct from {{ row_value(['p.credit_code', 'p.energy_type', 'p.multiplier', 'p.register_max',
                                           'p.register_at_install', 'p.installed_at', 'p.removed_at']) }}
        )
    {%- if previous_as_of is not none %}
    union all
    -- the as-of day moved on: the meter-day spine grows for every meter in service
    select
        m.meter_id,
        greatest(
            cast({{ dbt.dateadd('day', 1, sql_literal(previous_as_of, 'date')) }} as date),
            cast(m.installed_at as date)
        ) as from_day,
        -- a meter installed in the new days has its install baseline there: rebuilt from installation
        case
            when m.installed_at >= {{ dbt.dateadd('day', 1, sql_literal(previous_as_of, 'timestamp')) }} then 1
            else 0
        end as by_readings
    from latest_meters as m
    cross join as_of as a
    where
        (m.removed_at is null or m.removed_at > {{ sql_literal(previous_as_of, 'timestamp') }})
        and a.as_of_day > {{ sql_literal(previous_as_of, 'date') }}
    {%- endif %}
),

earliest as (
    select
        meter_id,
        min(from_day) as from_day,
        max(by_readings) = 1 as rebuilds_readings
    from touched
    group by meter_id
),

{% if previous_readings is not none and lookback is not none %}
read_touched as (
    select
        meter_id,
        from_day
    from earliest
    where rebuilds_readings
),

{{ baseline_ctes('read_touched', previous_readings, 'latest_meters', lookback, near=near, daily=previous_days) }},
{% else %}
baselines as (
    {{ no_rows({'meter_id': dbt.type_string(), 'baseline_ts': dbt.type_timestamp()}) }}
),
{% endif %}

scoped as (
    select
        t.meter_id,
        m.credit_code,
        case
            when not t.rebuilds_readings then t.from_day
            when b.baseline_ts is null then least(t.from_day, cast(m.installed_at as date))
            else least(t.from_day, cast({{ dbt.dateadd('minute', 15, 'b.baseline_ts') }} as date))
        end as from_day,
        t.rebuilds_readings,
        -- the last good reading before the touched day: readings after it are reclassified (their state
        -- continues from it); the meter-days from from_day are rebuilt from the last good reading before that
        case when t.rebuilds_readings then b.baseline_ts end as readings_baseline_ts
    from earliest as t
    inner join latest_meters as m on t.meter_id = m.meter_id
    left join baselines as b on t.meter_id = b.meter_id
)

select
    s.meter_id,
    s.credit_code,
    s.from_day,
    greatest(coalesce(a.as_of_day, s.from_day), s.from_day) as to_day,
    s.rebuilds_readings,
    s.readings_baseline_ts
from scoped as s
cross join as_of as a
{% endif %}
