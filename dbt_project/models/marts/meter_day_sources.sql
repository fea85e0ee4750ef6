{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ delete_meter_scope('day', readings=ref('int_meter_readings'), by_day=true) }}"
    )
}}
-- depends_on: {{ ref('stg_meta__rebuild_meter_days') }}
-- Lineage: which landed files contributed readings to each meter-day of meter_daily (-> raw.load_log ->
-- the ledger's file entries). rows = readings of that file for the meter-day as loaded; rows_winning =
-- those that survived deduplication (the file that landed last wins) and fed the day's figures.
-- Incremental on the same meter scope as int_meter_daily / meter_daily.

{% if is_incremental() %}
with scope as (
    select
        meter_id,
        case
            when baseline_ts is null then cast(null as date)
            else cast({{ dbt.dateadd('minute', 15, 'baseline_ts') }} as date)
        end as rebuild_from
    from ({{ meter_rebuild_scope(ref('int_meter_readings')) }}) as sc
),

days as (
    select
        d.meter_id,
        d.day
    from {{ ref('int_meter_daily') }} as d
    inner join scope as s
        on
            d.meter_id = s.meter_id
            and (s.rebuild_from is null or d.day >= s.rebuild_from)
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
        count(*) as rows_loaded
    from {{ source('raw', 'meter_readings') }} as r
    inner join days as d on r.meter_id = d.meter_id and r.reading_day = d.day
    group by r.meter_id, r.reading_day, r.file_id
),

winning as (
    select
        r.meter_id,
        r.reading_day as day,
        r.file_id,
        count(*) as rows_winning
    from {{ ref('stg_raw__meter_readings') }} as r
    inner join days as d on r.meter_id = d.meter_id and r.reading_day = d.day
    group by r.meter_id, r.reading_day, r.file_id
)

select
    l.meter_id,
    l.day,
    l.file_id,
    f.path,
    f.landed_at,
    cast(l.rows_loaded as {{ dbt.type_bigint() }}) as rows,
    cast(coalesce(w.rows_winning, 0) as {{ dbt.type_bigint() }}) as rows_winning,
    cast('{{ var("run_id") }}' as {{ dbt.type_string() }}) as built_run_id
from loaded as l
left join winning as w on l.meter_id = w.meter_id and l.day = w.day and l.file_id = w.file_id
inner join {{ ref('stg_raw__load_log') }} as f on l.file_id = f.file_id
