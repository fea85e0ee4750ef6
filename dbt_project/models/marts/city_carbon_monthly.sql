-- City totals: exact sums of the park rows (DECIMAL), with year-to-date energy and CO2.
{{ carbon_rollup(ref('park_carbon_monthly'), "'" ~ var('city_id') ~ "'", 'city_id') }}
