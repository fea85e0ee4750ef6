with ranked as (
    select
        *,
        row_number() over (partition by park_id order by landed_at desc, source_line desc) as version_rank
    from {{ source('raw', 'parks') }}
    where park_id is not null
)

select
    park_id,
    name_zh,
    name_en,
    district,
    contact_email
from ranked
where version_rank = 1
