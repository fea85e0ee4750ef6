{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ delete_month_scope() }}"
    )
}}
-- depends_on: {{ ref('stg_meta__rebuild_months') }}
-- Per enterprise, month and energy type: metered and declared quantity, and which one counts.
-- Meters count for every type the enterprise has a meter in service for during the month; the latest
-- declaration counts otherwise. Declared quantities of metered types are kept for reconciliation only.

with meters as (
    select
        meter_id,
        credit_code,
        energy_type,
        unit,
        installed_at,
        removed_at
    from {{ ref('stg_raw__meters') }}
),

metered as (
    select
        m.credit_code,
        {{ month_of('d.day') }} as month,
        m.energy_type,
        max(m.unit) as unit,
        sum(d.quantity) as metered_quantity
    from {{ ref('int_meter_daily') }} as d
    inner join meters as m on d.meter_id = m.meter_id
    {% if is_incremental() %}
    inner join {{ ref('stg_meta__rebuild_months') }} as rm
        on m.credit_code = rm.credit_code and {{ month_of('d.day') }} = rm.month
    -- a literal: zonemaps skip the meter-days before the earliest rebuilt month
    where d.day >= {{ rebuild_months_bound() }}
    {% endif %}
    group by m.credit_code, {{ month_of('d.day') }}, m.energy_type
),

declared as (
    select
        credit_code,
        month,
        case item
            when 'electricity_purchased' then 'electricity'
            when 'heat_purchased' then 'heat'
            when 'steam_purchased' then 'steam'
            else item
        end as energy_type,
        max(unit) as unit,
        sum(quantity) as declared_quantity
    from {{ ref('stg_raw__declarations') }}
    where
        item in (
            'electricity_purchased', 'natural_gas', 'heat_purchased', 'steam_purchased',
            'raw_coal', 'diesel', 'gasoline', 'fuel_oil', 'lpg'
        )
    group by credit_code, month, item
),

keys as (
    select
        credit_code,
        month,
        energy_type
    from metered
    union
    select
        credit_code,
        month,
        energy_type
    from declared
),

scoped_keys as (
    select k.*
    from keys as k
    {% if is_incremental() %}
    inner join {{ ref('stg_meta__rebuild_months') }} as rm
        on k.credit_code = rm.credit_code and k.month = rm.month
    {% endif %}
),

has_meter as (
    select distinct
        k.credit_code,
        k.month,
        k.energy_type
    from scoped_keys as k
    inner join meters as m
        on
            k.credit_code = m.credit_code
            and k.energy_type = m.energy_type
            and cast(m.installed_at as date) < {{ dbt.dateadd('month', 1, 'k.month') }}
            and (m.removed_at is null or m.removed_at > cast(k.month as {{ dbt.type_timestamp() }}))
)

select
    k.credit_code,
    k.month,
    k.energy_type,
    coalesce(me.unit, de.unit) as unit,
    cast(me.metered_quantity as decimal(38, 8)) as metered_quantity,
    cast(de.declared_quantity as decimal(38, 8)) as declared_quantity,
    hm.credit_code is not null as has_meter,
    case when hm.credit_code is not null then 'meter' else 'declaration' end as source,
    cast(
        case when hm.credit_code is not null then coalesce(me.metered_quantity, 0) else de.declared_quantity end
        as decimal(38, 8)
    ) as quantity
from scoped_keys as k
left join metered as me
    on k.credit_code = me.credit_code and k.month = me.month and k.energy_type = me.energy_type
left join declared as de
    on k.credit_code = de.credit_code and k.month = de.month and k.energy_type = de.energy_type
left join has_meter as hm
    on k.credit_code = hm.credit_code and k.month = hm.month and k.energy_type = hm.energy_type
