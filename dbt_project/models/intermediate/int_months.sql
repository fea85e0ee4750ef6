-- Every month the warehouse has meter days, declarations or certificate claims for.
select distinct {{ month_of('day') }} as month from {{ ref('int_calendar') }}
union
select distinct month from {{ ref('stg_raw__declarations') }}
where month is not null
union
select distinct claimed_month from {{ ref('stg_raw__green_certificates') }}
where claimed_month is not null
