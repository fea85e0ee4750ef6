-- Quarantined rows per source, load day and reason category: the cause without the "path:line: " prefix,
-- quoted values masked, so "register_end '1.2.3' is not a number" and "register_end '--' ..." group together.
with causes as (
    select
        source,
        cast(quarantined_at as date) as day,
        case
            when reason like path || ':%'
                then trim(substr(reason, length(path || ':' || cast(line as {{ dbt.type_string() }}) || ':') + 1))
            else reason
        end as cause
    from {{ ref('stg_raw__quarantine') }}
)

select
    source,
    day,
    regexp_replace(cause, '''[^'']*''', '''…''', 'g') as reason_category,
    cast(count(*) as {{ dbt.type_bigint() }}) as rows
from causes
group by source, day, regexp_replace(cause, '''[^'']*''', '''…''', 'g')
