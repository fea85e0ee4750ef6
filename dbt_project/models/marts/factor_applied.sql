-- depends_on: {{ ref('restatements') }}
-- The factor version each enterprise-month is accounted with, served: the rule and its state live in
-- int_factor_applied. Built after restatements, which reads this table as the previous run left it.
select
    credit_code,
    month,
    {%- for c in pinned_factor_columns() %}
    {{ c }},
    {%- endfor %}
    applied_reason,
    applied_run_id,
    applied_at
from {{ ref('int_factor_applied') }}
