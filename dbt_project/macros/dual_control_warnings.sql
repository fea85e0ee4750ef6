{#- Dual-control warnings (the one home of their rule; see models/marts/dual_control_warnings.sql for the
    rule in words): as of the as-of day, and with month_ends also as of the last day of every closed month of
    the target's year (marts.dual_control_warnings_history, what a monthly report reads for its month). -#}
{% macro dual_control_warnings_sql(month_ends=false, from_day=none) -%}
with as_of as (
    select {{ as_of_day() }} as day
),

target_years as (
    select
        t.*,
        cast(cast(t.year as {{ dbt.type_string() }}) || '-01-01' as date) as year_start,
        least(a.day, cast(cast(t.year as {{ dbt.type_string() }}) || '-12-31' as date)) as as_of
    from {{ ref('stg_raw__targets') }} as t
    cross join as_of as a
    where cast(cast(t.year as {{ dbt.type_string() }}) || '-01-01' as date) <= a.day
    {%- if month_ends %}
    union
    -- and as of the last day of every closed month of the year before the as-of day
    select
        t.*,
        cast(cast(t.year as {{ dbt.type_string() }}) || '-01-01' as date) as year_start,
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'm.month')) }} as date) as as_of
    from {{ ref('stg_raw__targets') }} as t
    cross join as_of as a
    inner join {{ ref('int_months') }} as m
        on
            {{ year_of('m.month') }} = t.year
            and {{ dbt.dateadd('month', 1, 'm.month') }} <= a.day
    {%- endif %}
),

years as (
    select distinct
        year,
        year_start,
        as_of,
        {{ dbt.datediff('year_start', 'as_of', 'day') }} + 1 as days_elapsed,
        {{ dbt.datediff('year_start', dbt.dateadd('year', 1, 'year_start'), 'day') }} as days_in_year
    from target_years
    {%- if from_day is not none %}
    -- an incremental run of the history: only the as-of days from from_day on (warning_history_from)
    where as_of >= {{ sql_literal(from_day, 'date') }}
    {%- endif %}
),

-- per enterprise and year: what each source says so far
enterprise_ytd as (
    select
        e.credit_code,
        e.park_id,
        y.year,
        y.as_of,
        y.days_elapsed,
        y.days_in_year,
        sum(e.energy_tce_metered) as metered_energy,
        sum(case when not e.is_provisional then e.energy_tce_dual_control - e.energy_tce_metered end)
            as declared_energy,
        sum(e.co2_metered_t) as metered_co2,
        sum(case when not e.is_provisional then e.co2_t - e.co2_metered_t end) as declared_co2,
        sum(case when not e.is_provisional then 1 else 0 end) as declared_months,
        sum(case when e.value_added_10k_cny is not null then e.energy_tce_for_intensity end) as matched_energy,
        sum(case when e.value_added_10k_cny is not null then e.co2_t end) as matched_co2,
        sum(e.value_added_10k_cny) as value_added,
        sum(e.energy_tce_for_intensity) as intensity_energy,
        max(case when e.is_provisional then 1 else 0 end) as any_provisional
    from {{ ref('enterprise_carbon_monthly') }} as e
    inner join years as y
        on e.month >= y.year_start and e.month <= y.as_of
    group by e.credit_code, e.park_id, y.year, y.as_of, y.days_elapsed, y.days_in_year
),

-- each projection rounded once to 6 decimals (DECIMAL), so parks and the city sum exactly, in any order
enterprise_projected as (
    select
        *,
        coalesce(metered_energy, 0) + coalesce(declared_energy, 0) as ytd_energy,
        {{ acct(
            'cast(coalesce(metered_energy, 0) as ' ~ type_double() ~ ') * days_in_year / days_elapsed'
            ~ ' + case when declared_months > 0 then cast(declared_energy as ' ~ type_double() ~ ')'
            ~ ' / declared_months * 12 else 0 end') }} as projected_energy,
        coalesce(metered_co2, 0) + coalesce(declared_co2, 0) as ytd_co2,
        {{ acct(
            'cast(coalesce(metered_co2, 0) as ' ~ type_double() ~ ') * days_in_year / days_elapsed'
            ~ ' + case when declared_months > 0 then cast(declared_co2 as ' ~ type_double() ~ ')'
            ~ ' / declared_months * 12 else 0 end') }} as projected_co2
    from enterprise_ytd
),

entities as (
    {%- for level, id_expr in entity_levels() %}
    select
        '{{ level }}' as level,
        {{ id_expr }} as entity_id,
        year,
        as_of,
        sum(ytd_energy) as ytd_energy,
        sum(projected_energy) as projected_energy,
        sum(ytd_co2) as ytd_co2,
        sum(projected_co2) as projected_co2,
        sum(matched_energy) as matched_energy,
        sum(matched_co2) as matched_co2,
        sum(value_added) as value_added,
        sum(intensity_energy) as intensity_energy,
        min(declared_months) as declared_months,
        max(any_provisional) as any_provisional
    from enterprise_projected
    group by {{ id_expr }}, year, as_of
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

ytd as (
    select
        t.level,
        t.entity_id,
        t.year,
        t.as_of,
        t.energy_budget_tce,
        t.carbon_budget_tco2,
        t.energy_intensity_target,
        t.carbon_intensity_target,
        e.ytd_energy,
        e.projected_energy,
        e.ytd_co2,
        e.projected_co2,
        e.matched_energy,
        e.matched_co2,
        e.value_added,
        {{ safe_divide('e.matched_energy', 'e.intensity_energy') }} as intensity_coverage,
        e.declared_months,
        e.any_provisional = 1 as is_provisional
    from target_years as t
    inner join entities as e
        on t.level = e.level and t.entity_id = e.entity_id and t.year = e.year and t.as_of = e.as_of
),

metrics as (
    {%- for metric, ytd_expr, projected_expr, budget in [
        ('energy', 'ytd_energy', 'projected_energy', 'energy_budget_tce'),
        ('carbon', 'ytd_co2', 'projected_co2', 'carbon_budget_tco2'),
        ('energy_intensity', safe_divide('matched_energy', 'value_added'), safe_divide('matched_energy', 'value_added'), 'energy_intensity_target'),
        ('carbon_intensity', safe_divide('matched_co2', 'value_added'), safe_divide('matched_co2', 'value_added'), 'carbon_intensity_target'),
    ] %}
    select
        level,
        entity_id,
        as_of,
        '{{ metric }}' as metric,
        cast({{ ytd_expr }} as {{ type_double() }}) as ytd_value,
        cast({{ projected_expr }} as {{ type_double() }}) as projected_year_end,
        cast({{ budget }} as {{ type_double() }}) as budget,
        {{ 'intensity_coverage' if 'intensity' in metric else 'cast(null as ' ~ type_double() ~ ')' }}
            as intensity_coverage,
        declared_months,
        is_provisional
    from ytd
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

rated as (
    select
        m.*,
        {{ safe_divide('m.projected_year_end', 'm.budget') }} as ratio
    from metrics as m
    where m.budget is not null and m.ytd_value is not null
),

-- the level: the first by rank whose bound the ratio is within. Found by a minimum per warning, not a row_number
-- window over every matching level (night 365 of the city: the window took 1.5-2.4 s of the history's 2.7 s)
picked as (
    select
        r.level,
        r.entity_id,
        r.as_of,
        r.metric,
        min(w.rank) as level_rank
    from rated as r
    inner join {{ ref('warning_levels') }} as w
        on {{ warning_level_matches('r.ratio', 'w') }}
    where r.ratio is not null
    group by r.level, r.entity_id, r.as_of, r.metric
),

leveled as (
    select
        r.*,
        w.warning_level,
        w.label_zh,
        w.label_en,
        w.colour
    from rated as r
    inner join picked as p
        on r.level = p.level and r.entity_id = p.entity_id and r.as_of = p.as_of and r.metric = p.metric
    inner join {{ ref('warning_levels') }} as w on p.level_rank = w.rank
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
    is_provisional,
    cast(declared_months as {{ dbt.type_int() }}) as declared_months,
    intensity_coverage,
    {{ current_run_id() }} as built_run_id
from leveled
{%- endmacro %}


{#- The first as-of day an incremental run of the history recomputes (its pre-hook deletes the rows from it on,
    delete_warning_history): the first day of the earliest of the month of the last as-of day it holds (that
    day's rows were as of a day, not a closed month's end), the earliest month enterprise_carbon_monthly rebuilt
    this run (int_rebuild_months: every month-end from it on may change) and the month of this run's as-of day
    (a rerun of an earlier night). Every earlier row is as of a closed month's end whose months did not change.
    None (recompute everything) on a first build, or when a targets file is pending: a budget may have changed
    in any year. -#}
{% macro warning_history_from() -%}
    {%- if not execute or (model is mapping and model.get('resource_type') == 'unit_test') or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set targets = query_value("select count(*) from " ~ source('raw', 'load_log') ~ " where source = 'targets'"
        ~ " and file_id in (" ~ pending_files() ~ ")") -%}
    {%- if targets -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set bound -%}
        select min(d) from (
            select cast({{ dbt.date_trunc('month', 'max(as_of)') }} as date) as d from {{ this }}
            union all
            select min(month) as d from {{ ref('int_rebuild_months') }}
            union all
            select cast({{ dbt.date_trunc('month', as_of_day()) }} as date) as d
        ) as bounds
        where (select count(*) from {{ this }}) > 0
    {%- endset -%}
    {{ return(query_value(bound)) }}
{%- endmacro %}

{#- Pre-hook of the history: the rows from warning_history_from on (all of them when it is none). -#}
{% macro delete_warning_history() -%}
    {%- if is_incremental() -%}
        {%- set from_day = warning_history_from() -%}
        delete from {{ this }}
        {%- if from_day is not none %}
        where as_of >= {{ sql_literal(from_day, 'date') }}
        {%- endif %}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
