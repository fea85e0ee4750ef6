-- Every version of every project (the history): one row per project_id and updated_at, numbered in time.
-- The same version exported again (same project_id and updated_at) collapses to the latest landed row.
with latest as (
    {{ latest_versions(source('raw', 'projects'), ['project_id', 'updated_at']) }}
)

select
    project_id,
    credit_code,
    name_zh,
    name_en,
    kind,
    measure,
    -- meter ids of the measurement boundary, separated by one space (normalised at load)
    meter_ids,
    baseline_start,
    baseline_end,
    commissioned_on,
    {{ dbt.safe_cast('expected_annual_savings_tce', 'decimal(20, 4)') }} as expected_annual_savings_tce,
    {{ dbt.safe_cast('approved_annual_energy_tce', 'decimal(20, 4)') }} as approved_annual_energy_tce,
    {{ dbt.safe_cast('approved_annual_co2_t', 'decimal(20, 4)') }} as approved_annual_co2_t,
    status,
    updated_at,
    row_number() over (partition by project_id order by updated_at) as version_number,
    row_number() over (partition by project_id order by updated_at desc) = 1 as is_current,
    file_id,
    landed_at
from latest
