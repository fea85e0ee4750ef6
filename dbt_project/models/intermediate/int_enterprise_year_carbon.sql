-- Per enterprise and calendar year, the year's sums of the monthly marts that the year-level rules read
-- (carbon market cross-check, candidate lists, dual-control assessment), with what they stand on: months
-- present, months provisional, months with value added.
select
    credit_code,
    {{ year_of('month') }} as year,
    max(park_id) as park_id,
    sum(energy_tce) as energy_tce,
    sum(energy_tce_dual_control) as energy_tce_dual_control,
    sum(energy_tce_non_fossil) as energy_tce_non_fossil,
    sum(co2_t) as co2_t,
    sum(scope1_co2_t) as scope1_co2_t,
    sum(scope2_location_co2_t) as scope2_location_co2_t,
    sum(case when value_added_10k_cny is not null then energy_tce_for_intensity end) as matched_energy_tce,
    sum(case when value_added_10k_cny is not null then co2_t end) as matched_co2_t,
    sum(energy_tce_for_intensity) as energy_tce_for_intensity,
    sum(value_added_10k_cny) as value_added_10k_cny,
    count(*) as months,
    sum(case when is_provisional then 1 else 0 end) as months_provisional,
    max(month) as last_month
from {{ ref('enterprise_carbon_monthly') }}
group by credit_code, {{ year_of('month') }}
