-- Whether each enterprise-month's declaration has arrived, and when (methodology "Provisional months"):
-- declarations of month M are due by the configured day of M+1 (var declaration_deadline_day, default the
-- 15th); a month stays provisional until its declaration arrives; one that arrives after the deadline is late
-- and still counts. Lateness is judged on the first submission (a resubmission replaces its figures, not its
-- punctuality). Months without any declaration are absent here: the marts read them as outstanding.
select
    credit_code,
    {{ dbt.safe_cast("period || '-01'", 'date') }} as month,
    min(submitted_at) as first_submitted_at,
    max(submitted_at) as latest_submitted_at
from {{ source('raw', 'declarations') }}
where credit_code is not null and period is not null
group by credit_code, {{ dbt.safe_cast("period || '-01'", 'date') }}
