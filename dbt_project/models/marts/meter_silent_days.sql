{{ config(materialized='table') }}
-- Silent meter-days (in service, no reading at all that day) out of meter_daily: a few per thousand meter-days,
-- so the data-quality dashboard lists them without scanning every meter's every day.

select
    day,
    meter_id,
    credit_code,
    park_id,
    energy_type,
    built_run_id
from {{ ref('meter_daily') }}
where is_silent
