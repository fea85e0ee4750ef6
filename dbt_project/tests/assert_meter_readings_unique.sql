-- One classified reading per meter and interval in int_meter_readings, on the rows this run rebuilt, each
-- meter from its own rebuild bound (rebuilt_rows; every row on a full refresh).
select
    meter_id,
    interval_start,
    count(*) as n
from {{ ref('int_meter_readings') }}
where {{ rebuilt_rows('interval_start') }}
group by meter_id, interval_start
having count(*) > 1
