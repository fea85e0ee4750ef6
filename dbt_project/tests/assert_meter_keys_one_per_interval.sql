-- The reading-level tables' keys, in one scan of each: int_meter_readings holds one reading per meter and
-- interval, each with a known status, checked on the rows this run rebuilt (each meter from its own rebuild
-- bound, rebuilt_rows; every row on a full refresh); int_meter_intervals, which holds only this run's rows,
-- holds one interval per meter and interval. A row returned names the table, the key and what is wrong.
-- These are the night's largest checks (~10 M rows each on a night of the city). They run beside the marts
-- instead of holding them back: the test also waits for meter_day_sources, the end of the meter chain, which
-- no model reads, so it blocks no model (dbt build makes a test wait for all its parents and holds back only
-- the models below all of them). A failure still fails the build, so nothing of the night is published and
-- its files stay pending for the rerun (nengtan/transform.py; docs/performance.md, issue 18).
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
union all
select
    'int_meter_intervals' as model,
    meter_id,
    interval_start,
    count(*) as n,
    cast(null as {{ dbt.type_string() }}) as unknown_status
from {{ ref('int_meter_intervals') }}
group by meter_id, interval_start
having count(*) > 1
