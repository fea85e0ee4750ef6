-- int_meter_readings' key, in one scan: one reading per meter and interval, each with a known status, checked
-- on the rows this run rebuilt (each meter from its own rebuild bound, rebuilt_rows; every row on a full
-- refresh). A row returned names the key and what is wrong. int_meter_intervals (a view) is one row per meter
-- and interval when this holds: its intervals are those between consecutive good readings.
-- The night's largest check (~10 M rows on a night of the city). It runs beside the marts instead of holding
-- them back: the test also waits for meter_day_sources, the end of the meter chain, which no model reads, so it
-- blocks no model (dbt build makes a test wait for all its parents and holds back only the models below all of
-- them). A failure still fails the build, so nothing of the night is published and its files stay pending for
-- the rerun (nengtan/transform.py; docs/performance.md, issue 18).
-- Tagged heavy, so that dbt's queue starts it as soon as it is ready (nengtan/dbt_schedule.py), not after the
-- small tests of the marts.
-- depends_on: {{ ref('meter_day_sources') }}
{{ config(tags=['heavy']) }}
{%- set known = "('install_baseline', 'ok', 'rollover', 'backwards_fault', 'gateway_error')" %}
select
    'int_meter_readings' as model,
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
