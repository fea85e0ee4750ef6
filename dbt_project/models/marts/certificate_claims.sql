-- Every claim of a green certificate: the first by claimed_at counts, later ones are double counts.
select
    c.certificate_id,
    c.project_id,
    c.generation_month,
    c.owner_credit_code,
    c.claimed_period,
    c.claimed_at,
    cast(c.claim_rank as {{ dbt.type_int() }}) as claim_rank,
    c.claim_rank > 1 as is_double_claim,
    c.claim_rank = 1 as counted,
    f.owner_credit_code as counted_owner_credit_code,
    f.claimed_period as counted_period
from {{ ref('stg_raw__green_certificates') }} as c
inner join {{ ref('stg_raw__green_certificates') }} as f
    on c.certificate_id = f.certificate_id and f.claim_rank = 1
