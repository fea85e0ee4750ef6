-- The project as it stands: per project_id the version with the latest updated_at (history in
-- stg_raw__project_versions).
select
    project_id,
    credit_code,
    name_zh,
    name_en,
    kind,
    measure,
    meter_ids,
    baseline_start,
    baseline_end,
    commissioned_on,
    expected_annual_savings_tce,
    approved_annual_energy_tce,
    approved_annual_co2_t,
    status,
    updated_at,
    version_number,
    file_id,
    landed_at
from {{ ref('stg_raw__project_versions') }}
where is_current
