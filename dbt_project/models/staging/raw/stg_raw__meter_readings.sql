-- One row per meter and interval: the row from the file that landed last wins (then the latest line);
-- exact repeats collapse.
-- Nearly every meter-day has one row per interval and needs no deduplication: a meter-day goes through the
-- "latest landed wins" window only when two of its rows share a 15-minute slot (slot_count); every version
-- of a reading is in the same meter-day (reading_day is the date of interval_start). A filter on
-- interval_start and reading_day (both are keys here) reaches all three scans of the raw table.
{%- set meter_days %}
    (
        select
            meter_id,
            reading_day,
            count(*) = {{ slot_count('interval_start') }} as is_unique
        from {{ source('raw', 'meter_readings') }}
        group by meter_id, reading_day
    )
{%- endset %}

select
    r.meter_id,
    r.interval_start,
    r.reading_day,
    r.register_end,
    r.quality,
    r.file_id,
    r.source_line
from {{ source('raw', 'meter_readings') }} as r
inner join {{ meter_days }} as d
    on r.meter_id = d.meter_id and r.reading_day = d.reading_day
where d.is_unique

union all

select
    r.meter_id,
    r.interval_start,
    r.reading_day,
    r.register_end,
    r.quality,
    r.file_id,
    r.source_line
from {{ source('raw', 'meter_readings') }} as r
inner join {{ meter_days }} as d
    on r.meter_id = d.meter_id and r.reading_day = d.reading_day
where not d.is_unique
qualify row_number() over (
    partition by r.meter_id, r.interval_start
    order by r.landed_at desc, r.source_line desc, r.file_id desc
) = 1
