{{ config(alias='warning_levels') }}
-- The warning levels (seeds/warning_levels.csv) published with the marts, so that every consumer of the serving
-- copy (dashboards, the monthly report, alerts) reads the one configuration.
select
    warning_level,
    cast(rank as {{ dbt.type_int() }}) as rank,
    upper_pct,
    upper_inclusive,
    label_zh,
    label_en,
    colour
from {{ ref('warning_levels') }}
