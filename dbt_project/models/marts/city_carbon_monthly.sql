-- City totals: exact sums of the enterprise rows (DECIMAL), intensities over matched enterprise-months.
{{ carbon_rollup(ref('enterprise_carbon_monthly'), "'" ~ var('city_id') ~ "'", 'city_id') }}
