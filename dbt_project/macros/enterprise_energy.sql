{#- Meters to enterprises. The metered energy of each enterprise per `grain` ('day' or 'month') and energy type:
    its meters' daily quantities (int_meter_daily, each meter under its registry's enterprise, type and unit)
    summed, with steam's tonnes that carry a metered enthalpy and tonnes x kJ/kg over them (macro steam_heat_gj).
    Per day: one row per unit, with the intervals received and estimated and the number of meters; per month:
    the unit of the type. Incremental runs read the enterprise-months in int_rebuild_months only. The one home
    of this aggregation: int_enterprise_monthly_sources and enterprise_energy_daily call it. -#}
{% macro enterprise_metered_energy(grain) -%}
    select
        m.credit_code,
        {%- if grain == 'day' %}
        d.day,
        {%- endif %}
        {{ month_of('d.day') }} as month,
        m.energy_type,
        {{ 'm.unit' if grain == 'day' else 'max(m.unit) as unit' }},
        sum(d.quantity) as quantity,
        sum(case when m.steam_enthalpy_kj_kg is not null then d.quantity end) as steam_qty_with_enthalpy,
        sum(case when m.steam_enthalpy_kj_kg is not null then d.quantity * m.steam_enthalpy_kj_kg end)
            as steam_qty_x_enthalpy
        {%- if grain == 'day' %},
        sum(d.intervals_received) as intervals_received,
        sum(d.intervals_estimated) as intervals_estimated,
        count(*) as meters
        {%- endif %}
    from {{ ref('int_meter_daily') }} as d
    inner join {{ ref('stg_raw__meters') }} as m on d.meter_id = m.meter_id
    {%- if is_incremental() %}
    inner join {{ ref('int_rebuild_months') }} as rm
        on m.credit_code = rm.credit_code and {{ month_of('d.day') }} = rm.month
    -- a literal: zonemaps skip the meter-days before the earliest rebuilt month
    where d.day >= {{ rebuild_months_bound() }}
    {%- endif %}
    {%- if grain == 'day' %}
    group by m.credit_code, d.day, m.energy_type, m.unit
    {%- else %}
    group by m.credit_code, {{ month_of('d.day') }}, m.energy_type
    {%- endif %}
{%- endmacro %}
