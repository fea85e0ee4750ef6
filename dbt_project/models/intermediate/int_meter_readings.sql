{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='append',
        on_schema_change='fail',
        tags=['heavy'],
        pre_hook="{{ delete_meter_scope('interval_start', readings=true) }}"
    )
}}
-- depends_on: {{ ref('int_meter_rebuild_scope') }}
-- Every deduplicated reading of a meter in service, classified: install baseline, ok, rollover,
-- backwards_fault (excluded; consumption continues from the last good reading) or gateway_error.
-- Incremental: per scoped meter, state (wraps, zone) continues from the last good reading before the
-- earliest touched day (readings_baseline_ts), so the result equals a full recomputation: a reading's class
-- depends only on the readings before it. (The meter-days are rebuilt from an earlier baseline,
-- int_meter_rebuild_scope.baseline_ts; the readings between the two are kept as they are.)
--
-- The same result as deduplicating every reading (latest_reading_version) and running the classification
-- windows over all of them, computed with less sorting, which is what this model's time is made of:
-- * deduplication: a meter-day whose readings all have distinct intervals (nearly all) needs none; only
--   the others go through the "latest landed wins" window (reading_day is the loader's date of
--   interval_start, so every version of a reading falls in the same meter-day).
-- * a rollover needs a reading in the high zone; meters without one (nearly all) cannot wrap, their wrap
--   count is the carried one and the last zone is 'low' once a low reading was seen. Their readings are
--   good when the register is at or above every earlier one; where a meter's registers never fall (nearly
--   all), that is every reading with a value, found with one lag instead of a running maximum. Meters that
--   may wrap take the general path: zone carry, running wrap count, running maximum of the unwrapped register.
-- * gateway errors go through with null values, which the windows ignore.
{%- set hi = var('rollover_high_fraction') %}
{%- set lo = var('rollover_low_fraction') %}
{#- the raw readings this run reads: from each meter's rebuild bound (rebuild_range: literals, so zonemaps skip
    the history before the night, and the few meters reaching back read their older days alone) -#}
{%- set raw_readings = source('raw', 'meter_readings') ~ ' as r' %}
{%- if is_incremental() %}
    {%- set raw_readings = '(select * from ' ~ source('raw', 'meter_readings') ~ ' where '
        ~ rebuild_range('interval_start', readings=true) ~ ') as r' %}
{%- endif %}

with meters as (
    select
        meter_id,
        register_max,
        register_at_install,
        installed_at,
        removed_at,
        {{ floor_15min('installed_at') }} as install_slot
    from {{ ref('stg_raw__meters') }}
),

{% if is_incremental() %}
scope as (
    {{ meter_rebuild_scope() }}
),

anchors as (
    -- carried state: the last good reading before the rebuild
    select
        t.meter_id,
        t.interval_start,
        t.reading_day,
        t.register_end,
        t.quality,
        t.file_id,
        t.source_line,
        false as is_new_row,
        t.wraps as carry_wraps,
        t.zone_carry as anchor_zone,
        s.readings_baseline_ts as baseline_ts
    from {{ this }} as t
    inner join scope as s on t.meter_id = s.meter_id and t.interval_start = s.readings_baseline_ts
    where {{ rebuild_range('t.interval_start', meter='t.meter_id', readings=true) }}
    union all
    -- meters rebuilt from installation
    select
        m.meter_id,
        {{ dbt.dateadd('minute', -15, 'm.install_slot') }} as interval_start,
        cast({{ dbt.dateadd('minute', -15, 'm.install_slot') }} as date) as reading_day,
        m.register_at_install as register_end,
        'install' as quality,
        cast(null as {{ dbt.type_string() }}) as file_id,
        cast(null as {{ dbt.type_bigint() }}) as source_line,
        true as is_new_row,
        0 as carry_wraps,
        cast(null as {{ dbt.type_string() }}) as anchor_zone,
        s.readings_baseline_ts as baseline_ts
    from meters as m
    inner join scope as s on m.meter_id = s.meter_id and s.readings_baseline_ts is null
),
{% else %}
anchors as (
    select
        meter_id,
        {{ dbt.dateadd('minute', -15, 'install_slot') }} as interval_start,
        cast({{ dbt.dateadd('minute', -15, 'install_slot') }} as date) as reading_day,
        register_at_install as register_end,
        'install' as quality,
        cast(null as {{ dbt.type_string() }}) as file_id,
        cast(null as {{ dbt.type_bigint() }}) as source_line,
        true as is_new_row,
        0 as carry_wraps,
        cast(null as {{ dbt.type_string() }}) as anchor_zone,
        cast(null as {{ dbt.type_timestamp() }}) as baseline_ts
    from meters
),
{% endif %}

-- per meter-day of the raw readings read: are all intervals distinct (one bit per 15-minute slot of the
-- day; two readings in one slot make the day go through deduplication), and the highest register
meter_days as (
    select
        r.meter_id,
        r.reading_day,
        count(*) = {{ slot_count('r.interval_start') }} as is_unique,
        max(r.register_end) as max_register_end
    from {{ raw_readings }}
    group by r.meter_id, r.reading_day
),

-- per meter: its registry values, carried state, and whether it may wrap (a high zone anywhere)
meter_max as (
    select
        meter_id,
        max(max_register_end) as max_register_end
    from meter_days
    group by meter_id
),

meter_state as (
    select
        a.meter_id,
        a.carry_wraps,
        a.baseline_ts,
        m.register_max,
        m.install_slot,
        m.removed_at,
        coalesce(x.max_register_end >= {{ hi }} * m.register_max, false)
        or coalesce(a.register_end >= {{ hi }} * m.register_max, false)
        or coalesce(a.anchor_zone = 'high', false) as may_wrap
    from anchors as a
    inner join meters as m on a.meter_id = m.meter_id
    left join meter_max as x on a.meter_id = x.meter_id
),

day_state as (
    select
        d.meter_id,
        d.reading_day,
        d.is_unique,
        s.may_wrap,
        s.carry_wraps,
        s.baseline_ts,
        s.register_max,
        s.install_slot,
        s.removed_at
    from meter_days as d
    inner join meter_state as s on d.meter_id = s.meter_id
),

-- the meter's readings in service after its baseline; where they need it, the reading that landed last wins
{%- set in_service %}
        r.interval_start >= f.install_slot
        and (f.removed_at is null or r.interval_start < f.removed_at)
        and (f.baseline_ts is null or r.interval_start > f.baseline_ts)
{%- endset %}
{%- set reading_columns %}
        r.meter_id,
        r.interval_start,
        r.reading_day,
        r.register_end,
        r.quality,
        r.file_id,
        r.source_line,
        f.carry_wraps,
        f.register_max
{%- endset %}

plain_readings as (
    select {{ reading_columns }}
    from {{ raw_readings }}
    inner join day_state as f on r.meter_id = f.meter_id and r.reading_day = f.reading_day
    where {{ in_service }} and f.is_unique and not f.may_wrap
    union all
    select {{ reading_columns }}
    from {{ raw_readings }}
    inner join day_state as f on r.meter_id = f.meter_id and r.reading_day = f.reading_day
    where {{ in_service }} and not f.is_unique and not f.may_wrap
    {{ latest_reading_version('r') }}
),

wrap_readings as (
    select {{ reading_columns }}
    from {{ raw_readings }}
    inner join day_state as f on r.meter_id = f.meter_id and r.reading_day = f.reading_day
    where {{ in_service }} and f.may_wrap
    {{ latest_reading_version('r') }}
),

{%- set sequenced_columns %}
        meter_id,
        interval_start,
        reading_day,
        register_end,
        quality,
        file_id,
        source_line,
        carry_wraps,
        register_max,
        is_anchor,
        is_new_row,
        quality = 'error' and not is_anchor as is_error,
        case
            when quality = 'error' and not is_anchor then null
            else coalesce(
                anchor_zone,
                case
                    when register_end >= {{ hi }} * register_max then 'high'
                    when register_end <= {{ lo }} * register_max then 'low'
                end
            )
        end as zone
{%- endset %}
{%- set anchor_columns %}
        a.meter_id,
        a.interval_start,
        a.reading_day,
        a.register_end,
        a.quality,
        a.file_id,
        a.source_line,
        a.carry_wraps,
        s.register_max,
        true as is_anchor,
        a.is_new_row,
        a.anchor_zone
{%- endset %}

-- each path's readings, in sequence after their meters' anchors (carried state or install baseline)
{%- for path, meters in [('plain', 'not s.may_wrap'), ('wrap', 's.may_wrap')] %}
{{ path }}_sequenced as (
    select {{ sequenced_columns }}
    from (
        select
            *,
            false as is_anchor,
            true as is_new_row,
            cast(null as {{ dbt.type_string() }}) as anchor_zone
        from {{ path }}_readings
        union all
        select {{ anchor_columns }}
        from anchors as a
        inner join meter_state as s on a.meter_id = s.meter_id
        where {{ meters }}
    ) as q
),
{% endfor %}
-- meters that cannot wrap. A reading is good when its register is at or above every earlier one (wraps and
-- register_max are the meter's constants, so comparing registers compares unwrapped values). Where a meter's
-- registers never fall (nearly all), that holds for every reading with a value, and no running maximum is
-- needed: one lag over the readings' registers finds the meters where one falls, and only those take the
-- windows. The zone carried is the highest zone seen so far ('high' > 'low' as text, as max() compares them):
-- from each meter's first reading in that zone on.
plain_steps as (
    select
        meter_id,
        register_end,
        lag(register_end) over (partition by meter_id order by interval_start) as previous_register_end
    from plain_sequenced
    where not is_error and register_end is not null
),

plain_falling as (
    select distinct meter_id
    from plain_steps
    where register_end < previous_register_end
),

plain_zones as (
    select
        meter_id,
        min(case when zone = 'high' then interval_start end) as first_high_ts,
        min(case when zone = 'low' then interval_start end) as first_low_ts
    from plain_sequenced
    group by meter_id
),

plain_classified as (
    select
        p.*,
        0 as is_wrap,
        p.carry_wraps as wraps,
        case
            when p.interval_start >= z.first_high_ts then 'high'
            when p.interval_start >= z.first_low_ts then 'low'
        end as zone_carry,
        case when p.register_end + p.carry_wraps * p.register_max is not null then true end as is_register_up
    from plain_sequenced as p
    inner join plain_zones as z on p.meter_id = z.meter_id
    left join plain_falling as f on p.meter_id = f.meter_id
    where f.meter_id is null
    union all
    select
        p.*,
        0 as is_wrap,
        p.carry_wraps as wraps,
        max(p.zone) over (
            partition by p.meter_id order by p.interval_start
            rows between unbounded preceding and current row
        ) as zone_carry,
        case
            when p.register_end + p.carry_wraps * p.register_max is not null
                then p.register_end >= coalesce(
                    max(case when not p.is_error then p.register_end end) over (
                        partition by p.meter_id order by p.interval_start
                        rows between unbounded preceding and 1 preceding
                    ),
                    p.register_end
                )
        end as is_register_up
    from plain_sequenced as p
    inner join plain_falling as f on p.meter_id = f.meter_id
),

-- meters that may wrap: zone carry, wrap count, running maximum of the unwrapped register
wrap_zoned as (
    select
        z.*,
        case
            when
                not z.is_anchor
                and z.zone = 'low'
                and {{ last_value_ignore_nulls('z.zone') }} over (
                    partition by z.meter_id order by z.interval_start
                    rows between unbounded preceding and 1 preceding
                ) = 'high'
                then 1
            else 0
        end as is_wrap,
        {{ last_value_ignore_nulls('z.zone') }} over (
            partition by z.meter_id order by z.interval_start
            rows between unbounded preceding and current row
        ) as zone_carry
    from wrap_sequenced as z
),

wrap_counted as (
    select
        w.*,
        w.carry_wraps + sum(w.is_wrap) over (
            partition by w.meter_id order by w.interval_start
            rows between unbounded preceding and current row
        ) as wraps
    from wrap_zoned as w
),

wrap_valued as (
    select
        c.*,
        case
            when not c.is_error then cast(c.register_end + c.wraps * c.register_max as decimal(38, 4))
        end as unwrapped_value
    from wrap_counted as c
),

wrap_classified as (
    select
        v.*,
        v.unwrapped_value >= coalesce(
            max(v.unwrapped_value) over (
                partition by v.meter_id order by v.interval_start
                rows between unbounded preceding and 1 preceding
            ),
            v.unwrapped_value
        ) as is_register_up
    from wrap_valued as v
),

{%- set classified_columns %}
        meter_id,
        interval_start,
        reading_day,
        register_end,
        quality,
        file_id,
        source_line,
        register_max,
        is_anchor,
        is_new_row,
        is_error,
        is_wrap,
        wraps,
        zone_carry,
        is_register_up
{%- endset %}

classified as (
    select {{ classified_columns }}
    from plain_classified
    union all
    select {{ classified_columns }}
    from wrap_classified
),

final as (
    select
        meter_id,
        interval_start,
        reading_day,
        cast(register_end as decimal(18, 4)) as register_end,
        quality,
        file_id,
        source_line,
        quality = 'install' as is_install_baseline,
        case when not is_error then cast(wraps as {{ dbt.type_int() }}) end as wraps,
        case
            when not is_error then cast(register_end + wraps * register_max as decimal(38, 4))
        end as unwrapped,
        case when not is_error then zone_carry end as zone_carry,
        case when is_error then false else is_anchor or is_register_up end as is_good,
        is_error,
        is_wrap
    from classified
    where is_new_row
)

select
    meter_id,
    interval_start,
    reading_day,
    register_end,
    quality,
    file_id,
    source_line,
    is_install_baseline,
    wraps,
    unwrapped,
    zone_carry,
    is_good,
    case
        when is_error then 'gateway_error'
        when quality = 'install' then 'install_baseline'
        when not is_good then 'backwards_fault'
        when is_wrap = 1 then 'rollover'
        else 'ok'
    end as status
from final
{{ order_by_time('interval_start') }}
