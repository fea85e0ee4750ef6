with ranked as (
    select
        *,
        row_number() over (partition by level, entity_id, year order by landed_at desc, source_line desc)
            as version_rank
    from {{ source('raw', 'targets') }}
    where level is not null and entity_id is not null and year is not null
)

select
    level,
    entity_id,
    year,
    energy_budget_tce,
    carbon_budget_tco2,
    energy_intensity_target,
    carbon_intensity_target,
    -- optional: a reduction (%) of intensity against base_year; empty = not set, never zero
    base_year,
    energy_intensity_reduction_pct,
    carbon_intensity_reduction_pct
from ranked
where version_rank = 1
