-- The dual-control assessment per entity (enterprise, park, city) and year (methodology "Intensity, dual
-- control and warnings"; 国办发〔2024〕39号): totals, intensities over matched enterprise-months at constant
-- prices, the base year's intensities, the achieved reduction = 1 - intensity / base intensity (year to date
-- for the open year: the pace), against the target's reduction and absolute intensity. A target column left
-- empty is not set, never zero. Status: the worst of the intensity ratios (intensity / allowed intensity,
-- allowed = the stricter of the absolute target and base x (1 - reduction)) against seeds/warning_levels.csv.

with as_of as (
    select {{ as_of_day() }} as day
),

entity_years as (
    {%- for level, id_expr in entity_levels() %}
    select
        '{{ level }}' as level,
        {{ id_expr }} as entity_id,
        year,
        sum(energy_tce) as energy_tce,
        sum(energy_tce_dual_control) as energy_tce_dual_control,
        sum(co2_t) as co2_t,
        sum(matched_energy_tce) as matched_energy_tce,
        sum(matched_co2_t) as matched_co2_t,
        sum(energy_tce_for_intensity) as energy_tce_for_intensity,
        sum(value_added_10k_cny) as value_added_10k_cny,
        sum(months_provisional) as months_provisional,
        max(last_month) as last_month
    from {{ ref('int_enterprise_year_carbon') }}
    group by {{ id_expr }}, year
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

intensities as (
    select
        y.*,
        {{ safe_divide('y.matched_energy_tce', 'y.value_added_10k_cny') }} as energy_intensity,
        {{ safe_divide('y.matched_co2_t', 'y.value_added_10k_cny') }} as carbon_intensity,
        {{ safe_divide('y.matched_energy_tce', 'y.energy_tce_for_intensity') }} as intensity_coverage
    from entity_years as y
),

assessed as (
    select
        i.*,
        least(a.day, cast(cast(i.year as {{ dbt.type_string() }}) || '-12-31' as date)) as as_of,
        t.energy_budget_tce,
        t.carbon_budget_tco2,
        t.energy_intensity_target,
        t.carbon_intensity_target,
        t.base_year,
        t.energy_intensity_reduction_pct as target_energy_intensity_reduction_pct,
        t.carbon_intensity_reduction_pct as target_carbon_intensity_reduction_pct,
        b.energy_intensity as base_energy_intensity,
        b.carbon_intensity as base_carbon_intensity
    from intensities as i
    cross join as_of as a
    left join {{ ref('stg_raw__targets') }} as t
        on i.level = t.level and i.entity_id = t.entity_id and i.year = t.year
    left join intensities as b
        on i.level = b.level and i.entity_id = b.entity_id and t.base_year = b.year
),

rated as (
    select
        s.*,
        (1 - {{ safe_divide('s.energy_intensity', 's.base_energy_intensity') }}) * 100
            as energy_intensity_reduction_pct,
        (1 - {{ safe_divide('s.carbon_intensity', 's.base_carbon_intensity') }}) * 100
            as carbon_intensity_reduction_pct,
    {%- for kind in ['energy', 'carbon'] %}
    case
        when
            s.{{ kind }}_intensity_target is not null and s.target_{{ kind }}_intensity_reduction_pct is not null
            and s.base_{{ kind }}_intensity is not null
            then least(
                s.{{ kind }}_intensity_target,
                s.base_{{ kind }}_intensity * (1 - s.target_{{ kind }}_intensity_reduction_pct / 100.0)
                )
        when s.target_{{ kind }}_intensity_reduction_pct is not null and s.base_{{ kind }}_intensity is not null
            then s.base_{{ kind }}_intensity * (1 - s.target_{{ kind }}_intensity_reduction_pct / 100.0)
        else s.{{ kind }}_intensity_target
    end as allowed_{{ kind }}_intensity{{ ',' if not loop.last }}
    {%- endfor %}
    from assessed as s
),

ratios as (
    select
        r.*,
        {{ safe_divide('r.energy_intensity', 'r.allowed_energy_intensity') }} as energy_intensity_ratio,
        {{ safe_divide('r.carbon_intensity', 'r.allowed_carbon_intensity') }} as carbon_intensity_ratio
    from rated as r
),

worst as (
    select
        r.*,
        case
            when r.energy_intensity_ratio is null then r.carbon_intensity_ratio
            when r.carbon_intensity_ratio is null then r.energy_intensity_ratio
            when r.energy_intensity_ratio > r.carbon_intensity_ratio then r.energy_intensity_ratio
            else r.carbon_intensity_ratio
        end as status_ratio
    from ratios as r
),

leveled as (
    select
        w.level,
        w.entity_id,
        w.year,
        w.warning_level,
        row_number() over (partition by w.level, w.entity_id, w.year order by w.rank) as pick
    from (
        select
            r.level,
            r.entity_id,
            r.year,
            l.warning_level,
            l.rank
        from worst as r
        inner join {{ ref('warning_levels') }} as l on {{ warning_level_matches('r.status_ratio', 'l') }}
        where r.status_ratio is not null
    ) as w
)

select
    cast(w.level as {{ dbt.type_string() }}) as level,
    cast(w.entity_id as {{ dbt.type_string() }}) as entity_id,
    cast(w.year as {{ dbt.type_int() }}) as year,
    w.as_of,
    cast(w.energy_tce as decimal(38, 6)) as energy_tce,
    cast(w.energy_tce_dual_control as decimal(38, 6)) as energy_tce_dual_control,
    cast(w.co2_t as decimal(38, 6)) as co2_t,
    cast(w.value_added_10k_cny as decimal(38, 4)) as value_added_10k_cny,
    cast(w.energy_intensity as {{ type_double() }}) as energy_intensity,
    cast(w.carbon_intensity as {{ type_double() }}) as carbon_intensity,
    cast(w.base_year as {{ dbt.type_int() }}) as base_year,
    cast(w.base_energy_intensity as {{ type_double() }}) as base_energy_intensity,
    cast(w.base_carbon_intensity as {{ type_double() }}) as base_carbon_intensity,
    cast(w.energy_intensity_reduction_pct as {{ type_double() }}) as energy_intensity_reduction_pct,
    cast(w.carbon_intensity_reduction_pct as {{ type_double() }}) as carbon_intensity_reduction_pct,
    cast(w.target_energy_intensity_reduction_pct as {{ type_double() }}) as target_energy_intensity_reduction_pct,
    cast(w.target_carbon_intensity_reduction_pct as {{ type_double() }}) as target_carbon_intensity_reduction_pct,
    cast(w.energy_intensity_target as {{ type_double() }}) as energy_intensity_target,
    cast(w.carbon_intensity_target as {{ type_double() }}) as carbon_intensity_target,
    cast(w.allowed_energy_intensity as {{ type_double() }}) as allowed_energy_intensity,
    cast(w.allowed_carbon_intensity as {{ type_double() }}) as allowed_carbon_intensity,
    cast(w.energy_intensity_ratio as {{ type_double() }}) as energy_intensity_ratio,
    cast(w.carbon_intensity_ratio as {{ type_double() }}) as carbon_intensity_ratio,
    cast(w.energy_budget_tce as {{ type_double() }}) as energy_budget_tce,
    cast(w.carbon_budget_tco2 as {{ type_double() }}) as carbon_budget_tco2,
    cast(w.intensity_coverage as {{ type_double() }}) as intensity_coverage,
    w.months_provisional > 0 as is_provisional,
    cast(l.warning_level as {{ dbt.type_string() }}) as status,
    {{ current_run_id() }} as built_run_id
from worst as w
left join leveled as l
    on w.level = l.level and w.entity_id = l.entity_id and w.year = l.year and l.pick = 1
