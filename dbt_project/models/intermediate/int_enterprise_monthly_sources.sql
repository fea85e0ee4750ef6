{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{{ delete_month_scope() }}"
    )
}}
-- depends_on: {{ ref('int_rebuild_months') }}
-- Per enterprise, month and energy type: metered and declared quantity, and which one counts
-- (methodology "Which source counts"):
--   * a metered type counts from the meters for a month its meters cover whole (a meter of the type in
--     service on every day of the month, predecessors and successors together);
--   * a month the meters cover in part counts the declared quantity when there is one (the metered part is
--     kept for reconciliation), and otherwise the metered part, marked partly_metered;
--   * every other type counts from the latest declaration. Declared quantities of metered types are kept for
--     reconciliation only, never added on top.
-- Declared energy passed on to others (*_exported) and feedstock (*_feedstock, part of the fuel's own item)
-- ride along per type; the marts subtract them. Steam carries its metered tonnes x enthalpy for its heat.

{%- set declared_items = {
    'electricity_purchased': ('electricity', 'declared_quantity'),
    'natural_gas': ('natural_gas', 'declared_quantity'),
    'heat_purchased': ('heat', 'declared_quantity'),
    'steam_purchased': ('steam', 'declared_quantity'),
    'raw_coal': ('raw_coal', 'declared_quantity'),
    'diesel': ('diesel', 'declared_quantity'),
    'gasoline': ('gasoline', 'declared_quantity'),
    'fuel_oil': ('fuel_oil', 'declared_quantity'),
    'lpg': ('lpg', 'declared_quantity'),
    'electricity_exported': ('electricity', 'exported_quantity'),
    'heat_exported': ('heat', 'exported_quantity'),
    'steam_exported': ('steam', 'exported_quantity'),
    'raw_coal_feedstock': ('raw_coal', 'feedstock_quantity'),
    'natural_gas_feedstock': ('natural_gas', 'feedstock_quantity'),
    'fuel_oil_feedstock': ('fuel_oil', 'feedstock_quantity'),
    'lpg_feedstock': ('lpg', 'feedstock_quantity'),
} %}

with meters as (
    select
        credit_code,
        energy_type,
        installed_at,
        removed_at
    from {{ ref('stg_raw__meters') }}
),

-- the enterprise's meters summed per month (macro enterprise_metered_energy)
metered as (
    {{ enterprise_metered_energy('month') }}
),

declared_items as (
    select
        credit_code,
        month,
        case item
            {%- for item, (energy_type, _) in declared_items.items() %}
            when '{{ item }}' then '{{ energy_type }}'
            {%- endfor %}
        end as energy_type,
        case
            {%- for item, (_, measure) in declared_items.items() %}
            when item = '{{ item }}' then '{{ measure }}'
            {%- endfor %}
        end as measure,
        case when item in ('electricity_exported', 'electricity_purchased') then 'kWh' else unit end as unit,
        quantity
    from {{ ref('stg_raw__declarations') }}
    where
        item in (
            {%- for item in declared_items %}
            '{{ item }}'{{ ',' if not loop.last }}
            {%- endfor %}
        )
        {%- if is_incremental() %}
        -- a night reads the declarations of the months it rebuilds: a literal on period (a key of the
        -- versions' windows) is pushed below them, so the earlier periods are not ranked
        and period >= '{{ ((rebuild_months_value() or '9999-12-31') | string)[:7] }}'
        {%- endif %}
),

declared as (
    select
        credit_code,
        month,
        energy_type,
        max(unit) as unit,
        sum(case when measure = 'declared_quantity' then quantity end) as declared_quantity,
        sum(case when measure = 'exported_quantity' then quantity end) as exported_quantity,
        sum(case when measure = 'feedstock_quantity' then quantity end) as feedstock_quantity
    from declared_items
    group by credit_code, month, energy_type
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
    select
        k.*,
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'k.month')) }} as date) as month_end
    from keys as k
    {% if is_incremental() %}
    inner join {{ ref('int_rebuild_months') }} as rm
        on k.credit_code = rm.credit_code and k.month = rm.month
    {% endif %}
),

-- meters of the type in service at some time in the month, with their first and last day in service
month_meters as (
    select
        k.credit_code,
        k.month,
        k.energy_type,
        k.month_end,
        cast(m.installed_at as date) as first_day,
        case
            when m.removed_at is null then cast('9999-12-31' as date)
            -- removed at midnight: the last day in service is the day before
            when cast(cast(m.removed_at as date) as {{ dbt.type_timestamp() }}) = m.removed_at
                then cast({{ dbt.dateadd('day', -1, 'cast(m.removed_at as date)') }} as date)
            else cast(m.removed_at as date)
        end as last_day
    from scoped_keys as k
    inner join meters as m
        on
            k.credit_code = m.credit_code
            and k.energy_type = m.energy_type
            and cast(m.installed_at as date) <= k.month_end
            and (m.removed_at is null or m.removed_at > cast(k.month as {{ dbt.type_timestamp() }}))
),

has_meter as (
    select
        credit_code,
        month,
        energy_type,
        max(case when first_day <= month and last_day >= month_end then 1 else 0 end) as one_meter_covers
    from month_meters
    group by credit_code, month, energy_type
),

-- months no single meter covers: count the days (up to the as-of day) some meter of the type is in service
calendar_months as (
    select
        {{ month_of('day') }} as month,
        count(*) as calendar_days
    from {{ ref('int_calendar') }}
    group by {{ month_of('day') }}
),

partial_candidates as (
    select
        mm.credit_code,
        mm.month,
        mm.energy_type,
        count(distinct c.day) as days_covered
    from month_meters as mm
    inner join has_meter as h
        on
            mm.credit_code = h.credit_code and mm.month = h.month and mm.energy_type = h.energy_type
            and h.one_meter_covers = 0
    inner join {{ ref('int_calendar') }} as c
        on mm.month <= c.day and mm.month_end >= c.day and mm.first_day <= c.day and mm.last_day >= c.day
    group by mm.credit_code, mm.month, mm.energy_type
),

coverage as (
    select
        h.credit_code,
        h.month,
        h.energy_type,
        case
            when h.one_meter_covers = 1 then 'full'
            when p.days_covered >= cm.calendar_days then 'full'
            else 'partial'
        end as meter_coverage
    from has_meter as h
    left join partial_candidates as p
        on h.credit_code = p.credit_code and h.month = p.month and h.energy_type = p.energy_type
    left join calendar_months as cm on h.month = cm.month
),

classified as (
    select
        k.credit_code,
        k.month,
        k.energy_type,
        coalesce(me.unit, de.unit) as unit,
        me.quantity as metered_quantity,
        de.declared_quantity,
        de.exported_quantity,
        de.feedstock_quantity,
        me.steam_qty_with_enthalpy,
        me.steam_qty_x_enthalpy,
        cv.credit_code is not null as has_meter,
        cv.meter_coverage,
        case
            when cv.meter_coverage = 'full' then 'meter'
            when cv.meter_coverage = 'partial' and de.declared_quantity is null then 'meter'
            else 'declaration'
        end as source
    from scoped_keys as k
    left join metered as me
        on k.credit_code = me.credit_code and k.month = me.month and k.energy_type = me.energy_type
    left join declared as de
        on k.credit_code = de.credit_code and k.month = de.month and k.energy_type = de.energy_type
    left join coverage as cv
        on k.credit_code = cv.credit_code and k.month = cv.month and k.energy_type = cv.energy_type
)

select
    credit_code,
    month,
    energy_type,
    unit,
    cast(metered_quantity as decimal(38, 8)) as metered_quantity,
    cast(declared_quantity as decimal(38, 8)) as declared_quantity,
    cast(exported_quantity as decimal(38, 8)) as exported_quantity,
    cast(feedstock_quantity as decimal(38, 8)) as feedstock_quantity,
    has_meter,
    meter_coverage,
    source,
    source = 'meter' and meter_coverage = 'partial' as partly_metered,
    cast(
        case when source = 'meter' then coalesce(metered_quantity, 0) else declared_quantity end
        as decimal(38, 8)
    ) as quantity,
    -- steam counted from its meters: the tonnes that carry a metered enthalpy, and tonnes x kJ/kg over them
    cast(case when source = 'meter' then steam_qty_with_enthalpy end as decimal(38, 8)) as steam_qty_with_enthalpy,
    cast(case when source = 'meter' then steam_qty_x_enthalpy end as {{ type_double() }}) as steam_qty_x_enthalpy
from classified
