with latest as (
    {{ latest_versions(source('raw', 'enterprises'), ['credit_code']) }}
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
from latest
