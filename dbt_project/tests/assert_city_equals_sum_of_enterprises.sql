-- The city total equals the sum of all enterprise rows exactly (DECIMAL), for every month and measure
-- (energy gross, net and dual-control; CO2 net and its three scopes; green power counted).
{% set measures = ['energy_tce_gross', 'energy_tce', 'energy_tce_dual_control', 'co2_t', 'scope1_co2_t',
                   'scope2_location_co2_t', 'scope2_market_co2_t', 'green_mwh'] %}
with e as (
    select
        month,
        {%- for m in measures %}
        sum({{ m }}) as {{ m }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('enterprise_carbon_monthly') }}
    group by month
)

select coalesce(c.month, e.month) as month
from {{ ref('city_carbon_monthly') }} as c
full outer join e on c.month = e.month
where
    {%- for m in measures %}
    {{ 'or ' if not loop.first }}c.{{ m }} is distinct from e.{{ m }}
    {%- endfor %}
