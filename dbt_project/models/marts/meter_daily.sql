{{ config(materialized='table') }}
-- Per meter and day in service: consumption, completeness, faults and silence (no reading that day).
select
    d.meter_id,
    m.credit_code,
    e.park_id,
    m.energy_type,
    m.unit,
    d.day,
    d.quantity,
    d.intervals_received,
    d.intervals_estimated,
    d.completeness,
    d.backwards_faults,
    d.rollovers,
    d.gateway_errors,
    d.is_silent,
    d.built_run_id
from {{ ref('int_meter_daily') }} as d
inner join {{ ref('stg_raw__meters') }} as m on d.meter_id = m.meter_id
left join {{ ref('stg_raw__enterprises') }} as e on m.credit_code = e.credit_code
