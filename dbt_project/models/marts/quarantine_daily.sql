-- Quarantined rows per source, load day and reason category (the reason text before the first ':').
select
    source,
    cast(quarantined_at as date) as day,
    trim({{ dbt.split_part('reason', "':'", 1) }}) as reason_category,
    cast(count(*) as {{ dbt.type_bigint() }}) as rows
from {{ ref('stg_raw__quarantine') }}
group by source, cast(quarantined_at as date), trim({{ dbt.split_part('reason', "':'", 1) }})
