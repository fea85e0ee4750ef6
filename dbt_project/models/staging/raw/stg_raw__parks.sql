with latest as (
    {{ latest_versions(source('raw', 'parks'), ['park_id']) }}
)

select
    park_id,
    name_zh,
    name_en,
    district,
    contact_email
from latest
