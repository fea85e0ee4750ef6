{#-
  A global override of dbt's get_where_subquery (the root project's macro takes precedence over dbt's): a data
  test's `where` config may bound it to the scope this run rebuilt.
-#}

{#- Tests: a `where` config may name __rebuilt_from_ts__ / __rebuilt_from_day__ for the first interval /
    day this run rebuilt (int_rebuild_meters), __rebuilt_months_from__ for the first day of the first month
    it rebuilt (int_rebuild_months). They become literals when the test runs, so the filter reaches the scan
    and a nightly test reads the night, not the history. On a full refresh every row is checked; when nothing
    was rebuilt, nothing is. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where and '__rebuilt_' in where -%}
        {%- if flags.FULL_REFRESH -%}
            {%- set where = '' -%}
        {%- else -%}
            {#- each scope table is read only when the filter names it: a test runs once its model is built, and
                the model is downstream of the scope it is filtered by, not necessarily of the other one -#}
            {%- set first_day, first_month = none, none -%}
            {%- if '__rebuilt_from_ts__' in where or '__rebuilt_from_day__' in where -%}
                {%- set meters = scope_table('int_rebuild_meters') -%}
                {%- set first_day = query_value('select min(from_day) from ' ~ meters) if meters is not none else none -%}
            {%- endif -%}
            {%- if '__rebuilt_months_from__' in where -%}
                {%- set months = scope_table('int_rebuild_months') -%}
                {%- set first_month = query_value('select min(month) from ' ~ months) if months is not none else none -%}
            {%- endif -%}
            {%- set first_day = first_day if first_day is not none else '9999-12-31' -%}
            {%- set first_month = first_month if first_month is not none else '9999-12-31' -%}
            {%- set where = where
                | replace('__rebuilt_from_ts__', sql_literal(first_day, 'timestamp'))
                | replace('__rebuilt_from_day__', sql_literal(first_day, 'date'))
                | replace('__rebuilt_months_from__', sql_literal(first_month, 'date')) -%}
        {%- endif -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
