{#- dbt-duckdb 1.11.1's incremental materialization (dbt/include/duckdb/macros/materializations/incremental.sql),
    with one change, marked "nengtan": an incremental run of an `append` model with on_schema_change='fail' inserts
    its query straight into the table. Upstream first writes the rows into a temporary table and then copies them
    into the target: for int_meter_readings on night 365 of the city that copy was 8.4 s of 24.9 s and held the
    night's 9.8 M rows in memory a second time (docs/performance.md, "Direct append"). The schema check stays: the
    query's columns (DESCRIBE, nothing executed) must be the table's, or the run fails as upstream's does. -#}
{% materialization incremental, adapter="duckdb", supported_languages=['sql', 'python'] -%}

  {%- set language = model['language'] -%}
  -- relations
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- set target_relation = this.incorporate(type='table') -%}
  {%- set intermediate_relation = make_intermediate_relation(target_relation)-%}
  {%- set backup_relation_type = 'table' if existing_relation is none else existing_relation.type -%}
  {%- set backup_relation = make_backup_relation(target_relation, backup_relation_type) -%}

  -- configs
  {%- set unique_key = config.get('unique_key') -%}
  {%- set full_refresh_mode = (should_full_refresh()  or existing_relation.is_view) -%}
  {%- set on_schema_change = incremental_validate_on_schema_change(config.get('on_schema_change'), default='ignore') -%}
  {%- set partitioned_by = none -%}
  {%- set sorted_by = none -%}
  {%- if existing_relation is none or full_refresh_mode -%}
    {%- set partitioned_by = duckdb__get_partitioned_by(target_relation, false) -%}
    {%- set sorted_by = duckdb__get_sorted_by(target_relation, false) -%}
  {%- endif -%}
  {%- set skip_auto_begin = (partitioned_by or sorted_by) and adapter.is_ducklake(target_relation) -%}

  -- the temp_ and backup_ relations should not already exist in the database; get_relation
  -- will return None in that case. Otherwise, we get a relation that we can drop
  -- later, before we try to use this name for the current operation. This has to happen before
  -- BEGIN, in a separate transaction
  {%- set preexisting_intermediate_relation = load_cached_relation(intermediate_relation)-%}
  {%- set preexisting_backup_relation = load_cached_relation(backup_relation) -%}
   -- grab current tables grants config for comparision later on
  {% set grant_config = config.get('grants') %}
  {{ drop_relation_if_exists(preexisting_intermediate_relation) }}
  {{ drop_relation_if_exists(preexisting_backup_relation) }}

  {% set to_drop = [] %}
  {% set dropped_dependents = [] %}
   -- if not using a temporary table we will update the temp relation to use a different temp schema ("dbt_temp" by default)
   -- for microbatch with concurrent batches, include batch timestamps in the identifier to avoid collisions
  {%- set batch_id = adapter.batch_id_for_model(model) -%}
  {% set temporary_relation = duckdb__dispatch_temporary_relation(target_relation, batch_id) %}
  {% set temp_relation = temporary_relation.relation %}
  {% set temporary = temporary_relation.temporary %}
  {% if not temporary %}
    {% do to_drop.append(temp_relation) %}
  {% endif %}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  -- `BEGIN` happens here:
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {% if existing_relation is none %}
    {% set build_sql = create_table_as(False, target_relation, compiled_code, language, partitioned_by=partitioned_by, sorted_by=sorted_by) %}
  {% elif full_refresh_mode and has_foreign_key_constraints(existing_relation) %}
    {#-- Tables with foreign keys must not be renamed (see has_foreign_key_constraints) --#}
    {% set dropped_dependents = drop_relation_for_rebuild(existing_relation) %}
    {% set build_sql = create_table_as(False, target_relation, compiled_code, language, partitioned_by=partitioned_by, sorted_by=sorted_by) %}
  {% elif full_refresh_mode %}
    {% set build_sql = create_table_as(False, intermediate_relation, compiled_code, language, partitioned_by=partitioned_by, sorted_by=sorted_by) %}
    {% set need_swap = true %}
  {% elif language == 'sql' and config.get('incremental_strategy') == 'append' and on_schema_change == 'fail' %}
    {#-- nengtan: the query inserted into the table, no temporary copy of its rows --#}
    {% set build_sql = nengtan_direct_append_sql(target_relation, existing_relation, compiled_code) %}
  {% else %}
    {% if language == 'python' %}
      {% set build_python = create_table_as(temporary, temp_relation, compiled_code, language, partitioned_by=none, sorted_by=none) %}
      {% call statement("pre", language=language) %}
        {{- build_python }}
      {% endcall %}
    {% else %} {# SQL #}
      {% do run_query(create_table_as(temporary, temp_relation, compiled_code, language, partitioned_by=none, sorted_by=none)) %}
    {% endif %}
    {% do adapter.expand_target_column_types(
             from_relation=temp_relation,
             to_relation=target_relation) %}
    {#-- Process schema changes. Returns dict of changes if successful. Use source columns for upserting/merging --#}
    {% set dest_columns = process_schema_changes(on_schema_change, temp_relation, existing_relation) %}
    {% if not dest_columns %}
      {% set dest_columns = adapter.get_columns_in_relation(existing_relation) %}
    {% endif %}

    {#-- Get the incremental_strategy, the macro to use for the strategy, and build the sql --#}
    {% set incremental_strategy = config.get('incremental_strategy') or 'default' %}
    {% set incremental_predicates = config.get('predicates', none) or config.get('incremental_predicates', none) %}
    {% set strategy_sql_macro_func = adapter.get_incremental_strategy_macro(context, incremental_strategy) %}
    {% set strategy_arg_dict = ({'target_relation': target_relation, 'temp_relation': temp_relation, 'unique_key': unique_key, 'dest_columns': dest_columns, 'incremental_predicates': incremental_predicates }) %}
    {% set build_sql = strategy_sql_macro_func(strategy_arg_dict) %}
    {% set language = "sql" %}

  {% endif %}

  {% call statement("main", language=language, auto_begin=not skip_auto_begin) %}
      {{- build_sql }}
  {% endcall %}

  {% if need_swap %}
      {#-- Drop indexes and foreign key dependents on target relation before renaming to backup to avoid dependency errors --#}
      {% do drop_indexes_on_relation(target_relation) %}
      {% if may_be_foreign_key_target(target_relation) %}
        {% set dropped_dependents = drop_foreign_key_dependents(target_relation) %}
      {% endif %}
      {% do adapter.rename_relation(target_relation, backup_relation) %}
      {% do adapter.rename_relation(intermediate_relation, target_relation) %}
      {% do to_drop.append(backup_relation) %}
  {% endif %}
  {% do restore_foreign_key_dependents(dropped_dependents) %}

  {% set should_revoke = should_revoke(existing_relation, full_refresh_mode) %}
  {% do apply_grants(target_relation, grant_config, should_revoke=should_revoke) %}

  {# Align order with table materialization to avoid MotherDuck alter conflicts #}
  {% if existing_relation is none or existing_relation.is_view or should_full_refresh() %}
    {% do create_indexes(target_relation) %}
  {% endif %}

  {% do persist_docs(target_relation, model) %}

  {{ run_hooks(post_hooks, inside_transaction=True) }}

  -- `COMMIT` happens here
  {% do adapter.commit() %}

  {% for rel in to_drop %}
      {# On MotherDuck the temp relation is a real table; dropping it cascades indexes. Avoid extra ALTERs. #}
      {% if not adapter.is_motherduck() %}
        {% do drop_indexes_on_relation(rel) %}
      {% endif %}
      {% do adapter.drop_relation(rel) %}
  {% endfor %}

  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {{ return({'relations': [target_relation]}) }}

{%- endmaterialization %}


{#- nengtan: `insert into` the target from the model's query, after checking that the query has exactly the table's
    columns (on_schema_change='fail'), in the table's column order. -#}
{% macro nengtan_direct_append_sql(target_relation, existing_relation, compiled_code) -%}
    {%- set query_columns = get_column_schema_from_query(compiled_code) | map(attribute='name') | map('lower') | list -%}
    {%- set table_columns = adapter.get_columns_in_relation(existing_relation) -%}
    {%- set table_names = table_columns | map(attribute='name') | map('lower') | list -%}
    {%- if query_columns | sort != table_names | sort -%}
        {{ exceptions.raise_compiler_error(
            'The source and target schemas on this incremental model are out of sync: ' ~ target_relation
            ~ ' has ' ~ (table_names | join(', ')) ~ '; the query returns ' ~ (query_columns | join(', '))
            ~ '. on_schema_change is fail: run with --full-refresh.') }}
    {%- endif -%}
    {%- set columns = table_columns | map(attribute='quoted') | join(', ') -%}
    insert into {{ target_relation }} ({{ columns }})
    select {{ columns }}
    from (
        {{ compiled_code }}
    ) as nengtan_appended
{%- endmacro %}
