{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{{ delete_rebuilt_days() }}"
    )
}}
-- depends_on: {{ ref('int_enterprise_rebuild_days') }}
-- Metered energy per park, day and energy type: sums of the enterprise rows, for the dashboards' park and
-- city views (hundreds of rows per day for the whole city instead of one per enterprise). completeness_sum /
-- enterprises is the mean of the enterprise rows' completeness, so AVG over enterprises stays exact at any level.
-- A day some enterprise's row was rebuilt on (int_enterprise_rebuild_days: from its first rebuilt day of the
-- month) is recomputed for every park (an enterprise that changed park moves its rows from one park to the
-- other; its whole month is rebuilt then).

select
    e.park_id,
    e.day,
    e.energy_type,
    e.unit,
    cast(sum(e.quantity) as decimal(38, 8)) as quantity,
    cast(sum(e.energy_tce) as decimal(38, 6)) as energy_tce,
    cast(sum(e.co2_t) as decimal(38, 6)) as co2_t,
    cast(count(*) as {{ dbt.type_bigint() }}) as enterprises,
    cast(sum(e.completeness) as decimal(38, 4)) as completeness_sum,
    cast(sum(e.intervals_received) as {{ dbt.type_bigint() }}) as intervals_received,
    {{ current_run_id() }} as built_run_id
from {{ ref('enterprise_energy_daily') }} as e
{% if is_incremental() %}
-- the literal in in_rebuilt_days lets DuckDB skip the row groups of earlier days
where {{ in_rebuilt_days('e.day') }}
{% endif %}
group by e.park_id, e.day, e.energy_type, e.unit
