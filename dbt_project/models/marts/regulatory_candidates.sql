-- Candidates for the regulators' lists, per enterprise and year (methodology "Carbon market"):
--   ets: in a covered sector (by GB/T 4754 class, or division 44/31 where only the division is given; sector
--        covered from its first data year, seeds/ets_sectors.csv), direct emissions (scope 1 incl. process)
--        of the year at or above the inclusion threshold, and not marked ets_covered;
--   key_energy_user: comprehensive energy (net, before the dual-control deductions) at or above the
--        threshold and not a key energy user.
-- The figure is the year's (to date for the open year: a candidate is listed once it has crossed).
with years as (
    select
        y.*,
        e.industry_code,
        e.industry_class,
        coalesce(e.ets_covered, false) as ets_covered,
        coalesce(e.key_energy_user, false) as key_energy_user
    from {{ ref('int_enterprise_year_carbon') }} as y
    inner join {{ ref('stg_raw__enterprises') }} as e on y.credit_code = e.credit_code
),

sectors as (
    select
        y.credit_code,
        y.year,
        min(s.sector) as sector
    from years as y
    inner join {{ ref('ets_sectors') }} as s
        on
            y.year >= s.first_data_year
            and (
                (
                    y.industry_class is not null and y.industry_class >= s.industry_class_from
                    and y.industry_class <= s.industry_class_to
                )
                or (y.industry_class is null and y.industry_code = s.industry_division)
            )
    group by y.credit_code, y.year
),

candidates as (
    select
        y.credit_code,
        y.year,
        'ets' as list,
        y.scope1_co2_t as figure,
        {{ ets_rule('ets_inclusion_threshold_tco2') }} as threshold,
        'tCO2' as unit,
        s.sector,
        y.months,
        y.months_provisional
    from years as y
    inner join sectors as s on y.credit_code = s.credit_code and y.year = s.year
    where not y.ets_covered and y.scope1_co2_t >= {{ ets_rule('ets_inclusion_threshold_tco2') }}
    union all
    select
        y.credit_code,
        y.year,
        'key_energy_user' as list,
        y.energy_tce as figure,
        {{ ets_rule('key_energy_user_threshold_tce') }} as threshold,
        'tce' as unit,
        cast(null as {{ dbt.type_string() }}) as sector,
        y.months,
        y.months_provisional
    from years as y
    where not y.key_energy_user and y.energy_tce >= {{ ets_rule('key_energy_user_threshold_tce') }}
)

select
    c.credit_code,
    d.name_zh,
    d.name_en,
    d.park_id,
    cast(c.year as {{ dbt.type_int() }}) as year,
    cast(c.list as {{ dbt.type_string() }}) as list,
    cast(c.figure as decimal(38, 6)) as figure,
    cast(c.threshold as decimal(18, 6)) as threshold,
    cast(c.unit as {{ dbt.type_string() }}) as unit,
    cast(c.sector as {{ dbt.type_string() }}) as sector,
    cast(c.months as {{ dbt.type_int() }}) as months,
    c.months_provisional > 0 as is_provisional,
    cast(
        case c.list
            when 'ets'
                then
                    'direct emissions of ' || cast(c.year as {{ dbt.type_string() }}) || ' (scope 1 incl. process, '
                    || cast(c.months as {{ dbt.type_string() }})
                    || ' months) at or above the inclusion threshold in the '
                    || c.sector || ' sector, not covered by the national carbon market'
            else
                'comprehensive energy of ' || cast(c.year as {{ dbt.type_string() }}) || ' ('
                || cast(c.months as {{ dbt.type_string() }})
                || ' months) at or above the key energy user threshold, not a key energy user'
        end as {{ dbt.type_string() }}
    ) as reason,
    {{ current_run_id() }} as built_run_id
from candidates as c
left join {{ ref('dim_enterprises') }} as d on c.credit_code = d.credit_code
