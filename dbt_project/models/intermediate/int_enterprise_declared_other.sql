-- Non-energy items of the latest declaration per enterprise-month: value added, output value, the declared
-- green-power trade volume (reconciled against certificates, never deducted) and process emissions (scope 1).
select
    credit_code,
    month,
    cast(sum(case when item = 'value_added' then quantity end) as decimal(38, 4)) as value_added_10k_cny,
    cast(sum(case when item = 'industrial_output_value' then quantity end) as decimal(38, 4))
        as industrial_output_10k_cny,
    cast(sum(case when item = 'green_electricity_direct' then quantity end) as decimal(38, 4))
        as green_electricity_direct_kwh,
    cast(sum(case when item = 'process_emissions_tco2' then quantity end) as decimal(38, 4))
        as process_emissions_tco2
from {{ ref('stg_raw__declarations') }}
group by credit_code, month
