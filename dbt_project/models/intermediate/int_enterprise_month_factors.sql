{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{{ delete_month_scope() }}"
    )
}}
-- depends_on: {{ ref('int_rebuild_months') }}
-- Per enterprise, month and energy type: the coefficients applied, per unit of the energy's own unit.
-- Electricity and heat/steam and the grid factors come from the enterprise-month's pins (int_factor_applied);
-- the GB/T 2589 and combustion defaults from the seed row valid at the month.
-- Scope 1 per unit = NCV x carbon content x oxidation x 44/12, rounded to 12 decimals.
-- The seed rows valid at a month depend on the month only: they are picked once per month (a few dozen
-- months), then joined to the enterprise-months by month, not range-joined and ranked per enterprise-month
-- (night 365 of the full city, 1.09 M rows: 1.74 s -> 0.60 s alone). Incremental by enterprise-month: a night
-- rewrites the months of int_rebuild_months, so a seed row changed afterwards reaches the earlier months on a
-- full refresh, as in the monthly marts that read this table.

with applied as (
    select a.*
    from {{ ref('int_factor_applied') }} as a
    {% if is_incremental() %}
    -- a night: the enterprise-months it rebuilds (a month's pins change only when it is first written or
    -- restated, and both are among them)
    inner join {{ ref('int_rebuild_months') }} as rm on a.credit_code = rm.credit_code and a.month = rm.month
    where a.month >= {{ rebuild_months_bound() }}
    {% endif %}
),

months as (
    select distinct month from applied
),

types as (
    select distinct
        energy_type,
        unit
    from {{ ref('energy_conversion_factors') }}
),

tce as (
    select
        a.month,
        e.energy_type,
        e.kgce_per_unit,
        row_number() over (
            partition by a.month, e.energy_type order by e.data_year desc, e.published desc
        ) as pick
    from months as a
    inner join {{ ref('energy_conversion_factors') }} as e
        on
            e.basis = 'equivalent'
            and e.energy_type <> 'electricity'
            and a.month >= e.valid_from
            and (e.valid_to is null or a.month <= e.valid_to)
),

{%- for basis in ['equal_value', 'equivalent'] %}
{{ basis }} as (
    select
        a.month,
        e.kgce_per_unit,
        row_number() over (
            partition by a.month order by e.data_year desc, e.published desc
        ) as pick
    from months as a
    inner join {{ ref('energy_conversion_factors') }} as e
        on
            e.basis = '{{ basis }}'
            and e.energy_type = 'electricity'
            and a.month >= e.valid_from
            and (e.valid_to is null or a.month <= e.valid_to)
),
{%- endfor %}

combustion as (
    select
        a.month,
        c.fuel as energy_type,
        cast(
            round(c.ncv_gj_per_unit * c.carbon_content_tc_per_tj * c.oxidation_rate * 44 / 12000, 12)
            as decimal(38, 12)
        ) as co2_t_per_unit,
        row_number() over (
            partition by a.month, c.fuel order by c.data_year desc, c.published desc
        ) as pick
    from months as a
    inner join {{ ref('combustion_factors') }} as c
        on
            a.month >= c.valid_from
            and (c.valid_to is null or a.month <= c.valid_to)
)

select
    a.credit_code,
    a.month,
    t.energy_type,
    t.unit,
    cast(
        case when t.energy_type = 'electricity' then a.electricity_kgce_per_kwh else tc.kgce_per_unit end
        * 0.001 as decimal(38, 12)
    ) as tce_per_unit,
    cast(coalesce(co.co2_t_per_unit, 0) as decimal(38, 12)) as scope1_co2_per_unit,
    cast(
        case t.energy_type
            when 'electricity' then a.grid_location_factor * 0.001
            when 'heat' then a.heat_co2_t_per_gj
            when 'steam' then a.steam_gj_per_t * a.heat_co2_t_per_gj
            else 0
        end as decimal(38, 12)
    ) as scope2_location_co2_per_unit,
    cast(
        case t.energy_type
            when 'electricity' then a.grid_market_factor * 0.001
            when 'heat' then a.heat_co2_t_per_gj
            when 'steam' then a.steam_gj_per_t * a.heat_co2_t_per_gj
            else 0
        end as decimal(38, 12)
    ) as scope2_market_co2_per_unit,
    -- steam with a metered enthalpy gets its own heat content (macro steam_heat_gj) at this heat factor
    cast(a.heat_co2_t_per_gj as decimal(38, 12)) as heat_co2_t_per_gj,
    cast(a.steam_gj_per_t as decimal(38, 12)) as steam_gj_per_t,
    cast(a.steam_feedwater_kj_kg as decimal(38, 12)) as steam_feedwater_kj_kg,
    -- electricity at 等价值 and at 当量值 beside the basis in use, for reports that show both
    cast(case when t.energy_type = 'electricity' then ev.kgce_per_unit * 0.001 end as decimal(38, 12))
        as electricity_tce_per_kwh_equal_value,
    cast(case when t.energy_type = 'electricity' then eq.kgce_per_unit * 0.001 end as decimal(38, 12))
        as electricity_tce_per_kwh_equivalent
from applied as a
cross join types as t
left join tce as tc on a.month = tc.month and t.energy_type = tc.energy_type and tc.pick = 1
left join equal_value as ev on a.month = ev.month and ev.pick = 1
left join equivalent as eq on a.month = eq.month and eq.pick = 1
left join combustion as co on a.month = co.month and t.energy_type = co.energy_type and co.pick = 1
