-- The city total equals the sum of all enterprise rows exactly (DECIMAL), for every month and measure.
with e as (
    select
        month,
        sum(energy_tce) as energy_tce,
        sum(scope1_co2_t) as scope1_co2_t,
        sum(scope2_location_co2_t) as scope2_location_co2_t,
        sum(scope2_market_co2_t) as scope2_market_co2_t
    from {{ ref('enterprise_carbon_monthly') }}
    group by month
)

select c.month
from {{ ref('city_carbon_monthly') }} as c
full outer join e on c.month = e.month
where c.energy_tce is distinct from e.energy_tce
    or c.scope1_co2_t is distinct from e.scope1_co2_t
    or c.scope2_location_co2_t is distinct from e.scope2_location_co2_t
    or c.scope2_market_co2_t is distinct from e.scope2_market_co2_t
