-- Dual-control warnings per target: projected year-end = year-to-date / days elapsed (1 Jan .. as-of, both
-- included) x days in the year, against the annual budget. Intensities compare the year-to-date intensity
-- with the target. The energy check deducts new renewable power; the intensity check does not.
-- Levels, labels and colours come from seeds/warning_levels.csv.

with as_of as (
    select {{ as_of_day() }} as day
),

monthly as (
    select
        'enterprise' as level,
        credit_code as entity_id,
        month,
        energy_tce,
        energy_tce_for_total_check,
        co2_t,
        value_added_10k_cny
    from {{ ref('enterprise_carbon_monthly') }}
    union all
    select
        'park' as level,
        park_id,
        month,
        energy_tce,
        energy_tce_for_total_check,
        co2_t,
        value_added_10k_cny
    from {{ ref('park_carbon_monthly') }}
    union all
    select
        'city' as level,
        city_id,
        month,
        energy_tce,
        energy_tce_for_total_check,
        co2_t,
        value_added_10k_cny
    from {{ ref('city_carbon_monthly') }}
),

target_years as (
    select
        t.*,
        cast(
            {{ dbt.date_trunc('year', "cast(cast(t.year as " ~ dbt.type_string() ~ ") || '-01-01' as date)") }} as date
        )
            as year_start,
        least(a.day, cast(cast(t.year as {{ dbt.type_string() }}) || '-12-31' as date)) as as_of
    from {{ ref('stg_raw__targets') }} as t
    cross join as_of as a
    where cast(cast(t.year as {{ dbt.type_string() }}) || '-01-01' as date) <= a.day
),

ytd as (
    select
        t.level,
        t.entity_id,
        t.year,
        t.as_of,
        {{ dbt.datediff('t.year_start', 't.as_of', 'day') }} + 1 as days_elapsed,
        {{ dbt.datediff('t.year_start', dbt.dateadd('year', 1, 't.year_start'), 'day') }} as days_in_year,
        t.energy_budget_tce,
        t.carbon_budget_tco2,
        t.energy_intensity_target,
        t.carbon_intensity_target,
        sum(m.energy_tce_for_total_check) as ytd_energy_check,
        sum(m.energy_tce) as ytd_energy,
        sum(m.co2_t) as ytd_co2,
        sum(m.value_added_10k_cny) as ytd_value_added
    from target_years as t
    left join monthly as m
        on
            t.level = m.level
            and t.entity_id = m.entity_id
            and t.year_start <= m.month
            and t.as_of >= m.month
    group by
        t.level, t.entity_id, t.year, t.as_of, t.year_start, t.energy_budget_tce, t.carbon_budget_tco2,
        t.energy_intensity_target, t.carbon_intensity_target
),

metrics as (
    select
        level,
        entity_id,
        as_of,
        'energy' as metric,
        cast(ytd_energy_check as {{ type_double() }}) as ytd_value,
        cast(ytd_energy_check as {{ type_double() }}) * days_in_year / days_elapsed as projected_year_end,
        cast(energy_budget_tce as {{ type_double() }}) as budget
    from ytd
    union all
    select
        level,
        entity_id,
        as_of,
        'carbon' as metric,
        cast(ytd_co2 as {{ type_double() }}),
        cast(ytd_co2 as {{ type_double() }}) * days_in_year / days_elapsed,
        cast(carbon_budget_tco2 as {{ type_double() }})
    from ytd
    union all
    select
        level,
        entity_id,
        as_of,
        'energy_intensity' as metric,
        {{ safe_divide('ytd_energy', 'ytd_value_added') }},
        {{ safe_divide('ytd_energy', 'ytd_value_added') }},
        cast(energy_intensity_target as {{ type_double() }})
    from ytd
    union all
    select
        level,
        entity_id,
        as_of,
        'carbon_intensity' as metric,
        {{ safe_divide('ytd_co2', 'ytd_value_added') }},
        {{ safe_divide('ytd_co2', 'ytd_value_added') }},
        cast(carbon_intensity_target as {{ type_double() }})
    from ytd
),

rated as (
    select
        m.*,
        {{ safe_divide('m.projected_year_end', 'm.budget') }} as ratio
    from metrics as m
    where m.budget is not null and m.ytd_value is not null
),

leveled as (
    select
        r.*,
        w.warning_level,
        w.label_zh,
        w.label_en,
        w.colour,
        row_number() over (partition by r.level, r.entity_id, r.as_of, r.metric order by w.rank) as pick
    from rated as r
    inner join {{ ref('warning_levels') }} as w
        on
            w.upper_pct is null
            or r.ratio < w.upper_pct / 100.0
            or (w.upper_inclusive and r.ratio = w.upper_pct / 100.0)
    where r.ratio is not null
)

select
    cast(level as {{ dbt.type_string() }}) as level,
    cast(entity_id as {{ dbt.type_string() }}) as entity_id,
    as_of,
    cast(metric as {{ dbt.type_string() }}) as metric,
    ytd_value,
    projected_year_end,
    budget,
    ratio,
    warning_level,
    label_zh,
    label_en,
    colour,
    {{ current_run_id() }} as built_run_id
from leveled
where pick = 1
