-- Metered daily quantities add up exactly to the metered monthly quantity per enterprise and type.
-- A night checks the months it rebuilt (rebuilt_months_from: the first of them; the earlier ones were checked
-- when they were built); a full refresh and Spark check every month.
{%- set since = rebuilt_months_from() %}
with d as (
    select credit_code, {{ month_of('day') }} as month, energy_type, sum(quantity) as q
    from {{ ref('enterprise_energy_daily') }}
    {%- if since is not none %}
    where day >= {{ since }}
    {%- endif %}
    group by credit_code, {{ month_of('day') }}, energy_type
)

select d.*
from d
left join {{ ref('int_enterprise_monthly_sources') }} as s
    on d.credit_code = s.credit_code and d.month = s.month and d.energy_type = s.energy_type
    {%- if since is not none %}
    and s.month >= {{ since }}
    {%- endif %}
where s.metered_quantity is distinct from d.q
