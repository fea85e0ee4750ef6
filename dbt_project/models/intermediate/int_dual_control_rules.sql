-- Per month, which deductions the data year's dual-control rules take from the energy total and from the
-- energy-intensity check (seeds/dual_control_deductions.csv, each row naming its notice): from 2024
-- non-fossil energy leaves both (发改环资〔2024〕113号), in 2022-23 the total only (发改运行〔2022〕1258号);
-- feedstock leaves both since 2022 (发改环资〔2022〕803号). Before 2022 nothing is deducted.
with years as (
    select
        month,
        {{ year_of('month') }} as data_year
    from {{ ref('int_months') }}
),

applied as (
    select
        y.month,
        d.deduction,
        d.from_total,
        d.from_intensity,
        d.notice
    from years as y
    inner join {{ ref('dual_control_deductions') }} as d
        on
            y.data_year >= d.first_data_year
            and (d.last_data_year is null or y.data_year <= d.last_data_year)
)

select
    y.month,
    coalesce(max(case when a.deduction = 'feedstock' and a.from_total then 1 else 0 end), 0) = 1
        as feedstock_from_total,
    coalesce(max(case when a.deduction = 'feedstock' and a.from_intensity then 1 else 0 end), 0) = 1
        as feedstock_from_intensity,
    coalesce(max(case when a.deduction = 'non_fossil' and a.from_total then 1 else 0 end), 0) = 1
        as non_fossil_from_total,
    coalesce(max(case when a.deduction = 'non_fossil' and a.from_intensity then 1 else 0 end), 0) = 1
        as non_fossil_from_intensity,
    max(case when a.deduction = 'feedstock' then a.notice end) as feedstock_notice,
    max(case when a.deduction = 'non_fossil' then a.notice end) as non_fossil_notice
from years as y
left join applied as a on y.month = a.month
group by y.month
