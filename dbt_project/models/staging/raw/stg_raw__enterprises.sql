with ranked as (
    select
        *,
        row_number() over (partition by credit_code order by landed_at desc, source_line desc) as version_rank
    from {{ source('raw', 'enterprises') }}
    where credit_code is not null
)

select
    credit_code,
    name_zh,
    name_en,
    park_id,
    industry_code,
    coalesce(key_energy_user, false) as key_energy_user,
    coalesce(ets_covered, false) as ets_covered,
    contact_email,
    industry_class
from ranked
where version_rank = 1
