-- The factors that apply to each month today (before pinning in int_factor_applied): for each kind the
-- row valid at the month's first day, preferring the latest data year, then the latest publication.
-- Market-based scope 2 for a period with no published "excluding market-traded non-fossil" factor (data year
-- 2021) falls back to the earliest published one (2022's), and says so in grid_market_note.
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

market_earliest as (
    select
        data_year,
        factor,
        row_number() over (order by data_year, published) as pick
    from {{ ref('grid_emission_factors') }}
    where region = 'national_excl_market_nonfossil'
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
    coalesce(gm.data_year, me.data_year) as grid_market_data_year,
    coalesce(gm.factor, me.factor) as grid_market_factor,
    case
        when gm.factor is null and me.factor is not null
            then
                'no factor excluding market-traded non-fossil power was published for this period: '
                || 'the earliest published one (data year '
                || cast(me.data_year as {{ dbt.type_string() }})
                || ') applies'
    end as grid_market_note,
    hc.value as heat_co2_t_per_gj,
    {{ steam_gj_per_t('sd.value', 'sf.value') }} as steam_gj_per_t,
    sf.value as steam_feedwater_kj_kg
from months as m
left join electricity_tce as et on m.month = et.month and et.pick = 1
left join grid as gl on m.month = gl.month and gl.region = 'jiangsu' and gl.pick = 1
left join grid as gm on m.month = gm.month and gm.region = 'national_excl_market_nonfossil' and gm.pick = 1
left join heat as hc on m.month = hc.month and hc.parameter = 'heat_co2' and hc.pick = 1
left join market_earliest as me on me.pick = 1
left join heat as sd on m.month = sd.month and sd.parameter = 'steam_default_enthalpy' and sd.pick = 1
left join heat as sf on m.month = sf.month and sf.parameter = 'steam_feedwater_enthalpy' and sf.pick = 1
