{#-
  Incremental scope helpers. nengtan.transform writes meta.rebuild_meter_days / meta.rebuild_months before
  dbt runs. For a meter, the earliest listed day starts the rebuild; consumption depends on the last good
  reading before it (the "baseline"), so everything after that baseline is recomputed.
-#}

{% macro floor_15min(ts) -%}
    {{ dbt.dateadd('minute', '15 * cast(floor(' ~ dbt.datediff("cast('2000-01-01' as " ~ dbt.type_timestamp() ~ ")", ts, 'minute') ~ ' / 15) as ' ~ dbt.type_int() ~ ')', "cast('2000-01-01' as " ~ dbt.type_timestamp() ~ ")") }}
{%- endmacro %}

{#- meter_id, from_day (earliest day to rebuild) and baseline_ts (last good reading before from_day, null =
    rebuild the meter from installation), read from the classified readings in `readings`. -#}
{% macro meter_rebuild_scope(readings) -%}
    select
        s.meter_id,
        s.from_day,
        max(r.interval_start) as baseline_ts
    from (
        select meter_id, min(day) as from_day
        from {{ ref('stg_meta__rebuild_meter_days') }}
        group by meter_id
    ) as s
    left join {{ readings }} as r
        on r.meter_id = s.meter_id
        and r.is_good
        and r.interval_start < cast(s.from_day as {{ dbt.type_timestamp() }})
    group by s.meter_id, s.from_day
{%- endmacro %}

{#- Pre-hook: delete the rows of scoped meters after their baseline (readings: this; others: the readings model). -#}
{% macro delete_meter_scope(ts_column, readings=none, by_day=false) -%}
    {%- if is_incremental() -%}
        {%- set rel = readings if readings is not none else this -%}
        delete from {{ this }} as tgt
        where exists (
            select 1
            from ({{ meter_rebuild_scope(rel) }}) as sc
            where sc.meter_id = tgt.meter_id
            and (
                sc.baseline_ts is null
                {%- if by_day %}
                or tgt.{{ ts_column }} >= cast({{ dbt.dateadd('minute', 15, 'sc.baseline_ts') }} as date)
                {%- else %}
                or tgt.{{ ts_column }} > sc.baseline_ts
                {%- endif %}
            )
        )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook: delete the enterprise-months listed in meta.rebuild_months (by month, or by the month of day_column). -#}
{% macro delete_month_scope(day_column=none) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} as tgt
        where exists (
            select 1 from {{ ref('stg_meta__rebuild_months') }} as rm
            where rm.credit_code = tgt.credit_code
            and rm.month = {% if day_column %}{{ month_of('tgt.' ~ day_column) }}{% else %}tgt.month{% endif %}
        )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- The day the warnings and the meter-day spine are computed as of. -#}
{% macro as_of_day() -%}
    {%- if var('as_of') -%}
        cast('{{ var("as_of") }}' as date)
    {%- else -%}
        (select max(reading_day) from {{ source('raw', 'meter_readings') }})
    {%- endif -%}
{%- endmacro %}
