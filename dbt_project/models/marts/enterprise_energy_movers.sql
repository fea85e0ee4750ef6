{{ config(materialized='table') }}
-- Each enterprise's row of the latest month with its energy the month before and the same month a year before:
-- what the park dashboard ranks and lists as the top movers, one row per enterprise instead of three self-joins
-- of enterprise_carbon_monthly per chart request.

with monthly as (
    select
        credit_code,
        park_id,
        month,
        energy_tce,
        co2_t
    from {{ ref('enterprise_carbon_monthly') }}
),

latest as (
    select max(month) as month
    from monthly
)

select
    cur.credit_code,
    cur.park_id,
    e.name_zh,
    e.name_en,
    cur.month,
    cur.energy_tce,
    cur.co2_t,
    prev.energy_tce as energy_tce_last_month,
    ly.energy_tce as energy_tce_last_year,
    cast(cur.energy_tce - prev.energy_tce as decimal(38, 6)) as change_vs_last_month_tce,
    cast(cur.energy_tce - ly.energy_tce as decimal(38, 6)) as change_vs_last_year_tce,
    cast(abs(cur.energy_tce - prev.energy_tce) as decimal(38, 6)) as abs_change_vs_last_month_tce,
    cast(abs(cur.energy_tce - ly.energy_tce) as decimal(38, 6)) as abs_change_vs_last_year_tce,
    {{ current_run_id() }} as built_run_id
from monthly as cur
inner join latest as l on cur.month = l.month
left join monthly as prev
    on
        cur.credit_code = prev.credit_code
        and prev.month = cast({{ dbt.dateadd('month', -1, 'cur.month') }} as date)
left join monthly as ly
    on
        cur.credit_code = ly.credit_code
        and ly.month = cast({{ dbt.dateadd('year', -1, 'cur.month') }} as date)
left join {{ ref('dim_enterprises') }} as e on cur.credit_code = e.credit_code
