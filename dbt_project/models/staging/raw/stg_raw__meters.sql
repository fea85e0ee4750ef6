-- Registry snapshot: per meter the row from the latest landed registry file wins.
with ranked as (
    select
        *,
        row_number() over (partition by meter_id order by landed_at desc, source_line desc) as version_rank
    from {{ source('raw', 'meters') }}
    where meter_id is not null
)

select
    meter_id,
    credit_code,
    energy_type,
    unit,
    {{ dbt.safe_cast('multiplier', 'decimal(18, 4)') }} as multiplier,
    {{ dbt.safe_cast('register_max', 'decimal(18, 4)') }} as register_max,
    {{ dbt.safe_cast('register_at_install', 'decimal(18, 4)') }} as register_at_install,
    installed_at,
    removed_at,
    replaces_meter_id
from ranked
where version_rank = 1
