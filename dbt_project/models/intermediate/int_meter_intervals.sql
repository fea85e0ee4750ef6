{{ config(materialized='view') }}
-- depends_on: {{ ref('int_meter_rebuild_scope') }}
-- Consumption per meter and 15-minute interval. Each good reading's delta to the previous good reading
-- (x multiplier, rollover already unwrapped) is spread evenly over the intervals it covers; the intervals
-- without a reading of their own are marked estimated. Each share is rounded down to 8 decimals and the last
-- interval takes the remainder, so the spread sums to the delta exactly and no interval is negative.
-- What this run rebuilt, no history: every interval on a first build or a full refresh, the scoped meters'
-- intervals after their baseline on a night. Only int_meter_daily reads it, for the days this run rebuilds; each
-- of those days starts after the baseline (int_meter_rebuild_scope), so its intervals are all here.
-- A view, not a table: int_meter_daily sums it per meter-day, so DuckDB runs this query inside int_meter_daily's
-- and the ~10 M interval rows of a night are never written (writing them was ~2.3 s of this model's ~5 s, and
-- the key check read them again: docs/performance.md, "Eighth round"). It stays queryable for analysts and tests.
-- Unique per meter and interval by construction: each good reading's intervals are those after the previous good
-- reading up to its own, and int_meter_readings holds one reading per meter and interval (checked).
-- A view has no is_incremental(): meter_scope_applies() says whether int_meter_daily is built incrementally.
{%- set scoped = meter_scope_applies() %}

with meters as (
    select
        meter_id,
        multiplier
    from {{ ref('stg_raw__meters') }}
),

{% if scoped %}
scope as (
    {{ meter_rebuild_scope() }}
),
{% endif %}

good as (
    select
        r.meter_id,
        r.interval_start,
        r.unwrapped,
        r.quality
    from {{ ref('int_meter_readings') }} as r
    {% if scoped %}
    inner join scope as s
        on
            r.meter_id = s.meter_id
            and (s.baseline_ts is null or r.interval_start >= s.baseline_ts)
    {% endif %}
    where
        r.is_good
        {%- if scoped %}
        and {{ rebuild_range('r.interval_start', meter='r.meter_id') }}
        {%- endif %}
),

steps as (
    select
        g.meter_id,
        g.interval_start as reading_ts,
        g.quality,
        g.unwrapped,
        lag(g.interval_start) over (partition by g.meter_id order by g.interval_start) as prev_ts,
        lag(g.unwrapped) over (partition by g.meter_id order by g.interval_start) as prev_unwrapped
    from good as g
),

deltas as (
    select
        s.meter_id,
        s.reading_ts,
        s.prev_ts,
        s.quality,
        cast({{ dbt.datediff('s.prev_ts', 's.reading_ts', 'minute') }} / 15 as {{ dbt.type_int() }}) as n_intervals,
        cast((s.unwrapped - s.prev_unwrapped) * m.multiplier as decimal(38, 8)) as delta
    from steps as s
    inner join meters as m on s.meter_id = m.meter_id
    where s.prev_ts is not null
),

single as (
    select
        meter_id,
        reading_ts as interval_start,
        reading_ts,
        delta as quantity,
        true as is_received,
        quality = 'estimated' as is_estimated
    from deltas
    where n_intervals = 1
),

{# each share rounded down to 8 decimals: the remainder on the last interval is then never negative (a
    share rounded up, times the n - 1 other intervals, can exceed a small delta spread over a long gap) -#}
{#- in units of 1e-8 as an integer divided by n (a floating division on both engines, exact for any delta under
    ~9e7), then back to a decimal by an exact multiplication -#}
{%- set units = 'cast(floor(d.delta * 100000000) as ' ~ dbt.type_bigint() ~ ')' %}
{%- set share = 'cast(cast(floor(' ~ units ~ ' / d.n_intervals) as decimal(20, 0)) * cast(0.00000001 as decimal(9, 8))'
    ~ ' as decimal(38, 8))' %}
spread as (
    select
        d.meter_id,
        {{ dbt.dateadd('minute', '15 * k.n', 'd.prev_ts') }} as interval_start,
        d.reading_ts,
        case
            when k.n = d.n_intervals then d.delta - (d.n_intervals - 1) * {{ share }}
            else {{ share }}
        end as quantity,
        k.n = d.n_intervals as is_received,
        k.n < d.n_intervals or d.quality = 'estimated' as is_estimated
    from deltas as d
    inner join {{ ref('int_numbers') }} as k
        on k.n between 1 and d.n_intervals
    where d.n_intervals > 1
)

select
    meter_id,
    interval_start,
    cast(interval_start as date) as day,
    cast(quantity as decimal(38, 8)) as quantity,
    is_received,
    is_estimated,
    reading_ts
from single
union all
select
    meter_id,
    interval_start,
    cast(interval_start as date) as day,
    cast(quantity as decimal(38, 8)) as quantity,
    is_received,
    is_estimated,
    reading_ts
from spread
