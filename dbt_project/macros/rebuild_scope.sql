{#-
  The night's rebuild scope. What landed is recorded by the loader (raw.load_log: files not yet transformed,
  pending_files); what it touches is derived here and in two models, and only there: int_rebuild_meters (per
  meter, the days to rebuild) and int_rebuild_months (the enterprise-months), read by int_meter_rebuild_scope
  (the baselines, looked up once per run), by the models' delete hooks below and, after the run, by the
  publish (nengtan.publish_scope reads the bounds these models wrote).

  Cost must follow the night, not the history: every scan of a table that grows with history (raw readings,
  the meter models) is bounded by a time literal that DuckDB pushes into the scan, where zonemaps skip the
  row groups before it (rows are appended in time order). A filter on a subquery or a join does not prune a
  scan, so the bounds are read with run_query when the node runs and written into the SQL as literals.
-#}

{#- The files loaded and not yet transformed (raw.load_log, not rejected): what the night landed. -#}
{% macro pending_files() -%}
    select file_id
    from {{ source('raw', 'load_log') }}
    where transformed_run_id is null and status <> 'rejected'
{%- endmacro %}

{#- No scope to derive: a full refresh, or an engine where the incremental models are rebuilt whole
    (incremental_materialization: Spark over plain Parquet). The scope models are then empty. -#}
{% macro rebuilds_everything() -%}
    {{ return(flags.FULL_REFRESH or incremental_materialization() != 'incremental') }}
{%- endmacro %}

{#- A query of no rows with these columns ({name: type}): an empty scope, or no baselines to look up. -#}
{% macro no_rows(columns) -%}
    select
    {%- for name, type in columns.items() %}
        cast(null as {{ type }}) as {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
    where 1 = 0
{%- endmacro %}

{#- `relation` (a source naming a table as the previous run left it) when it exists, else none (a fresh
    warehouse, or while parsing). -#}
{% macro existing_relation(relation) -%}
    {%- if execute and adapter.get_relation(relation.database, relation.schema, relation.identifier) -%}
        {{ return(relation) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{#- The table a scope model built this run, for a node that runs after it without a ref to it (a data test's
    `where`, order_by_time): a ref from such a node fails dbt's dependency check. -#}
{% macro scope_table(name) -%}
    {%- set node = graph.nodes.get('model.' ~ project_name ~ '.' ~ name) if execute else none -%}
    {%- if node is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias)) }}
{%- endmacro %}

{#- Lower bound of what this run rebuilds, from the scope model (rows of a scoped meter at or after it can be
    rebuilt; nothing before it is): `ts` for readings and intervals, `day` for meter-days; none when the
    scope is empty. rebuild_bound: the same as a literal, after every row when the scope is empty. -#}
{% macro rebuild_bound_value(kind='ts') -%}
    {%- set column = 'rebuild_from_ts' if kind == 'ts' else 'rebuild_from_day' -%}
    {{ return(query_value('select min(' ~ column ~ ') from ' ~ ref('int_meter_rebuild_scope'))) }}
{%- endmacro %}

{% macro rebuild_bound(kind='ts') -%}
    {%- set value = rebuild_bound_value(kind) -%}
    {{ sql_literal(value if value is not none else '9999-12-31', 'timestamp' if kind == 'ts' else 'date') }}
{%- endmacro %}

{#- In a delete hook of a table keyed by `day_column`: record in int_rebuild_bounds the first day this run may
    change in it (`since`, none: no day), or that it may change every row (`whole`: a first build, a full
    refresh, meters whose registry values changed), with the publish watermark it follows (since_day:
    meter-days, since_month: enterprise-months). The publish reads these (nengtan.publish_scope). Only
    where the incremental models are updated in place (not on Spark, where they are rebuilt whole). -#}
{% macro record_rebuild_bound(day_column, watermark, since=none, whole=false) -%}
    {%- if execute and incremental_materialization() == 'incremental' -%}
        {%- set bounds = scope_table('int_rebuild_bounds') -%}
        {%- if bounds is not none and adapter.get_relation(bounds.database, bounds.schema, bounds.identifier) -%}
            {%- set row = [
                "'" ~ this.schema ~ "." ~ this.identifier ~ "'", "'" ~ day_column ~ "'", "'" ~ watermark ~ "'",
                sql_literal(since, 'date') if since is not none else 'null', 'true' if whole else 'false'] -%}
            {%- do run_query('insert into ' ~ bounds ~ ' values (' ~ row | join(', ') ~ ')') -%}
        {%- endif -%}
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

{#- CTEs ending in `baselines` (meter_id, baseline_ts): per meter of `meters` (meter_id, from_day), its last good
    reading in `readings` before from_day. Looked for from `lookback` (a timestamp literal: the earliest from_day
    of the meters touched by readings, less two days) up to `upper` first, a scan the literals bound; only the
    meters without a good reading there that could have one before it (installed before it and before their
    from_day: silent or faulty for days) search the history before it. `registry`: a relation with meter_id,
    installed_at. -#}
{% macro baseline_ctes(meters, readings, registry, lookback, upper=none) -%}
    {%- set window = 'r.interval_start >= ' ~ lookback
        ~ (' and r.interval_start < ' ~ upper if upper is not none else '') -%}
recent as (
    {{ last_good_reading(meters, readings, window) }}
),

missing as materialized (
    -- usually none, and then the search below reads nothing
    select
        d.meter_id,
        d.from_day
    from {{ meters }} as d
    left join {{ registry }} as m on d.meter_id = m.meter_id
    where
        d.meter_id not in (select rc.meter_id from recent as rc)
        and (
            m.installed_at is null
            or (
                m.installed_at < {{ dbt.dateadd('minute', 30, lookback) }}
                and m.installed_at < {{ dbt.dateadd('minute', 30, 'cast(d.from_day as ' ~ dbt.type_timestamp() ~ ')') }}
            )
        )
),

older as (
    {{ last_good_reading('missing', readings, 'r.interval_start < ' ~ lookback) }}
),

baselines as (
    select
        meter_id,
        baseline_ts
    from recent
    union all
    select
        meter_id,
        baseline_ts
    from older
)
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
    {%- if by_day -%}
        {%- do record_rebuild_bound(ts_column, 'since_day', rebuild_bound_value('day') if is_incremental() else none,
                                    whole=not is_incremental()) -%}
    {%- endif -%}
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

{#- Pre-hook of a table that holds only what the run rebuilt (int_meter_intervals): on a night, the previous
    run's rows go first, whole; a first build or a full refresh creates the table anew. -#}
{% macro delete_previous_run() -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook: delete the enterprise-months of int_rebuild_months (by month, or by the month of day_column). -#}
{% macro delete_month_scope(day_column=none) -%}
    {%- if day_column -%}
        {%- do record_rebuild_bound(day_column, 'since_month', rebuild_months_value() if is_incremental() else none,
                                    whole=not is_incremental()) -%}
    {%- endif -%}
    {%- if is_incremental() -%}
        delete from {{ this }} as tgt
        where exists (
            select 1 from {{ ref('int_rebuild_months') }} as rm
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

{#- The first day of the earliest month in int_rebuild_months (none when it is empty); rebuild_months_bound: as a
    literal, after every row when it is empty. -#}
{% macro rebuild_months_value() -%}
    {{ return(query_value('select min(month) from ' ~ ref('int_rebuild_months'))) }}
{%- endmacro %}

{% macro rebuild_months_bound() -%}
    {%- set value = rebuild_months_value() -%}
    {{ sql_literal(value if value is not none else '9999-12-31', 'date') }}
{%- endmacro %}

{#- `order by <column>` when this run rebuilds more than two days (a catch-up, a full refresh): rows then go
    into the table in time order, so each row group covers a short time span and the nightly scans bounded
    by rebuild_bound skip them. A night's rows span a day or two and need no sort. -#}
{% macro order_by_time(column) -%}
    {%- if model is mapping and model.get('resource_type') == 'unit_test' -%}
        {{- return('') -}}
    {%- endif -%}
    {%- set meters = scope_table('int_rebuild_meters') -%}
    {%- set span = query_value('select ' ~ days_between('min(from_day)', 'max(to_day)') ~ ' from ' ~ meters)
        if meters is not none else none -%}
    {%- if not execute or flags.FULL_REFRESH or span is none or span > 2 -%}
        order by {{ column }}
    {%- endif -%}
{%- endmacro %}
