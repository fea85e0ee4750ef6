-- Quarantined rows per source, data day and reason category: the cause without the "path:line: " prefix,
-- quoted values masked, so "register_end '1.2.3' is not a number" and "register_end '--' ..." group together.
-- The day comes from the landing zone (the file's partition, else the day the file landed), never from
-- the clock of the run that loaded it, so a rebuild from the same files gives the same rows.
with causes as (
    select
        q.source,
        case
            when length(f.partition_key) = 10 then cast(f.partition_key as date)
            when length(f.partition_key) = 7 then cast(f.partition_key || '-01' as date)
            when length(f.partition_key) = 4 then cast(f.partition_key || '-01-01' as date)
            else cast(f.landed_at as date)
        end as day,
        case
            when q.reason like q.path || ':%'
                then trim(substr(q.reason, length(q.path || ':' || cast(q.line as {{ dbt.type_string() }}) || ':') + 1))
            else q.reason
        end as cause
    from {{ ref('stg_raw__quarantine') }} as q
    inner join {{ ref('stg_raw__load_log') }} as f on q.file_id = f.file_id
)

select
    source,
    day,
    {{ regexp_replace_all('cause', "'''[^'']*'''", "'''…'''") }} as reason_category,
    cast(count(*) as {{ dbt.type_bigint() }}) as rows
from causes
group by source, day, {{ regexp_replace_all('cause', "'''[^'']*'''", "'''…'''") }}
