-- The measurement boundary of each project as it stands (stg_raw__projects.meter_ids, ids separated by one
-- space since the load): one row per project and meter, in the order given. Up to 100 meters a project
-- (the data test on meters_in_boundary fails rather than drop any).
with digits as (
    select 0 as d
    union all
    select 1
    union all
    select 2
    union all
    select 3
    union all
    select 4
    union all
    select 5
    union all
    select 6
    union all
    select 7
    union all
    select 8
    union all
    select 9
),

positions as (
    select tens.d * 10 + ones.d + 1 as position
    from digits as tens
    cross join digits as ones
),

projects as (
    select
        project_id,
        credit_code,
        meter_ids,
        length(meter_ids) - length(replace(meter_ids, ' ', '')) + 1 as n_meters
    from {{ ref('stg_raw__projects') }}
    where meter_ids is not null
)

select
    p.project_id,
    p.credit_code,
    {{ split_part_at('p.meter_ids', "' '", 'n.position') }} as meter_id,
    n.position,
    p.n_meters as meters_in_boundary
from projects as p
inner join positions as n on p.n_meters >= n.position
