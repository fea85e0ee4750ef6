-- Park totals: exact sums of the enterprise rows (DECIMAL), with year-to-date energy and CO2.
{{ carbon_rollup(ref('enterprise_carbon_monthly'), 'park_id', 'park_id') }}
