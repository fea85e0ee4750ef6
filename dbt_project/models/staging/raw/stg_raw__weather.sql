-- Daily weather per district: for the same district and day the row from the file that landed last wins
-- (late and corrected files, as for meter readings).
with latest as (
    {{ latest_versions(source('raw', 'weather'), ['district', 'date']) }}
)

select
    district,
    date as day,
    {{ dbt.safe_cast('temp_mean_c', 'decimal(6, 2)') }} as temp_mean_c,
    {{ dbt.safe_cast('temp_min_c', 'decimal(6, 2)') }} as temp_min_c,
    {{ dbt.safe_cast('temp_max_c', 'decimal(6, 2)') }} as temp_max_c,
    file_id,
    landed_at
from latest
