{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ delete_meter_scope('interval_start') }}"
    )
}}
-- depends_on: {{ ref('stg_meta__rebuild_meter_days') }}
-- Every deduplicated reading of a meter in service, classified: install baseline, ok, rollover,
-- backwards_fault (excluded; consumption continues from the last good reading) or gateway_error.
-- Incremental: per scoped meter, state (wraps, zone) continues from the last good reading before the
-- earliest touched day, so the result equals a full recomputation.
{%- set hi = var('rollover_high_fraction') %}
{%- set lo = var('rollover_low_fraction') %}

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
    {{ meter_rebuild_scope(this) }}
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
        true as is_anchor,
        false as is_new_row,
        t.wraps as anchor_wraps,
        t.zone_carry as anchor_zone
    from {{ this }} as t
    inner join scope as s on t.meter_id = s.meter_id and t.interval_start = s.baseline_ts
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
        true as is_anchor,
        true as is_new_row,
        0 as anchor_wraps,
        cast(null as {{ dbt.type_string() }}) as anchor_zone
    from meters as m
    inner join scope as s on m.meter_id = s.meter_id and s.baseline_ts is null
),
{% else %}
anchors as (
    select
        m.meter_id,
        {{ dbt.dateadd('minute', -15, 'm.install_slot') }} as interval_start,
        cast({{ dbt.dateadd('minute', -15, 'm.install_slot') }} as date) as reading_day,
        m.register_at_install as register_end,
        'install' as quality,
        cast(null as {{ dbt.type_string() }}) as file_id,
        cast(null as {{ dbt.type_bigint() }}) as source_line,
        true as is_anchor,
        true as is_new_row,
        0 as anchor_wraps,
        cast(null as {{ dbt.type_string() }}) as anchor_zone
    from meters as m
),
{% endif %}

readings as (
    select
        r.meter_id,
        r.interval_start,
        r.reading_day,
        r.register_end,
        r.quality,
        r.file_id,
        r.source_line
    from {{ ref('stg_raw__meter_readings') }} as r
    inner join meters as m on r.meter_id = m.meter_id
    {% if is_incremental() %}
    inner join scope as s
        on
            r.meter_id = s.meter_id
            and (s.baseline_ts is null or r.interval_start > s.baseline_ts)
    {% endif %}
    where
        r.interval_start >= m.install_slot
        and (m.removed_at is null or r.interval_start < m.removed_at)
),

sequenced as (
    select
        meter_id,
        interval_start,
        reading_day,
        register_end,
        quality,
        file_id,
        source_line,
        false as is_anchor,
        true as is_new_row,
        cast(null as {{ dbt.type_int() }}) as anchor_wraps,
        cast(null as {{ dbt.type_string() }}) as anchor_zone
    from readings
    where quality <> 'error'
    union all
    select
        meter_id,
        interval_start,
        reading_day,
        register_end,
        quality,
        file_id,
        source_line,
        is_anchor,
        is_new_row,
        anchor_wraps,
        anchor_zone
    from anchors
),

zoned as (
    select
        q.*,
        m.register_max,
        coalesce(
            q.anchor_zone,
            case
                when q.register_end >= {{ hi }} * m.register_max then 'high'
                when q.register_end <= {{ lo }} * m.register_max then 'low'
            end
        ) as zone
    from sequenced as q
    inner join meters as m on q.meter_id = m.meter_id
),

wrapped as (
    select
        z.*,
        case
            when
                not z.is_anchor
                and z.zone = 'low'
                and last_value(z.zone ignore nulls) over (
                    partition by z.meter_id order by z.interval_start
                    rows between unbounded preceding and 1 preceding
                ) = 'high'
                then 1
            else 0
        end as is_wrap,
        last_value(z.zone ignore nulls) over (
            partition by z.meter_id order by z.interval_start
            rows between unbounded preceding and current row
        ) as zone_carry
    from zoned as z
),

unwrapped as (
    select
        w.*,
        max(w.anchor_wraps) over (partition by w.meter_id)
        + sum(w.is_wrap) over (
            partition by w.meter_id order by w.interval_start
            rows between unbounded preceding and current row
        ) as wraps
    from wrapped as w
),

valued as (
    select
        u.*,
        cast(u.register_end + u.wraps * u.register_max as decimal(38, 4)) as unwrapped
    from unwrapped as u
),

classified as (
    select
        v.*,
        v.is_anchor or v.unwrapped >= coalesce(
            max(v.unwrapped) over (
                partition by v.meter_id order by v.interval_start
                rows between unbounded preceding and 1 preceding
            ),
            v.unwrapped
        ) as is_good
    from valued as v
)

select
    meter_id,
    interval_start,
    reading_day,
    cast(register_end as decimal(18, 4)) as register_end,
    quality,
    file_id,
    source_line,
    quality = 'install' as is_install_baseline,
    cast(wraps as {{ dbt.type_int() }}) as wraps,
    unwrapped,
    zone_carry,
    is_good,
    case
        when quality = 'install' then 'install_baseline'
        when not is_good then 'backwards_fault'
        when is_wrap = 1 then 'rollover'
        else 'ok'
    end as status
from classified
where is_new_row

union all

select
    meter_id,
    interval_start,
    reading_day,
    cast(register_end as decimal(18, 4)) as register_end,
    quality,
    file_id,
    source_line,
    false as is_install_baseline,
    cast(null as {{ dbt.type_int() }}) as wraps,
    cast(null as decimal(38, 4)) as unwrapped,
    cast(null as {{ dbt.type_string() }}) as zone_carry,
    false as is_good,
    'gateway_error' as status
from readings
where quality = 'error'
