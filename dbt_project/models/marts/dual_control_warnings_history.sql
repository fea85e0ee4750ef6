-- Dual-control warnings as of the last day of every closed month of each target year, and as of the as-of day:
-- the warning a monthly report shows for its month (the rule is macro dual_control_warnings_sql, the same as
-- marts.dual_control_warnings, which holds only the as-of day).
{{ dual_control_warnings_sql(month_ends=true) }}
