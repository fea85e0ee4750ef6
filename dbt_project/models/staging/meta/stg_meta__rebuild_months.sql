-- The enterprise-months this run rebuilds, derived by int_rebuild_months; the name the marts read it by.
select
    credit_code,
    month
from {{ ref('int_rebuild_months') }}
