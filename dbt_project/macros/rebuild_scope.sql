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

{#- Whether the meter models read this run's scope: int_meter_daily, where the meter chain's history is kept, is
    built incrementally (a night: the previous run left it), not whole (a first build, a full refresh, Spark).
    For a model that is not incremental itself (the int_meter_intervals view), where is_incremental() is always
    false. -#}
{% macro meter_scope_applies() -%}
    {%- set previous_days = source('previous_scope_intermediate', 'int_meter_daily') -%}
    {%- if rebuilds_everything() -%}
        {{ return(false) }}
    {%- endif -%}
    {{ return(existing_relation(previous_days) is not none) }}
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
    scope is empty. What the publish is told (record_rebuild_bound); the scans read per meter (rebuild_range). -#}
{% macro rebuild_bound_value(kind='ts') -%}
    {%- set column = 'rebuild_from_ts' if kind == 'ts' else 'rebuild_from_day' -%}
    {{ return(query_value('select min(' ~ column ~ ') from ' ~ ref('int_meter_rebuild_scope'))) }}
{%- endmacro %}

{#- Per-meter rebuild bound. Most meters of a night start their rebuild at the same day (the usual day: the
    day with the most meters, the night's new day); a few reach back further (last good reading older: silent
    or faulty for days, a late file). Bounded by the earliest start of all, every meter's scan would read those
    older days. Split instead: every meter from the usual day's bound, and only the meters that reach back
    (few, listed as literals) from the earliest. Per meter `relation` (meter_id, `day_column`, `ts_column`),
    rows where `where` holds: {usual_day, usual_ts, first_day, first_ts, early} (early: the ids of the meters
    starting before the usual day, [] when none, none when too many to list: then the bound is the earliest
    start for every meter); none when there are no rows. -#}
{% macro meter_split(relation, day_column, ts_column=none, where='1 = 1') -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set ts = ts_column if ts_column is not none else 'cast(' ~ day_column ~ ' as ' ~ dbt.type_timestamp() ~ ')' -%}
    {%- set summary -%}
        with scoped as (
            select meter_id, {{ day_column }} as start_day, {{ ts }} as start_ts
            from {{ relation }}
            where {{ where }}
        ),
        by_day as (
            select start_day, count(*) as meters
            from scoped
            group by start_day
        ),
        usual as (
            select max(start_day) as start_day
            from by_day
            where meters = (select max(b.meters) from by_day as b)
        )
        select
            u.start_day,
            min(case when s.start_day >= u.start_day then s.start_ts end),
            min(s.start_day),
            min(s.start_ts),
            sum(case when s.start_day < u.start_day then 1 else 0 end)
        from scoped as s
        cross join usual as u
        group by u.start_day
    {%- endset -%}
    {%- set result = run_query(summary) -%}
    {%- if result is none or result.rows | length == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set row = result.rows[0] -%}
    {%- set early = [] -%}
    {#- a list is read by every row's filter; past a few thousand meters the night is a catch-up anyway -#}
    {%- if row[4] > 2000 -%}
        {%- set early = none -%}
    {%- elif row[4] > 0 -%}
        {%- set ids = run_query('select distinct meter_id from ' ~ relation ~ ' where ' ~ where ~ ' and '
            ~ day_column ~ ' < ' ~ sql_literal(row[0], 'date') ~ ' order by meter_id') -%}
        {%- for id_row in ids.rows -%}
            {%- do early.append(id_row[0]) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return({'usual_day': row[0], 'usual_ts': row[1], 'first_day': row[2], 'first_ts': row[3], 'early': early}) }}
{%- endmacro %}

{#- A predicate on rows (meter `meter`, time `column`) holding those at or after their meter's range of a
    split (meter_split): `column` >= the earliest start, and >= the usual start unless the meter is one of
    the early ones. `kind`: 'ts' or 'day' (the split's bounds compared, and literal type); `shift`: days added
    to every bound (a negative look-back). Both literals reach the scan (zonemaps skip the rows before the
    earliest start, the early meters' days are filtered before any join); no row when the split is none. -#}
{% macro split_range(split, column, meter='meter_id', kind='ts', shift=0) -%}
    {%- set type = 'timestamp' if kind == 'ts' else 'date' -%}
    {%- if split is none -%}
        {{ return(column ~ ' >= ' ~ sql_literal('9999-12-31', type)) }}
    {%- endif -%}
    {%- set usual, first = (split.usual_ts, split.first_ts) if kind == 'ts' else (split.usual_day, split.first_day) -%}
    {%- set usual, first = sql_literal(usual, type), sql_literal(first, type) -%}
    {%- if shift != 0 -%}
        {%- set usual, first = dbt.dateadd('day', shift, usual), dbt.dateadd('day', shift, first) -%}
    {%- endif -%}
    {%- if split.early is none -%}
        {{ return(column ~ ' >= ' ~ first) }}
    {%- elif split.early | length == 0 -%}
        {{ return(column ~ ' >= ' ~ usual) }}
    {%- endif -%}
    {%- set ids = [] -%}
    {%- for id in split.early -%}
        {%- do ids.append("'" ~ (id | string | replace("'", "''")) ~ "'") -%}
    {%- endfor -%}
    {{ return(column ~ ' >= ' ~ first ~ ' and (' ~ column ~ ' >= ' ~ usual ~ ' or ' ~ meter ~ ' in ('
        ~ ids | join(', ') ~ '))') }}
{%- endmacro %}

{#- The rows this run may rebuild, per meter (int_meter_rebuild_scope: a scoped meter's rows at or after its
    rebuild_from_ts, or rebuild_from_day for `kind` 'day', can be rebuilt, nothing before them): a predicate
    on `column` and `meter` (split_range), the usual meters bounded near the night and only the few reaching
    back read further. A superset of the rebuilt rows (other meters' rows in the range pass too): readers
    join the scope for the exact set. `readings`: the range int_meter_readings reclassifies (readings_from_ts),
    which starts at or after the meter-days' for a meter whose rebuild reaches back. -#}
{% macro rebuild_range(column, kind='ts', meter='meter_id', readings=false) -%}
    {%- set scope = scope_table('int_meter_rebuild_scope') -%}
    {%- set day, ts = ('cast(readings_from_ts as date)', 'readings_from_ts') if readings
        else ('rebuild_from_day', 'rebuild_from_ts') -%}
    {%- set split = meter_split(scope, day, ts) if scope is not none else none -%}
    {{ return(split_range(split, column, meter, kind)) }}
{%- endmacro %}

{#- A data test's filter to the meter rows this run rebuilt (rebuild_range): every row on a full refresh or where
    the models are rebuilt whole, none when nothing was rebuilt. For tests of the reading-level tables, where a
    night-wide bound would check the older days of every meter. -#}
{% macro rebuilt_rows(column, kind='ts', meter='meter_id') -%}
    {{ return('1 = 1' if rebuilds_everything() else rebuild_range(column, kind, meter)) }}
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
    reading in `readings` before from_day. Looked for in tiers, each only for the meters the tier before did not
    find, so the usual meter costs the narrowest scan: from `near` first (a timestamp literal an hour before the
    usual from_day: a meter that reported until its rebuild has its baseline there), then from `lookback` (a
    timestamp literal: the from_day of the meters touched by readings, less two days) up to `upper`, a scan the
    literals bound; only the meters without a good reading there that could have one before it (installed
    before it and before their from_day: silent or faulty for days) search the history before it. A reading
    found in a tier is after every reading before the tier's bound, so it is the last one. `registry`: a
    relation with meter_id, installed_at. `window`: the second search's range instead, a predicate on
    r.interval_start starting at `lookback` or before (per meter: split_range); the search before `lookback`
    then re-reads the part before it for the meters it did not find, where they have no good reading.
    `daily`: the meter-days as the previous run left them (int_meter_daily), which bound that last search: a good
    reading other than the install baseline gives its day a received interval, so the meter's last good reading
    before `lookback` is on its last day with one there: the readings are read for those days only (DuckDB
    prunes the scan by the join's range of reading_day), not the whole history before `lookback`. A meter
    without such a day (no good reading but its install baseline) is still searched in the whole history. -#}
{% macro baseline_ctes(meters, readings, registry, lookback, upper=none, window=none, near=none, daily=none) -%}
    {%- set below = ' and r.interval_start < ' ~ upper if upper is not none else '' -%}
    {%- set window = (window if window is not none else 'r.interval_start >= ' ~ lookback) ~ below -%}
    {%- if near is not none %}
nearest as (
    {{ last_good_reading(meters, readings, 'r.interval_start >= ' ~ near ~ below) }}
),

farther as materialized (
    -- usually the few meters starting early or silent before their rebuild: the wider scans read for them only
    select
        d.meter_id,
        d.from_day
    from {{ meters }} as d
    where d.meter_id not in (select n.meter_id from nearest as n)
),
    {%- set meters = 'farther' %}
    {%- endif %}
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

{%- if daily is not none %}
older_days as materialized (
    select
        d.meter_id,
        max(md.day) as day
    from missing as d
    inner join {{ daily }} as md on d.meter_id = md.meter_id
    where
        md.intervals_received > 0
        and md.day < d.from_day
        and md.day < cast({{ lookback }} as date)
    group by d.meter_id
),

never_received as materialized (
    -- no received interval before lookback: only an install baseline can be there (rare), searched as before
    select
        d.meter_id,
        d.from_day
    from missing as d
    where d.meter_id not in (select od.meter_id from older_days as od)
),

older as (
    select
        od.meter_id,
        max(r.interval_start) as baseline_ts
    from older_days as od
    inner join {{ readings }} as r
        on
            od.meter_id = r.meter_id
            and od.day = r.reading_day
    where r.is_good
    group by od.meter_id
    union all
    {{ last_good_reading('never_received', readings, 'r.interval_start < ' ~ lookback) }}
),
{%- else %}
older as (
    {{ last_good_reading('missing', readings, 'r.interval_start < ' ~ lookback) }}
),
{%- endif %}

baselines as (
    {%- if near is not none %}
    select
        meter_id,
        baseline_ts
    from nearest
    union all
    {%- endif %}
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

{#- In int_meter_rebuild_scope: a baseline column and the bound derived from it, for a meter of `d` (from_day,
    rebuilds_readings): `found` where readings touched the meter (null: from installation, bound = from_day),
    else the slot before from_day (a meter only the spine touched). -#}
{% macro scope_baseline_columns(found, baseline, bound) -%}
{%- set slot_before = dbt.dateadd('minute', -15, 'cast(d.from_day as ' ~ dbt.type_timestamp() ~ ')') %}
    case when d.rebuilds_readings then {{ found }} else {{ slot_before }} end as {{ baseline }},
    case
        when d.rebuilds_readings then coalesce({{ found }}, cast(d.from_day as {{ dbt.type_timestamp() }}))
        else {{ slot_before }}
    end as {{ bound }}
{%- endmacro %}

{#- meter_id, from_day (earliest day to rebuild), baseline_ts (last good reading before from_day, null =
    rebuild the meter from installation) and the bounds derived from them, from the scope model; and
    readings_baseline_ts / readings_from_ts, from where int_meter_readings reclassifies (the last good reading
    before the day the night touched, at or after baseline_ts). -#}
{% macro meter_rebuild_scope() -%}
    select
        meter_id,
        from_day,
        baseline_ts,
        rebuild_from_ts,
        rebuild_from_day,
        readings_baseline_ts,
        readings_from_ts
    from {{ ref('int_meter_rebuild_scope') }}
{%- endmacro %}

{#- Pre-hook: delete the rows of scoped meters after their baseline (by_day: from the day after it), all of
    them for a meter rebuilt from installation. The literal bound keeps the delete's scan to the rebuilt range:
    a meter without a good reading before its from_day has no row before it either (its install baseline,
    its first row, is a good reading; a registry change moves from_day before the old installation). -#}
{% macro delete_meter_scope(ts_column, by_day=false, readings=false) -%}
    {%- if by_day -%}
        {%- do record_rebuild_bound(ts_column, 'since_day', rebuild_bound_value('day') if is_incremental() else none,
                                    whole=not is_incremental()) -%}
    {%- endif -%}
    {%- if is_incremental() -%}
        {%- set baseline = 'sc.readings_baseline_ts' if readings else 'sc.baseline_ts' %}
        delete from {{ this }} as tgt
        where
            {{ rebuild_range('tgt.' ~ ts_column, 'day' if by_day else 'ts', 'tgt.meter_id', readings=readings) }}
            and exists (
                select 1
                from {{ ref('int_meter_rebuild_scope') }} as sc
                where
                    sc.meter_id = tgt.meter_id
                    {%- if by_day %}
                    and (sc.baseline_ts is null or tgt.{{ ts_column }} >= sc.rebuild_from_day)
                    {%- else %}
                    and ({{ baseline }} is null or tgt.{{ ts_column }} > {{ baseline }})
                    {%- endif %}
            )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook: delete the enterprise-months of `scope` (a relation with credit_code, month; int_rebuild_months by
    default) by month, or by the month of day_column, with a literal bound on the month or day so the delete's
    scan skips the months before the scope. With day_column, the first day is recorded for the publish
    (record_rebuild_bound); a table keyed by month alone is compared and copied whole by the publish. -#}
{% macro delete_month_scope(day_column=none, scope=none) -%}
    {%- set scope = scope if scope is not none else ref('int_rebuild_months') -%}
    {%- if day_column -%}
        {%- do record_rebuild_bound(day_column, 'since_month', rebuild_months_value(scope) if is_incremental() else none,
                                    whole=not is_incremental()) -%}
    {%- endif -%}
    {%- if is_incremental() -%}
        delete from {{ this }} as tgt
        where exists (
            select 1 from {{ scope }} as rm
            where rm.credit_code = tgt.credit_code
            and rm.month = {% if day_column %}{{ month_of('tgt.' ~ day_column) }}{% else %}tgt.month{% endif %}
        )
        and tgt.{{ day_column or 'month' }} >= {{ rebuild_months_bound(scope) }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- The first day of the earliest month in `scope` (int_rebuild_months by default; none when it is empty);
    rebuild_months_bound: as a literal, after every row when it is empty. -#}
{% macro rebuild_months_value(scope=none) -%}
    {{ return(query_value('select min(month) from ' ~ (scope if scope is not none else ref('int_rebuild_months')))) }}
{%- endmacro %}

{% macro rebuild_months_bound(scope=none) -%}
    {%- set value = rebuild_months_value(scope) -%}
    {{ sql_literal(value if value is not none else '9999-12-31', 'date') }}
{%- endmacro %}

{#- `order by <column>` when this run rebuilds more than two days (a catch-up, a full refresh): rows then go
    into the table in time order, so each row group covers a short time span and the nightly scans bounded
    by rebuild_range skip them. A night's rows span a day or two and need no sort. -#}
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
