-- Every day from the first meter installation (or first reading) to the as-of day.
with bounds as (
    select
        least(
            coalesce((select min(cast(installed_at as date)) from {{ ref('stg_raw__meters') }}), {{ as_of_day() }}),
            coalesce((select min(reading_day) from {{ source('raw', 'meter_readings') }}), {{ as_of_day() }})
        ) as first_day,
        {{ as_of_day() }} as last_day
)

select
    cast({{ dbt.dateadd('day', 'n.n', 'b.first_day') }} as date) as day
from bounds as b
inner join {{ ref('int_numbers') }} as n
    on n.n <= {{ dbt.datediff('b.first_day', 'b.last_day', 'day') }}
where b.first_day is not null
