select distinct
    credit_code,
    month
from {{ source('meta', 'rebuild_months') }}
