-- Every claim of a green certificate with its validity (methodology "Green electricity: the certificate is the
-- only proof"): a certificate is valid for 2 years from its generation month inclusive (generated before
-- 2024-01: to 2025-12). A claim for a period before the generation month or after the validity does not count,
-- with the reason; claim_rank numbers a serial's claims by claimed_at (a claim after the first is a double claim);
-- of the valid claims the first by claimed_at counts, every later one is a double count. The cap at the month's
-- electricity is applied per enterprise-month (int_enterprise_green_monthly).
with claims as (
    select
        certificate_id,
        project_id,
        generation_month,
        {{ dbt.safe_cast("generation_month || '-01'", 'date') }} as generation_month_start,
        owner_credit_code,
        claimed_period,
        claimed_month,
        claimed_at,
        trade_type,
        trade_id,
        row_number() over (
            partition by certificate_id order by claimed_at, owner_credit_code, claimed_period
        ) as claim_rank
    from {{ ref('stg_raw__green_certificates') }}
),

validity as (
    select
        c.*,
        case
            when c.generation_month_start < cast('2024-01-01' as date) then cast('2025-12-01' as date)
            else cast({{ dbt.dateadd('month', 23, 'c.generation_month_start') }} as date)
        end as valid_to_month
    from claims as c
),

checked as (
    select
        v.*,
        case
            when v.claimed_month < v.generation_month_start then 'before_generation'
            when v.claimed_month > v.valid_to_month then 'expired'
        end as reason_invalid
    from validity as v
),

ranked as (
    select
        c.*,
        -- rank among the serial's valid claims (invalid claims rank after every valid one)
        row_number() over (
            partition by c.certificate_id
            order by
                case when c.reason_invalid is null then 0 else 1 end, c.claimed_at, c.owner_credit_code,
                c.claimed_period
        ) as valid_rank
    from checked as c
),

first_valid as (
    select
        certificate_id,
        claimed_at as counted_claimed_at
    from ranked
    where valid_rank = 1 and reason_invalid is null
)

select
    r.certificate_id,
    r.project_id,
    r.generation_month,
    r.valid_to_month,
    r.owner_credit_code,
    r.claimed_period,
    r.claimed_month,
    r.claimed_at,
    r.trade_type,
    r.trade_id,
    r.claim_rank,
    r.claim_rank > 1 as is_double_claim,
    r.reason_invalid is null and r.valid_rank = 1 as counted_before_cap,
    case
        when r.reason_invalid is null and r.valid_rank = 1 then null
        -- a valid claim came first: this one is a double count, whatever else is wrong with it
        when f.counted_claimed_at is not null and f.counted_claimed_at <= r.claimed_at then 'double_claim'
        else r.reason_invalid
    end as reason_not_counted
from ranked as r
left join first_valid as f on r.certificate_id = f.certificate_id
