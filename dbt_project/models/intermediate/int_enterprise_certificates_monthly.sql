-- Certificates counted per enterprise and claimed period (first claim by claimed_at only), in MWh.
select
    owner_credit_code as credit_code,
    claimed_month as month,
    cast(count(*) as decimal(38, 6)) as certificate_mwh
from {{ ref('stg_raw__green_certificates') }}
where claim_rank = 1
group by owner_credit_code, claimed_month
