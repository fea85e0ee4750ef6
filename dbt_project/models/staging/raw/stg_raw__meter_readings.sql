-- One row per meter and interval: the row from the file that landed last wins (then the latest line);
-- exact repeats collapse.
with ranked as (
    select
        meter_id,
        interval_start,
        reading_day,
        register_end,
        quality,
        file_id,
        landed_at,
        source_line,
        row_number() over (
            partition by meter_id, interval_start
            order by landed_at desc, source_line desc, file_id desc
        ) as version_rank
    from {{ source('raw', 'meter_readings') }}
)

select
    meter_id,
    interval_start,
    reading_day,
    register_end,
    quality,
    file_id,
    source_line
from ranked
where version_rank = 1
