-- Dual-control warnings per target (enterprise, park, city) as of the as-of day (methodology "Warnings
-- compare like with like"). Budgets: the projected year-end is computed per source over that source's own
-- coverage - metered energy / days metered (1 January .. as-of) x days in the year, plus declared energy /
-- declared months x 12 - so a month whose declaration has not arrived is never read as zero; park and city
-- projections are the sums of their enterprises'. The energy budget is on the dual-control total (net less
-- the data year's deductions). Intensities use only enterprise-months with value added declared, over the
-- energy as the data year counts it for intensity. A warning is provisional while any month behind it is.
-- Levels, labels and colours come from seeds/warning_levels.csv; the level of a ratio is macro warning_level.

{{ dual_control_warnings_sql(month_ends=false) }}
