-- The national carbon market registry's record per enterprise and data year: a later file with the same
-- enterprise and year replaces the row (latest landed wins). Surrendered quantities are "so far": empty means
-- nothing surrendered yet (0).
with latest as (
    {{ latest_versions(source('raw', 'ets'), ['credit_code', 'year']) }}
)

select
    credit_code,
    year,
    sector,
    {{ dbt.safe_cast('verified_emissions_tco2', 'decimal(20, 4)') }} as verified_emissions_tco2,
    {{ dbt.safe_cast('allowances_allocated_t', 'decimal(20, 4)') }} as allowances_allocated_t,
    {{ dbt.safe_cast('coalesce(allowances_surrendered_t, 0)', 'decimal(20, 4)') }} as allowances_surrendered_t,
    {{ dbt.safe_cast('coalesce(ccer_surrendered_t, 0)', 'decimal(20, 4)') }} as ccer_surrendered_t,
    compliance_deadline,
    file_id,
    landed_at
from latest
