-- Every claim of a green certificate and whether it counts (methodology "Green electricity"): the first valid
-- claim of a serial counts; claims before the generation month or after the validity do not (before_generation,
-- expired); a later claim of a counted serial is a double count (double_claim, reported to both holders). The
-- certificates counted for an enterprise-month are capped at its electricity: taken in claim order, the part
-- beyond the cap is over_consumption (counted_mwh gives the part of the certificate that counts).
with claims as (
    select *
    from {{ ref('int_certificate_claims') }}
),

capped as (
    select
        c.certificate_id,
        c.claim_rank,
        g.electricity_mwh,
        row_number() over (
            partition by c.owner_credit_code, c.claimed_month order by c.claimed_at, c.certificate_id
        ) - 1 as counted_before
    from claims as c
    left join {{ ref('int_enterprise_green_monthly') }} as g
        on c.owner_credit_code = g.credit_code and c.claimed_month = g.month
    where c.counted_before_cap
),

shares as (
    select
        certificate_id,
        claim_rank,
        case
            when coalesce(electricity_mwh, 0) - counted_before >= 1 then 1
            when coalesce(electricity_mwh, 0) - counted_before <= 0 then 0
            else coalesce(electricity_mwh, 0) - counted_before
        end as counted_mwh
    from capped
),

first_counted as (
    select
        c.certificate_id,
        c.owner_credit_code,
        c.claimed_period
    from claims as c
    where c.counted_before_cap
)

select
    c.certificate_id,
    c.project_id,
    c.generation_month,
    c.owner_credit_code,
    c.claimed_period,
    c.claimed_at,
    c.trade_type,
    c.trade_id,
    cast(c.claim_rank as {{ dbt.type_int() }}) as claim_rank,
    c.is_double_claim,
    coalesce(s.counted_mwh, 0) > 0 as counted,
    cast(coalesce(s.counted_mwh, 0) as decimal(18, 6)) as counted_mwh,
    cast(
        case
            when c.reason_not_counted is not null then c.reason_not_counted
            when coalesce(s.counted_mwh, 0) < 1 then 'over_consumption'
        end as {{ dbt.type_string() }}
    ) as reason_not_counted,
    c.valid_to_month,
    f.owner_credit_code as counted_owner_credit_code,
    f.claimed_period as counted_period
from claims as c
left join shares as s on c.certificate_id = s.certificate_id and c.claim_rank = s.claim_rank
left join first_counted as f on c.certificate_id = f.certificate_id
