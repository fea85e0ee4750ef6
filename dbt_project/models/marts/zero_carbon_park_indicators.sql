-- Zero-carbon park indicators per park and year (发改环资〔2025〕910号, seeds/zero_carbon_park_thresholds.csv):
-- the core indicator, CO2 per tce of energy consumed (net CO2 / net energy), against the threshold of the
-- park's size tier (<= 0.20 tCO2/tce up to 1,000,000 tce a year, <= 0.30 above), and the guiding
-- indicator, the clean-energy share (natural gas and non-fossil energy, as the statistics count clean energy,
-- over net energy), against 90 %. Year to date for the open year.
with parks as (
    select
        y.park_id,
        y.year,
        sum(y.energy_tce) as energy_tce,
        sum(y.co2_t) as co2_t,
        sum(y.energy_tce_non_fossil) as non_fossil_tce,
        sum(y.months_provisional) as months_provisional,
        max(y.months) as months
    from {{ ref('int_enterprise_year_carbon') }} as y
    group by y.park_id, y.year
),

gas as (
    select
        b.park_id,
        {{ year_of('b.month') }} as year,
        sum(b.consumed_tce) as natural_gas_tce
    from {{ ref('energy_balance_monthly') }} as b
    where b.energy_type = 'natural_gas'
    group by b.park_id, {{ year_of('b.month') }}
),

indicators as (
    select
        p.*,
        coalesce(g.natural_gas_tce, 0) as natural_gas_tce,
        {{ safe_divide('p.co2_t', 'p.energy_tce') }} as co2_per_tce,
        {{ safe_divide('coalesce(g.natural_gas_tce, 0) + p.non_fossil_tce', 'p.energy_tce') }} as clean_energy_share
    from parks as p
    left join gas as g on p.park_id = g.park_id and p.year = g.year
),

core as (
    select
        indicator,
        min_energy_tce,
        max_energy_tce,
        threshold,
        source_document
    from {{ ref('zero_carbon_park_thresholds') }}
    where indicator = 'co2_per_tce'
),

clean as (
    select max(threshold) as threshold
    from {{ ref('zero_carbon_park_thresholds') }}
    where indicator = 'clean_energy_share'
)

select
    cast(i.park_id as {{ dbt.type_string() }}) as park_id,
    cast(i.year as {{ dbt.type_int() }}) as year,
    cast(i.energy_tce as decimal(38, 6)) as energy_tce,
    cast(i.co2_t as decimal(38, 6)) as co2_t,
    cast(i.co2_per_tce as {{ type_double() }}) as co2_per_tce,
    cast(c.threshold as {{ type_double() }}) as co2_per_tce_threshold,
    i.co2_per_tce is not null and i.co2_per_tce <= c.threshold as meets_core_indicator,
    cast(i.natural_gas_tce as decimal(38, 6)) as natural_gas_tce,
    cast(i.non_fossil_tce as decimal(38, 6)) as non_fossil_tce,
    cast(i.clean_energy_share as {{ type_double() }}) as clean_energy_share,
    cast(cl.threshold as {{ type_double() }}) as clean_energy_share_threshold,
    i.clean_energy_share is not null and i.clean_energy_share >= cl.threshold as meets_clean_energy_share,
    cast(c.source_document as {{ dbt.type_string() }}) as source_document,
    i.months_provisional > 0 as is_provisional,
    {{ current_run_id() }} as built_run_id
from indicators as i
cross join clean as cl
left join core as c
    on
        (c.min_energy_tce is null or i.energy_tce >= c.min_energy_tce)
        and (c.max_energy_tce is null or i.energy_tce < c.max_energy_tce)
