-- Claims of green certificates (1 certificate = 1 MWh). Exact repeats (the registry re-exports its list)
-- collapse; which claim counts is decided in int_certificate_claims.
-- trade_type: green_power (came with green-power trade trade_id) or standalone; empty = standalone.
with claims as (
    select distinct
        certificate_id,
        project_id,
        generation_month,
        owner_credit_code,
        claimed_period,
        claimed_at,
        coalesce(nullif(trade_type, ''), 'standalone') as trade_type,
        nullif(trade_id, '') as trade_id
    from {{ source('raw', 'green_certificates') }}
    where
        certificate_id is not null
        and claimed_period is not null
        and claimed_period <> ''
)

select
    certificate_id,
    project_id,
    generation_month,
    owner_credit_code,
    claimed_period,
    {{ dbt.safe_cast("claimed_period || '-01'", 'date') }} as claimed_month,
    claimed_at,
    trade_type,
    trade_id
from claims
