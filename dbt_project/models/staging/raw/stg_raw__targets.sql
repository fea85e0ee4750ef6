with latest as (
    {{ latest_versions(source('raw', 'targets'), ['level', 'entity_id', 'year']) }}
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
from latest
