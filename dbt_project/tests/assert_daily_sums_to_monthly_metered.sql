-- Metered daily quantities add up exactly to the metered monthly quantity per enterprise and type.
with d as (
    select credit_code, {{ month_of('day') }} as month, energy_type, sum(quantity) as q
    from {{ ref('enterprise_energy_daily') }}
    group by credit_code, {{ month_of('day') }}, energy_type
)

select d.*
from d
left join {{ ref('int_enterprise_monthly_sources') }} as s
    on d.credit_code = s.credit_code and d.month = s.month and d.energy_type = s.energy_type
where s.metered_quantity is distinct from d.q
