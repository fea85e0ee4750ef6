-- Green electricity per enterprise-month, counted once, through the certificates (methodology "Green
-- electricity"): valid first claims (int_certificate_claims), capped at the month's electricity consumption
-- (from the source that counts); the excess is unused, never carried into another month or enterprise.
-- The declared green-power trade volume (green_electricity_direct) is never deducted by itself: it is
-- reconciled against the certificates of trade type green_power; a volume they do not cover is a finding.
with certificates as (
    select
        owner_credit_code as credit_code,
        claimed_month as month,
        count(*) as valid_certificates,
        sum(case when trade_type = 'green_power' then 1 else 0 end) as green_power_certificates
    from {{ ref('int_certificate_claims') }}
    where counted_before_cap
    group by owner_credit_code, claimed_month
),

electricity as (
    select
        credit_code,
        month,
        quantity as electricity_kwh
    from {{ ref('int_enterprise_monthly_sources') }}
    where energy_type = 'electricity'
),

declared as (
    select
        credit_code,
        month,
        green_electricity_direct_kwh
    from {{ ref('int_enterprise_declared_other') }}
    where green_electricity_direct_kwh is not null
),

keys as (
    select
        credit_code,
        month
    from certificates
    union
    select
        credit_code,
        month
    from declared
)

select
    k.credit_code,
    k.month,
    cast(coalesce(c.valid_certificates, 0) as decimal(38, 6)) as valid_certificate_mwh,
    cast(coalesce(e.electricity_kwh, 0) / 1000 as decimal(38, 6)) as electricity_mwh,
    cast(least(coalesce(c.valid_certificates, 0), coalesce(e.electricity_kwh, 0) / 1000) as decimal(38, 6))
        as green_mwh,
    cast(
        coalesce(c.valid_certificates, 0)
        - least(coalesce(c.valid_certificates, 0), coalesce(e.electricity_kwh, 0) / 1000)
        as decimal(38, 6)
    ) as green_mwh_unused,
    cast(coalesce(c.green_power_certificates, 0) as decimal(38, 6)) as green_power_certificate_mwh,
    cast(d.green_electricity_direct_kwh / 1000 as decimal(38, 6)) as green_direct_declared_mwh,
    cast(
        case
            when d.green_electricity_direct_kwh / 1000 > coalesce(c.green_power_certificates, 0)
                then d.green_electricity_direct_kwh / 1000 - coalesce(c.green_power_certificates, 0)
            else 0
        end as decimal(38, 6)
    ) as green_direct_uncovered_mwh
from keys as k
left join certificates as c on k.credit_code = c.credit_code and k.month = c.month
left join electricity as e on k.credit_code = e.credit_code and k.month = e.month
left join declared as d on k.credit_code = d.credit_code and k.month = d.month
