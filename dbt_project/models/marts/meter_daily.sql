{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook=[
            "{{ delete_meter_scope('day', by_day=true) }}",
            "{{ delete_registry_changed_meters() }}"
        ]
    )
}}
-- depends_on: {{ ref('int_meter_rebuild_scope') }}
-- Per meter and day in service: consumption, completeness, faults and silence (no reading that day).
-- Incremental (the whole table would be rewritten every night, a year of meter-days at city scale): the
-- meter-days int_meter_daily rebuilt, and all rows of the meters whose registry values shown here changed
-- (registry_changed_meters), so that the table equals a full rebuild.
{%- set any_changed = any_registry_changed_meters() %}

{% if is_incremental() %}
with rebuilt as (
    select d.*
    from {{ ref('int_meter_daily') }} as d
    inner join {{ ref('int_meter_rebuild_scope') }} as s
        on
            d.meter_id = s.meter_id
            and (s.baseline_ts is null or d.day >= s.rebuild_from_day)
    where {{ rebuild_range('d.day', 'day', 'd.meter_id') }}
),

daily as (
    {%- if any_changed %}
    select *
    from rebuilt
    where meter_id not in ({{ registry_changed_meters() }})
    union all
    select *
    from {{ ref('int_meter_daily') }}
    where meter_id in ({{ registry_changed_meters() }})
    {%- else %}
    select *
    from rebuilt
    {%- endif %}
)
{% else %}
with daily as (
    select *
    from {{ ref('int_meter_daily') }}
)
{% endif %}

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
from daily as d
inner join {{ ref('stg_raw__meters') }} as m on d.meter_id = m.meter_id
left join {{ ref('stg_raw__enterprises') }} as e on m.credit_code = e.credit_code
{{ order_by_time('d.day') }}
