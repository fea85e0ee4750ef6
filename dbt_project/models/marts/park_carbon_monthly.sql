-- Park totals: exact sums of the enterprise rows (DECIMAL), intensities over matched enterprise-months.
{{ carbon_rollup(ref('enterprise_carbon_monthly'), 'park_id', 'park_id') }}
