select
    e.credit_code,
    e.name_zh,
    e.name_en,
    e.park_id,
    p.name_zh as park_name_zh,
    p.name_en as park_name_en,
    e.industry_code,
    e.industry_class,
    p.district,
    e.key_energy_user,
    e.ets_covered,
    e.contact_email
from {{ ref('stg_raw__enterprises') }} as e
left join {{ ref('stg_raw__parks') }} as p on e.park_id = p.park_id
