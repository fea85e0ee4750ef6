-- Only the latest submission (by submitted_at) of an enterprise-month counts; it replaces earlier ones as
-- a whole. A submission loaded twice collapses to one row per item (the version that counts: version_rank).
with items as (
    select
        credit_code,
        period,
        submission_id,
        submitted_at,
        item,
        quantity,
        unit,
        {{ version_rank(['credit_code', 'period', 'submission_id', 'item']) }} as item_rank
    from {{ source('raw', 'declarations') }}
    where credit_code is not null and period is not null
),

latest as (
    select
        credit_code,
        period,
        submission_id,
        dense_rank() over (
            partition by credit_code, period order by submitted_at desc, submission_id desc
        ) as submission_rank
    from (
        select distinct
            credit_code,
            period,
            submission_id,
            submitted_at
        from items
    ) as s
)

select
    i.credit_code,
    i.period,
    {{ dbt.safe_cast("i.period || '-01'", 'date') }} as month,
    i.submission_id,
    i.submitted_at,
    i.item,
    {{ dbt.safe_cast('i.quantity', 'decimal(20, 4)') }} as quantity,
    i.unit
from items as i
inner join latest as l
    on
        i.credit_code = l.credit_code
        and i.period = l.period
        and i.submission_id = l.submission_id
where i.item_rank = 1 and l.submission_rank = 1
