{#-
  Incremental scope helpers. nengtan.transform writes meta.rebuild_meter_days / meta.rebuild_months before
  dbt runs. For a meter, the earliest listed day starts the rebuild; consumption depends on the last good
  reading before it (the "baseline"), so everything after that baseline is recomputed. The baselines are
  looked up once per run, in intermediate.int_meter_rebuild_scope.

  Cost must follow the night, not the history: every scan of a table that grows with history (raw readings,
  the meter models) is bounded by a time literal that DuckDB pushes into the scan, where zonemaps skip the
  row groups before it (rows are appended in time order). A filter on a subquery or a join does not prune a
  scan, so the bounds are read with run_query when the node runs and written into the SQL as literals.
-#}

{#- Literal lower bound of what this run rebuilds, from the scope model (rows of a scoped meter at or after it
    can be rebuilt; nothing before it is): `ts` for readings and intervals, `day` for meter-days. When the
    scope is empty nothing is rebuilt: a bound after every row. -#}
{% macro rebuild_bound(kind='ts') -%}
    {%- set column = 'rebuild_from_ts' if kind == 'ts' else 'rebuild_from_day' -%}
    {%- set value = query_value('select min(' ~ column ~ ') from ' ~ ref('int_meter_rebuild_scope')) -%}
    {%- if value is none -%}
        {{ sql_literal('9999-12-31', kind == 'ts' and 'timestamp' or 'date') }}
    {%- else -%}
        {{ sql_literal(value, kind == 'ts' and 'timestamp' or 'date') }}
    {%- endif -%}
{%- endmacro %}

{#- Per meter of `meters` (a relation with meter_id, from_day): its last good reading in `readings` before its
    from_day (the baseline), within `bounds` (literal time bounds on r.interval_start, so the scan skips the
    rest of the history). -#}
{% macro last_good_reading(meters, readings, bounds) -%}
    select
        d.meter_id,
        max(r.interval_start) as baseline_ts
    from {{ meters }} as d
    inner join {{ readings }} as r
        on
            d.meter_id = r.meter_id
            and r.interval_start < cast(d.from_day as {{ dbt.type_timestamp() }})
    where
        r.is_good
        and {{ bounds }}
    group by d.meter_id
{%- endmacro %}

{#- meter_id, from_day (earliest day to rebuild), baseline_ts (last good reading before from_day, null =
    rebuild the meter from installation) and the bounds derived from them, from the scope model. -#}
{% macro meter_rebuild_scope() -%}
    select
        meter_id,
        from_day,
        baseline_ts,
        rebuild_from_ts,
        rebuild_from_day
    from {{ ref('int_meter_rebuild_scope') }}
{%- endmacro %}

{#- Pre-hook: delete the rows of scoped meters after their baseline (by_day: from the day after it), all of
    them for a meter rebuilt from installation. The literal bound keeps the delete's scan to the rebuilt range:
    a meter without a good reading before its from_day has no row before it either (its install baseline,
    its first row, is a good reading; a registry change moves from_day before the old installation). -#}
{% macro delete_meter_scope(ts_column, by_day=false) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} as tgt
        where
            tgt.{{ ts_column }} >= {{ rebuild_bound('day' if by_day else 'ts') }}
            and exists (
                select 1
                from {{ ref('int_meter_rebuild_scope') }} as sc
                where
                    sc.meter_id = tgt.meter_id
                    {%- if by_day %}
                    and (sc.baseline_ts is null or tgt.{{ ts_column }} >= sc.rebuild_from_day)
                    {%- else %}
                    and (sc.baseline_ts is null or tgt.{{ ts_column }} > sc.baseline_ts)
                    {%- endif %}
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
        {%- if day_column %}
        and tgt.{{ day_column }} >= {{ rebuild_months_bound() }}
        {%- endif %}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- Literal: the first day of the earliest month in meta.rebuild_months (after every row when it is empty). -#}
{% macro rebuild_months_bound() -%}
    {%- set value = query_value('select min(month) from ' ~ ref('stg_meta__rebuild_months')) -%}
    {{ sql_literal(value if value is not none else '9999-12-31', 'date') }}
{%- endmacro %}

{#- `order by <column>` when this run rebuilds more than two days (a catch-up, a full refresh): rows then go
    into the table in time order, so each row group covers a short time span and the nightly scans bounded
    by rebuild_bound skip them. A night's rows span a day or two and need no sort. -#}
{% macro order_by_time(column) -%}
    {%- if model is mapping and model.get('resource_type') == 'unit_test' -%}
        {{- return('') -}}
    {%- endif -%}
    {%- set span = query_value(
        'select ' ~ days_between('min(day)', 'max(day)') ~ ' from ' ~ source('meta', 'rebuild_meter_days')) -%}
    {%- if not execute or flags.FULL_REFRESH or span is none or span > 2 -%}
        order by {{ column }}
    {%- endif -%}
{%- endmacro %}
