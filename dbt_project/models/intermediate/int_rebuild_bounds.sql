{{ config(materialized='table') }}
-- What this run's delete hooks bounded, written by the hooks themselves (record_rebuild_bound): per table
-- updated in place and its day column, the publish watermark it follows (since_day / since_month), the first
-- day the run may have changed (null: none) and whole (every row may have changed). Built empty before any
-- hook runs (int_meter_rebuild_scope and int_rebuild_months ref it); nengtan.publish_scope reads it after
-- the run. Stays empty on Spark, where the incremental models are rebuilt whole.
{{ no_rows({'table_name': dbt.type_string(), 'day_column': dbt.type_string(), 'watermark': dbt.type_string(),
             'since_day': 'date', 'whole': 'boolean'}) }}
