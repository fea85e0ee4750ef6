select
    park_id,
    name_zh,
    name_en,
    district,
    contact_email,
    cast('{{ var("city_id") }}' as {{ dbt.type_string() }}) as city_id
from {{ ref('stg_raw__parks') }}
