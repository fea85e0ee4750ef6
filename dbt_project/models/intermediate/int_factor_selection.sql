-- The factors that apply to each month today (before pinning in marts.factor_applied): for each kind the
-- row valid at the month's first day, preferring the latest data year, then the latest publication.
with months as (
    select month from {{ ref('int_months') }}
),

grid as (
    select
        m.month,
        g.region,
        g.data_year,
        g.factor,
        g.published,
        row_number() over (
            partition by m.month, g.region order by g.data_year desc, g.published desc
        ) as pick
    from months as m
    inner join {{ ref('grid_emission_factors') }} as g
        on
            m.month >= g.valid_from
            and (g.valid_to is null or m.month <= g.valid_to)
),

electricity_tce as (
    select
        m.month,
        e.basis,
        e.kgce_per_unit,
        row_number() over (
            partition by m.month
            order by case when e.basis = '{{ var("tce_basis") }}' then 0 else 1 end, e.data_year desc, e.published desc
        ) as pick
    from months as m
    inner join {{ ref('energy_conversion_factors') }} as e
        on
            e.energy_type = 'electricity'
            and m.month >= e.valid_from
            and (e.valid_to is null or m.month <= e.valid_to)
),

heat as (
    select
        m.month,
        h.parameter,
        h.value,
        row_number() over (partition by m.month, h.parameter order by h.published desc) as pick
    from months as m
    inner join {{ ref('heat_steam_factors') }} as h
        on
            m.month >= h.valid_from
            and (h.valid_to is null or m.month <= h.valid_to)
)

select
    m.month,
    et.basis as tce_basis,
    et.kgce_per_unit as electricity_kgce_per_kwh,
    gl.data_year as grid_location_data_year,
    gl.factor as grid_location_factor,
    gm.data_year as grid_market_data_year,
    gm.factor as grid_market_factor,
    hc.value as heat_co2_t_per_gj,
    se.value as steam_gj_per_t
from months as m
left join electricity_tce as et on m.month = et.month and et.pick = 1
left join grid as gl on m.month = gl.month and gl.region = 'jiangsu' and gl.pick = 1
left join grid as gm on m.month = gm.month and gm.region = 'national_excl_market_nonfossil' and gm.pick = 1
left join heat as hc on m.month = hc.month and hc.parameter = 'heat_co2' and hc.pick = 1
left join heat as se on m.month = se.month and se.parameter = 'steam_enthalpy' and se.pick = 1
