{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{{ delete_warning_history() }}"
    )
}}
-- depends_on: {{ ref('int_rebuild_months') }}
-- Dual-control warnings as of the last day of every closed month of each target year, and as of the as-of day:
-- the warning a monthly report shows for its month (the rule is macro dual_control_warnings_sql, the same as
-- marts.dual_control_warnings, which holds only the as-of day).
-- Incremental: a closed month's end keeps its rows until a month up to it is rebuilt (warning_history_from); a
-- night recomputes its own as-of day, and the month-ends from the earliest month it rebuilt. A year of targets
-- rebuilt whole every night wrote 13 as-of days of rows (night 365 of the city: 205 k rows, 1.8 s).
{{ dual_control_warnings_sql(month_ends=true, from_day=warning_history_from()) }}
