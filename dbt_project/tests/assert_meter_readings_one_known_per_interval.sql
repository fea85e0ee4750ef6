-- int_meter_readings holds one reading per meter and interval, each with a known status: checked on the rows
-- this run rebuilt, each meter from its own rebuild bound (rebuilt_rows; every row on a full refresh), in one
-- scan of them.
{%- set known = "('install_baseline', 'ok', 'rollover', 'backwards_fault', 'gateway_error')" %}
select
    meter_id,
    interval_start,
    count(*) as n,
    max(case when status not in {{ known }} then status end) as unknown_status
from {{ ref('int_meter_readings') }}
where {{ rebuilt_rows('interval_start') }}
group by meter_id, interval_start
having
    count(*) > 1
    or max(case when status not in {{ known }} then 1 else 0 end) = 1
