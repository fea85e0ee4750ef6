{{ config(materialized='table') }}
-- depends_on: {{ ref('int_numbers') }}
-- depends_on: {{ ref('int_rebuild_meters') }}
-- depends_on: {{ ref('int_rebuild_bounds') }}
-- The enterprise-months this run rebuilds: the enterprise half of the night's rebuild scope, derived here
-- from what landed (pending_files): every month a rebuilt meter's days fall in (int_rebuild_meters, its
-- enterprise as the registry lists it now, null when it names none), the months of declarations in pending
-- files or in the versions they replaced, the claimed months of certificates in pending files, all months
-- of an enterprise whose park changed in a pending registry file, and the restated months
-- (var restate_months: 'YYYY-MM' or 'CREDITCODE:YYYY-MM', months the marts hold). Empty on a full refresh
-- and on Spark (rebuilds_everything).

{% if rebuilds_everything() %}
{{ no_rows({'credit_code': dbt.type_string(), 'month': 'date'}) }}
{% else %}
{%- set superseded = existing_relation(source('raw_superseded', 'superseded_declarations')) %}
{%- set previous_months = existing_relation(source('previous_scope_marts', 'enterprise_carbon_monthly')) %}

with pending as (
    {{ pending_files() }}
),

meter_months as (
    select distinct
        credit_code,
        {{ month_of('from_day') }} as first_month,
        {{ month_of('to_day') }} as last_month
    from {{ ref('int_rebuild_meters') }}
),

months as (
    select
        m.credit_code,
        cast({{ dbt.dateadd('month', 'n.n', 'm.first_month') }} as date) as month
    from meter_months as m
    inner join {{ ref('int_numbers') }} as n
        on n.n <= {{ dbt.datediff('m.first_month', 'm.last_month', 'month') }}
    union
    select
        credit_code,
        cast(period || '-01' as date) as month
    from {{ source('raw', 'declarations') }}
    where file_id in (select p.file_id from pending as p) and credit_code is not null
    {%- if superseded is not none %}
    union
    -- declarations of replaced file versions: their months are recomputed without them
    select
        credit_code,
        cast(period || '-01' as date) as month
    from {{ superseded }}
    where file_id in (select p.file_id from pending as p) and credit_code is not null
    {%- endif %}
    union
    select
        owner_credit_code as credit_code,
        cast(claimed_period || '-01' as date) as month
    from {{ source('raw', 'green_certificates') }}
    where
        claimed_period is not null
        and claimed_period <> ''
        and certificate_id in (
            select g.certificate_id
            from {{ source('raw', 'green_certificates') }} as g
            where g.file_id in (select p.file_id from pending as p)
        )
    {%- if previous_months is not none %}
    union
    -- an enterprise whose registry row (its park) changed: all its months
    select
        e.credit_code,
        e.month
    from {{ previous_months }} as e
    inner join ({{ latest_versions(source('raw', 'enterprises'), ['credit_code']) }}) as v
        on e.credit_code = v.credit_code
    where
        v.file_id in (select p.file_id from pending as p)
        and e.park_id is distinct from v.park_id
    {%- for item in var('restate_months', []) %}
    {%- set code, _, month = item.rpartition(':') %}
    union
    select
        credit_code,
        month
    from {{ previous_months }}
    where month = cast('{{ month }}-01' as date){% if code %} and credit_code = '{{ code }}'{% endif %}
    {%- endfor %}
    {%- endif %}
)

select distinct
    credit_code,
    month
from months
{% endif %}
