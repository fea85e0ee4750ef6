select distinct
    meter_id,
    day
from {{ source('meta', 'rebuild_meter_days') }}
